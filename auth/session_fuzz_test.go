package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzSessionCookie: the session cookie decoder (securecookie codecs with
// keys from HKDF, then JSON or gob) never panics, and no value signs in anyone but
// the one user a cookie was ever written for (the keys are this test's
// own, so only the gateway's own cookies can decode). Every one-character
// edit of a real cookie is refused. Seeds: a real cookie, and edits of it.
func FuzzSessionCookie(f *testing.F) {
	pub, _ := url.Parse("http://127.0.0.1:8080")
	a, err := New(Config{PublicURL: pub, SessionKeys: [][]byte{[]byte(strings.Repeat("k", 32))}, SessionTTL: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	rec := httptest.NewRecorder()
	now := time.Now()
	s := &Session{User: User{Subject: "sub-alice", Email: "alice@example.com", Expires: now.Add(time.Hour)}, Created: now, LastSeen: now, Checked: now}
	if err := a.store.Save(context.Background(), rec, s); err != nil {
		f.Fatal(err)
	}
	var good string
	for _, c := range rec.Result().Cookies() {
		good = c.Value
	}
	if good == "" {
		f.Fatal("no session cookie written")
	}
	signedIn := func(value string) (User, bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "qsgate_session="+value)
		return a.CurrentUser(r)
	}
	if _, ok := signedIn(good); !ok {
		f.Fatal("the gateway's own cookie was refused")
	}
	want, _ := base64.URLEncoding.DecodeString(good)
	for i := 0; i < len(good); i += 7 {
		b := []byte(good)
		b[i] ^= 0x01
		// The unused low bits of the last base64 character before the
		// padding: the same cookie, not a change.
		if got, err := base64.URLEncoding.DecodeString(string(b)); err == nil && bytes.Equal(got, want) {
			continue
		}
		if _, ok := signedIn(string(b)); ok {
			f.Fatalf("a cookie with byte %d changed signs in", i)
		}
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good + "A")
	f.Add(strings.ToUpper(good))
	f.Add("")
	f.Add("MTcwMDAwMDAwMHx8")
	f.Add(strings.Repeat("A", 4096))
	f.Fuzz(func(t *testing.T, value string) {
		if u, ok := signedIn(value); ok && (u.Subject != "sub-alice" || u.Email != "alice@example.com") {
			t.Fatalf("a cookie signed in %q <%s>, a user no cookie was written for", u.Subject, u.Email)
		}
	})
}
