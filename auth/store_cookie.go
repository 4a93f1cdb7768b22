package auth

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/qsgate/qsgate/ttlcache"
)

// cookieStore keeps the whole session in the browser's cookie, encrypted
// and signed with the session keys. Nothing is kept on the server, so a
// copy of the cookie lives until the session's own end however it is
// signed out, and sessions cannot be listed or ended one by one.
type cookieStore struct {
	cookie cookieCodec
	// json is the same cookie with the same keys, serialized as JSON into a
	// concrete struct, the only form Save writes: gob, the other form Load
	// reads, sends and compiles its types in every cookie (about 250
	// allocations a page view, docs/BENCHMARKS.md).
	json []securecookie.Codec
	// decoded remembers JSON cookies that were verified and decoded, by
	// their value: a browser sends the same cookie with every request, and
	// checking and decoding it (HMAC, AES, JSON) measured about a fifth of
	// the gateway's own work a page view (docs/BENCHMARKS.md). A hit is the
	// same bytes that passed the check before; what a session says about
	// time (its end, idleness, re-check) is still judged on every request
	// by Auth. Nothing that failed to decode is kept. The key is the value
	// itself (about 2 KB, the size of what it decodes to), not a digest of
	// it: hashing a map key costs a view less than SHA-256 (3 µs of about
	// 45, docs/BENCHMARKS.md), and equal keys are equal bytes.
	decoded *ttlcache.Cache[string, cookieValue]
	ttl     time.Duration
	idle    time.Duration // Config.Idle
	now     func() time.Time
	// keepIDToken (Config.KeepIDToken) drops the refresh token before the
	// ID token when the cookie is too large.
	keepIDToken bool
}

// Bounds of the decoded-cookie cache: a couple of thousand sessions in use
// at once, each remembered for a while after its last request. An entry is
// the cookie and what it decodes to, up to about 6 KB (4,096 entries of
// 3 KB cookies measured 24 MiB), so 2,048 entries: 12 MiB at most, 3 MiB
// for 500 users. Past that a request decodes its cookie again (about
// 37 µs).
const (
	decodedCookies   = 2048
	decodedCookieTTL = 5 * time.Minute
)

// cookieValue is what a JSON session cookie holds.
type cookieValue struct {
	User    User          `json:"u"`
	Session cookieSession `json:"s"`
}

// cookieSession is what the cookie keeps besides the User. A gob cookie
// holds it as its own "session" entry, or not at all (see Load).
type cookieSession struct {
	Created, LastSeen, Checked time.Time
	RefreshToken               string
}

func init() { gob.Register(cookieSession{}) }

func newCookieStore(cfg Config, name string, secure bool) (*cookieStore, error) {
	c, err := newCookieCodec(cfg, name, "session", secure)
	if err != nil {
		return nil, err
	}
	j, err := codecs(cfg.SessionKeys, "session", cfg.SessionTTL)
	if err != nil {
		return nil, err
	}
	for _, codec := range j {
		codec.(*securecookie.SecureCookie).SetSerializer(securecookie.JSONEncoder{})
	}
	return &cookieStore{cookie: c, json: j, ttl: cfg.SessionTTL, idle: cfg.Idle, now: cfg.Now, keepIDToken: cfg.KeepIDToken,
		decoded: ttlcache.New[string, cookieValue](decodedCookies, decodedCookieTTL)}, nil
}

