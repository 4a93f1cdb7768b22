package qssim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// User is a QuickSight user known to the simulator.
type User struct {
	UserName string
	Email    string
	// Role is ADMIN, AUTHOR or READER (or a _PRO / RESTRICTED_ variant).
	// Empty means READER.
	Role string
	// Namespace defaults to "default".
	Namespace string
	// IdentityType is QUICKSIGHT or IAM. Empty means QUICKSIGHT.
	IdentityType string
	// Inactive users exist but cannot sign in; the zero value is active.
	Inactive bool
}

// describeUser is DescribeUser: GET /accounts/{account}/namespaces/{namespace}/users/{user}
// The SDK escapes a "/" in the user name ("RoleName/SessionName") as %2F, so
// the name stays one path segment; PathValue unescapes it.
func (s *Simulator) describeUser(r *http.Request, _ []byte, c *Call) (map[string]any, *apiError) {
	ns, name := r.PathValue("namespace"), r.PathValue("user")
	c.UserArn = s.UserARN(ns, name)
	if e := s.checkIdentityRegion(c); e != nil {
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
	if e := s.checkIdentityRegion(c); e != nil {
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
func (s *Simulator) listUsers(r *http.Request, _ []byte, c *Call) (map[string]any, *apiError) {
	ns := r.PathValue("namespace")
	if e := s.checkIdentityRegion(c); e != nil {
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

// checkIdentityRegion refuses user management called at another regional
// endpoint than the identity region's: the region c was signed for.
func (s *Simulator) checkIdentityRegion(c *Call) *apiError {
	if c.Region == s.cfg.IdentityRegion {
		return nil
	}
	return newError(ErrAccessDenied, fmt.Sprintf(
		"Operation is being called from endpoint quicksight.%s.amazonaws.com, but your identity region is %s. Please use the %s endpoint.",
		c.Region, s.cfg.IdentityRegion, s.cfg.IdentityRegion))
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
