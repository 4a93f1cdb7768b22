package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// user is one person signing in: at the provider, in the simulator as the
// mapping mode wants them, and in the load as one browser.
type user struct {
	subject, email string
	browser        *http.Client // its own cookie jar, a shared transport
}

func makeUsers(n int, transport http.RoundTripper) []user {
	users := make([]user, n)
	for i := range users {
		jar, _ := cookiejar.New(nil) // only fails with options that have a bad PublicSuffixList
		users[i] = user{
			subject: fmt.Sprintf("user%04d", i+1),
			email:   fmt.Sprintf("user%04d@%s", i+1, domain),
			browser: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second},
		}
	}
	return users
}

// quickSight is the user the simulator holds for u: the names each mode
// expects (demo/users.go does the same for its five people). Before the
// first view there is none in register mode; after it, the one it
// registered.
func (u user) quickSight(mapping string, warm bool) *qssim.User {
	switch mapping {
	case "lookup":
		// Another name, and the email in other case: found by ListUsers.
		return &qssim.User{UserName: "qs." + u.subject, Email: strings.ToUpper(u.email[:1]) + u.email[1:], Role: "AUTHOR"}
	case "register":
		if !warm {
			return nil
		}
	case "iam":
		return &qssim.User{UserName: iamRole + "/" + u.email, Email: u.email, Role: "AUTHOR", IdentityType: "IAM"}
	}
	return &qssim.User{UserName: u.email, Email: u.email, Role: "AUTHOR"}
}

// bareUser is u's twin for the bare SDK calls, the same in every mode. Its
// email is its own: lookup mode refuses an email two users share.
func (u user) bareUser() qssim.User {
	return qssim.User{UserName: "bare." + u.email, Email: "bare." + u.email, Role: "AUTHOR"}
}

// The provider's sign-in page: one form, two hidden fields, a button a user.
var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)" id="login-form">`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// consoleMarker is in every embed page: the iframe the console opens in.
var consoleMarker = []byte(`<iframe id="qs-console" src="`)

// signIn goes the way a browser goes: /embed/start, redirected to the
// provider's sign-in page, the button for u, back through the callback to
// /embed/start, which is u's first (cold) view.
func signIn(ctx context.Context, gateway string, u user) error {
	status, final, body, err := fetch(ctx, u.browser, http.MethodGet, gateway+"/embed/start", nil)
	if err != nil {
		return err
	}
	m := formActionRE.FindSubmatch(body)
	if status != http.StatusOK || m == nil {
		return fmt.Errorf("%s: no sign-in form at %s (status %d)", u.subject, final, status)
	}
	action, err := final.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return err
	}
	form := url.Values{"user": {u.subject}}
	for _, h := range hiddenRE.FindAllSubmatch(body, -1) {
		form.Set(string(h[1]), html.UnescapeString(string(h[2])))
	}
	status, final, body, err = fetch(ctx, u.browser, http.MethodPost, action.String(), form)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Contains(body, consoleMarker) {
		return fmt.Errorf("%s: after signing in, %d at %s without the console", u.subject, status, final)
	}
	return nil
}

// signInAll signs users in, parallel at a time, and stops at the first
// failure.
func signInAll(ctx context.Context, gateway string, users []user, parallel int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan user)
	)
	for range max(1, parallel) {
		wg.Go(func() {
			for u := range next {
				if err := signIn(ctx, gateway, u); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for _, u := range users {
		select {
		case next <- u:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// fetch does one request (a form when form is not nil) and reads the whole
// answer, following redirects.
func fetch(ctx context.Context, c *http.Client, method, u string, form url.Values) (int, *url.URL, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, data, err
}
