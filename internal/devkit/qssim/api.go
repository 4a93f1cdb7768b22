package qssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const defaultSessionLifetime = 600

var (
	// idPattern is the shape of dashboard and analysis ids; \w is ASCII in RE2.
	idPattern        = regexp.MustCompile(`^[\w-]{1,512}$`)
	namespacePattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,64}$`)
	userArnPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:user/[^/]+/.+$`)

	userRoles    = []string{"ADMIN", "AUTHOR", "READER", "RESTRICTED_AUTHOR", "RESTRICTED_READER", "ADMIN_PRO", "AUTHOR_PRO", "READER_PRO"}
	consoleRoles = []string{"ADMIN", "AUTHOR", "ADMIN_PRO", "AUTHOR_PRO"}
)

// getSessionEmbedURL is GetSessionEmbedUrl:
// GET /accounts/{account}/session-embed-url?entry-point=&session-lifetime=&user-arn=
// Without a user-arn, a caller signing with role session credentials is the
// QuickSight user "RoleName/SessionName" of the default namespace, the name
// RegisterUser gives an IAM role session.
func (s *Simulator) getSessionEmbedURL(r *http.Request, _ []byte, c *Call) (map[string]any, *apiError) {
	q := r.URL.Query()
	c.UserArn = q.Get("user-arn")
	if name, ok := roleSessionUser(c.Principal); ok && c.UserArn == "" {
		c.UserArn = s.UserARN("default", name)
	}
	c.EntryPoint = "/start"
	if q.Has("entry-point") {
		c.EntryPoint = q.Get("entry-point")
	}
	c.SessionLifetime = defaultSessionLifetime
	if q.Has("session-lifetime") {
		n, err := strconv.ParseInt(q.Get("session-lifetime"), 10, 64)
		if err != nil {
			return nil, newError(ErrSessionLifetimeInvalid, "The session lifetime must be a number of minutes, 15-600.")
		}
		c.SessionLifetime = n
	}
	if e := s.userFault(c.UserArn); e != nil {
		return nil, e
	}
	if e := checkEntryPoint(c.EntryPoint); e != nil {
		return nil, e
	}
	if e := checkSessionLifetime(c.SessionLifetime); e != nil {
		return nil, e
	}
	u, e := s.signInUser(c.UserArn, true)
	if e != nil {
		return nil, e
	}
	return map[string]any{"EmbedUrl": s.issueEmbedURL(r, u, embedRequest{
		api: c.Operation, experience: experienceConsole, entryPoint: c.EntryPoint, lifetime: c.SessionLifetime,
	})}, nil
}

// generateEmbedURLForRegisteredUser is GenerateEmbedUrlForRegisteredUser:
// POST /accounts/{account}/embed-url/registered-user. The QuickSightConsole,
// Dashboard, GenerativeQnA and DashboardVisual experiences are simulated
// (experiences.go), with the console's and the dashboard's
// FeatureConfigurations checked and recorded. Readers may use all but the
// console; whether the user may see that dashboard, visual or topic is not
// checked.
func (s *Simulator) generateEmbedURLForRegisteredUser(r *http.Request, body []byte, c *Call) (map[string]any, *apiError) {
	var in struct {
		UserArn                  string
		SessionLifetimeInMinutes *int64
		AllowedDomains           []string
		ExperienceConfiguration  map[string]json.RawMessage
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, newError(ErrInvalidParameterValue, "The request body is not valid JSON.")
	}
	c.UserArn = in.UserArn
	c.AllowedDomains = in.AllowedDomains
	c.SessionLifetime = defaultSessionLifetime
	if in.SessionLifetimeInMinutes != nil {
		c.SessionLifetime = *in.SessionLifetimeInMinutes
	}
	if len(in.ExperienceConfiguration) == 1 {
		for name := range in.ExperienceConfiguration {
			c.Experience = name // checked below
		}
	}
	if e := s.userFault(c.UserArn); e != nil {
		return nil, e
	}
	if e := checkSessionLifetime(c.SessionLifetime); e != nil {
		return nil, e
	}
	if e := checkAllowedDomains(in.AllowedDomains); e != nil {
		return nil, e
	}
	if len(in.ExperienceConfiguration) != 1 {
		return nil, newError(ErrInvalidParameterValue, "ExperienceConfiguration must name exactly one experience.")
	}
	req := embedRequest{api: c.Operation, experience: c.Experience, lifetime: c.SessionLifetime}
	if e := readExperience(c.Experience, in.ExperienceConfiguration[c.Experience], &req, c); e != nil {
		return nil, e
	}
	u, e := s.signInUser(c.UserArn, c.Experience == experienceConsole)
	if e != nil {
		return nil, e
	}
	return map[string]any{"EmbedUrl": s.issueEmbedURL(r, u, req)}, nil
}

// signInUser finds the user an embed URL is for and checks they may sign in;
// console sessions need an author or admin.
func (s *Simulator) signInUser(arn string, console bool) (userRecord, *apiError) {
	if arn == "" {
		return userRecord{}, newError(ErrQuickSightUserNotFound,
			"No user-arn was given and the simulator maps only IAM role sessions (AssumeRole credentials) to QuickSight users.")
	}
	if !userArnPattern.MatchString(arn) {
		return userRecord{}, newError(ErrInvalidParameterValue, fmt.Sprintf("%q is not a QuickSight user ARN.", arn))
	}
	s.mu.Lock()
	u, ok := s.users[arn]
	var rec userRecord
	if ok {
		rec = *u
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return rec, newError(ErrQuickSightUserNotFound, fmt.Sprintf("The user with the provided name isn't found. No user has the ARN %s.", arn))
	case rec.Inactive:
		return rec, newError(ErrAccessDenied, fmt.Sprintf("User %s is not active and cannot sign in.", arn))
	case console && !slices.Contains(consoleRoles, rec.Role):
		return rec, newError(ErrAccessDenied, fmt.Sprintf(
			"User %s has the %s role. The embedded QuickSight console is only available to users with the AUTHOR or ADMIN role; "+
				"the user must be an author or admin to use the console.", arn, rec.Role))
	}
	return rec, nil
}

// checkEntryPoint enforces the seed: 1-1000 characters, one of the start
// pages or a dashboard or analysis by id.
func checkEntryPoint(ep string) *apiError {
	if len(ep) < 1 || len(ep) > 1000 {
		return newError(ErrInvalidParameterValue, "EntryPoint must be 1-1000 characters.")
	}
	switch ep {
	case "/start", "/start/analyses", "/start/dashboards", "/start/favorites":
		return nil
	}
	for _, prefix := range []string{"/dashboards/", "/analyses/"} {
		if id, ok := strings.CutPrefix(ep, prefix); ok && idPattern.MatchString(id) {
			return nil
		}
	}
	return newError(ErrInvalidParameterValue, fmt.Sprintf(
		"EntryPoint %q is not valid: use /start, /start/analyses, /start/dashboards, /start/favorites, /dashboards/{DashboardId} or /analyses/{AnalysisId}.", ep))
}

func checkSessionLifetime(minutes int64) *apiError {
	if minutes < 15 || minutes > 600 {
		return newError(ErrSessionLifetimeInvalid, fmt.Sprintf("The session lifetime must be 15-600 minutes, got %d.", minutes))
	}
	return nil
}
