package commands

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// evilUser lets a test bend the ID token or userinfo a real provider library
// signs and serves.
type evilUser struct {
	*mockoidc.MockUser
	claims      func(c *mockoidc.IDTokenClaims)
	extra       map[string]any // more ID token claims
	userinfoSub string
	userinfo    map[string]any // the whole userinfo answer
}

func (u evilUser) Claims(scope []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.claims != nil {
		u.claims(c)
	}
	base, err := u.MockUser.Claims(scope, c)
	if err != nil || u.extra == nil {
		return base, err
	}
	data, _ := json.Marshal(base)
	m := jwt.MapClaims{}
	json.Unmarshal(data, &m)
	for k, v := range u.extra {
		m[k] = v
	}
	return m, nil
}

func (u evilUser) Userinfo(scope []string) ([]byte, error) {
	if u.userinfo != nil {
		return json.Marshal(u.userinfo)
	}
	if u.userinfoSub == "" {
		return u.MockUser.Userinfo(scope)
	}
	return json.Marshal(map[string]string{"sub": u.userinfoSub, "email": u.Email})
}

// loginRedirect starts a sign-in and stops at the provider's redirect to
// the callback, returning that callback URL (with code and state).
func (s *stack) loginRedirect(b *browser, who mockoidc.User, rd string) *url.URL {
	s.t.Helper()
	s.idp.QueueUser(who)
	c := b.noFollow()
	p := b.do(c, http.MethodGet, s.url+"/login?rd="+url.QueryEscape(rd), nil)
	if p.status != 302 {
		s.t.Fatalf("/login = %d, want 302", p.status)
	}
	p = b.do(c, http.MethodGet, p.header.Get("Location"), nil)
	if p.status != 302 {
		s.t.Fatalf("provider authorize = %d, want 302\n%s", p.status, p.body)
	}
	u, err := url.Parse(p.header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), s.url+"/auth/callback?") {
		s.t.Fatalf("provider sent us to %q, want the callback", p.header.Get("Location"))
	}
	return u
}

// refused asserts the callback answered 400, set no session, stayed on the
// site, and that the browser is still signed out.
func (s *stack) refused(b *browser, p page, what string) {
	s.t.Helper()
	if p.status != 400 && p.status != 502 && p.status != 503 {
		s.t.Errorf("%s: callback = %d, want a 4xx or provider-error page\n%s", what, p.status, p.body)
	}
	for _, sc := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "qsgate_session=") && !strings.Contains(sc, "Max-Age=0") {
			s.t.Errorf("%s: a session cookie was set: %s", what, sc)
		}
	}
	if loc := p.header.Get("Location"); loc != "" {
		s.t.Errorf("%s: redirected to %q, want a page", what, loc)
	}
	q := b.do(b.noFollow(), http.MethodGet, s.url+"/", nil)
	if q.status != 302 {
		s.t.Errorf("%s: after the refused callback / = %d, want 302 to sign-in", what, q.status)
	}
}

