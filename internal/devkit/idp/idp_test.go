package idp_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/qsgate/qsgate/internal/devkit/idp"
)

const (
	clientID      = "qsgate"
	clientSecret  = "gateway-secret"
	redirectURI   = "http://rp.example/auth/callback"
	postLogoutURI = "http://rp.example/auth/signed-out"
)

var testUsers = []idp.User{
	{Subject: "alice", Email: "alice@example.com", Name: "Alice Author", PreferredUsername: "alice", Description: "author: can use the console",
		Groups: []string{"qs-authors", "staff"}},
	{Subject: "bob_reader", Email: "bob@example.com", Name: "Bob Reader", PreferredUsername: "bob", Description: "reader: can view dashboards"},
}

// env is one provider on loopback and a relying party built on go-oidc and
// x/oauth2, driving it as the gateway does.
type env struct {
	issuer   string
	clock    *fakeClock
	logs     *syncBuffer
	provider *oidc.Provider
	oauth    oauth2.Config
	browser  *http.Client // cookie jar; stops at the relying party's URLs
}

// start serves a provider whose issuer has the given path ("" for none).
func start(t *testing.T, path string) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil) // listens on 127.0.0.1:0
	issuer := "http://" + srv.Listener.Addr().String() + path
	clock := &fakeClock{now: time.Now()}
	logs := &syncBuffer{}
	handler, err := idp.NewWithClock(idp.Config{
		Issuer: issuer,
		Clients: []idp.Client{{
			ID:                     clientID,
			Secret:                 clientSecret,
			RedirectURIs:           []string{redirectURI},
			PostLogoutRedirectURIs: []string{postLogoutURI},
		}},
		Users:  testUsers,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, clock.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = handler
	srv.Start()
	t.Cleanup(srv.Close)

	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic, as the gateway
	return &env{
		issuer:   issuer,
		clock:    clock,
		logs:     logs,
		provider: provider,
		oauth: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     endpoint,
			RedirectURL:  redirectURI,
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
		},
		browser: newBrowser(t),
	}
}

// newBrowser follows redirects like a browser but stops at the relying
// party, whose URLs are not served, so a test can read code and state.
func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == "rp.example" {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// flow is one authorization request as the relying party remembers it.
type flow struct {
	state, nonce, verifier string
	page                   response // the sign-in page
	form                   loginForm
}

// openLogin starts an authorization request and returns the sign-in form
// the browser lands on.
func (e *env) openLogin(t *testing.T) flow {
	t.Helper()
	f := flow{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	resp := e.get(t, e.oauth.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)))
	if got, want := resp.status, http.StatusOK; got != want {
		t.Fatalf("sign-in page status = %d, want %d; body:\n%s", got, want, resp.body)
	}
	f.page = resp
	f.form = parseLoginForm(t, resp.url, resp.body)
	return f
}

// choose clicks the user's button and returns the code the relying party
// receives, after checking the state it comes with.
func (e *env) choose(t *testing.T, f flow, subject string) (code string) {
	t.Helper()
	resp := e.post(t, e.browser, f.form.action, f.form.values(subject))
	if got, want := resp.status, http.StatusFound; got != want {
		t.Fatalf("sign-in as %s: status = %d, want %d (redirect to the client); body:\n%s", subject, got, want, resp.body)
	}
	loc, err := url.Parse(resp.location)
	if err != nil || !strings.HasPrefix(resp.location, redirectURI+"?") {
		t.Fatalf("sign-in redirect = %q, want %s?code=...", resp.location, redirectURI)
	}
	if got, want := loc.Query().Get("state"), f.state; got != want {
		t.Fatalf("state = %q, want %q", got, want)
	}
	if errCode := loc.Query().Get("error"); errCode != "" {
		t.Fatalf("sign-in redirect has error=%s (%s)", errCode, loc.Query().Get("error_description"))
	}
	code = loc.Query().Get("code")
	if code == "" {
		t.Fatalf("sign-in redirect %q has no code", resp.location)
	}
	return code
}

// signIn runs the browser part of the flow as subject.
func (e *env) signIn(t *testing.T, subject string) (flow, string) {
	t.Helper()
	f := e.openLogin(t)
	return f, e.choose(t, f, subject)
}

// exchange swaps the code at the token endpoint.
func (e *env) exchange(t *testing.T, code, verifier string) (*oauth2.Token, error) {
	t.Helper()
	return e.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
}

