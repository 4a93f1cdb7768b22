package auth

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// SessionStore keeps sessions. The cookie store keeps the whole session in
// the browser's cookie; the Redis store keeps it in Redis and the cookie
// carries only its id. Both write the cookie they need.
type SessionStore interface {
	// Save writes s and its cookie. A session without a store id is new
	// (Redis gives it one). Saving a session that was ended meanwhile
	// returns ErrSignedOut; a store that cannot answer, ErrStoreUnavailable.
	// A store may leave out s.User.IDToken, then s.RefreshToken, to fit.
	Save(ctx context.Context, w http.ResponseWriter, s *Session) error
	// Load reads the request's session as stored, whatever its age:
	// ErrSignedOut when there is none (no, tampered or foreign cookie,
	// unknown id), ErrStoreUnavailable when it cannot be checked.
	Load(r *http.Request) (*Session, error)
	// Touch records s.LastSeen, as cheaply as the store can.
	Touch(ctx context.Context, w http.ResponseWriter, s *Session) error
	// Delete ends s (s may be nil) and, when w is not nil, clears the
	// cookie, even when the store cannot answer (ErrStoreUnavailable).
	Delete(ctx context.Context, w http.ResponseWriter, s *Session) error
	// RevokeUser ends every session of the subject or the email (either may
	// be empty) and says how many. The cookie store cannot: it returns
	// ErrNoServerSessions.
	RevokeUser(ctx context.Context, sub, email string) (int, error)
	// List describes the sessions of an email, oldest first, never with
	// their ids. The cookie store returns ErrNoServerSessions.
	List(ctx context.Context, email string) ([]SessionInfo, error)
	// Ping checks the store answers: nil or ErrStoreUnavailable.
	Ping(ctx context.Context) error
}

// ErrNoServerSessions is the cookie store's answer to revoke and list.
var ErrNoServerSessions = errors.New("sessions live in the browsers' cookies (QSGATE_SESSION_STORE=cookie) and cannot be listed or ended one by one: " +
	"use QSGATE_SESSION_STORE=redis, or end every session at once by rotating QSGATE_SESSION_KEYS")

// SessionInfo describes one session for the operator. It never holds the
// session's id, the cookie or a token.
type SessionInfo struct {
	Subject  string
	Email    string
	Created  time.Time
	LastSeen time.Time // recorded at most once a minute
	// Expires is when the session ends if nothing else ends it first: its
	// absolute end, or LastSeen plus the idle timeout when that is sooner.
	Expires time.Time
}

// maxCookie keeps name=value well under what every browser stores (4096)
// and the sign-in response's headers under nginx's default 4 KB
// proxy_buffer_size.
const maxCookie = 3000

// cookieCodec reads and writes the session cookie, whatever it carries,
// with every flag set on purpose (gorilla's defaults leave HttpOnly off).
type cookieCodec struct {
	name   string
	codecs []securecookie.Codec
	secure bool
}

func newCookieCodec(cfg Config, name, purpose string, secure bool) (cookieCodec, error) {
	cs, err := codecs(cfg.SessionKeys, purpose, cfg.SessionTTL)
	return cookieCodec{name: name, codecs: cs, secure: secure}, err
}

func (c cookieCodec) encode(v any) (string, error) {
	return securecookie.EncodeMulti(c.name, v, c.codecs...)
}

// decode reads the request's cookie into dst; any failure is ErrSignedOut.
func (c cookieCodec) decode(r *http.Request, dst any) error {
	ck, err := r.Cookie(c.name)
	if err != nil || ck.Value == "" {
		return ErrSignedOut
	}
	if err := securecookie.DecodeMulti(c.name, ck.Value, dst, c.codecs...); err != nil {
		return ErrSignedOut
	}
	return nil
}

// write sets the cookie to last until expires.
func (c cookieCodec) write(w http.ResponseWriter, value string, ttl time.Duration) {
	http.SetCookie(w, c.cookie(value, max(1, int((ttl+time.Second-1)/time.Second))))
}

func (c cookieCodec) clear(w http.ResponseWriter) {
	http.SetCookie(w, c.cookie("", -1))
}

func (c cookieCodec) cookie(value string, maxAge int) *http.Cookie {
	return newCookie(c.name, value, maxAge, c.secure)
}

// newCookie is every cookie qsgate writes: gorilla/sessions builds it (with
// Expires beside Max-Age, for browsers that know only Expires), for the
// whole site, out of scripts' reach, sent on top-level navigations from
// the provider (Lax), and only over HTTPS when the public URL is.
func newCookie(name, value string, maxAge int, secure bool) *http.Cookie {
	return sessions.NewCookie(name, value, &sessions.Options{
		Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

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