func TestCallbackStateAttacks(t *testing.T) {
	s := startStack(t, nil)

	t.Run("missing state", func(t *testing.T) {
		b := newBrowser(t)
		cb := s.loginRedirect(b, alice, "/")
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		s.refused(b, b.do(b.noFollow(), http.MethodGet, cb.String(), nil), "missing state")
	})
	t.Run("empty state", func(t *testing.T) {
		b := newBrowser(t)
		cb := s.loginRedirect(b, alice, "/")
		q := cb.Query()
		q.Set("state", "")
		cb.RawQuery = q.Encode()
		s.refused(b, b.do(b.noFollow(), http.MethodGet, cb.String(), nil), "empty state")
	})
	t.Run("wrong state", func(t *testing.T) {
		b := newBrowser(t)
		cb := s.loginRedirect(b, alice, "/")
		q := cb.Query()
		q.Set("state", strings.Repeat("0", 64))
		cb.RawQuery = q.Encode()
		s.refused(b, b.do(b.noFollow(), http.MethodGet, cb.String(), nil), "wrong state")
	})
	t.Run("no login cookie (another browser)", func(t *testing.T) {
		b := newBrowser(t)
		cb := s.loginRedirect(b, alice, "/")
		other := newBrowser(t)
		s.refused(other, other.do(other.noFollow(), http.MethodGet, cb.String(), nil), "callback in another browser")
	})
	t.Run("replayed state and code", func(t *testing.T) {
		b := newBrowser(t)
		cb := s.loginRedirect(b, alice, "/")
		// An attacker who copied the login cookie and the callback URL
		// replays them after the user has signed in.
		fresh := newBrowser(t)
		fresh.c.Jar.SetCookies(cb, b.c.Jar.Cookies(cb))
		if p := b.do(b.noFollow(), http.MethodGet, cb.String(), nil); p.status != 302 {
			t.Fatalf("first callback = %d, want 302", p.status)
		}
		s.refused(fresh, fresh.do(fresh.noFollow(), http.MethodGet, cb.String(), nil), "replayed callback")
		// The user's own browser replaying it (the back button) gets no new
		// session: it is sent to the portal, where its session still is.
		p := b.do(b.noFollow(), http.MethodGet, cb.String(), nil)
		if p.status != 302 || p.header.Get("Location") != s.url+"/" {
			t.Errorf("replay in the same browser = %d to %q, want 302 to the portal", p.status, p.header.Get("Location"))
		}
		for _, sc := range p.header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "qsgate_session=") {
				t.Errorf("the replay set a session cookie: %s", sc)
			}
		}
	})
	t.Run("replayed code with a fresh login", func(t *testing.T) {
		mallory, p := s.replayCode(t, alice, alice)
		s.refused(mallory, p, "replayed code")
	})
	t.Run("provider error", func(t *testing.T) {
		b := newBrowser(t)
		cb := s.loginRedirect(b, alice, "/")
		q := url.Values{"state": {cb.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"<script>alert(1)</script>"}}
		cb.RawQuery = q.Encode()
		p := b.do(b.noFollow(), http.MethodGet, cb.String(), nil)
		s.refused(b, p, "provider error")
		if strings.Contains(p.body, "<script>alert(1)") {
			t.Errorf("the provider's error text reached the page")
		}
	})
}

func TestTwoTabsSignInAtOnce(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	first := s.loginRedirect(b, alice, "/embed/start")
	second := s.loginRedirect(b, alice, "/embed/start/favorites")
	p := b.do(b.noFollow(), http.MethodGet, second.String(), nil)
	if p.status != 302 || p.header.Get("Location") != s.url+"/embed/start/favorites" {
		t.Errorf("second tab: %d %q", p.status, p.header.Get("Location"))
	}
	p = b.do(b.noFollow(), http.MethodGet, first.String(), nil)
	if p.status != 302 || p.header.Get("Location") != s.url+"/embed/start" {
		t.Errorf("first tab: %d %q", p.status, p.header.Get("Location"))
	}
}

// ID tokens that a conforming relying party must reject (OpenID RP
// conformance names), signed by the real provider library.
func TestIDTokenAttacks(t *testing.T) {
	s := startStack(t, nil)
	base := func() *mockoidc.MockUser {
		return &mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.com", EmailVerified: true}
	}
	tests := []struct {
		name string
		user mockoidc.User
	}{
		{"rp-nonce-invalid", evilUser{MockUser: base(), claims: func(c *mockoidc.IDTokenClaims) { c.Nonce = "not-the-nonce" }}},
		{"rp-id_token-aud", evilUser{MockUser: base(), claims: func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }}},
		{"rp-id_token-issuer-mismatch", evilUser{MockUser: base(), claims: func(c *mockoidc.IDTokenClaims) { c.Issuer = "http://127.0.0.1:1/evil" }}},
		{"expired", evilUser{MockUser: base(), claims: func(c *mockoidc.IDTokenClaims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
		}}},
		{"rp-id_token-iat missing", evilUser{MockUser: base(), claims: func(c *mockoidc.IDTokenClaims) { c.IssuedAt = nil }}},
		{"iat in the future", evilUser{MockUser: base(), claims: func(c *mockoidc.IDTokenClaims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) }}},
		{"rp-id_token-sub missing", evilUser{MockUser: &mockoidc.MockUser{Email: "alice@example.com"}}},
		{"rp-userinfo-bad-sub-claim", evilUser{MockUser: base(), userinfoSub: "sub-mallory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			cb := s.loginRedirect(b, tt.user, "/")
			s.refused(b, b.do(b.noFollow(), http.MethodGet, cb.String(), nil), tt.name)
		})
	}
}