// tokens runs the whole flow as subject and returns the verified ID token.
func (e *env) tokens(t *testing.T, subject string) (flow, *oauth2.Token, string, *oidc.IDToken) {
	t.Helper()
	f, code := e.signIn(t, subject)
	tok, err := e.exchange(t, code, f.verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := e.provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	return f, tok, raw, idToken
}

type response struct {
	status   int
	location string
	url      *url.URL // after redirects
	header   http.Header
	body     string
}

func (e *env) get(t *testing.T, rawURL string) response {
	t.Helper()
	return do(t, e.browser, http.MethodGet, rawURL, nil)
}

func (e *env) post(t *testing.T, c *http.Client, rawURL string, form url.Values) response {
	t.Helper()
	return do(t, c, http.MethodPost, rawURL, form)
}

func do(t *testing.T, c *http.Client, method, rawURL string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{
		status:   resp.StatusCode,
		location: resp.Header.Get("Location"),
		url:      resp.Request.URL,
		header:   resp.Header,
		body:     string(b),
	}
}

// loginForm is the sign-in form as a browser sees it.
type loginForm struct {
	action  string
	hidden  url.Values
	buttons map[string]button // by id
}

type button struct{ name, value string }

// values is what the browser posts when the user's button is clicked.
func (f loginForm) values(subject string) url.Values {
	v := url.Values{}
	for k, vs := range f.hidden {
		v[k] = slices.Clone(vs)
	}
	if b, ok := f.buttons["login-"+subject]; ok {
		v.Set(b.name, b.value)
	} else {
		v.Set("user", subject) // a user not on the page
	}
	return v
}

func parseLoginForm(t *testing.T, page *url.URL, body string) loginForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse sign-in page: %v", err)
	}
	f := loginForm{hidden: url.Values{}, buttons: map[string]button{}}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		a := attrs(n)
		switch n.Data {
		case "form":
			if a["id"] == "login-form" {
				action, err := page.Parse(a["action"])
				if err != nil {
					t.Fatalf("form action %q: %v", a["action"], err)
				}
				f.action = action.String()
			}
		case "input":
			if a["type"] == "hidden" {
				f.hidden.Set(a["name"], a["value"])
			}
		case "button":
			f.buttons[a["id"]] = button{name: a["name"], value: a["value"]}
		}
	}
	if f.action == "" {
		t.Fatalf("sign-in page has no form#login-form:\n%s", body)
	}
	return f
}

