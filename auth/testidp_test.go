package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// testIdP is a real OIDC provider library (mockoidc) on loopback, with a
// thin layer on its token endpoint for what refresh tests need and
// mockoidc lacks: disabling a user (refresh answers invalid_grant, as
// Keycloak, Entra ID and Okta do), refresh-token rotation with single-use
// tokens, an outage, and a count of refresh grants.
type testIdP struct {
	*mockoidc.MockOIDC

	mu        sync.Mutex
	down      bool
	delay     time.Duration
	rotate    bool
	noRefresh bool              // sign-ins get no refresh token (no offline_access)
	disabled  map[string]bool   // by subject
	live      map[string]string // rotated token -> mockoidc's token it stands for
	used      map[string]bool   // mockoidc tokens already exchanged for rotated ones
	refreshes int
	issued    []string // every refresh token handed out, last is newest
}

var (
	idpKeyOnce sync.Once
	idpKey     *rsa.PrivateKey
)

func startIdP(t *testing.T) *testIdP {
	t.Helper()
	idpKeyOnce.Do(func() {
		var err error
		if idpKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	m, err := mockoidc.NewServer(idpKey)
	if err != nil {
		t.Fatal(err)
	}
	m.AccessTTL = 72 * time.Hour // tokens outlive the test clock's jumps
	p := &testIdP{MockOIDC: m, disabled: map[string]bool{}, live: map[string]string{}, used: map[string]bool{}}
	if err := m.AddMiddleware(p.tokenEndpoint); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

func (p *testIdP) set(f func(p *testIdP)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *testIdP) refreshCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshes
}

func (p *testIdP) tokenEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "refresh_token" {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			p.answer(w, rec, "")
			return
		}
		p.mu.Lock()
		p.refreshes++
		down, delay := p.down, p.delay
		p.mu.Unlock()
		time.Sleep(delay)
		if down {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return
		}
		presented := r.Form.Get("refresh_token")
		p.mu.Lock()
		orig, rotated := p.live[presented]
		reused := p.used[presented] || (!rotated && strings.HasPrefix(presented, "rot-"))
		if p.rotate {
			delete(p.live, presented)
			if !rotated {
				orig = presented
				p.used[presented] = true
			}
		} else if !rotated {
			orig = presented
		}
		p.mu.Unlock()
		if reused {
			refuse(w)
			return
		}
		r.Form.Set("refresh_token", orig)
		r.PostForm.Set("refresh_token", orig)
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		p.answer(w, rec, orig)
	})
}

// answer passes mockoidc's token response on: refused for a disabled
// user, with a fresh single-use refresh token when rotating.
func (p *testIdP) answer(w http.ResponseWriter, rec *httptest.ResponseRecorder, orig string) {
	var body map[string]any
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	idt, _ := body["id_token"].(string)
	if orig != "" && p.disabled[subjectOf(idt)] {
		refuse(w)
		return
	}
	if orig == "" && p.noRefresh {
		delete(body, "refresh_token")
	}
	if orig != "" && p.rotate {
		next := "rot-" + randomToken()
		p.live[next] = orig
		body["refresh_token"] = next
	}
	if rt, _ := body["refresh_token"].(string); rt != "" {
		p.issued = append(p.issued, rt)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func refuse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"user disabled"}`))
}

// subjectOf reads a JWT's sub without checking it (the test's own provider
// made it).
func subjectOf(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Sub string `json:"sub"`
	}
	if err != nil || json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Sub
}

// idpUser is a mockoidc.User whose email and groups a test changes
// between tokens (under a lock: the provider reads them on its own
// goroutines).
type idpUser struct {
	sub string

	mu     sync.Mutex
	email  string
	groups []string
}

func newIdPUser(sub, email string, groups ...string) *idpUser {
	return &idpUser{sub: sub, email: email, groups: groups}
}

func (u *idpUser) set(email string, groups ...string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.email, u.groups = email, groups
}

func (u *idpUser) mock() *mockoidc.MockUser {
	u.mu.Lock()
	defer u.mu.Unlock()
	return &mockoidc.MockUser{Subject: u.sub, Email: u.email, EmailVerified: true, PreferredUsername: u.sub, Groups: append([]string(nil), u.groups...)}
}

func (u *idpUser) ID() string { return u.sub }

func (u *idpUser) Userinfo(scopes []string) ([]byte, error) { return u.mock().Userinfo(scopes) }

func (u *idpUser) Claims(scopes []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return u.mock().Claims(scopes, base)
}

// paddedUser is a provider account whose owner filled the profile fields
// they may edit themselves (display name, username) to the 256 bytes the
// gateway keeps of each claim.
type paddedUser struct{ sub, email, pad string }

type paddedClaims struct {
	*mockoidc.IDTokenClaims
	Email             string `json:"email"`
	EmailVerified     bool   `json:"email_verified"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
}

func (u paddedUser) ID() string { return u.sub }

func (u paddedUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email, "email_verified": true, "name": u.pad, "preferred_username": u.pad})
}

func (u paddedUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &paddedClaims{IDTokenClaims: base, Email: u.email, EmailVerified: true, Name: u.pad, PreferredUsername: u.pad}, nil
}