// Token responses rewritten on the wire: a bad signature and alg "none".
func TestIDTokenSignatureAttacks(t *testing.T) {
	tests := []struct {
		name    string
		rewrite func(idToken string) string
	}{
		{"rp-id_token-bad-sig-rs256", func(tok string) string {
			parts := strings.Split(tok, ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sig[len(sig)/2] ^= 0xff
			parts[2] = base64.RawURLEncoding.EncodeToString(sig)
			return strings.Join(parts, ".")
		}},
		{"alg none", func(tok string) string {
			parts := strings.Split(tok, ".")
			header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
			return header + "." + parts[1] + "."
		}},
		{"payload swapped", func(tok string) string {
			parts := strings.Split(tok, ".")
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			payload = bytes.Replace(payload, []byte("sub-alice"), []byte("sub-admin"), 1)
			parts[1] = base64.RawURLEncoding.EncodeToString(payload)
			return strings.Join(parts, ".")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t, nil, rewriteIDToken(tt.rewrite))
			b := newBrowser(t)
			cb := s.loginRedirect(b, alice, "/")
			s.refused(b, b.do(b.noFollow(), http.MethodGet, cb.String(), nil), tt.name)
		})
	}
}

// rewriteIDToken is provider middleware that changes the id_token in token
// responses.
func rewriteIDToken(rewrite func(string) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, mockoidc.TokenEndpoint) {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &body) == nil {
				if tok, ok := body["id_token"].(string); ok {
					body["id_token"] = rewrite(tok)
				}
			}
			for k, v := range rec.Header() {
				if k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(rec.Code)
			json.NewEncoder(w).Encode(body)
		})
	}
}

// Every open-redirect payload, and our own cases, as the return path: none
// leaves the site, at the start of sign-in or after it.
func TestOpenRedirects(t *testing.T) {
	payloads := []string{"//evil.com", "/\\evil.com", "/%09/evil.com", "/%0a/evil.com", "/./\\evil.com", "https://evil.com", "/%2f%2fevil.com"}
	f, err := os.Open(filepath.Join("..", "auth", "testdata", "openredirects.txt"))
	if err != nil {
		t.Fatalf("the payload list (a copy of ../shared/testdata/openredirects.txt): %v", err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			if u, err := url.QueryUnescape(line); err == nil {
				line = u
			}
			payloads = append(payloads, line)
		}
	}
	f.Close()
	if len(payloads) < 558 {
		t.Fatalf("read %d payloads, want the whole list", len(payloads))
	}
	s := startStack(t, noSignInLimits)
	b := newBrowser(t)
	s.signIn(b, alice, "/") // signed in: the return path is the only thing that moves the browser
	c := b.noFollow()
	site := s.url + "/"
	checked := 0
	for _, rd := range payloads {
		// Start: /login must send us only to the provider.
		p := b.do(c, http.MethodGet, s.url+"/login?rd="+url.QueryEscape(rd), nil)
		loc := p.header.Get("Location")
		if p.status != 302 || !strings.HasPrefix(loc, s.idp.Issuer()+"/") {
			t.Errorf("rd %q: /login = %d to %q, want the provider", rd, p.status, loc)
			continue
		}
		if checked%25 == 0 { // a full round trip for a sample: the callback falls back to /
			s.idp.QueueUser(alice)
			p = b.do(c, http.MethodGet, loc, nil)
			p = b.do(c, http.MethodGet, p.header.Get("Location"), nil)
			if got := p.header.Get("Location"); p.status != 302 || got != site {
				t.Errorf("rd %q: after sign-in went to %q, want %q", rd, got, site)
			}
		}
		checked++
	}
	if checked < 500 && len(payloads) > 500 {
		t.Errorf("checked %d payloads", checked)
	}
}

