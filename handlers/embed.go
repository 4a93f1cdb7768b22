package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
	"github.com/qsgate/qsgate/telemetry"
	"github.com/qsgate/qsgate/templates"
)

// entryPointFunc gives the QuickSight entry point a request asks for.
type entryPointFunc func(c echo.Context) (entryPoint, title string, err error)

var entryTitles = map[string]string{
	"/start": "Start", "/start/analyses": "Analyses",
	"/start/dashboards": "Dashboards", "/start/favorites": "Favorites",
}

func fixedEntryPoint(ep string) entryPointFunc {
	return func(echo.Context) (string, string, error) { return ep, entryTitles[ep], nil }
}

// itemEntryPoint is "/dashboards/" or "/analyses/" plus the :id parameter,
// which must be a plain id: no traversal, encoded slash, query or spaces.
func itemEntryPoint(prefix string) entryPointFunc {
	return func(c echo.Context) (string, string, error) {
		id := c.Param("id")
		if !quicksight.ValidID(id) {
			return "", "", errBadID
		}
		return prefix + id, id, nil
	}
}

// target is the entry point plus the deep link's p.NAME=VALUE parameters;
// anything that does not validate is a 400 before any AWS call.
func target(c echo.Context, entryPoint string) (quicksight.Target, error) {
	params, err := quicksight.ParseParams(c.QueryParams())
	if err != nil {
		return quicksight.Target{}, err
	}
	t := quicksight.Target{EntryPoint: entryPoint, Params: params}
	if err := quicksight.CheckEntryPoint(entryPoint); err != nil {
		return t, err
	}
	if len(params) > 0 && !strings.HasPrefix(entryPoint, "/dashboards/") {
		return t, quicksight.ErrBadParams
	}
	return t, nil
}

// embedResult names an embed outcome for the metrics: ok, the AWS error
// code, or why no call was made. The set is small and fixed.
func embedResult(err error) string {
	var qe *quicksight.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &qe):
		if quicksight.KnownCode(qe.Code) {
			return qe.Code
		}
		return "other"
	case errors.Is(err, quicksight.ErrSignInAgain):
		return "sign_in_again"
	case errors.Is(err, quicksight.ErrNoMapping):
		return "no_mapping"
	case errors.Is(err, quicksight.ErrUserNotFound):
		return "no_user"
	case errors.Is(err, access.ErrNotAllowed):
		return "not_allowed"
	case errors.Is(err, limit.ErrUserRate):
		return "user_rate"
	case errors.Is(err, errAskFirst):
		return "ask_first"
	case errors.Is(err, limit.ErrBudget):
		return "GatewayBudget" // as when the budget refuses the call itself
	case errors.Is(err, context.Canceled): // the browser left while its view waited at the door
		return "Canceled"
	case errors.Is(err, errBadID), errors.Is(err, quicksight.ErrBadEntryPoint), errors.Is(err, quicksight.ErrBadParams),
		errors.Is(err, quicksight.ErrNeedsRegisteredUser):
		return "bad_request"
	}
	return "other"
}

// refused counts a view turned away before issue (which counts the rest)
// and returns its error.
func refused(d Deps, err error) error {
	if d.Metrics != nil {
		d.Metrics.Embed(embedResult(err), 0)
	}
	return err
}

// forgetter is a mapper that caches what QuickSight said about users.
type forgetter interface {
	Forget(p quicksight.Person)
}

// renewer renews the session at the provider now (auth.Auth.Renew), for
// a mapper whose copy of the provider's token has expired.
type renewer interface {
	Renew(w http.ResponseWriter, r *http.Request) (auth.User, error)
}

// finder is a mapper that may create the QuickSight user on a view
// (register mode). Find is its mapping without that: ErrUserNotFound for a
// person QuickSight does not know yet, and nothing created.
type finder interface {
	Find(ctx context.Context, p quicksight.Person) (quicksight.Identity, error)
}

// canRegister reports whether m may create QuickSight users.
func canRegister(m UserMapper) bool {
	_, ok := m.(finder)
	return ok
}

// errAskFirst means a navigation from another site would set up the
// person's QuickSight user: the embed page asks them first (askFirst).
var errAskFirst = errors.New("a link from another site would set up a QuickSight user")

