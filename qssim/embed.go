package qssim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"time"
)

const (
	// embedURLLifetime is how long an embed URL can be opened, per the API reference.
	embedURLLifetime = 5 * time.Minute
	// sessionRetention bounds memory: older sessions are forgotten, and their
	// URLs then answer "not valid" instead of "expired".
	sessionRetention = time.Hour
)

// embedSession is an issued embed URL: its secret code and what it signs in to.
type embedSession struct {
	code            string
	userArn         string
	userName        string
	role            string
	entryPoint      string
	sessionLifetime int64
	issuedAt        time.Time
	used            bool
}

// issueEmbedURL stores a new single-use session for u and returns its URL, in
// the shape the QuickSight embedding SDK accepts:
// {origin}/embed/{32 hex}{entryPoint}?isauthcode=true&identityprovider=quicksight&code={code}
func (s *Simulator) issueEmbedURL(r *http.Request, u userRecord, entryPoint string, lifetime int64) string {
	id := randomHex(16)
	code := make([]byte, 48)
	_, _ = rand.Read(code) // crypto/rand.Read never fails (Go 1.24+)
	sess := &embedSession{
		code:            base64.RawURLEncoding.EncodeToString(code),
		userArn:         u.arn,
		userName:        u.UserName,
		role:            u.Role,
		entryPoint:      entryPoint,
		sessionLifetime: lifetime,
		issuedAt:        s.now(),
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.sessions {
		if sess.issuedAt.Sub(old.issuedAt) > sessionRetention {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = sess
	origin := s.baseURL
	if origin == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		origin = scheme + "://" + r.Host
	}
	// Entry points are checked to hold only [\w/-], so they need no escaping.
	return origin + "/embed/" + id + entryPoint + "?isauthcode=true&identityprovider=quicksight&code=" + sess.code
}

// openEmbedURL serves GET /embed/{session}/{path...}: the first opening within
// 5 minutes shows the stand-in console page; anything else a 401 page.
func (s *Simulator) openEmbedURL(w http.ResponseWriter, r *http.Request) {
	id, entryPoint, code := r.PathValue("session"), "/"+r.PathValue("path"), r.URL.Query().Get("code")

	s.mu.Lock()
	sess, ok := s.sessions[id]
	var view embedSession
	problem := ""
	switch {
	case !ok || sess.entryPoint != entryPoint || !equalConstantTime(code, sess.code):
		problem = "this sign-in link is not valid"
	case sess.used:
		problem = "this sign-in link was already used"
	case s.now().Sub(sess.issuedAt) >= embedURLLifetime:
		problem = "this sign-in link has expired"
	default:
		sess.used = true
		view = *sess
	}
	s.mu.Unlock()

	// Never log the code or the URL: the path and the code are the credential.
	result := "signed in"
	if problem != "" {
		result = problem
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "embed url opened",
		slog.String("user_arn", view.userArn), slog.String("result", result))

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Frameable by any portal, and nothing but inline styles may load.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")

	var buf bytes.Buffer
	var err error
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnauthorized
		err = pageTemplate.ExecuteTemplate(&buf, "error", problem)
	} else {
		err = pageTemplate.ExecuteTemplate(&buf, "console", map[string]any{
			"UserArn":         view.userArn,
			"UserName":        view.userName,
			"Role":            view.role,
			"EntryPoint":      view.entryPoint,
			"SessionLifetime": view.sessionLifetime,
		})
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a browser that went away does not need the page
}

var pageTemplate = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>QuickSight simulator - demo</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; color: #16191f; background: #f2f3f3; }
  #qs-banner { background: #232f3e; color: #fff; padding: 12px 20px; font-weight: 600; }
  main { padding: 20px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 8px 16px; }
  dt { font-weight: 600; }
  dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
  .error { color: #d13212; }
</style>
</head>
<body>
<div id="qs-banner" role="banner">QuickSight simulator - demo</div>
<main>{{end}}

{{define "console"}}{{template "head"}}
<h1>Embedded console</h1>
<p>This page stands in for the Amazon QuickSight console. Nothing here is real data.</p>
<dl>
  <dt>User ARN</dt><dd id="qs-user-arn">{{.UserArn}}</dd>
  <dt>User name</dt><dd id="qs-user-name">{{.UserName}}</dd>
  <dt>Role</dt><dd id="qs-role">{{.Role}}</dd>
  <dt>Entry point</dt><dd id="qs-entry-point">{{.EntryPoint}}</dd>
  <dt>Session lifetime (minutes)</dt><dd id="qs-session-lifetime">{{.SessionLifetime}}</dd>
</dl>
</main>
</body>
</html>
{{end}}

{{define "error"}}{{template "head"}}
<h1 class="error" id="qs-error">Sign-in failed</h1>
<p id="qs-error-message">{{.}}</p>
<p>Embed URLs work once, within 5 minutes. Ask the portal for a new one.</p>
</main>
</body>
</html>
{{end}}
`))
