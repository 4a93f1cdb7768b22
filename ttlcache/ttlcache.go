// Package ttlcache provides Cache, a fixed-size LRU cache whose entries
// expire a fixed time after they were added, and whose memory is bounded by
// its entry count: golang-lru's simplelru.LRU holding each value with its
// deadline, checked when the entry is read.
//
// Unlike golang-lru's expirable.LRU, which sorts entries into 100
// expiry buckets, each a map. Go maps never shrink, so under churn (many
// distinct keys over time) every bucket grows to hold as many entries as
// the cache, and a cache bounded at N entries keeps the room of up to 100
// N: 1,024 entries of 3 KB values took 3.5 MiB, and 14.6-16.0 MiB once
// 150,000 keys had come and gone (TestHeldToItsEntriesUnderChurn, 3.5
// here). Here the one map never holds more than N entries.
//
// It does not run a goroutine, call back on eviction, or free an expired
// entry at its deadline: an expired entry is dropped when it is read, when
// a newer one pushes it out, or when an Add finds it at the old end of the
// list. So a cache holds at most its size in entries, live or expired.
package ttlcache

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache is a thread-safe LRU cache of at most size entries, each kept for
// ttl after it was added (a Get does not extend it).
type Cache[K comparable, V any] struct {
	mu  sync.Mutex
	lru *simplelru.LRU[K, entry[V]]
	ttl time.Duration
	now func() time.Time
}

type entry[V any] struct {
	value    V
	deadline time.Time
}

// sweep is how many expired entries one Add drops from the old end of the
// list, besides the one it may push out: enough that a cache whose users
// went away gives their entries back as new ones come, at a constant cost.
const sweep = 2

// New makes a cache of at most size entries (size must be positive), each
// expiring ttl after it was added; a ttl of zero or less never expires.
func New[K comparable, V any](size int, ttl time.Duration) *Cache[K, V] {
	lru, err := simplelru.NewLRU[K, entry[V]](size, nil)
	if err != nil {
		panic("ttlcache: " + err.Error()) // a size below 1 is a programming error, as in make
	}
	return &Cache[K, V]{lru: lru, ttl: ttl, now: time.Now}
}

// Add adds or replaces the value for key; its ttl starts now.
func (c *Cache[K, V]) Add(key K, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for range sweep {
		if _, e, ok := c.lru.GetOldest(); !ok || !c.expired(e, now) {
			break
		}
		c.lru.RemoveOldest()
	}
	c.lru.Add(key, entry[V]{value: value, deadline: now.Add(c.ttl)})
}

// Get returns the value for key and marks it recently used; false when
// there is none or it expired.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	return c.live(key, e, ok)
}

// Peek is Get without marking the entry recently used.
func (c *Cache[K, V]) Peek(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Peek(key)
	return c.live(key, e, ok)
}

// live returns e's value unless it expired, and drops it if it did. The
// caller holds the lock.
func (c *Cache[K, V]) live(key K, e entry[V], ok bool) (V, bool) {
	if ok && c.expired(e, c.now()) {
		c.lru.Remove(key)
		ok = false
	}
	if !ok {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *Cache[K, V]) expired(e entry[V], now time.Time) bool {
	return c.ttl > 0 && now.After(e.deadline)
}

// Remove drops key's entry and reports whether there was one.
func (c *Cache[K, V]) Remove(key K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Remove(key)
}

// Len is the number of entries held, expired ones not yet dropped included.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Keys are the keys held, oldest first, expired ones not yet dropped
// included.
func (c *Cache[K, V]) Keys() []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Keys()
}