func attrs(n *html.Node) map[string]string {
	m := make(map[string]string, len(n.Attr))
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", "/idp"} {
		t.Run("issuer path "+path, func(t *testing.T) {
			t.Parallel()
			e := start(t, path)
			var doc struct {
				Issuer          string   `json:"issuer"`
				Authorization   string   `json:"authorization_endpoint"`
				EndSession      string   `json:"end_session_endpoint"`
				JWKS            string   `json:"jwks_uri"`
				AuthMethods     []string `json:"token_endpoint_auth_methods_supported"`
				ChallengeMethod []string `json:"code_challenge_methods_supported"`
				Algs            []string `json:"id_token_signing_alg_values_supported"`
				Claims          []string `json:"claims_supported"`
			}
			if err := e.provider.Claims(&doc); err != nil {
				t.Fatalf("discovery claims: %v", err)
			}
			checks := []struct {
				name      string
				got, want string
			}{
				{"issuer", doc.Issuer, e.issuer},
				{"authorization_endpoint", doc.Authorization, e.issuer + "/authorize"},
				{"end_session_endpoint", doc.EndSession, e.issuer + "/end_session"},
				{"jwks_uri", doc.JWKS, e.issuer + "/keys"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
			for _, c := range []struct {
				name string
				list []string
				want string
			}{
				{"token_endpoint_auth_methods_supported", doc.AuthMethods, "client_secret_basic"},
				{"claims_supported", doc.Claims, "groups"},
				{"code_challenge_methods_supported", doc.ChallengeMethod, "S256"},
				{"id_token_signing_alg_values_supported", doc.Algs, "RS256"},
			} {
				if !slices.Contains(c.list, c.want) {
					t.Errorf("%s = %q, want it to contain %q", c.name, c.list, c.want)
				}
			}

			resp := e.get(t, doc.JWKS)
			var jwks struct {
				Keys []struct{ Kty, Use, Alg, Kid string } `json:"keys"`
			}
			if err := json.Unmarshal([]byte(resp.body), &jwks); err != nil {
				t.Fatalf("JWKS: %v; body %s", err, resp.body)
			}
			if len(jwks.Keys) != 1 {
				t.Fatalf("JWKS has %d keys, want 1", len(jwks.Keys))
			}
			k := jwks.Keys[0]
			if k.Kty != "RSA" || k.Use != "sig" || k.Alg != "RS256" || k.Kid == "" {
				t.Errorf("JWKS key = %+v, want RSA, sig, RS256 and a kid", k)
			}
		})
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string // issuer path
		user idp.User
	}{
		{"first user", "", testUsers[0]},
		{"second user", "", testUsers[1]},
		{"issuer with a path", "/idp", testUsers[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, tt.path)
			f, tok, raw, idToken := e.tokens(t, tt.user.Subject)

			var claims struct {
				Email             string    `json:"email"`
				EmailVerified     bool      `json:"email_verified"`
				Name              string    `json:"name"`
				PreferredUsername string    `json:"preferred_username"`
				Groups            *[]string `json:"groups"` // nil when the claim is absent
			}
			if err := idToken.Claims(&claims); err != nil {
				t.Fatalf("ID token claims: %v", err)
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"iss", idToken.Issuer, e.issuer},
				{"aud", idToken.Audience, []string{clientID}},
				{"sub", idToken.Subject, tt.user.Subject},
				{"nonce", idToken.Nonce, f.nonce},
				{"email", claims.Email, tt.user.Email},
				{"email_verified", claims.EmailVerified, true},
				{"name", claims.Name, tt.user.Name},
				{"preferred_username", claims.PreferredUsername, tt.user.PreferredUsername},
				{"groups", claims.Groups, wantGroups(tt.user)},
			}
			for _, c := range checks {
				if got, want := jsonString(c.got), jsonString(c.want); got != want {
					t.Errorf("ID token %s = %s, want %s", c.name, got, want)
				}
			}
			if idToken.IssuedAt.IsZero() || !idToken.Expiry.After(idToken.IssuedAt) {
				t.Errorf("ID token iat = %v, exp = %v, want both set and exp after iat", idToken.IssuedAt, idToken.Expiry)
			}
			if raw == tok.AccessToken {
				t.Errorf("access token is the ID token, want an opaque access token")
			}

			info, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			if got, want := info.Subject, tt.user.Subject; got != want {
				t.Errorf("userinfo sub = %q, want %q", got, want)
			}
			if got, want := info.Email, tt.user.Email; got != want {
				t.Errorf("userinfo email = %q, want %q", got, want)
			}
			var infoClaims struct {
				Groups *[]string `json:"groups"`
			}
			if err := info.Claims(&infoClaims); err != nil {
				t.Fatalf("userinfo claims: %v", err)
			}
			if got, want := jsonString(infoClaims.Groups), jsonString(wantGroups(tt.user)); got != want {
				t.Errorf("userinfo groups = %s, want %s", got, want)
			}
		})
	}
}

// wantGroups is the "groups" claim a relying party must see with the
// profile scope: always a JSON array, [] for a user in no group.
func wantGroups(u idp.User) []string {
	return append([]string{}, u.Groups...)
}

// Without the profile scope there are no profile claims, groups included.
func TestGroupsNeedProfileScope(t *testing.T) {
	t.Parallel()
	e := start(t, "")
	e.oauth.Scopes = []string{oidc.ScopeOpenID, "email"}
	_, tok, _, idToken := e.tokens(t, "alice")
	info, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	for _, c := range []struct {
		name   string
		claims func(v any) error
	}{
		{"ID token", idToken.Claims},
		{"userinfo", info.Claims},
	} {
		var claims map[string]any
		if err := c.claims(&claims); err != nil {
			t.Fatalf("%s claims: %v", c.name, err)
		}
		if got, ok := claims["groups"]; ok {
			t.Errorf("%s groups = %v without the profile scope, want no groups claim", c.name, got)
		}
		if got, want := claims["email"], "alice@example.com"; got != want {
			t.Errorf("%s email = %v, want %q", c.name, got, want)
		}
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v) // test values always marshal
	return string(b)
}