// Save writes the cookie. When it would be too large, the ID token (only a
// logout hint) goes first, then the refresh token (the session then lasts
// until its end without re-checks); with Config.KeepIDToken the refresh
// token goes, and a session whose ID token still does not fit is not
// saved.
func (c *cookieStore) Save(_ context.Context, w http.ResponseWriter, s *Session) error {
	for {
		value, err := securecookie.EncodeMulti(c.cookie.name, cookieValue{User: s.User,
			Session: cookieSession{Created: s.Created, LastSeen: s.LastSeen, Checked: s.Checked, RefreshToken: s.RefreshToken}}, c.json...)
		if err == nil && len(c.cookie.name)+len(value) <= maxCookie {
			c.cookie.write(w, value, s.User.Expires.Sub(c.now()))
			return nil
		}
		switch {
		case s.User.IDToken != "" && !c.keepIDToken:
			s.User.IDToken = ""
		case s.RefreshToken != "":
			s.RefreshToken = ""
		case c.keepIDToken && s.User.IDToken != "":
			// The mapper needs the token: a session without it would ask
			// the user to sign in again on every view.
			return errors.New("the provider's ID token does not fit in a session cookie beside the user's claims: set QSGATE_SESSION_STORE=redis")
		case err != nil:
			return fmt.Errorf("encode session: %w", err)
		default:
			return errors.New("the user's claims do not fit in a session cookie")
		}
	}
}

func (c *cookieStore) Load(r *http.Request) (*Session, error) {
	if ck, err := r.Cookie(c.cookie.name); err == nil && ck.Value != "" {
		if v, ok := c.decodeJSON(ck.Value); ok {
			if v.User.Subject == "" {
				return nil, ErrSignedOut
			}
			m := v.Session
			return &Session{User: v.User, Created: m.Created, LastSeen: m.LastSeen, Checked: m.Checked, RefreshToken: m.RefreshToken}, nil
		}
	}
	// A gob cookie: a map with a "user" entry and, in most, a "session"
	// entry. qsgate wrote session cookies in this form up to 2026-11-27 and
	// QSGATE_SESSION_TTL is at most 30 days, so one can be valid until
	// 2026-12-27; past that date every gob cookie fails to decode here.
	var values map[any]any
	if err := c.cookie.decode(r, &values); err != nil {
		return nil, err
	}
	u, ok := values["user"].(User)
	if !ok || u.Subject == "" {
		return nil, ErrSignedOut
	}
	s := &Session{User: u}
	if m, ok := values["session"].(cookieSession); ok {
		s.Created, s.LastSeen, s.Checked, s.RefreshToken = m.Created, m.LastSeen, m.Checked, m.RefreshToken
		return s, nil
	}
	// A gob cookie with the User only: its last use is unknown. With an
	// idle timeout it counts as idle (signed out): a copy would otherwise
	// pass as just used on every replay until its end. Without one it was
	// used "a while ago", and the first request rewrites it as JSON.
	s.Created = u.Expires.Add(-c.ttl)
	s.Checked = s.Created
	if c.idle == 0 {
		s.LastSeen = c.now().Add(-touchEvery)
	}
	return s, nil
}

// decodeJSON verifies and decodes a JSON session cookie, or finds it
// among those it did before. The User it returns shares its Groups and
// Extra with other requests': read them, never change them in place (the
// re-check at the provider builds new ones).
func (c *cookieStore) decodeJSON(value string) (cookieValue, bool) {
	if v, ok := c.decoded.Get(value); ok {
		return v, true
	}
	var v cookieValue
	if securecookie.DecodeMulti(c.cookie.name, value, &v, c.json...) != nil {
		return cookieValue{}, false
	}
	v.User.Groups = slices.Clip(v.User.Groups) // an append copies, never writes into the shared array
	c.decoded.Add(strings.Clone(value), v)     // not the request's whole Cookie header
	return v, true
}

// Touch rewrites the cookie: the browser is the only place to keep it.
func (c *cookieStore) Touch(ctx context.Context, w http.ResponseWriter, s *Session) error {
	return c.Save(ctx, w, s)
}

func (c *cookieStore) Delete(_ context.Context, w http.ResponseWriter, _ *Session) error {
	if w != nil {
		c.cookie.clear(w)
	}
	return nil
}

func (c *cookieStore) RevokeUser(context.Context, string, string) (int, error) {
	return 0, ErrNoServerSessions
}

func (c *cookieStore) List(context.Context, string) ([]SessionInfo, error) {
	return nil, ErrNoServerSessions
}

func (c *cookieStore) Ping(context.Context) error { return nil }
