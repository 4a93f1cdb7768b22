package ttlcache

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// clock is a settable time for the cache's expiry checks.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func withClock[K comparable, V any](c *Cache[K, V]) *clock {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.now = clk.now
	return clk
}

func TestEntryExpiresTTLAfterItWasAdded(t *testing.T) {
	c := New[string, int](10, time.Minute)
	clk := withClock(c)
	c.Add("a", 1)
	clk.t = clk.t.Add(40 * time.Second)
	if got, ok := c.Get("a"); !ok || got != 1 {
		t.Fatalf("Get before the ttl = %d, %v; want 1, true", got, ok)
	}
	clk.t = clk.t.Add(20 * time.Second) // exactly the ttl: still there
	if _, ok := c.Peek("a"); !ok {
		t.Fatal("Peek at the ttl found nothing")
	}
	clk.t = clk.t.Add(time.Nanosecond) // a Get does not extend it
	if got, ok := c.Get("a"); ok {
		t.Fatalf("Get past the ttl = %d, true; want nothing", got)
	}
	if n := c.Len(); n != 0 {
		t.Fatalf("Len after an expired Get = %d, want 0 (dropped)", n)
	}
}

func TestAddRestartsTheTTL(t *testing.T) {
	c := New[string, int](10, time.Minute)
	clk := withClock(c)
	c.Add("a", 1)
	clk.t = clk.t.Add(50 * time.Second)
	c.Add("a", 2)
	clk.t = clk.t.Add(50 * time.Second)
	if got, ok := c.Get("a"); !ok || got != 2 {
		t.Fatalf("Get 50s after the second Add = %d, %v; want 2, true", got, ok)
	}
}

func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	c := New[string, int](2, time.Minute)
	c.Add("a", 1)
	c.Add("b", 2)
	c.Get("a")  // a is now the most recent
	c.Peek("b") // and a Peek changes nothing
	c.Add("c", 3)
	if got, want := c.Keys(), []string{"a", "c"}; !slices.Equal(got, want) {
		t.Fatalf("Keys = %v, want %v", got, want)
	}
	if !c.Remove("a") || c.Remove("a") {
		t.Fatal("Remove: want true, then false")
	}
}

func TestAddDropsExpiredEntries(t *testing.T) {
	c := New[int, int](100, time.Minute)
	clk := withClock(c)
	for i := range 10 {
		c.Add(i, i)
	}
	clk.t = clk.t.Add(2 * time.Minute) // all ten expired, none read again
	for i := range 5 {
		c.Add(100+i, i)
	}
	if got, want := c.Len(), 5; got != want {
		t.Fatalf("Len = %d after 5 Adds over 10 expired entries, want %d", got, want)
	}
}

func TestZeroTTLNeverExpires(t *testing.T) {
	c := New[string, int](10, 0)
	clk := withClock(c)
	c.Add("a", 1)
	clk.t = clk.t.Add(100 * 365 * 24 * time.Hour)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("an entry of a cache without ttl expired")
	}
}

// liveHeap is the heap in use once everything unreachable is collected.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// key is shaped like the caches' keys: a few strings.
type key struct{ a, b, c, d string }

// Churn is many distinct keys over time, more than the cache holds in one
// ttl: sessions and pages of users who come and go. Each hundredth of the
// ttl brings the cache's size in new keys, for a ttl and a half, so every
// entry is pushed out or expires and is replaced about 150 times. What the
// cache holds after must be what it held after the first fill: its memory
// follows its entry count, not the keys it has seen. golang-lru's
// expirable.LRU held 14.6-16.0 MiB here after 3.5 MiB for the first fill,
// its 100 expiry buckets each grown toward the cache's size.
func TestHeldToItsEntriesUnderChurn(t *testing.T) {
	const size = 1024
	ttl := 200 * time.Millisecond
	n := 0
	fill := func(c *Cache[key, []byte]) {
		for range size {
			c.Add(key{fmt.Sprintf("a-%09d", n), "bbbbbbbbbbbbbbbbbbbbbbbb", "c", "d"}, make([]byte, 3000))
			n++
		}
	}
	base := liveHeap()
	c := New[key, []byte](size, ttl)
	fill(c)
	first := liveHeap() - base
	for range 150 {
		time.Sleep(ttl / 100)
		fill(c)
	}
	after := liveHeap() - base
	runtime.KeepAlive(c)
	t.Logf("%d entries: %.1f MiB after the first fill, %.1f MiB after %d keys", size, mib(first), mib(after), n)
	if limit := first + first/4; after > limit {
		t.Errorf("after churn the cache holds %.1f MiB, want at most %.1f (what its first %d entries took, and a quarter)", mib(after), mib(limit), size)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