// A forged X-Forwarded-Host or X-Forwarded-Proto never reaches a Location.
func TestForwardedHeadersIgnored(t *testing.T) {
	s := startStack(t, nil)
	for _, h := range []http.Header{
		{"X-Forwarded-Host": {"evil.com"}, "X-Forwarded-Proto": {"https"}},
		{"X_forwarded_host": {"evil.com"}, "X_forwarded_proto": {"https"}},
		{"Forwarded": {"host=evil.com;proto=https"}},
	} {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/embed/start", nil)
		req.Header = h
		req.Host = s.url[len("http://"):]
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, s.url+"/") {
			t.Errorf("with %v: Location %q, want it on %s", h, loc, s.url)
		}
	}
}

// An email the provider does not mark verified picks no QuickSight user
// (fail closed), unless the operator opts in.
func TestUnverifiedEmail(t *testing.T) {
	unverified := &mockoidc.MockUser{Subject: "sub-alice", Email: "alice@example.com", EmailVerified: false}
	noEmail := &mockoidc.MockUser{Subject: "sub-alice", EmailVerified: true} // email_verified: true, no email
	tests := []struct {
		name   string
		user   mockoidc.User
		trust  string
		status int
	}{
		{"email_verified absent", unverified, "", 403},
		{"email_verified the string false", evilUser{MockUser: unverified, extra: map[string]any{"email_verified": "false"}}, "", 403},
		{"email_verified the string true", evilUser{MockUser: unverified, extra: map[string]any{"email_verified": "true"}}, "", 200},
		{"operator trusts unverified emails", unverified, "true", 200},
		{"userinfo's email_verified does not vouch for the token's email", evilUser{MockUser: unverified,
			userinfo: map[string]any{"sub": "sub-alice", "email": "other@example.com", "email_verified": true}}, "", 403},
		// email and email_verified come as a pair from one source.
		{"the token's email_verified does not vouch for userinfo's email", evilUser{MockUser: noEmail,
			userinfo: map[string]any{"sub": "sub-alice", "email": "alice@example.com", "email_verified": false}}, "", 403},
		{"userinfo's email with userinfo's verification", evilUser{MockUser: noEmail,
			userinfo: map[string]any{"sub": "sub-alice", "email": "alice@example.com", "email_verified": true}}, "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t, map[string]string{"QSGATE_OIDC_TRUST_UNVERIFIED_EMAIL": tt.trust})
			p := s.signIn(newBrowser(t), tt.user, "/embed/start")
			if p.status != tt.status {
				t.Errorf("status = %d, want %d\n%s", p.status, tt.status, p.body)
			}
			if tt.status == 403 && len(s.sim.Calls()) != 0 {
				t.Errorf("an unverified email reached QuickSight: %+v", s.sim.Calls())
			}
		})
	}
}

// Oversized input from the provider or in a link is never a 500.
func TestOversizedSignIn(t *testing.T) {
	s := startStack(t, nil)
	big := evilUser{MockUser: alice, extra: map[string]any{"name": strings.Repeat("N", 2200), "preferred_username": strings.Repeat("p", 3000)}}
	p := s.signIn(newBrowser(t), big, "/embed/start")
	if p.status != 200 {
		t.Errorf("huge claims: status %d, want 200 (the huge claims are dropped)\n%s", p.status, p.body)
	}
	b := newBrowser(t)
	p = b.do(b.noFollow(), http.MethodGet, s.url+"/login?rd=/"+strings.Repeat("a", 3000), nil)
	if p.status != 302 {
		t.Errorf("huge rd: /login = %d, want 302", p.status)
	}
}

