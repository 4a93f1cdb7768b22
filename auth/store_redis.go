package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qsgate/qsgate/audit"
	"github.com/redis/go-redis/v9"
)

// redisStore keeps sessions in Redis; the cookie carries only a random
// 256-bit id, signed and encrypted with the session keys. The id never
// reaches Redis: the key is derived from it (HKDF), and the session's
// secrets (claims, ID token, refresh token) are sealed with another key
// derived from it, so reading Redis yields no usable session. Per-user
// index sets (by subject, by lower-cased email) name the keys, for revoke
// and list, and cap how many sessions one subject keeps (createScript).
// Every call has a timeout; a failure is ErrStoreUnavailable.
type redisStore struct {
	rdb     redis.UniversalClient
	timeout time.Duration
	cookie  cookieCodec
	ttl     time.Duration // the index sets' expiry: no session outlives it
	idle    time.Duration
	maxPer  int // sessions kept per subject; a new one past it ends the oldest
	log     *slog.Logger
	audit   Auditor // nil records nothing
	now     func() time.Time
}

// defaultMaxSessionsPerUser is Config.MaxSessionsPerUser's zero value: a
// person's browsers and devices, with room to spare.
const defaultMaxSessionsPerUser = 20

const (
	redisSessionPrefix = "qsgate:session:"
	redisSubIndex      = "qsgate:sessions:sub:"
	redisEmailIndex    = "qsgate:sessions:email:"
)