// TestTokenExchangeRefuses covers the ways a code exchange must fail. A
// refused code is spent, so the right request fails afterwards too.
func TestTokenExchangeRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		exchange func(t *testing.T, e *env, code, verifier string) error
		wantCode string
	}{
		{
			name: "reused code",
			exchange: func(t *testing.T, e *env, code, verifier string) error {
				if _, err := e.exchange(t, code, verifier); err != nil {
					t.Fatalf("first exchange: %v", err)
				}
				_, err := e.exchange(t, code, verifier)
				return err
			},
			wantCode: "invalid_grant",
		},
		{
			name: "wrong PKCE verifier",
			exchange: func(t *testing.T, e *env, code, _ string) error {
				_, err := e.exchange(t, code, oauth2.GenerateVerifier())
				return err
			},
			wantCode: "invalid_grant",
		},
		{
			name: "missing PKCE verifier",
			exchange: func(t *testing.T, e *env, code, _ string) error {
				_, err := e.oauth.Exchange(t.Context(), code)
				return err
			},
			wantCode: "invalid_request",
		},
		{
			name: "wrong client secret",
			exchange: func(t *testing.T, e *env, code, verifier string) error {
				c := e.oauth
				c.ClientSecret = "not-the-secret"
				_, err := c.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
				return err
			},
			wantCode: "invalid_client",
		},
		{
			name: "other redirect_uri",
			exchange: func(t *testing.T, e *env, code, verifier string) error {
				c := e.oauth
				c.RedirectURL = "http://rp.example/elsewhere"
				_, err := c.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
				return err
			},
			wantCode: "invalid_grant",
		},
		{
			name: "expired code",
			exchange: func(t *testing.T, e *env, code, verifier string) error {
				e.clock.Advance(3 * time.Minute)
				_, err := e.exchange(t, code, verifier)
				return err
			},
			wantCode: "invalid_grant",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, "")
			f, code := e.signIn(t, "alice")
			err := tt.exchange(t, e, code, f.verifier)
			if got := oauthErrorCode(err); got != tt.wantCode {
				t.Fatalf("exchange error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if _, err := e.exchange(t, code, f.verifier); err == nil {
				t.Errorf("exchange after a refused one succeeded, want the code spent")
			}
		})
	}
}