// Abandoned logins do not pile up cookies without bound.
func TestLoginCookiesBounded(t *testing.T) {
	s := startStack(t, nil)
	b := newBrowser(t)
	long := "/embed/dashboards/" + strings.Repeat("a", 512)
	for i := 0; i < 12; i++ {
		b.do(b.noFollow(), http.MethodGet, s.url+"/login?rd="+url.QueryEscape(long), nil)
	}
	u, _ := url.Parse(s.url + "/auth/callback")
	n, size := 0, 0
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "qsgate_login_") {
			n++
			size += len(c.Name) + len(c.Value)
		}
	}
	if n > 3 || size > 4000 {
		t.Errorf("%d login cookies (%d bytes) after 12 abandoned logins, want at most 3 and 4000 bytes", n, size)
	}
}

// A provider that fails and echoes the request (code, verifier, secret) in
// its error body must not get them into our logs.
func TestProviderErrorBodiesNotLogged(t *testing.T) {
	echo := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, mockoidc.TokenEndpoint) {
				next.ServeHTTP(w, r)
				return
			}
			r.ParseForm()
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "upstream failed for "+r.Form.Encode())
		})
	}
	s := startStack(t, nil, echo)
	b := newBrowser(t)
	cb := s.loginRedirect(b, alice, "/")
	p := b.do(b.noFollow(), http.MethodGet, cb.String(), nil)
	if p.status != 503 {
		t.Errorf("token endpoint 502: status %d, want 503", p.status)
	}
	logs := s.logs.String()
	for _, secret := range []string{cb.Query().Get("code"), s.env["QSGATE_OIDC_CLIENT_SECRET"], "code_verifier"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

// forgetfulProvider wraps the provider's token endpoint so that it accepts
// a code twice and ignores PKCE, answering a replay with the first
// answer: a sloppy provider. The gateway must refuse the replay by itself.
func forgetfulProvider() func(http.Handler) http.Handler {
	var mu sync.Mutex
	answers := map[string][]byte{}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, mockoidc.TokenEndpoint) || r.ParseForm() != nil {
				next.ServeHTTP(w, r)
				return
			}
			code := r.PostForm.Get("code")
			mu.Lock()
			saved, seen := answers[code]
			mu.Unlock()
			if seen {
				w.Header().Set("Content-Type", "application/json")
				w.Write(saved)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if rec.Code == http.StatusOK {
				mu.Lock()
				answers[code] = rec.Body.Bytes()
				mu.Unlock()
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	}
}

// replayCode signs a victim in as victim, then starts an attacker's own
// login as attacker and pastes the victim's code into its callback; it
// returns the attacker's browser and what the callback answered.
func (s *stack) replayCode(t *testing.T, victim, attacker mockoidc.User) (*browser, page) {
	t.Helper()
	b := newBrowser(t)
	cb := s.loginRedirect(b, victim, "/")
	if p := b.do(b.noFollow(), http.MethodGet, cb.String(), nil); p.status != 302 {
		t.Fatalf("the victim's sign-in = %d", p.status)
	}
	mallory := newBrowser(t)
	own := s.loginRedirect(mallory, attacker, "/")
	q := own.Query()
	q.Set("code", cb.Query().Get("code"))
	own.RawQuery = q.Encode()
	return mallory, mallory.do(mallory.noFollow(), http.MethodGet, own.String(), nil)
}

// A code stolen from someone's callback, pasted into the attacker's own
// login, against a provider that would redeem it again: the ID token it
// yields carries the victim's nonce, not the attacker's, so the gateway
// refuses it without the provider's help.
func TestReplayedCodeWithoutProviderHelp(t *testing.T) {
	s := startStack(t, nil, forgetfulProvider())
	mallory, p := s.replayCode(t, alice, rita)
	s.refused(mallory, p, "a replayed code the provider redeems again")
	if !strings.Contains(s.logs.String(), "nonce") {
		t.Errorf("the refusal's reason (nonce) is not in the log:\n%s", s.logs)
	}
}
