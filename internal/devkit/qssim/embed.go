package qssim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

const (
	// embedURLLifetime is how long an embed URL can be opened, per the API reference.
	embedURLLifetime = 5 * time.Minute
	// sessionRetention bounds memory: unopened URLs are forgotten an hour
	// after they were issued, opened sessions an hour after their lifetime.
	// A forgotten URL answers "not valid" instead of "expired".
	sessionRetention = time.Hour
	// pruneEvery is how often issuing a URL also drops the forgettable
	// ones: the sweep reads every session under the lock, so doing it on
	// each issue made a long benchmark slow down as the map grew.
	pruneEvery = time.Minute
)

// Experiences of an embed page.
const (
	experienceConsole   = "QuickSightConsole"
	experienceDashboard = "Dashboard"
)

// embedRequest is what an embed call asked for, once checked.
type embedRequest struct {
	api        string // the operation: GetSessionEmbedUrl or GenerateEmbedUrlForRegisteredUser
	experience string // experienceConsole, experienceDashboard, experienceQnA or experienceVisual
	// entryPoint is the path the URL opens after its session id: the
	// console's entry point, or the one derived for another experience.
	entryPoint string
	lifetime   int64 // minutes
	// The Dashboard and DashboardVisual experiences' ids, and Generative
	// Q&A's initial topic ("" for the list of topics).
	dashboardID, sheetID, visualID, topicID string
	features                                []string // as Call.Features
}

// embedSession is an issued embed URL: its secret code and what it signs in
// to; once opened, the sign-on session it started.
type embedSession struct {
	embedRequest
	code     string
	root     string // the URL's first path segment: "embed" or "embedding"
	userArn  string
	userName string
	role     string
	issuedAt time.Time
	used     bool
	openedAt time.Time
	ended    bool // by EndConsoleSessions
}

// expiresAt is when an opened session's lifetime passes.
func (e *embedSession) expiresAt() time.Time {
	return e.openedAt.Add(time.Duration(e.lifetime) * time.Minute)
}

// forgettable reports whether the session can be dropped at now.
func (e *embedSession) forgettable(now time.Time) bool {
	if e.used {
		return now.Sub(e.expiresAt()) > sessionRetention
	}
	return now.Sub(e.issuedAt) > sessionRetention
}

