package commands

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qsgate/qsgate/internal/devkit/redistest"
)

// Sign-out during a Redis pause (a failover, a long fork): the browser
// gets a 503 page, keeps its session cookie and is still signed in, so
// nothing looks done that is not. Once Redis answers, sign-out works and
// a copy of the old cookie is refused.
func TestSignOutDuringRedisPauseIsNotDone(t *testing.T) {
	r := redistest.Start(t)
	s := startStack(t, map[string]string{"QSGATE_REDIS_URL": r.URL(), "QSGATE_SESSION_STORE": "redis"})
	b := newBrowser(t)
	home := s.signIn(b, alice, "/")
	m := csrfRE.FindStringSubmatch(home.body)
	if m == nil {
		t.Fatalf("no CSRF token on the home page")
	}
	u, _ := url.Parse(s.url)
	thief := newBrowser(t)
	thief.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))

	opt, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	defer admin.Close()
	const pause = 3 * time.Second
	if err := admin.Do(t.Context(), "CLIENT", "PAUSE", pause.Milliseconds(), "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	over := time.Now().Add(pause)
	p := b.do(b.noFollow(), http.MethodPost, s.url+"/logout", url.Values{"_csrf": {m[1]}})
	if p.status != 503 || !strings.Contains(p.body, "Sign-out did not complete") || !strings.Contains(p.body, "you are still signed in") {
		t.Errorf("sign-out during the pause = %s, want the 503 page saying sign-out did not complete\n%s", p, p.body)
	}
	if sc := strings.Join(p.header.Values("Set-Cookie"), "\n"); strings.Contains(sc, "qsgate_session=") {
		t.Errorf("sign-out during the pause changed the session cookie: %q", sc)
	}
	time.Sleep(time.Until(over) + 200*time.Millisecond)
	if p := b.do(b.noFollow(), http.MethodGet, s.url+"/", nil); p.status != 200 {
		t.Fatalf("after the failed sign-out, the portal = %s; want still signed in, as the page said", p)
	}

	p = b.do(b.noFollow(), http.MethodPost, s.url+"/logout", url.Values{"_csrf": {m[1]}})
	if p.status != 303 || !strings.Contains(strings.Join(p.header.Values("Set-Cookie"), "\n"), "Max-Age=0") {
		t.Errorf("sign-out once Redis answers = %s, %q; want 303 clearing the cookie", p, p.header.Values("Set-Cookie"))
	}
	if p := thief.do(thief.noFollow(), http.MethodGet, s.url+"/embed/start", nil); p.status != 302 {
		t.Errorf("a copy of the old cookie after sign-out: %s, want a redirect to sign in", p)
	}
}