// TestAuthorizeRefuses covers authorization requests the provider turns
// away, either back to the client with error= or, when the redirect_uri
// cannot be trusted, on its own page.
func TestAuthorizeRefuses(t *testing.T) {
	t.Parallel()
	verifier := oauth2.GenerateVerifier()
	tests := []struct {
		name       string
		edit       func(c *oauth2.Config)
		opts       []oauth2.AuthCodeOption
		wantStatus int
		wantError  string // error= at the redirect_uri; "" if not redirected
	}{
		{"no PKCE", nil, nil, http.StatusFound, "invalid_request"},
		{"plain PKCE", nil, []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", verifier),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"),
		}, http.StatusFound, "invalid_request"},
		{"prompt=none", nil, []oauth2.AuthCodeOption{
			oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none"),
		}, http.StatusFound, "login_required"},
		{"unregistered redirect_uri", func(c *oauth2.Config) { c.RedirectURL = "http://evil.example/cb" },
			[]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, http.StatusBadRequest, ""},
		{"unknown client", func(c *oauth2.Config) { c.ClientID = "nobody" },
			[]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, "")
			c := e.oauth
			if tt.edit != nil {
				tt.edit(&c)
			}
			c.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
			resp := e.get(t, c.AuthCodeURL("state-1", tt.opts...))
			if got, want := resp.status, tt.wantStatus; got != want {
				t.Fatalf("status = %d, want %d; location %q; body:\n%s", got, want, resp.location, resp.body)
			}
			if tt.wantError == "" {
				if resp.location != "" {
					t.Fatalf("redirected to %q, want no redirect", resp.location)
				}
				return
			}
			loc, err := url.Parse(resp.location)
			if err != nil || !strings.HasPrefix(resp.location, redirectURI+"?") {
				t.Fatalf("location = %q, want %s?error=...", resp.location, redirectURI)
			}
			if got, want := loc.Query().Get("error"), tt.wantError; got != want {
				t.Errorf("error = %q, want %q", got, want)
			}
			if got, want := loc.Query().Get("state"), "state-1"; got != want {
				t.Errorf("state = %q, want %q", got, want)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	e := start(t, "")
	f := e.openLogin(t)
	resp := f.page

	wants := []string{`Development sign-in - demo only`, `id="client-id">` + clientID + `<`}
	for _, u := range testUsers {
		wants = append(wants, u.Name, u.Email, u.Description)
	}
	// alice's groups, in order, under her description; bob has none.
	wants = append(wants, `<div class="groups" id="groups-alice">groups: qs-authors, staff</div>`)
	if strings.Contains(resp.body, `id="groups-bob_reader"`) {
		t.Errorf("sign-in page lists groups for bob_reader, who has none")
	}
	for _, want := range wants {
		if !strings.Contains(resp.body, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	for _, u := range testUsers {
		got, ok := f.form.buttons["login-"+u.Subject]
		if want := (button{name: "user", value: u.Subject}); !ok || got != want {
			t.Errorf("button #login-%s = %+v (found %t), want %+v", u.Subject, got, ok, want)
		}
	}
	if strings.Contains(resp.body, "http://") || strings.Contains(resp.body, "https://") {
		t.Errorf("sign-in page refers to an external URL, want it self-contained:\n%s", resp.body)
	}

	headers := []struct{ name, want string }{
		{"Cache-Control", "no-store"},
		{"X-Frame-Options", "DENY"},
		{"Referrer-Policy", "no-referrer"},
	}
	for _, h := range headers {
		if got := resp.header.Get(h.name); got != h.want {
			t.Errorf("%s = %q, want %q", h.name, got, h.want)
		}
	}
	if got := resp.header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none'", got)
	}
}

// TestLoginRefuses covers sign-in form posts that must not sign anyone in.
func TestLoginRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		post       func(t *testing.T, e *env, f flow) response
		wantStatus int
	}{
		{
			name: "no CSRF cookie (another site's form)",
			post: func(t *testing.T, e *env, f flow) response {
				return e.post(t, newBrowser(t), f.form.action, f.form.values("alice"))
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "forged CSRF value",
			post: func(t *testing.T, e *env, f flow) response {
				v := f.form.values("alice")
				v.Set("csrf", rand.Text())
				return e.post(t, e.browser, f.form.action, v)
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "unknown auth request id",
			post: func(t *testing.T, e *env, f flow) response {
				v := f.form.values("alice")
				v.Set("authRequestID", rand.Text())
				return e.post(t, e.browser, f.form.action, v)
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "user not offered",
			post: func(t *testing.T, e *env, f flow) response {
				return e.post(t, e.browser, f.form.action, f.form.values("mallory"))
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "form sent twice",
			post: func(t *testing.T, e *env, f flow) response {
				e.choose(t, f, "alice")
				return e.post(t, e.browser, f.form.action, f.form.values("bob_reader"))
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "expired auth request",
			post: func(t *testing.T, e *env, f flow) response {
				e.clock.Advance(11 * time.Minute)
				return e.post(t, e.browser, f.form.action, f.form.values("alice"))
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "GET cannot sign in",
			post: func(t *testing.T, e *env, f flow) response {
				return e.get(t, f.form.action+"?"+f.form.values("alice").Encode())
			},
			wantStatus: http.StatusOK, // the page again, no redirect
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, "")
			f := e.openLogin(t)
			resp := tt.post(t, e, f)
			if got, want := resp.status, tt.wantStatus; got != want {
				t.Fatalf("status = %d, want %d; location %q; body:\n%s", got, want, resp.location, resp.body)
			}
			if resp.location != "" {
				t.Errorf("redirected to %q, want no redirect", resp.location)
			}
			if strings.Contains(resp.location+resp.body, "code=") {
				t.Errorf("response carries a code, want none")
			}
		})
	}
}

// TestTwoTabs signs in twice at once in one browser, finishing the second
// sign-in first.
func TestTwoTabs(t *testing.T) {
	t.Parallel()
	e := start(t, "")
	first, second := e.openLogin(t), e.openLogin(t)
	for _, f := range []flow{second, first} {
		code := e.choose(t, f, "alice")
		if _, err := e.exchange(t, code, f.verifier); err != nil {
			t.Fatalf("exchange: %v", err)
		}
	}
}

// TestCallbackReplay replays op's callback after a sign-in: one sign-in
// yields one code.
func TestCallbackReplay(t *testing.T) {
	t.Parallel()
	e := start(t, "")
	f := e.openLogin(t)
	e.choose(t, f, "alice")
	callback := e.issuer + "/authorize/callback?" + url.Values{"id": {f.form.hidden.Get("authRequestID")}}.Encode()
	resp := e.get(t, callback)
	loc, err := url.Parse(resp.location)
	if err != nil {
		t.Fatalf("location %q: %v", resp.location, err)
	}
	if code := loc.Query().Get("code"); code != "" {
		t.Fatalf("replayed callback issued a second code (status %d)", resp.status)
	}
	if got, want := loc.Query().Get("error"), "invalid_request"; got != want {
		t.Errorf("replayed callback error = %q, want %q (status %d, location %q)", got, want, resp.status, resp.location)
	}
}

func TestUserinfoRefusesExpiredAccessToken(t *testing.T) {
	t.Parallel()
	e := start(t, "")
	_, tok, _, _ := e.tokens(t, "alice")
	if _, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo with a fresh token: %v", err)
	}
	e.clock.Advance(61 * time.Minute)
	if _, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Errorf("userinfo with an expired access token succeeded, want it refused")
	}
}

func TestEndSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		params       func(idToken string) url.Values
		wantStatus   int
		wantLocation string // when the browser is sent to the relying party
		wantBody     string // when the provider answers itself
	}{
		{
			name: "id_token_hint and registered post_logout_redirect_uri",
			params: func(idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {postLogoutURI}, "state": {"bye"}}
			},
			wantStatus:   http.StatusFound,
			wantLocation: postLogoutURI + "?state=bye",
		},
		{
			name: "unregistered post_logout_redirect_uri",
			params: func(idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://evil.example/"}}
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "post_logout_redirect_uri without id_token_hint or client_id",
			params: func(string) url.Values {
				return url.Values{"post_logout_redirect_uri": {postLogoutURI}}
			},
			wantStatus: http.StatusOK,
			wantBody:   "You are signed out",
		},
		{
			name:       "id_token_hint only",
			params:     func(idToken string) url.Values { return url.Values{"id_token_hint": {idToken}} },
			wantStatus: http.StatusOK,
			wantBody:   "You are signed out",
		},
		{
			name:       "no parameters",
			params:     func(string) url.Values { return url.Values{} },
			wantStatus: http.StatusOK,
			wantBody:   "You are signed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, "")
			_, tok, raw, _ := e.tokens(t, "alice")
			var doc struct {
				EndSession string `json:"end_session_endpoint"`
			}
			if err := e.provider.Claims(&doc); err != nil {
				t.Fatalf("discovery claims: %v", err)
			}

			resp := e.get(t, doc.EndSession+"?"+tt.params(raw).Encode())
			if got, want := resp.status, tt.wantStatus; got != want {
				t.Fatalf("status = %d, want %d; location %q; body:\n%s", got, want, resp.location, resp.body)
			}
			if got, want := resp.location, tt.wantLocation; got != want {
				t.Errorf("location = %q, want %q", got, want)
			}
			if !strings.Contains(resp.body, tt.wantBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantBody, resp.body)
			}
			if tt.wantLocation != "" {
				if _, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
					t.Errorf("userinfo after end_session succeeded, want the access token ended")
				}
			}
		})
	}
}

