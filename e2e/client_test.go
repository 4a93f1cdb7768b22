package e2e

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// This file is a plain HTTP client that signs in as a browser would
// (cookies, redirects, the provider's form), recording every exchange so
// tests can look at each redirect and at which instance answered.

// A hop is one request and its response, as seen on the wire.
type hop struct {
	Method   string
	URL      *url.URL
	Status   int
	Location string
	Upstream string // nginx's X-Upstream: the instances tried, in order ("A" or "A, B")
}

// recorder is an http.RoundTripper that records every hop and adds forged
// headers to the requests for the hosts in forgeFor.
type recorder struct {
	base      *http.Transport
	forgeFor  map[string]bool // host:port
	forged    http.Header
	forgeHost string // replaces the Host header when set

	mu   sync.Mutex
	hops []hop
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.forgeFor[req.URL.Host] {
		req = req.Clone(req.Context())
		for k, v := range r.forged {
			req.Header[k] = v
		}
		if r.forgeHost != "" {
			req.Host = r.forgeHost
		}
	}
	resp, err := r.base.RoundTrip(req)
	h := hop{Method: req.Method, URL: req.URL}
	if err == nil {
		h.Status, h.Location, h.Upstream = resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("X-Upstream")
	}
	r.mu.Lock()
	r.hops = append(r.hops, h)
	r.mu.Unlock()
	return resp, err
}

// since returns the hops from index i on.
func (r *recorder) since(i int) []hop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hop(nil), r.hops[i:]...)
}

// newClient returns a client with a cookie jar that records its hops.
func newClient(t *testing.T) (*http.Client, *recorder) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(rec.base.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: rec, Timeout: stepTimeout}, rec
}

// A page is where a request ended, after redirects.
type page struct {
	Status int
	URL    string
	Header http.Header
	Body   string
}

// fetch sends a request (a GET, or a form POST when form is not nil) and
// follows redirects.
func fetch(t *testing.T, c *http.Client, method, target string, form url.Values) page {
	t.Helper()
	p, err := tryFetch(context.Background(), c, method, target, form)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return p
}

func tryFetch(ctx context.Context, c *http.Client, method, target string, form url.Values) (page, error) {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, URL: resp.Request.URL.String(), Header: resp.Header, Body: string(b)}, err
}

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)" id="login-form">`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// hiddenFields returns the hidden inputs of a page.
func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// signIn opens start (a gateway page) signed out, which must lead to the
// provider's sign-in page at issuer; chooses subject there, and returns the
// page it ends on.
func signIn(t *testing.T, c *http.Client, issuer, start, subject string) page {
	t.Helper()
	p := fetch(t, c, http.MethodGet, start, nil)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.URL, issuer+"/login?") {
		t.Fatalf("signed out, %s ended at %s (status %d), want the provider's sign-in page %s/login", start, p.URL, p.Status, issuer)
	}
	m := formActionRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no sign-in form on the provider's page %s", p.URL)
	}
	form := hiddenFields(p.Body)
	form.Set("user", subject)
	return fetch(t, c, http.MethodPost, issuer+html.UnescapeString(m[1]), form)
}

// signOut posts the home page's sign-out form and returns where it ends.
func signOut(t *testing.T, c *http.Client, gateway string) page {
	t.Helper()
	home := fetch(t, c, http.MethodGet, gateway+"/", nil)
	token := hiddenFields(home.Body).Get("_csrf")
	if home.Status != http.StatusOK || token == "" {
		t.Fatalf("home page: status %d, CSRF token %q; want 200 and a token", home.Status, token)
	}
	return fetch(t, c, http.MethodPost, gateway+"/logout", url.Values{"_csrf": {token}})
}