// issueEmbedURL stores a new single-use session for u and returns its URL,
// in the shape QuickSight gives it, which the embedding SDK accepts:
// GetSessionEmbedUrl: {origin}/embed/{32 hex}{entryPoint}?isauthcode=true&identityprovider=quicksight&code={code}
// GenerateEmbedUrlForRegisteredUser, Dashboard: {origin}/embed/{32 hex}/dashboards/{id}?code={code}&identityprovider=quicksight&isauthcode=true
// GenerateEmbedUrlForRegisteredUser, QuickSightConsole, GenerativeQnA and
// DashboardVisual: the same on /embedding/{32 hex}{entry point}.
func (s *Simulator) issueEmbedURL(r *http.Request, u userRecord, req embedRequest) string {
	id := randomHex(16)
	code := make([]byte, 48)
	_, _ = rand.Read(code) // crypto/rand.Read never fails (Go 1.24+)
	sess := &embedSession{
		embedRequest: req,
		code:         base64.RawURLEncoding.EncodeToString(code),
		root:         "embed",
		userArn:      u.arn,
		userName:     u.UserName,
		role:         u.Role,
		issuedAt:     s.now(),
	}
	query := "?code=" + sess.code + "&identityprovider=quicksight&isauthcode=true"
	switch {
	case req.api == "GetSessionEmbedUrl":
		query = "?isauthcode=true&identityprovider=quicksight&code=" + sess.code
	case req.experience != experienceDashboard:
		sess.root = "embedding"
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.issuedAt.Sub(s.pruned) >= pruneEvery {
		s.pruned = sess.issuedAt
		for k, old := range s.sessions {
			if old.forgettable(sess.issuedAt) {
				delete(s.sessions, k)
			}
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
	// Entry points are checked to hold only [\w/-] (and a topic id . and +,
	// never alone), so they need no escaping.
	return origin + "/" + sess.root + "/" + id + req.entryPoint + query
}

// openEmbedURL serves GET /{root}/{session}/{path...}: the first opening
// within 5 minutes shows the stand-in page; anything else a 401 page.
func (s *Simulator) openEmbedURL(root string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, entryPoint, code := r.PathValue("session"), "/"+r.PathValue("path"), r.URL.Query().Get("code")

		s.mu.Lock()
		sess, ok := s.sessions[id]
		var view embedSession
		problem := ""
		now := s.now()
		switch {
		case !ok || sess.root != root || sess.entryPoint != entryPoint || !equalConstantTime(code, sess.code):
			problem = "this sign-in link is not valid"
		case sess.used:
			problem = "this sign-in link was already used"
		case now.Sub(sess.issuedAt) >= embedURLLifetime:
			problem = "this sign-in link has expired"
		default:
			sess.used, sess.openedAt = true, now
			view = *sess
		}
		s.mu.Unlock()

		// Never log the code or the URL: the path and the code are the credential.
		result := "signed in"
		if problem != "" {
			result = problem
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "embed url opened",
			slog.String("user_arn", view.userArn), slog.String("experience", view.experience), slog.String("result", result))

		var buf bytes.Buffer
		var err error
		status := http.StatusOK
		nonce := randomHex(16) // hex: nothing for html/template to escape
		if problem != "" {
			status = http.StatusUnauthorized
			err = pageTemplate.ExecuteTemplate(&buf, "error", problem)
		} else {
			err = pageTemplate.ExecuteTemplate(&buf, "session", pageData(view, "/embed-status/"+id, nonce))
		}
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		// Frameable by any portal; nothing loads but inline styles, the one
		// inline script (by nonce) and its status polls to this origin.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"'; connect-src 'self'; frame-ancestors *")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(status)
		_, _ = w.Write(buf.Bytes()) // a browser that went away does not need the page
	})
}

// pageData is what the page of an opened session shows.
func pageData(view embedSession, statusURL, nonce string) map[string]any {
	data := map[string]any{
		"API":             view.api,
		"Experience":      view.experience,
		"UserArn":         view.userArn,
		"UserName":        view.userName,
		"Role":            view.role,
		"EntryPoint":      view.entryPoint,
		"SessionLifetime": view.lifetime,
		"Features":        view.features,
		"StatusURL":       statusURL,
		"Nonce":           nonce,
	}
	switch view.experience {
	case experienceQnA:
		data["TopicID"] = view.topicID
	case experienceVisual:
		data["Visual"] = map[string]string{"DashboardID": view.dashboardID, "SheetID": view.sheetID, "VisualID": view.visualID}
	default: // the console at a dashboard, or the Dashboard experience
		if id, ok := strings.CutPrefix(view.entryPoint, "/dashboards/"); ok {
			data["IsDashboard"], data["DashboardID"] = true, id
		}
	}
	return data
}

// embedStatus serves GET /embed-status/{session}, which an open page polls:
// {"state":"active","expiresAt":...} while its session lasts, then
// {"state":"ended"} (EndConsoleSessions) or {"state":"expired"} (its
// lifetime passed); "unopened" and, with 404, "unknown" otherwise. The polls
// are not API calls: not recorded, throttled or logged.
func (s *Simulator) embedStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("session")]
	out := map[string]string{"state": "unknown"}
	now := s.now()
	switch {
	case !ok:
	case !sess.used:
		out["state"] = "unopened"
	case sess.ended:
		out["state"] = "ended"
	case !now.Before(sess.expiresAt()):
		out["state"] = "expired"
	default:
		out["state"], out["expiresAt"] = "active", sess.expiresAt().UTC().Format(time.RFC3339)
	}
	s.mu.Unlock()

	body, _ := json.Marshal(out) // a map of strings always encodes
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
	}
	_, _ = w.Write(body) // a page that went away does not need the answer
}

// EndConsoleSessions ends every sign-on session opened so far, console and
// dashboard: within a poll (half a second) each open embed page replaces its
// content with #qs-session-ended and posts {"qsgate":"session-ended"} to its
// parent window, as it does when its session lifetime passes. This is the
// simulator's stand-in for QuickSight's own expiry: real QuickSight shows
// its own "session expired" page in the frame and sends no event. Embed
// URLs issued but not yet opened still open.
func (s *Simulator) EndConsoleSessions() {
	s.mu.Lock()
	n, now := 0, s.now()
	for _, sess := range s.sessions {
		if sess.used && !sess.ended && now.Before(sess.expiresAt()) {
			sess.ended = true
			n++
		}
	}
	s.mu.Unlock()
	s.log.Info("embed sessions ended", slog.Int("sessions", n))
}
