package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/telemetry"
)

// Errors the handlers themselves return.
var (
	errBadID       = errors.New("bad dashboard, analysis, sheet, visual or topic id")
	errBadKind     = errors.New("bad kind: want dashboards or analyses")
	errBadEmbedURL = errors.New("QuickSight returned an embed URL that is not an absolute http(s) URL")
	errCSRF        = errors.New("missing or wrong CSRF token")
)

// statusClientClosed is logged for a request the client abandoned.
const statusClientClosed = 499

// page is what the user sees for an error.
type page struct {
	Status  int
	Title   string
	Message string
	Action  *link
	// RetryAfter, in seconds, is sent as the Retry-After header when set;
	// an error that knows better (a rate limit) overrides it.
	RetryAfter string
	// AutoRetry makes the page reload itself after RetryAfter, counting
	// down, with a Stop button (static/js/retry.js).
	AutoRetry bool
}

type link struct{ Href, Label string }

var (
	toPortal  = &link{"/", "Back to the portal"}
	signInNow = &link{"/login", "Sign in again"}
	tryAgain  = &link{"", "Try again"} // Href filled with the current page
	// signInHere signs in again and comes back to the current page.
	signInHere = &link{"", "Sign in again"}
)

// errorPages maps errors to pages, first match wins (errors.Is). Nothing
// here shows an error's own text: AWS and provider messages go to the log.
var errorPages = []struct {
	err  error
	page page
}{
	{quicksight.ErrBadEntryPoint, page{Status: 400, Title: "That address is not a QuickSight page",
		Message: "QuickSight pages are the start page, analyses, dashboards, favorites, one dashboard or analysis by its id, Q&A (or one of its topics), or one visual by its dashboard, sheet and visual ids.", Action: toPortal}},
	{quicksight.ErrNeedsRegisteredUser, page{Status: 404, Title: "This page is not available in this portal",
		Message: "Q&A and single visuals open only when the portal uses QuickSight's registered-user embedding (QSGATE_QUICKSIGHT_API=registered-user), and this portal does not. Ask your administrator, or open a dashboard from the portal.", Action: toPortal}},
	{errBadID, page{Status: 400, Title: "That id is not valid",
		Message: "Ids of dashboards, analyses, sheets and visuals are 1 to 512 letters, digits, underscores or hyphens; Q&A topic ids at most 256.", Action: toPortal}},
	{quicksight.ErrBadParams, page{Status: 400, Title: "Those dashboard filters are not valid",
		Message: "Filters in a link are p.NAME=VALUE, with names of letters, digits and underscores, values of at most 256 characters, 20 at most, and only for dashboards.", Action: toPortal}},
	{errCrossSite, page{Status: 403, Title: "Not allowed", Message: "This address answers the portal's own pages only."}},
	{errBadKind, page{Status: 400, Title: "Choose a dashboard or an analysis", Message: "Pick what to open and give its id.", Action: toPortal}},
	{errCSRF, page{Status: 403, Title: "This form has expired",
		Message: "For your safety the form could not be sent. Go back to the portal, reload it and try again.", Action: toPortal}},
	{access.ErrNotAllowed, page{Status: 403, Title: "Your account is not allowed to use this portal",
		Message: "You signed in, but this portal is only open to certain accounts or groups. If you think you should have access, ask your administrator. To use another account, sign out of your company account first."}},
	// Identity Center (identity-center mode). ErrSignInAgain first: a
	// refused refresh token carries Identity Center's refusal too.
	{quicksight.ErrSignInAgain, page{Status: 401, Title: "Please sign in again",
		Message: "To open QuickSight as you, the portal needs a fresh sign-in from your company account. Sign in again and you come back to this page.", Action: signInHere}},
	{quicksight.ErrNotInIdentityCenter, page{Status: 403, Title: "Your account is not in IAM Identity Center",
		Message: "You signed in, but IAM Identity Center has no active user for your account, so QuickSight cannot open as you. Ask your administrator to add you to Identity Center (or enable your user) and assign you to QuickSight.", Action: toPortal}},
	{quicksight.ErrIssuerNotTrusted, page{Status: 502, Title: "QuickSight cannot confirm who you are",
		Message: "IAM Identity Center did not accept the portal's sign-in. This is a setup problem on our side: the Identity Center application must trust the company sign-in as a trusted token issuer. Your administrator has been told in the logs.", Action: toPortal}},
	{quicksight.ErrRoleNoContext, page{Status: 502, Title: "The portal cannot pass your identity to QuickSight",
		Message: "The portal's AWS role may not carry your Identity Center identity (its trust policy must allow sts:SetContext). This is a setup problem on our side; your administrator has been told in the logs.", Action: toPortal}},
	{quicksight.ErrAccountNotIdentityCenter, page{Status: 502, Title: "QuickSight is not set up for IAM Identity Center",
		Message: "This QuickSight account does not sign users in with IAM Identity Center, which this portal is set up to use. Please tell your administrator.", Action: toPortal}},
	{quicksight.ErrNoMapping, page{Status: 403, Title: "No QuickSight user for your account",
		Message: "You are signed in, but no QuickSight user is set up for your sign-in. Ask your QuickSight administrator to add you.", Action: toPortal}},
	{quicksight.ErrUserNotFound, page{Status: 403, Title: "You have no QuickSight user yet",
		Message: "You are signed in, but QuickSight has no user for you yet. Ask your QuickSight administrator to add you, then try again.", Action: toPortal}},
	{quicksight.ErrNotAuthor, page{Status: 403, Title: "An author or admin role is needed",
		Message: "The QuickSight console is for authors and admins, and your QuickSight user is a reader. Ask your QuickSight administrator to make you an author.", Action: toPortal}},
	{quicksight.ErrResourceNotFound, page{Status: 404, Title: "Not found in QuickSight",
		Message: "QuickSight has no dashboard or analysis with that id, or it is not shared with you.", Action: toPortal}},
	{errSignInRate, page{Status: 429, Title: "Too many sign-ins",
		Message: "There have been many sign-ins from your network or your account in a short while. Wait a moment, then sign in again.", Action: signInNow}},
	{limit.ErrUserRate, page{Status: 429, Title: "Slow down a little",
		Message: "You have opened QuickSight many times in a short while. Wait a moment, then try again.", Action: tryAgain}},
	{quicksight.ErrOverloaded, gatewayBusy},
	{limit.ErrBudget, gatewayBusy}, // a view waiting at the door (limit.Budget.Enter)
	{quicksight.ErrThrottled, page{Status: 503, Title: "QuickSight is busy", RetryAfter: "5", AutoRetry: true,
		Message: "QuickSight is receiving too many requests right now. This page will try again by itself in a few seconds.", Action: tryAgain}},
	{quicksight.ErrTimeout, page{Status: 504, Title: "QuickSight did not answer in time",
		Message: "QuickSight took too long to answer. Try again in a moment.", Action: tryAgain}},
	{quicksight.ErrAccessDenied, page{Status: 502, Title: "QuickSight refused the portal",
		Message: "The portal is not allowed to open QuickSight for you. This is a setup problem on our side; your administrator has been told in the logs.", Action: toPortal}},
	{quicksight.ErrUnsupportedEdition, page{Status: 502, Title: "QuickSight console embedding is not available",
		Message: "This QuickSight account's edition does not support opening the console in the portal. Please tell your administrator.", Action: toPortal}},
	// No self-retrying page for an outage, unlike "busy": nothing says it
	// ends within seconds, and every open page reloading would only add load.
	{quicksight.ErrUnreachable, page{Status: 502, Title: "QuickSight cannot be reached right now",
		Message: "QuickSight is unavailable: the portal cannot connect to it at the moment. Try again in a few minutes.", Action: tryAgain}},
	{quicksight.ErrUnavailable, page{Status: 502, Title: "QuickSight is unavailable",
		Message: "QuickSight failed or broke off its answer. Try again in a moment.", Action: tryAgain}},
	{quicksight.ErrRejected, page{Status: 502, Title: "QuickSight could not open this page",
		Message: "QuickSight did not accept the portal's request. This is a setup problem on our side; your administrator has been told in the logs.", Action: toPortal}},
	{errBadEmbedURL, page{Status: 502, Title: "QuickSight could not open this page",
		Message: "QuickSight answered with something the portal cannot use. Try again in a moment.", Action: tryAgain}},
	{auth.ErrSignIn, page{Status: 400, Title: "Sign-in could not be completed",
		Message: "The sign-in was not accepted: it may have expired, been used already, or been started in another browser. Please sign in again.", Action: signInNow}},
	// Before ErrStoreUnavailable, which it wraps: a GET cannot sign out, so
	// this page does not reload itself.
	{auth.ErrSignOutIncomplete, page{Status: 503, Title: "Sign-out did not complete", RetryAfter: "5",
		Message: "The portal could not end your session just now, so you are still signed in. Wait a few seconds, go back to the portal and sign out again.", Action: toPortal}},
	{auth.ErrStoreUnavailable, page{Status: 503, Title: "Sign-in is temporarily unavailable", RetryAfter: "5", AutoRetry: true,
		Message: "The portal cannot check your sign-in right now. This page will try again by itself in a few seconds.", Action: tryAgain}},
	{auth.ErrProviderUnavailable, page{Status: 503, Title: "The sign-in service is unavailable", RetryAfter: "10",
		Message: "The company sign-in service could not be reached. Try again in a moment.", Action: signInNow}},
}

