package auth

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// User is the signed-in user as the session cookie keeps it: only what the
// gateway needs, no access or refresh token.
type User struct {
	Subject           string
	Email             string // empty when the provider says it is not verified
	Name              string
	PreferredUsername string
	Extra             map[string]string // claims the ARN template reads
	Groups            []string          // the groups the access policy looks at, and only those
	IDToken           string            // only as id_token_hint at logout; omitted when large
	Expires           time.Time         // absolute end of the session
}

// Claim returns a claim by its OIDC name, "" when absent. It makes User a
// quicksight.Claims.
func (u User) Claim(name string) string {
	switch name {
	case "sub":
		return u.Subject
	case "email":
		return u.Email
	case "name":
		return u.Name
	case "preferred_username":
		return u.PreferredUsername
	}
	return u.Extra[name]
}

// Display is the name to greet the user with.
func (u User) Display() string {
	for _, s := range []string{u.Name, u.Email, u.PreferredUsername} {
		if s != "" {
			return s
		}
	}
	return u.Subject
}

func init() { gob.Register(User{}) }

// maxIDTokenHint keeps the session cookie well under the browser's 4096 bytes.
const maxIDTokenHint = 1200

// codecs derives a hash key and an encryption key from every configured
// secret (HKDF-SHA256, a distinct label per purpose), first secret first:
// securecookie encodes with the first pair and decodes with any.
func codecs(secrets [][]byte, purpose string, maxAge time.Duration) ([]securecookie.Codec, error) {
	var pairs [][]byte
	for _, s := range secrets {
		hashKey, err := hkdf.Key(sha256.New, s, nil, "qsgate "+purpose+" hmac", 64)
		if err != nil {
			return nil, fmt.Errorf("derive key: %w", err)
		}
		blockKey, err := hkdf.Key(sha256.New, s, nil, "qsgate "+purpose+" aes", 32)
		if err != nil {
			return nil, fmt.Errorf("derive key: %w", err)
		}
		pairs = append(pairs, hashKey, blockKey)
	}
	cs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range cs {
		sc := c.(*securecookie.SecureCookie)
		sc.MaxAge(int(maxAge.Seconds()))
	}
	return cs, nil
}

// newSessionStore is a cookie store with every flag set on purpose: the
// store's defaults are not safe (HttpOnly is off).
func newSessionStore(secrets [][]byte, ttl time.Duration, secure bool) (*sessions.CookieStore, error) {
	cs, err := codecs(secrets, "session", ttl)
	if err != nil {
		return nil, err
	}
	store := &sessions.CookieStore{Codecs: cs, Options: &sessions.Options{
		Path:     "/",
		MaxAge:   int(ttl.Seconds()),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}}
	store.MaxAge(int(ttl.Seconds()))
	return store, nil
}
