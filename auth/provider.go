package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// provider is what discovery yields.
type provider struct {
	oidc       *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
	// logoutOrigin is endSession's scheme://host, for the CSP.
	logoutOrigin string
	userinfo     bool
}

// Discover fetches the provider's discovery document, retrying with backoff
// until it succeeds or ctx ends. Until then Ready is false and sign-in
// answers 503.
func (a *Auth) Discover(ctx context.Context) error {
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 30*time.Second) {
		err := a.discover(ctx)
		if err == nil {
			a.log.Info("oidc discovery done", "issuer", a.cfg.Issuer)
			return nil
		}
		a.log.Warn("oidc discovery failed, will retry", "issuer", a.cfg.Issuer, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (a *Auth) discover(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, a.cfg.HTTPClient), providerTimeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		return err
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return err
	}
	endSession := extra.EndSession
	if origin(endSession) == "" {
		endSession = "" // not an absolute http(s) URL: the CSP could not allow it
	}
	a.idp.Store(&provider{
		oidc:     p,
		verifier: p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID, Now: a.now}),
		oauth: oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  a.cfg.PublicURL.String() + "/auth/callback",
			Scopes:       a.cfg.Scopes,
		},
		endSession:   endSession,
		logoutOrigin: origin(endSession),
		userinfo:     p.UserInfoEndpoint() != "",
	})
	return nil
}

// LogoutOrigin is the origin of the provider's end_session_endpoint, where
// the logout form's redirect ends ("" before discovery or without one).
func (a *Auth) LogoutOrigin() string {
	if p := a.idp.Load(); p != nil {
		return p.logoutOrigin
	}
	return ""
}

// origin is an absolute URL's scheme://host, "" for anything else.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Ready reports whether discovery is done.
func (a *Auth) Ready() bool { return a.idp.Load() != nil }

func (a *Auth) provider() (*provider, error) {
	if p := a.idp.Load(); p != nil {
		return p, nil
	}
	return nil, &SignInError{Kind: ErrProviderUnavailable, Reason: "oidc discovery not done yet"}
}

// describe says what went wrong talking to the provider without its
// response body or full URLs, which can echo codes and secrets.
func describe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return fmt.Sprintf("HTTP %d %s", re.Response.StatusCode, safeToken(re.ErrorCode))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		target := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			target = u.Scheme + "://" + u.Host + u.Path
		}
		return ue.Op + " " + target + ": " + ue.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	// go-oidc's userinfo error is "STATUS: BODY"; keep the status only.
	status, _, _ := strings.Cut(err.Error(), ":")
	if len(status) > 40 {
		status = status[:40]
	}
	return status
}

// safeToken keeps an OAuth error code only when it is a short plain word, so
// it can be shown and logged without carrying anything else.
func safeToken(s string) string {
	if len(s) > 64 {
		return "invalid"
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return "invalid"
		}
	}
	return s
}
