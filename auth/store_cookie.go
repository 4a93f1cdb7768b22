package auth

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// cookieStore keeps the whole session in the browser's cookie, encrypted
// and signed with the session keys. Nothing is kept on the server, so a
// copy of the cookie lives until the session's own end however it is
// signed out, and sessions cannot be listed or ended one by one.
type cookieStore struct {
	cookie cookieCodec
	ttl    time.Duration
	now    func() time.Time
}

// cookieSession is what the cookie keeps besides the User, under its own
// entry: cookies made before it existed (with the User only) still read.
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
	return &cookieStore{cookie: c, ttl: cfg.SessionTTL, now: cfg.Now}, nil
}

// Save writes the cookie. When it would be too large, the ID token (only a
// logout hint) goes first, then the refresh token (the session then lasts
// until its end without re-checks).
func (c *cookieStore) Save(_ context.Context, w http.ResponseWriter, s *Session) error {
	for {
		value, err := c.cookie.encode(map[any]any{
			"user":    s.User,
			"session": cookieSession{Created: s.Created, LastSeen: s.LastSeen, Checked: s.Checked, RefreshToken: s.RefreshToken},
		})
		if err == nil && len(c.cookie.name)+len(value) <= maxCookie {
			c.cookie.write(w, value, s.User.Expires.Sub(c.now()))
			return nil
		}
		switch {
		case s.User.IDToken != "":
			s.User.IDToken = ""
		case s.RefreshToken != "":
			s.RefreshToken = ""
		case err != nil:
			return fmt.Errorf("encode session: %w", err)
		default:
			return errors.New("the user's claims do not fit in a session cookie")
		}
	}
}

func (c *cookieStore) Load(r *http.Request) (*Session, error) {
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
	// A cookie from before sessions had more than the User: its last use
	// is unknown, so say "a while ago, but not idle": the first request
	// rewrites it in the new form.
	s.Created = u.Expires.Add(-c.ttl)
	s.Checked = s.Created
	s.LastSeen = c.now().Add(-touchEvery)
	return s, nil
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