// updateScript changes fields of a session only if it still exists, so a
// touch or a re-check racing a logout or revoke cannot bring it back.
// ARGV[1] is the new expiry in milliseconds, the rest field/value pairs.
var updateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`)

// createScript makes a session, its index entries and room for it, in one
// step no other client sees half done: a revoke or list running at the
// same time finds the session with its index entries or not at all, and
// sign-ins racing each other never leave more than the cap. With a cap
// (ARGV[3] > 0, KEYS[2] the subject's index) it first drops index entries
// whose session is gone (in the subject's index and the email's, KEYS[3]),
// then ends the oldest sessions (by created, then key) until the new one
// fits, and returns how many it ended. An ended session leaves its email
// index through the key Go wrote in its "eidx" field (Lua lower-cases
// ASCII only), or, for a session written without one, ARGV[4] and its
// email lower-cased.
// KEYS[1] is the session's key, KEYS[2..] its indexes; ARGV[1] the
// session's life (ms), ARGV[2] the indexes' (ms), ARGV[4] the email index
// prefix, ARGV[5..] the session's field/value pairs. The sessions it ends
// are found through the index, so it needs every key on one server
// (a single Redis, with or without Sentinel, as cluster.NewClient makes).
var createScript = redis.NewScript(`
local ended = 0
local cap = tonumber(ARGV[3])
if cap > 0 then
  local live = {}
  for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    local f = redis.call('HMGET', k, 'created', 'email', 'eidx')
    if f[1] then
      local eidx = f[3]
      if not eidx and f[2] and f[2] ~= '' then eidx = ARGV[4] .. string.lower(f[2]) end
      live[#live + 1] = {k, tonumber(f[1]) or 0, eidx}
    else
      redis.call('SREM', KEYS[2], k)
    end
  end
  if KEYS[3] then
    for _, k in ipairs(redis.call('SMEMBERS', KEYS[3])) do
      if redis.call('EXISTS', k) == 0 then redis.call('SREM', KEYS[3], k) end
    end
  end
  if #live >= cap then
    table.sort(live, function(a, b)
      if a[2] ~= b[2] then return a[2] < b[2] end
      return a[1] < b[1]
    end)
    for i = 1, #live - cap + 1 do
      local k, eidx = live[i][1], live[i][3]
      redis.call('DEL', k)
      redis.call('SREM', KEYS[2], k)
      if eidx then redis.call('SREM', eidx, k) end
      ended = ended + 1
    end
  end
end
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return ended`)

func newRedisStore(cfg Config, name string, secure bool) (*redisStore, error) {
	maxPer := cfg.MaxSessionsPerUser
	switch {
	case maxPer < 0:
		return nil, errors.New("auth: MaxSessionsPerUser must not be negative")
	case maxPer == 0:
		maxPer = defaultMaxSessionsPerUser
	}
	c, err := newCookieCodec(cfg, name, "session id", secure)
	if err != nil {
		return nil, err
	}
	return &redisStore{rdb: cfg.Redis, timeout: cfg.RedisTimeout, cookie: c, ttl: cfg.SessionTTL, idle: cfg.Idle,
		maxPer: maxPer, log: cfg.Logger, audit: cfg.Audit, now: cfg.Now}, nil
}

// isNilClient catches a nil *redis.Client (or cluster, ring) passed as
// Config.Redis, which is not a nil interface: it means "no Redis".
func isNilClient(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case nil:
		return true
	case *redis.Client:
		return c == nil
	case *redis.ClusterClient:
		return c == nil
	case *redis.Ring:
		return c == nil
	}
	return false
}

// boundedByContext reports whether the client lets a call's context
// deadline reach the socket; without it go-redis waits its own read
// timeout (seconds) whatever RedisTimeout says.
func boundedByContext(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true // another implementation: its own business
}

// sealed is the part of a session only its id opens.
type sealed struct {
	User         User
	Checked      time.Time
	RefreshToken string
}

func (s *redisStore) Save(ctx context.Context, w http.ResponseWriter, sess *Session) error {
	left := s.left(sess)
	if left <= 0 {
		return ErrSignedOut
	}
	id := sess.id
	if id == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		id = base64.RawURLEncoding.EncodeToString(b)
	}
	key := redisKey(id)
	data, err := seal(id, key, sealed{User: sess.User, Checked: sess.Checked, RefreshToken: sess.RefreshToken})
	if err != nil {
		return err
	}
	fields := []any{"sub", sess.User.Subject, "email", sess.User.Email, "created", millis(sess.Created),
		"seen", millis(sess.LastSeen), "expires", millis(sess.User.Expires), "data", data}
	if sess.User.Email != "" {
		fields = append(fields, "eidx", redisEmailIndex+strings.ToLower(sess.User.Email))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if sess.id != "" { // an update: index a changed email, then write if it still exists
		if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { s.index(ctx, p, key, sess.User); return nil }); err != nil {
			return unavailable(err)
		}
		return s.update(ctx, key, left, fields...)
	}
	value, err := s.cookie.encode(id)
	if err != nil {
		return fmt.Errorf("encode session cookie: %w", err)
	}
	if err := s.create(ctx, key, left, sess.User, fields); err != nil {
		return err
	}
	sess.id = id
	s.cookie.write(w, value, sess.User.Expires.Sub(s.now()))
	return nil
}

// create writes a new session with its index entries, ending the user's
// oldest sessions past the cap (createScript).
func (s *redisStore) create(ctx context.Context, key string, left time.Duration, u User, fields []any) error {
	keys := append([]string{key}, indexKeys(u.Subject, u.Email)...)
	maxPer := s.maxPer
	if u.Subject == "" {
		maxPer = 0 // no subject index to count by (verify never lets one through)
	}
	args := append([]any{left.Milliseconds(), s.ttl.Milliseconds(), maxPer, redisEmailIndex}, fields...)
	ended, err := createScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return unavailable(err)
	}
	if ended > 0 {
		s.log.Info("oldest sessions ended: the user reached the sessions cap", "event", "sessions_capped",
			"sub", u.Subject, "email", u.Email, "ended", ended, "max", s.maxPer)
		if s.audit != nil {
			s.audit.Record(ctx, audit.Event{Event: audit.SessionRevoked, Reason: audit.ReasonSessionCap,
				Subject: u.Subject, Email: u.Email, Count: audit.N(ended)})
		}
	}
	return nil
}

func (s *redisStore) index(ctx context.Context, p redis.Pipeliner, key string, u User) {
	for _, idx := range indexKeys(u.Subject, u.Email) {
		p.SAdd(ctx, idx, key)
		p.Expire(ctx, idx, s.ttl)
	}
}

func (s *redisStore) update(ctx context.Context, key string, left time.Duration, fields ...any) error {
	n, err := updateScript.Run(ctx, s.rdb, []string{key}, append([]any{left.Milliseconds()}, fields...)...).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return ErrSignedOut // ended meanwhile (logout, revoke, expiry)
	}
	return nil
}

func (s *redisStore) Load(r *http.Request) (*Session, error) {
	var id string
	if err := s.cookie.decode(r, &id); err != nil || id == "" {
		return nil, ErrSignedOut
	}
	key := redisKey(id)
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	m, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	if m["data"] == "" {
		return nil, ErrSignedOut
	}
	v, err := open(id, key, m["data"])
	if err != nil {
		return nil, ErrSignedOut
	}
	return &Session{User: v.User, Checked: v.Checked, RefreshToken: v.RefreshToken,
		Created: fromMillis(m["created"]), LastSeen: fromMillis(m["seen"]), id: id}, nil
}

// Touch writes last-seen only (and the expiry it moves), not the cookie.
func (s *redisStore) Touch(ctx context.Context, _ http.ResponseWriter, sess *Session) error {
	left := s.left(sess)
	if sess.id == "" || left <= 0 {
		return ErrSignedOut
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.update(ctx, redisKey(sess.id), left, "seen", millis(sess.LastSeen))
}

func (s *redisStore) Delete(ctx context.Context, w http.ResponseWriter, sess *Session) error {
	if w != nil {
		s.cookie.clear(w)
	}
	if sess == nil || sess.id == "" {
		return nil
	}
	key := redisKey(sess.id)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		for _, idx := range indexKeys(sess.User.Subject, sess.User.Email) {
			p.SRem(ctx, idx, key)
		}
		return nil
	})
	if err != nil {
		return unavailable(err)
	}
	return nil
}

func (s *redisStore) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// left is how long sess may still live: to its absolute end, or to its
// idle end when that is sooner. Redis expires the key then.
func (s *redisStore) left(sess *Session) time.Duration {
	end := sess.User.Expires
	if s.idle > 0 && sess.LastSeen.Add(s.idle).Before(end) {
		end = sess.LastSeen.Add(s.idle)
	}
	return end.Sub(s.now())
}

func unavailable(err error) error { return fmt.Errorf("%w: %w", ErrStoreUnavailable, err) }

// redisKey is the session's key: derived from the id, which it does not
// reveal.
func redisKey(id string) string {
	k, _ := hkdf.Key(sha256.New, []byte(id), nil, "qsgate session key", 32) // fails only for lengths over 8160
	return redisSessionPrefix + hex.EncodeToString(k)
}

func indexKeys(sub, email string) []string {
	var keys []string
	if sub != "" {
		keys = append(keys, redisSubIndex+sub)
	}
	if email != "" {
		keys = append(keys, redisEmailIndex+strings.ToLower(email))
	}
	return keys
}

// sessionAEAD seals a session's secrets with a key only its id gives.
func sessionAEAD(id string) cipher.AEAD {
	k, _ := hkdf.Key(sha256.New, []byte(id), nil, "qsgate session seal", 32) // see redisKey
	block, _ := aes.NewCipher(k)                                             // a 32-byte key is always valid
	aead, _ := cipher.NewGCM(block)                                          // AES has GCM's block size
	return aead
}

// seal encrypts v, bound to its key (so it opens nowhere else).
func seal(id, key string, v sealed) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode session: %w", err)
	}
	aead := sessionAEAD(id)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return string(aead.Seal(nonce, nonce, plain, []byte(key))), nil
}

func open(id, key, data string) (sealed, error) {
	var v sealed
	aead := sessionAEAD(id)
	if len(data) < aead.NonceSize() {
		return v, errors.New("sealed session too short")
	}
	plain, err := aead.Open(nil, []byte(data[:aead.NonceSize()]), []byte(data[aead.NonceSize():]), []byte(key))
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(plain, &v)
}

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fromMillis(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