// TestLogsNoSecrets runs every flow with both the package's logger and the
// op library's (slog.Default) captured, and looks for secrets in them. Not
// parallel: it swaps slog.Default.
func TestLogsNoSecrets(t *testing.T) {
	var global syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })

	e := start(t, "")
	f, code := e.signIn(t, "alice")
	tok, err := e.exchange(t, code, f.verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, err := e.exchange(t, code, f.verifier); err == nil {
		t.Fatalf("reused code accepted")
	}
	raw, _ := tok.Extra("id_token").(string)
	if _, err := e.provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	e.get(t, e.oauth.AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "none"), oauth2.S256ChallengeOption(f.verifier)))
	end, _ := url.Parse(e.issuer + "/end_session")
	end.RawQuery = url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {postLogoutURI}}.Encode()
	e.get(t, end.String())

	logs := e.logs.String() + global.String()
	secrets := []struct{ name, value string }{
		{"code", code},
		{"access token", tok.AccessToken},
		{"ID token", raw},
		{"PKCE verifier", f.verifier},
		{"auth request id", f.form.hidden.Get("authRequestID")},
		{"CSRF value", f.form.hidden.Get("csrf")},
	}
	for _, s := range secrets {
		if s.value == "" {
			t.Fatalf("%s is empty; the test would prove nothing", s.name)
		}
		if strings.Contains(logs, s.value) {
			t.Errorf("logs contain the %s", s.name)
		}
	}
	for _, want := range []string{`msg="devidp sign-in" sub=alice client_id=qsgate`, `msg="devidp sign-out" sub=alice client_id=qsgate`} {
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, e.logs.String())
		}
	}
}

// fakeClock is the provider's clock for expiry; tokens' iat and exp still
// come from the real clock inside the op library.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a bytes.Buffer the server's goroutines can log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
