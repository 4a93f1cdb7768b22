package qssim

import (
	"cmp"
	"encoding/base64"
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
func (s *Simulator) getSessionEmbedURL(r *http.Request, _ []byte, c *Call) (map[string]any, *apiError) {
	q := r.URL.Query()
	c.UserArn = q.Get("user-arn")
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
	return map[string]any{"EmbedUrl": s.issueEmbedURL(r, u, c.EntryPoint, c.SessionLifetime)}, nil
}

// generateEmbedURLForRegisteredUser is GenerateEmbedUrlForRegisteredUser:
// POST /accounts/{account}/embed-url/registered-user. Only the QuickSightConsole
// and Dashboard experiences are simulated.
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
	c.SessionLifetime = defaultSessionLifetime
	if in.SessionLifetimeInMinutes != nil {
		c.SessionLifetime = *in.SessionLifetimeInMinutes
	}
	if e := s.userFault(c.UserArn); e != nil {
		return nil, e
	}
	if e := checkSessionLifetime(c.SessionLifetime); e != nil {
		return nil, e
	}
	if len(in.AllowedDomains) > 3 {
		return nil, newError(ErrInvalidParameterValue, "AllowedDomains can list at most 3 domains.")
	}
	if len(in.ExperienceConfiguration) != 1 {
		return nil, newError(ErrInvalidParameterValue, "ExperienceConfiguration must name exactly one experience.")
	}
	console := false
	for name, raw := range in.ExperienceConfiguration {
		switch name {
		case "QuickSightConsole":
			var cfg struct{ InitialPath *string }
			if err := json.Unmarshal(raw, &cfg); err != nil {
				return nil, newError(ErrInvalidParameterValue, "QuickSightConsole is not valid.")
			}
			console = true
			c.EntryPoint = "/start"
			if cfg.InitialPath != nil {
				c.EntryPoint = *cfg.InitialPath
			}
			if e := checkEntryPoint(c.EntryPoint); e != nil {
				return nil, e
			}
		case "Dashboard":
			var cfg struct{ InitialDashboardId string }
			if err := json.Unmarshal(raw, &cfg); err != nil || !idPattern.MatchString(cfg.InitialDashboardId) {
				return nil, newError(ErrInvalidParameterValue, `InitialDashboardId must match [\w\-]+ and be 1-512 characters.`)
			}
			c.EntryPoint = "/dashboards/" + cfg.InitialDashboardId
		default:
			return nil, newError(ErrInvalidParameterValue, fmt.Sprintf("The simulator supports the QuickSightConsole and Dashboard experiences, not %s.", name))
		}
	}
	u, e := s.signInUser(c.UserArn, console)
	if e != nil {
		return nil, e
	}
	return map[string]any{"EmbedUrl": s.issueEmbedURL(r, u, c.EntryPoint, c.SessionLifetime)}, nil
}

// describeUser is DescribeUser: GET /accounts/{account}/namespaces/{namespace}/users/{user}
func (s *Simulator) describeUser(r *http.Request, _ []byte, c *Call) (map[string]any, *apiError) {
	ns, name := r.PathValue("namespace"), r.PathValue("user")
	c.UserArn = s.UserARN(ns, name)
	if e := s.checkIdentityRegion(); e != nil {
		return nil, e
	}
	if e := s.userFault(c.UserArn); e != nil {
		return nil, e
	}
	if e := s.checkNamespace(ns); e != nil {
		return nil, e
	}
	s.mu.Lock()
	u, ok := s.users[c.UserArn]
	var out userJSON
	if ok {
		out = u.json()
	}
	s.mu.Unlock()
	if !ok {
		// DescribeUser answers ResourceNotFoundException: the SDK does not model
		// QuickSightUserNotFoundException for this operation.
		return nil, newError(ErrResourceNotFound, fmt.Sprintf("User %s not found in namespace %s.", name, ns))
	}
	return map[string]any{"User": out}, nil
}