// mapUser is the view's mapping. A navigation from another site registers
// nobody: a link elsewhere (a page, a mail) must not set up a QuickSight
// user, a licence, for whoever follows it while signed in; for a person
// QuickSight does not know yet it is errAskFirst. Sec-Fetch-Site is the
// browser's to set, no page can forge it; without it (an old browser) the
// view goes through as before. Same-site and bookmarked views go through.
func mapUser(ctx context.Context, d Deps, r *http.Request, p quicksight.Person) (quicksight.Identity, error) {
	f, ok := d.Mapper.(finder)
	if !ok || r.Header.Get("Sec-Fetch-Site") != "cross-site" {
		return d.Mapper.Identity(ctx, p)
	}
	id, err := f.Find(ctx, p)
	if errors.Is(err, quicksight.ErrUserNotFound) {
		return id, errAskFirst
	}
	return id, err
}

// askFirst is what a view from another site gets instead of a first
// registration: a page on the portal with one link to the same view
// (view, built from what was checked). Following it is a same-origin
// navigation, which no other site can make for the person, so their
// QuickSight user is set up only when they chose it here. The page cannot
// be framed (frame-ancestors 'self'), so the click cannot be stolen. It
// uses the error page's card.
func askFirst(c echo.Context, d Deps, view string) error {
	u := currentUser(c)
	d.Logger.InfoContext(c.Request().Context(), "view from another site: asked before registering", "sub", u.Subject,
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	return render(c, d, http.StatusOK, "error.html", errorPage{page: page{Status: http.StatusOK, Title: "Open QuickSight?",
		Message: "You followed a link from another site. Opening QuickSight the first time sets up your QuickSight user; go on if you meant to open it.",
		Action:  &link{Href: view, Label: "Open QuickSight"}}})
}

// issue is one fresh embed URL for the signed-in user: the per-user limit,
// the mapping, one embed call, an audit line and the metrics. The page and
// the JSON endpoint share it, so they share limits, checks and errors. The
// URL is single-use: never cached, stored or logged.
func issue(c echo.Context, d Deps, t quicksight.Target) (quicksight.Embed, string, error) {
	emb, origin, _, err := issueFor(c, d, t)
	return emb, origin, err
}

// issueFor is issue, also saying which QuickSight user the URL is for.
func issueFor(c echo.Context, d Deps, t quicksight.Target) (emb quicksight.Embed, origin, userARN string, err error) {
	var took time.Duration
	if d.Metrics != nil {
		defer func() { d.Metrics.Embed(embedResult(err), took) }()
	}
	u := currentUser(c)
	if d.Audit != nil {
		defer func() { recordRefusal(c, d, u, t.EntryPoint, err) }() // nil err, or not an access refusal: nothing
	}
	if d.Views != nil {
		if err := d.Views.Allow(u.Subject); err != nil {
			return emb, "", "", err
		}
	}
	// One deadline for the view's AWS work: the mapping's lookups and
	// registrations, and the embed call.
	ctx := c.Request().Context()
	if d.ViewTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.ViewTimeout)
		defer cancel()
	}
	if d.Admit != nil {
		_, door := telemetry.Start(ctx, "qsgate.admission")
		release, err := d.Admit.Enter(ctx)
		telemetry.End(door, err)
		if err != nil {
			return emb, "", "", err
		}
		defer release()
	}
	start := time.Now()
	mctx, mapped := telemetry.Mapping(ctx)
	p := person(d, u)
	id, err := mapUser(mctx, d, c.Request(), p)
	if errors.Is(err, quicksight.ErrSignInAgain) {
		u, p, id, err = mapRenewed(mctx, c, d, u, p, err)
	}
	mapped(err)
	if err != nil {
		return emb, "", "", err
	}
	id.Groups = u.Groups // QSGATE_AMAZON_Q_GROUPS reads them (quicksight.Client.AmazonQGroups)
	emb, err = d.Embeds.EmbedURL(ctx, id, t)
	took = time.Since(start)
	if err != nil {
		// A user the mapper found or registered is gone (deleted, or
		// re-emailed in QuickSight): look again next time.
		if f, ok := d.Mapper.(forgetter); ok && errors.Is(err, quicksight.ErrUserNotFound) {
			f.Forget(p)
		}
		return emb, "", "", err
	}
	src, err := url.Parse(emb.URL)
	if err != nil {
		return emb, "", "", errBadEmbedURL
	}
	origin, ok := originOf(src)
	if !ok {
		return emb, "", "", errBadEmbedURL
	}
	// Only QuickSight's own origins are framed or opened (frames.go); the
	// URL itself is never logged, its origin is no secret.
	if len(d.FrameOrigins) > 0 && !slices.Contains(d.FrameOrigins, origin) {
		d.Logger.LogAttrs(ctx, slog.LevelError, "embed url refused: not a QuickSight origin", slog.String("event", "embed_url_refused"),
			slog.String("origin", origin), slog.String("allowed", strings.Join(d.FrameOrigins, " ")),
			slog.String("sub", u.Subject), slog.String("aws_request_id", emb.RequestID),
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
		return quicksight.Embed{}, "", "", &foreignOriginError{origin}
	}
	d.Logger.LogAttrs(ctx, slog.LevelInfo, "embed url issued", slog.String("event", "embed_url_issued"),
		slog.String("sub", u.Subject), slog.String("email", u.Email), slog.String("user_arn", id.UserARN),
		slog.String("entry_point", t.EntryPoint), slog.String("experience", emb.Experience), slog.Bool("dashboard_experience", emb.Dashboard),
		slog.String("aws_request_id", emb.RequestID), slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
	recordEmbed(c, d, u, p, id, t, emb)
	return emb, origin, id.UserARN, nil
}

// mapRenewed is the view's mapping after the mapper said the provider's
// token it sends on has expired (err, ErrSignInAgain): the session is
// renewed at the provider, once, and the renewed user mapped. Without a
// renewal it is err; a renewal the provider or the policy refuses is that
// refusal, for its page.
func mapRenewed(ctx context.Context, c echo.Context, d Deps, u auth.User, p quicksight.Person, err error) (auth.User, quicksight.Person, quicksight.Identity, error) {
	r, ok := d.Auth.(renewer)
	if !ok {
		return u, p, quicksight.Identity{}, err
	}
	renewed, rerr := r.Renew(c.Response(), c.Request())
	switch {
	case rerr == nil && renewed.IDToken != u.IDToken:
		c.Set("user", renewed)
		p = person(d, renewed)
		id, err := mapUser(ctx, d, c.Request(), p)
		return renewed, p, id, err
	case rerr != nil && !errors.Is(rerr, auth.ErrCannotRenew):
		return u, p, quicksight.Identity{}, rerr
	}
	return u, p, quicksight.Identity{}, err
}

// embed is GET /embed/{entry point}[?p.NAME=VALUE...]: a fresh embed URL
// for this user and entry point, rendered into an iframe under the portal's
// slim bar. The page's script (static/js/embed.js) swaps in a fresh URL
// from /api/embed-url when the console session ends, without reloading the
// portal.
func embed(d Deps, entryPoint entryPointFunc) echo.HandlerFunc {
	csp := &policyCache{script: true}
	return func(c echo.Context) error {
		ep, title, err := entryPoint(c)
		var t quicksight.Target
		if err == nil {
			t, err = target(c, ep)
		}
		if err != nil {
			return refused(d, err)
		}
		// The page's links, from what was checked (the entry point, the
		// p. parameters), never the raw request: other query keys are
		// ignored, not carried along.
		back, params := "/embed"+ep, url.Values{} // this view: "Sign in again" comes back to it
		for _, p := range t.Params {
			params.Add("p."+p.Name, p.Value)
		}
		api := "/api/embed-url?entry-point=" + url.QueryEscape(ep)
		if len(params) > 0 {
			q := params.Encode()
			api, back = api+"&"+q, back+"?"+q
		}
		emb, origin, userARN, err := issueFor(c, d, t)
		if errors.Is(err, errAskFirst) {
			return askFirst(c, d, back)
		}
		if err != nil {
			return err
		}
		if name := listedName(d.Catalog, userARN, ep); name != "" {
			title = name
		}
		h := c.Response().Header()
		h.Set("Content-Security-Policy", csp.header(d.Auth.LogoutOrigin(), origin))
		h.Set("Cross-Origin-Opener-Policy", "same-origin-allow-popups")
		h.Set("Pragma", "no-cache")
		csrf, _ := c.Get("csrf").(string)
		return d.Pages.RenderEmbed(htmlResponse{c, http.StatusOK}, templates.Embed{
			URL: emb.URL, Title: title, Portal: d.PortalTitle, CSRF: csrf,
			API: api, Login: "/login?rd=" + url.QueryEscape(back),
			SessionSeconds: int(d.SessionLifetime.Seconds()), Origin: origin,
		})
	}
}
