package qssim

import (
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// STS speaks the query protocol: POST / with a form body
// Action=<operation>&Version=2011-06-15&..., answered in XML.
const (
	stsVersion   = "2011-06-15"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// Role session durations of the AssumeRole API reference, in seconds. The
// simulated roles all have the longest MaxSessionDuration, 12 hours.
const (
	minRoleSessionSeconds     = 900
	maxRoleSessionSeconds     = 43200
	defaultRoleSessionSeconds = 3600
	// A role session assuming another role ("role chaining") gets at most an hour.
	maxChainedRoleSessionSeconds = 3600
)

var roleSessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)

// stsOr routes POST / to STS when the request is for STS: signed for service
// "sts", or form-encoded (QuickSight sends JSON). Anything else goes to next.
func (s *Simulator) stsOr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := parseAuthorization(r.Header.Get("Authorization"))
		mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")) // unparsable is not a form
		if a.service == stsService || mediaType == "application/x-www-form-urlencoded" {
			s.serveSTS(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// stsOperation handles one STS call after the front door. It returns the
// <Action>Result element.
type stsOperation func(form url.Values, who caller, c *Call) (any, *apiError)

func (s *Simulator) stsOperation(action string) stsOperation {
	switch action {
	case "AssumeRole":
		return s.assumeRole
	case "GetCallerIdentity":
		return s.getCallerIdentity
	}
	return nil
}

// serveSTS answers an STS call with what every call shares: the front door,
// request ids, XML answers and errors, the call record and the log.
func (s *Simulator) serveSTS(w http.ResponseWriter, r *http.Request) {
	c := Call{RequestID: newRequestID()}
	result, apiErr := s.handleSTS(r, &c)
	if r.Context().Err() != nil {
		s.record(r.Context(), "sts call", c)
		return
	}
	status := http.StatusOK
	var doc any = stsResponse{XMLName: xml.Name{Local: c.Operation + "Response"}, Xmlns: stsNamespace, Result: result, RequestID: c.RequestID}
	if apiErr != nil {
		status = apiErr.stsStatus()
		c.ErrorCode = apiErr.code
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		doc = stsErrorResponse{Xmlns: stsNamespace, Type: kind, Code: apiErr.code, Message: apiErr.message, RequestID: c.RequestID}
	}
	c.Status = status
	s.record(r.Context(), "sts call", c)

	body, err := xml.Marshal(doc)
	if err != nil {
		// Only the fixed result structs of this file get here.
		panic(fmt.Sprintf("qssim: encode STS response: %v", err))
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", c.RequestID)
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that hung up does not need the body
}

func (s *Simulator) handleSTS(r *http.Request, c *Call) (any, *apiError) {
	body, who, e := s.admit(r, stsService, c)
	form, formErr := url.ParseQuery(string(body))
	action := form.Get("Action")
	op := s.stsOperation(action)
	if op != nil {
		c.Operation = action
	}
	if e != nil {
		return nil, e
	}
	if formErr != nil {
		return nil, newError(ErrSTSValidation, "The request body is not a valid form.")
	}
	if op == nil || form.Get("Version") != stsVersion {
		return nil, newError(ErrSTSInvalidAction, fmt.Sprintf("Could not find operation %s for version %s", action, form.Get("Version")))
	}
	return op(form, who, c)
}

// assumeRole is AssumeRole: RoleArn, RoleSessionName, DurationSeconds. It
// grants the roles of Config.Roles and AddRole to every caller.
func (s *Simulator) assumeRole(form url.Values, who caller, _ *Call) (any, *apiError) {
	role, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	seconds := int64(defaultRoleSessionSeconds)
	var problems []string
	if !form.Has("RoleArn") {
		problems = append(problems, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	switch {
	case !form.Has("RoleSessionName"):
		problems = append(problems, "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case len(session) < 2:
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2", session))
	case len(session) > 64:
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64", session))
	case !roleSessionNamePattern.MatchString(session):
		problems = append(problems, fmt.Sprintf(`Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`, session))
	}
	if v := form.Get("DurationSeconds"); form.Has("DurationSeconds") {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a whole number of seconds", v))
		case n < minRoleSessionSeconds:
			problems = append(problems, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", n, minRoleSessionSeconds))
		case n > maxRoleSessionSeconds:
			problems = append(problems, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxRoleSessionSeconds))
		}
		seconds = n
	}
	if len(problems) > 0 {
		plural := ""
		if len(problems) > 1 {
			plural = "s"
		}
		return nil, newError(ErrSTSValidation, fmt.Sprintf("%d validation error%s detected: %s", len(problems), plural, strings.Join(problems, "; ")))
	}

	s.mu.Lock()
	granted := s.roles[role]
	s.mu.Unlock()
	if !granted {
		return nil, newError(ErrSTSAccessDenied, fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", who.arn, role))
	}
	identityUser, e := s.providedContext(form, role, who)
	if e != nil {
		return nil, e
	}
	if who.roleSession() && seconds > maxChainedRoleSessionSeconds {
		return nil, newError(ErrSTSValidation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}

	// AWS states Expiration to the second; expiry is checked against the same instant.
	expires := s.now().Add(time.Duration(seconds) * time.Second).UTC().Truncate(time.Second)
	arn, roleID := assumedRole(role, session)
	accessKeyID, creds := s.issued.issue(caller{arn: arn, userID: roleID + ":" + session, expires: expires, identityUser: identityUser})
	return assumeRoleResult{
		Credentials: stsCredentials{
			AccessKeyID:     accessKeyID,
			SecretAccessKey: creds.secretAccessKey,
			SessionToken:    creds.sessionToken,
			Expiration:      expires.Format(time.RFC3339),
		},
		AssumedRoleUser: assumedRoleUser{AssumedRoleID: creds.userID, Arn: arn},
	}, nil
}

// getCallerIdentity is GetCallerIdentity: who signed the call.
func (s *Simulator) getCallerIdentity(_ url.Values, who caller, _ *Call) (any, *apiError) {
	account := s.cfg.AccountID
	if parts := strings.Split(who.arn, ":"); len(parts) > 4 {
		account = parts[4]
	}
	return getCallerIdentityResult{Arn: who.arn, UserID: who.userID, Account: account}, nil
}

// stsResponse is a success answer: <{Action}Response xmlns=...><{Action}Result>
// ...</{Action}Result><ResponseMetadata><RequestId>.
type stsResponse struct {
	XMLName   xml.Name
	Xmlns     string `xml:"xmlns,attr"`
	Result    any    // a type whose XMLName is <{Action}Result>
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// stsErrorResponse is an error answer, as STS sends it.
type stsErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"` // Sender or Receiver
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

type assumeRoleResult struct {
	XMLName         xml.Name `xml:"AssumeRoleResult"`
	Credentials     stsCredentials
	AssumedRoleUser assumedRoleUser
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string
}

type getCallerIdentityResult struct {
	XMLName xml.Name `xml:"GetCallerIdentityResult"`
	Arn     string
	UserID  string `xml:"UserId"`
	Account string
}
