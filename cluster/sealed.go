package cluster

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// SealedCache is a Cache whose entries carry a MAC (HMAC-SHA256) under a
// key derived from the gateway's secrets (QSGATE_SESSION_KEYS). Whoever
// can write to Redis but does not hold those keys cannot make an entry
// the gateway believes: not a new one, not one copied from another key,
// not one kept past its expiry. An entry that fails is deleted, counted
// (Rejected) and read as a miss, so the caller asks QuickSight instead.
type SealedCache struct {
	cache    *Cache
	keys     [][]byte // MAC keys, one per secret; the first seals
	now      func() time.Time
	rejected atomic.Int64
}

// sealedVersion starts every sealed entry; a later format gets another.
const sealedVersion = 1

// sealedHeader is the version, the expiry (Unix milliseconds) and the MAC.
const sealedHeader = 1 + 8 + sha256.Size

// NewSealedCache keeps its entries under "qsgate:sealed:<name>:", apart
// from Cache's, so entries written before sealing are never read (they
// expire by themselves) and are not counted as forged. secrets are the
// session keys, newest first, as QSGATE_SESSION_KEYS lists them: entries
// are sealed with the first and accepted under any, so rotating the keys
// keeps the cache.
func NewSealedCache(c redis.UniversalClient, name string, secrets [][]byte) (*SealedCache, error) {
	if len(secrets) == 0 {
		return nil, errors.New("cluster: a sealed cache needs at least one secret")
	}
	s := &SealedCache{cache: &Cache{c: c, prefix: "qsgate:sealed:" + name + ":"}, now: time.Now}
	for _, secret := range secrets {
		// A label of its own: no other use of the secrets shares this key.
		k, err := hkdf.Key(sha256.New, secret, nil, "qsgate cluster cache mac", 32)
		if err != nil {
			return nil, fmt.Errorf("cluster: derive cache key: %w", err)
		}
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Rejected is how many entries failed their seal (forged, moved to another
// key, sealed with a key no longer configured, or kept past their expiry)
// and were dropped, since start. For a metric: anything but a handful after
// a key rotation means someone writes to Redis who should not.
func (s *SealedCache) Rejected() int64 { return s.rejected.Load() }

// Get returns the value and whether a sound entry was there. An entry that
// fails its seal is deleted and reads as a miss; an error means Redis did
// not answer.
func (s *SealedCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	raw, ok, err := s.cache.Get(ctx, key)
	if err != nil || !ok {
		return nil, false, err
	}
	value, verdict := s.open(key, raw)
	if verdict == sound {
		return value, true, nil
	}
	if verdict == forged {
		s.rejected.Add(1)
	}
	// Best effort: a failed delete leaves it to be refused again.
	_ = s.cache.Delete(context.WithoutCancel(ctx), key)
	return nil, false, nil
}

// Set stores value, sealed, for ttl.
func (s *SealedCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.cache.Set(ctx, key, s.seal(key, value, s.now().Add(ttl)), ttl)
}

// Delete drops key.
func (s *SealedCache) Delete(ctx context.Context, key string) error {
	return s.cache.Delete(ctx, key)
}

// seal is version, expiry, MAC, value; the MAC covers the version, the
// expiry, the whole Redis key and the value.
func (s *SealedCache) seal(key string, value []byte, expires time.Time) []byte {
	out := make([]byte, sealedHeader, sealedHeader+len(value))
	out[0] = sealedVersion
	binary.BigEndian.PutUint64(out[1:9], uint64(expires.UnixMilli()))
	copy(out[9:sealedHeader], s.mac(s.keys[0], out[:9], key, value))
	return append(out, value...)
}

// verdict is what open makes of an entry.
type verdict int

const (
	sound  verdict = iota
	stale          // sealed by us, past its expiry by less than clockSkew: another instance's clock is ahead
	forged         // not sealed by any configured key, for this key, or kept well past its expiry
)

// clockSkew is how far the instances' clocks may disagree: an entry a
// little past its sealed expiry is dropped but not counted as forged.
const clockSkew = time.Minute

func (s *SealedCache) open(key string, raw []byte) ([]byte, verdict) {
	if len(raw) < sealedHeader || raw[0] != sealedVersion {
		return nil, forged
	}
	head, sum, value := raw[:9], raw[9:sealedHeader], raw[sealedHeader:]
	for _, k := range s.keys {
		if !hmac.Equal(sum, s.mac(k, head, key, value)) {
			continue
		}
		// Redis drops an entry at its TTL; one still there well after its
		// sealed expiry had its TTL lifted (PERSIST, or written back).
		expires := time.UnixMilli(int64(binary.BigEndian.Uint64(head[1:9])))
		switch now := s.now(); {
		case now.Before(expires):
			return value, sound
		case now.Before(expires.Add(clockSkew)):
			return nil, stale
		}
		return nil, forged
	}
	return nil, forged
}

func (s *SealedCache) mac(k, head []byte, key string, value []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write(head)
	full := s.cache.prefix + key
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(full))) // the key's length first: key and value cannot trade bytes
	m.Write(n[:])
	m.Write([]byte(full))
	m.Write(value)
	return m.Sum(nil)
}