// gatewayBusy is the gateway's own budget having no room for a view in time.
var gatewayBusy = page{Status: 503, Title: "QuickSight is busy", AutoRetry: true, RetryAfter: "2",
	Message: "Many people are opening QuickSight right now. This page will try again by itself in a few seconds.", Action: tryAgain}

// statusPages cover Echo's own errors (unknown route, wrong method, ...).
var statusPages = map[int]page{
	400: {Title: "Bad request", Message: "The portal could not understand this request.", Action: toPortal},
	403: {Title: "Not allowed", Message: "You are not allowed to do this.", Action: toPortal},
	404: {Title: "Page not found", Message: "There is no page at this address.", Action: toPortal},
	405: {Title: "Not allowed", Message: "This address does not accept that kind of request.", Action: toPortal},
	413: {Title: "Request too large", Message: "The request was too large.", Action: toPortal},
}

var internalPage = page{Status: 500, Title: "Something went wrong",
	Message: "The portal hit an unexpected problem. Try again; if it keeps happening, tell your administrator the reference below.", Action: toPortal}

// pageFor finds the page for err.
func pageFor(err error) page {
	for _, ep := range errorPages {
		if errors.Is(err, ep.err) {
			return ep.page
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if p, ok := statusPages[he.Code]; ok {
			p.Status = he.Code
			return p
		}
		if he.Code < 500 {
			p := statusPages[400]
			p.Status = he.Code
			return p
		}
	}
	return internalPage
}

// errorHandler is the one place errors become responses: a status, a page in
// plain words (or JSON for JSON-only clients) and a log line, at error level
// for 5xx, info otherwise.
func errorHandler(d Deps) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		reqID := c.Response().Header().Get(echo.HeaderXRequestID)
		ctx := c.Request().Context() // its span's trace id goes in the log lines and the page
		if errors.Is(err, quicksight.ErrCanceled) || (errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil) {
			// The browser went away (during the AWS call, or while its view
			// waited at the door): not an error of ours, and nobody to
			// render for. 499 is nginx's "client closed request", for the
			// request log and metrics.
			d.Logger.InfoContext(ctx, "request canceled by the client", "path", c.Request().URL.Path, "request_id", reqID)
			_ = c.NoContent(statusClientClosed) // nobody reads it; it marks the answer given
			return
		}
		p := pageFor(err)
		attrs := []any{"status", p.Status, "err", err.Error(), "path", c.Request().URL.Path, "request_id", reqID}
		var qe *quicksight.Error
		if errors.As(err, &qe) {
			attrs = append(attrs, qe.LogAttrs()...)
		}
		var se *auth.SignInError
		if errors.As(err, &se) && se.ProviderError != "" {
			attrs = append(attrs, "provider_error", se.ProviderError)
		}
		if p.Status >= 500 {
			d.Logger.ErrorContext(ctx, "request failed", attrs...)
		} else {
			d.Logger.InfoContext(ctx, "request refused", attrs...)
		}
		if s, ok := retryAfter(err); ok {
			p.RetryAfter = strconv.Itoa(s)
		}
		if p.RetryAfter != "" {
			c.Response().Header().Set("Retry-After", p.RetryAfter)
		}
		if wantsJSON(c.Request()) || strings.HasPrefix(c.Request().URL.Path, "/api/") {
			body := map[string]string{"error": p.Title, "message": p.Message, "request_id": reqID}
			if id := telemetry.TraceID(ctx); id != "" {
				body["trace_id"] = id
			}
			if p.RetryAfter != "" {
				body["retry_after"] = p.RetryAfter
			}
			_ = c.JSON(p.Status, body)
			return
		}
		switch p.Action {
		case tryAgain:
			p.Action = &link{Href: c.Request().URL.RequestURI(), Label: tryAgain.Label}
		case signInHere:
			back := c.Request().URL.RequestURI()
			if c.Request().Method != http.MethodGet || strings.HasPrefix(back, "/api/") {
				back = "/"
			}
			p.Action = &link{Href: "/login?rd=" + url.QueryEscape(back), Label: signInHere.Label}
		}
		if p.AutoRetry {
			// The page's countdown is a script of our own.
			logoutOrigin := ""
			if d.Auth != nil {
				logoutOrigin = d.Auth.LogoutOrigin()
			}
			c.Response().Header().Set("Content-Security-Policy", retryPagePolicy.header(logoutOrigin, "'none'"))
		}
		if rerr := render(c, d, p.Status, "error.html", errorPage{p, reqID, telemetry.TraceID(ctx)}); rerr != nil {
			d.Logger.ErrorContext(ctx, "render error page", "err", rerr)
			_ = c.String(p.Status, p.Title+"\n")
		}
	}
}

