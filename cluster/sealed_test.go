package cluster

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsqs "github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/redis/go-redis/v9"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
	"github.com/qsgate/qsgate/internal/devkit/redistest"
	"github.com/qsgate/qsgate/quicksight"
)

var (
	newSecret = bytes.Repeat([]byte("n"), 32)
	oldSecret = bytes.Repeat([]byte("o"), 32)
)

func startRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	t.Helper()
	r := redistest.Start(t)
	c, err := NewClient(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return r, c
}

func mustSealed(t *testing.T, c redis.UniversalClient, secrets ...[]byte) *SealedCache {
	t.Helper()
	s, err := NewSealedCache(c, "users", secrets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Whoever can write to Redis but lacks the session keys cannot plant an
// entry: each tampered entry reads as a miss, is deleted and is counted.
func TestSealedCacheRefusesTamperedEntries(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := t.Context()
	const key = "default/alice@example.com"
	raw := func(t *testing.T, c *SealedCache, k string) []byte {
		b, err := rdb.Get(ctx, c.cache.prefix+k).Bytes()
		if err != nil {
			t.Fatalf("read back %s: %v", k, err)
		}
		return b
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, c *SealedCache)
	}{
		{"plain value, as an unsealed cache wrote it", func(t *testing.T, c *SealedCache) {
			rdb.Set(ctx, c.cache.prefix+key, `{"user":{"ARN":"arn:aws:quicksight:us-east-1:123456789012:user/default/admin","Role":"ADMIN"}}`, time.Hour)
		}},
		{"sealed for another key", func(t *testing.T, c *SealedCache) {
			if err := c.Set(ctx, "default/mallory@example.com", []byte("mallory's entry"), time.Hour); err != nil {
				t.Fatal(err)
			}
			rdb.Set(ctx, c.cache.prefix+key, raw(t, c, "default/mallory@example.com"), time.Hour)
		}},
		{"sealed for the same key in another cache", func(t *testing.T, c *SealedCache) {
			other := mustSealed(t, rdb, newSecret)
			other.cache.prefix = "qsgate:sealed:other:"
			if err := other.Set(ctx, key, []byte("other cache"), time.Hour); err != nil {
				t.Fatal(err)
			}
			rdb.Set(ctx, c.cache.prefix+key, raw(t, other, key), time.Hour)
		}},
		{"sealed with a key not configured", func(t *testing.T, c *SealedCache) {
			if err := mustSealed(t, rdb, bytes.Repeat([]byte("x"), 32)).Set(ctx, key, []byte("foreign"), time.Hour); err != nil {
				t.Fatal(err)
			}
		}},
		{"value changed", func(t *testing.T, c *SealedCache) {
			_ = c.Set(ctx, key, []byte(`{"user":{"Role":"READER"}}`), time.Hour)
			b := raw(t, c, key)
			rdb.Set(ctx, c.cache.prefix+key, bytes.Replace(b, []byte("READER"), []byte("ADMIN!"), 1), time.Hour)
		}},
		{"expiry moved later", func(t *testing.T, c *SealedCache) {
			_ = c.Set(ctx, key, []byte("x"), time.Hour)
			b := raw(t, c, key)
			b[1] ^= 0x7f
			rdb.Set(ctx, c.cache.prefix+key, b, time.Hour)
		}},
		{"truncated", func(t *testing.T, c *SealedCache) {
			_ = c.Set(ctx, key, []byte("x"), time.Hour)
			rdb.Set(ctx, c.cache.prefix+key, raw(t, c, key)[:20], time.Hour)
		}},
		{"kept past its expiry (PERSIST)", func(t *testing.T, c *SealedCache) {
			start := time.Now()
			c.now = func() time.Time { return start }
			_ = c.Set(ctx, key, []byte("x"), time.Minute)
			rdb.Persist(ctx, c.cache.prefix+key)
			c.now = func() time.Time { return start.Add(time.Minute + clockSkew + time.Second) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustSealed(t, rdb, newSecret, oldSecret)
			tt.tamper(t, c)
			v, ok, err := c.Get(ctx, key)
			if err != nil || ok || v != nil {
				t.Fatalf("Get = %q, %v, %v; want a miss", v, ok, err)
			}
			if got := c.Rejected(); got != 1 {
				t.Errorf("Rejected = %d, want 1", got)
			}
			if n := rdb.Exists(ctx, c.cache.prefix+key).Val(); n != 0 {
				t.Errorf("the tampered entry is still in Redis")
			}
		})
	}
}

func TestSealedCacheKeyRotation(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := t.Context()
	if err := mustSealed(t, rdb, oldSecret).Set(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	rotated := mustSealed(t, rdb, newSecret, oldSecret)
	if v, ok, err := rotated.Get(ctx, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("after rotation, an entry sealed with the old key = %q, %v, %v; want v", v, ok, err)
	}
	if err := rotated.Set(ctx, "k2", []byte("v2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	onlyNew := mustSealed(t, rdb, newSecret)
	if v, ok, _ := onlyNew.Get(ctx, "k2"); !ok || string(v) != "v2" {
		t.Errorf("an entry sealed after rotation is not read with the new key alone: %q, %v", v, ok)
	}
	if _, ok, _ := onlyNew.Get(ctx, "k"); ok || onlyNew.Rejected() != 1 {
		t.Errorf("an entry sealed with a retired key was believed (rejected %d)", onlyNew.Rejected())
	}
}

// Another instance's clock a little ahead drops an entry near its end
// without counting it as forged.
func TestSealedCacheClockSkewIsNotForgery(t *testing.T) {
	_, rdb := startRedis(t)
	c := mustSealed(t, rdb, newSecret)
	start := time.Now()
	c.now = func() time.Time { return start }
	_ = c.Set(t.Context(), "k", []byte("v"), time.Hour)
	c.now = func() time.Time { return start.Add(time.Hour + time.Second) }
	if _, ok, _ := c.Get(t.Context(), "k"); ok || c.Rejected() != 0 {
		t.Errorf("an entry a second past its end: found %v, rejected %d; want a miss, not counted", ok, c.Rejected())
	}
}

func TestNewSealedCacheNeedsASecret(t *testing.T) {
	if _, err := NewSealedCache(nil, "users", nil); err == nil {
		t.Fatal("a sealed cache without a secret was made")
	}
}

// The attack the review reproduced: one SET in Redis pointed a signed-in
// user at another QuickSight user (an ADMIN). Through the sealed cache the
// mapper ignores the planted entry and finds the user's own.
func TestPlantedLookupEntryIgnored(t *testing.T) {
	_, rdb := startRedis(t)
	sim, err := qssim.Start(qssim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	aliceARN := sim.AddUser(qssim.User{UserName: "alice", Email: "alice@example.com", Role: "READER"})
	adminARN := sim.AddUser(qssim.User{UserName: "admin", Email: "admin@example.com", Role: "ADMIN"})
	api := awsqs.NewFromConfig(aws.Config{Region: qssim.DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider(qssim.DefaultAccessKeyID, qssim.DefaultSecretAccessKey, "")},
		func(o *awsqs.Options) { o.BaseEndpoint = aws.String(sim.URL()) })
	dir := quicksight.NewDirectory(qssim.DefaultAccountID, qssim.DefaultRegion, 10*time.Second, false,
		func(string) quicksight.UsersAPI { return api }, nil)
	cache := mustSealed(t, rdb, newSecret)
	m := quicksight.NewLookupMapper(dir, nil, time.Hour).Share(cache)

	planted, _ := json.Marshal(map[string]any{"user": map[string]any{"ARN": adminARN, "Email": "alice@example.com", "Role": "ADMIN", "Active": true}})
	if err := rdb.Set(t.Context(), cache.cache.prefix+"default/alice@example.com", planted, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	id, err := m.Identity(t.Context(), quicksight.Person{Claims: emailClaims("alice@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if id.UserARN != aliceARN {
		t.Fatalf("alice mapped to %s (role %s), want her own %s", id.UserARN, id.Role, aliceARN)
	}
	if cache.Rejected() != 1 {
		t.Errorf("Rejected = %d, want the planted entry counted", cache.Rejected())
	}
}

type emailClaims string

func (e emailClaims) Claim(name string) string {
	if name == "email" {
		return string(e)
	}
	return ""
}
