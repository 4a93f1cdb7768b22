package auth

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qsgate/qsgate/ttlcache"
)

// The decoded-cookie cache is said to hold 12 MiB at most (store_cookie.go:
// 2,048 entries of a cookie and what it decodes to). It must still hold no
// more after many users came and went: here each hundredth of a (shortened)
// ttl brings 2,048 new full-size cookies, for a ttl and a half, so every
// entry is pushed out or expires and is replaced about 150 times.
// golang-lru's expirable.LRU, which the cache was, held 15.5-16.6 MiB
// here (this cache: 9.8), its 100 expiry buckets each grown toward 2,048
// entries.
func TestDecodedCookieCacheHeldTo12MiBUnderChurn(t *testing.T) {
	c, err := newCookieStore(Config{SessionKeys: [][]byte{newKey}, SessionTTL: testTTL, Now: time.Now}, "qsgate_session", false)
	if err != nil {
		t.Fatal(err)
	}
	cookie, value := fullCookie(t, c)
	ttl := 500 * time.Millisecond
	n := 0
	fill := func() {
		for range decodedCookies {
			// Each browser's cookie, and what decoding it makes: bytes of
			// its own, as decodeJSON keeps them.
			key := fmt.Sprintf("%010d", n) + cookie[10:]
			c.decoded.Add(key, cloneValue(value))
			n++
		}
	}
	base := liveHeap()
	c.decoded = ttlcache.New[string, cookieValue](decodedCookies, ttl)
	for range 151 {
		fill()
		time.Sleep(ttl / 100)
	}
	held := liveHeap() - base
	runtime.KeepAlive(c)
	t.Logf("%d cookies of %d bytes seen; the cache holds %.1f MiB", n, len(cookie), float64(held)/(1<<20))
	if held > 12<<20 {
		t.Errorf("the decoded-cookie cache holds %.1f MiB, want at most 12", float64(held)/(1<<20))
	}
}

// fullCookie is a session cookie as large as Save writes one, and what it
// decodes to.
func fullCookie(t *testing.T, c *cookieStore) (string, cookieValue) {
	t.Helper()
	s := &Session{
		User: User{Subject: "00u1a2b3c4d5e6f7g8h9", Email: "alexandra.longname@example.com", Name: "Alexandra Longname",
			PreferredUsername: "alexandra.longname@example.com", Extra: map[string]string{"department": "Finance and Planning"},
			Groups:  []string{"qs-authors", "qs-admins"},
			IDToken: "eyJ" + strings.Repeat("x", 750), Expires: time.Now().Add(time.Hour)},
		Created: time.Now(), LastSeen: time.Now(), Checked: time.Now(), RefreshToken: strings.Repeat("r", 300),
	}
	w := httptest.NewRecorder()
	if err := c.Save(t.Context(), w, s); err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Header: http.Header{"Cookie": w.Header().Values("Set-Cookie")}}
	ck, err := r.Cookie("qsgate_session")
	if err != nil || s.User.IDToken == "" || len(ck.Value) < maxCookie-300 {
		t.Fatalf("want a cookie near %d bytes with the ID token kept, got %d (%v)", maxCookie, len(ck.Value), err)
	}
	v, ok := c.decodeJSON(ck.Value)
	if !ok {
		t.Fatal("the cookie just saved does not decode")
	}
	return ck.Value, v
}

// cloneValue is v with memory of its own, as each decode makes.
func cloneValue(v cookieValue) cookieValue {
	u := &v.User
	u.Subject, u.Email, u.Name = strings.Clone(u.Subject), strings.Clone(u.Email), strings.Clone(u.Name)
	u.PreferredUsername, u.IDToken = strings.Clone(u.PreferredUsername), strings.Clone(u.IDToken)
	u.Extra, u.Groups = maps.Clone(u.Extra), slices.Clone(u.Groups)
	v.Session.RefreshToken = strings.Clone(v.Session.RefreshToken)
	return v
}

// liveHeap is the heap in use once everything unreachable is collected.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