// errorPage is error.html's data: the page and its references for
// support, the request id and, when tracing is on, the trace id.
type errorPage struct {
	page
	RequestID, TraceID string
}

// retryPagePolicy is the Content-Security-Policy of a page that retries
// itself: the default one, with our own scripts.
var retryPagePolicy = &policyCache{script: true}

// retryAfter is the wait, in whole seconds, an error knows of: a limit's
// refusal, or the gateway's budget behind a QuickSight error.
func retryAfter(err error) (int, bool) {
	var re *limit.RateError
	if errors.As(err, &re) {
		return re.RetryAfterSeconds(), true
	}
	var qe *quicksight.Error
	if errors.As(err, &qe) && qe.RetryAfter > 0 {
		return (&limit.RateError{RetryAfter: qe.RetryAfter}).RetryAfterSeconds(), true
	}
	return 0, false
}

// render writes a page; a template failure becomes an error, never half a page.
func render(c echo.Context, d Deps, status int, name string, data any) error {
	return d.Pages.Render(htmlResponse{c, status}, name, data)
}

// htmlResponse is the response to a rendered page: the templates write it once,
// complete, and only then is the status sent.
type htmlResponse struct {
	c      echo.Context
	status int
}

func (p htmlResponse) Write(b []byte) (int, error) {
	if err := p.c.HTMLBlob(p.status, b); err != nil {
		return 0, err
	}
	return len(b), nil
}
