package idp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed pages.html
var pagesHTML string

// csrfCookie holds a random value that the sign-in form must echo
// (double-submit): another site can make a browser POST the form, but cannot
// read the value to put in it.
const csrfCookie = "devidp_csrf"

// pages serves the sign-in and signed-out pages.
type pages struct {
	store     *storage
	users     []User // in configured order, as listed on the page
	issuer    string
	loginPath string // path of the sign-in page, with the issuer's prefix
	secure    bool   // issuer is https: mark the cookie Secure
	callback  func(context.Context, string) string
	logger    *slog.Logger
	tmpl      *template.Template
}

func newPages(cfg Config, store *storage, provider *op.Provider, prefix string, secure bool, logger *slog.Logger) (*pages, error) {
	tmpl, err := template.New("pages").Parse(pagesHTML)
	if err != nil {
		return nil, fmt.Errorf("parse pages: %w", err)
	}
	return &pages{
		store:     store,
		users:     cfg.Users,
		issuer:    cfg.Issuer,
		loginPath: prefix + LoginPath,
		secure:    secure,
		callback:  op.AuthCallbackURL(provider),
		logger:    logger,
		tmpl:      tmpl,
	}, nil
}

type loginPage struct {
	ClientID      string
	Action        string
	AuthRequestID string
	CSRF          string
	Users         []User
}

// showLogin handles GET /login?authRequestID=...: the list of users, one
// button each.
func (p *pages) showLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	clientID, err := p.store.pendingLogin(id)
	if err != nil {
		p.problem(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "login", loginPage{
		ClientID:      clientID,
		Action:        p.loginPath,
		AuthRequestID: id,
		CSRF:          p.csrfValue(w, r),
		Users:         p.users,
	})
}

// submitLogin handles POST /login: signs in as the chosen user and sends the
// browser to op's callback, which redirects to the client with code and state.
func (p *pages) submitLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		p.render(w, r, http.StatusBadRequest, "problem", "The sign-in form could not be read.")
		return
	}
	cookie, err := r.Cookie(csrfCookie)
	if err != nil || cookie.Value == "" ||
		subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		p.render(w, r, http.StatusForbidden, "problem",
			"The sign-in form has expired or came from another site. Go back to the application and sign in again.")
		return
	}
	id, subject := r.PostForm.Get("authRequestID"), r.PostForm.Get("user")
	clientID, err := p.store.signIn(id, subject)
	if err != nil {
		p.problem(w, r, err)
		return
	}
	p.logger.InfoContext(r.Context(), "devidp sign-in", "sub", subject, "client_id", clientID)
	http.Redirect(w, r, p.callback(op.ContextWithIssuer(r.Context(), p.issuer), id), http.StatusSeeOther)
}

// signedOut handles GET /signed-out, where end_session lands without a
// registered post_logout_redirect_uri.
func (p *pages) signedOut(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "signed-out", nil)
}

// csrfValue returns the browser's CSRF value, setting the cookie if there is
// none yet. An existing value is kept, so two sign-in tabs both work.
func (p *pages) csrfValue(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && c.Value != "" {
		return c.Value
	}
	value := rand.Text()
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookie,
		Value:    value,
		Path:     p.loginPath,
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteStrictMode,
	})
	return value
}

// problem renders a storage error as a page the user can act on.
func (p *pages) problem(w http.ResponseWriter, r *http.Request, err error) {
	msg := "This sign-in request is unknown or has expired. Go back to the application and sign in again."
	switch {
	case errors.Is(err, errAlreadySigned):
		msg = "This sign-in request was already used. Go back to the application and sign in again."
	case errors.Is(err, errUnknownUser):
		msg = "That user is not offered here. Reload the page and choose a listed user."
	}
	p.render(w, r, http.StatusBadRequest, "problem", msg)
}

// render executes a template into a buffer first, so a template failure is
// a clean 500 rather than half a page.
func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		p.logger.ErrorContext(r.Context(), "devidp render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No form-action: browsers apply it to the redirects after the POST,
	// which end at the client's redirect_uri.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the page URL holds the auth request id
	w.WriteHeader(status)
	buf.WriteTo(w) // the client may have gone; nothing useful to do about it
}
