package templates

import (
	"bytes"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qsgate/qsgate/ttlcache"
)

// The embed-page cache is said to stay under about 10 MB whatever requests
// it sees (embed.go: 1,024 shells, their other values at most maxShellKey
// bytes). It must still after many browsers came and went: here each
// hundredth of a (shortened) ttl brings 1,024 new shells whose values are
// near that bound, for a ttl and a half, so every shell is pushed out or
// expires and is replaced about 150 times. golang-lru's expirable.LRU,
// which the cache was, held 23-25 MB here (this cache: 4.6), its 100
// expiry buckets each grown toward 1,024 entries.
func TestEmbedShellCacheHeldTo10MBUnderChurn(t *testing.T) {
	s := parse(t)
	// The longest values a request can bring: deep-link parameters fill
	// the API and sign-in links up to maxShellKey.
	key := sampleEmbed
	key.URL = ""
	q := "p.region=" + strings.Repeat("x", 400)
	key.API += "&" + q
	key.Login = "/login?rd=" + url.QueryEscape("/embed/start?"+q)
	if n := len(key.Title) + len(key.Portal) + len(key.CSRF) + len(key.API) + len(key.Login) + len(key.Origin); n > maxShellKey || n < maxShellKey-150 {
		t.Fatalf("the key's values are %d bytes, want just under %d", n, maxShellKey)
	}
	sh, ok := s.shell(key)
	if !ok {
		t.Fatal("no shell for the key")
	}
	ttl := 200 * time.Millisecond
	n := 0
	fill := func() {
		for range embedShells {
			// Each browser's values and shell: bytes of their own, as each
			// request and RenderEmbed make them.
			k := key
			k.CSRF = fmt.Sprintf("%010d", n) + key.CSRF[10:]
			k.API, k.Login = strings.Clone(key.API), strings.Clone(key.Login)
			s.embed.Add(k, shell{bytes.Clone(sh[0]), bytes.Clone(sh[1])})
			n++
		}
	}
	base := liveHeap()
	s.embed = ttlcache.New[Embed, shell](embedShells, ttl)
	for range 151 {
		fill()
		time.Sleep(ttl / 100)
	}
	held := liveHeap() - base
	runtime.KeepAlive(s)
	t.Logf("%d shells of %d bytes seen; the cache holds %.1f MB", n, len(sh[0])+len(sh[1]), float64(held)/1e6)
	if held > 10e6 {
		t.Errorf("the embed-page cache holds %.1f MB, want at most 10", float64(held)/1e6)
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