// registerUser is RegisterUser: POST /accounts/{account}/namespaces/{namespace}/users
func (s *Simulator) registerUser(r *http.Request, body []byte, c *Call) (map[string]any, *apiError) {
	var in struct {
		IdentityType, Email, UserRole, IamArn, SessionName, UserName string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, newError(ErrInvalidParameterValue, "The request body is not valid JSON.")
	}
	ns := r.PathValue("namespace")
	if e := s.checkIdentityRegion(); e != nil {
		return nil, e
	}
	name := in.UserName
	switch in.IdentityType {
	case "QUICKSIGHT":
		if name == "" {
			return nil, newError(ErrInvalidParameterValue, "UserName is required for the QUICKSIGHT identity type.")
		}
	case "IAM":
		// QuickSight names IAM users after the IAM user, and role sessions
		// "RoleName/SessionName".
		_, resource, ok := strings.Cut(in.IamArn, ":user/")
		if !ok {
			_, resource, ok = strings.Cut(in.IamArn, ":role/")
		}
		if !ok || !strings.HasPrefix(in.IamArn, "arn:aws") {
			return nil, newError(ErrInvalidParameterValue, "IamArn must be the ARN of an IAM user or role.")
		}
		name = resource[strings.LastIndex(resource, "/")+1:]
		if in.SessionName != "" {
			name += "/" + in.SessionName
		}
	default:
		return nil, newError(ErrInvalidParameterValue, "IdentityType must be IAM or QUICKSIGHT in the simulator.")
	}
	c.UserArn = s.UserARN(ns, name)
	if e := s.userFault(c.UserArn); e != nil {
		return nil, e
	}
	if e := s.checkNamespace(ns); e != nil {
		return nil, e
	}
	if in.Email == "" {
		return nil, newError(ErrInvalidParameterValue, "Email is required.")
	}
	if !slices.Contains(userRoles, in.UserRole) {
		return nil, newError(ErrInvalidParameterValue, fmt.Sprintf("UserRole must be one of %s.", strings.Join(userRoles, ", ")))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.users[c.UserArn]; exists {
		return nil, newError(ErrResourceExists, fmt.Sprintf("The user with the name %s already exists.", name))
	}
	u := s.putUserLocked(User{UserName: name, Email: in.Email, Role: in.UserRole, Namespace: ns, IdentityType: in.IdentityType})
	return map[string]any{"User": u.json()}, nil
}

// listUsers is ListUsers: GET /accounts/{account}/namespaces/{namespace}/users?next-token=&max-results=
// Users come sorted by name; the next token names the first user of the next page.
func (s *Simulator) listUsers(r *http.Request, _ []byte, _ *Call) (map[string]any, *apiError) {
	ns := r.PathValue("namespace")
	if e := s.checkIdentityRegion(); e != nil {
		return nil, e
	}
	if e := s.checkNamespace(ns); e != nil {
		return nil, e
	}
	q := r.URL.Query()
	limit := 100
	if q.Has("max-results") {
		n, err := strconv.Atoi(q.Get("max-results"))
		if err != nil || n < 1 || n > 100 {
			return nil, newError(ErrInvalidParameterValue, "MaxResults must be between 1 and 100.")
		}
		limit = n
	}
	from := ""
	if tok := q.Get("next-token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		name, ok := strings.CutPrefix(string(b), "qssim:")
		if err != nil || !ok {
			return nil, newError(ErrInvalidNextToken, "The NextToken is not valid.")
		}
		from = name
	}

	s.mu.Lock()
	var all []userJSON
	for _, u := range s.users {
		if u.Namespace == ns && u.UserName >= from {
			all = append(all, u.json())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b userJSON) int { return cmp.Compare(a.UserName, b.UserName) })

	out := map[string]any{"UserList": all[:min(limit, len(all))]}
	if len(all) > limit {
		out["NextToken"] = base64.RawURLEncoding.EncodeToString([]byte("qssim:" + all[limit].UserName))
	}
	return out, nil
}

// userJSON is the User shape of the API.
type userJSON struct {
	Arn          string
	UserName     string
	Email        string
	Role         string
	IdentityType string
	Active       bool
	PrincipalID  string `json:"PrincipalId"`
}

func (u *userRecord) json() userJSON {
	return userJSON{
		Arn: u.arn, UserName: u.UserName, Email: u.Email, Role: u.Role,
		IdentityType: u.IdentityType, Active: !u.Inactive, PrincipalID: u.principalID,
	}
}

// signInUser finds the user an embed URL is for and checks they may sign in;
// console sessions need an author or admin.
func (s *Simulator) signInUser(arn string, console bool) (userRecord, *apiError) {
	if arn == "" {
		return userRecord{}, newError(ErrQuickSightUserNotFound,
			"No user-arn was given and the simulator does not map IAM caller identities to QuickSight users.")
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
		return rec, newError(ErrQuickSightUserNotFound, fmt.Sprintf("User %s was not found.", arn))
	case rec.Inactive:
		return rec, newError(ErrAccessDenied, fmt.Sprintf("User %s is not active and cannot sign in.", arn))
	case console && !slices.Contains(consoleRoles, rec.Role):
		return rec, newError(ErrAccessDenied, fmt.Sprintf(
			"User %s has the %s role. The embedded QuickSight console is only available to users with the AUTHOR or ADMIN role; "+
				"the user must be an author or admin to use the console.", arn, rec.Role))
	}
	return rec, nil
}

// checkIdentityRegion refuses user management outside the identity region.
func (s *Simulator) checkIdentityRegion() *apiError {
	if s.cfg.IdentityRegion == s.cfg.Region {
		return nil
	}
	return newError(ErrAccessDenied, fmt.Sprintf(
		"Operation is being called from endpoint quicksight.%s.amazonaws.com, but your identity region is %s. Please use the %s endpoint.",
		s.cfg.Region, s.cfg.IdentityRegion, s.cfg.IdentityRegion))
}

// checkNamespace accepts "default" and any namespace that holds a user.
func (s *Simulator) checkNamespace(ns string) *apiError {
	if !namespacePattern.MatchString(ns) {
		return newError(ErrInvalidParameterValue, "Namespace must match ^[a-zA-Z0-9._-]*$ and be at most 64 characters.")
	}
	if ns == "default" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Namespace == ns {
			return nil
		}
	}
	return newError(ErrResourceNotFound, fmt.Sprintf("Namespace %s not found.", ns))
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
