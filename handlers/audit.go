package handlers

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/qsgate/qsgate/access"
	"github.com/qsgate/qsgate/audit"
	"github.com/qsgate/qsgate/auth"
	"github.com/qsgate/qsgate/limit"
	"github.com/qsgate/qsgate/quicksight"
)

// What the handlers write to the audit stream (docs/audit.md): access
// refused, embed URLs issued (never the URL), and sign-ins the per-address
// limit refused. Sign-ins, sign-outs and registrations are recorded where
// they happen (auth, quicksight); every event under a request carries the
// request's client address and id (auditRequest).

// Auditor records audit events (audit.Logger). Record never fails: a line
// that cannot be written is the Auditor's to count.
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// auditRequest gives every event recorded under the request its client
// address (c.RealIP: the peer, or X-Forwarded-For from a trusted proxy)
// and request id. It runs after the request id is set.
func auditRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(audit.WithRequest(r.Context(), audit.Request{
			ClientIP: c.RealIP(), RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
		})))
		return next(c)
	}
}

// accessRefusal is the audit reason of a view refused because of who the
// user is, "" for any other failure (a bad id, QuickSight unavailable):
// those are the operational log's.
func accessRefusal(err error) string {
	switch {
	case errors.Is(err, access.ErrNotAllowed):
		return audit.ReasonNotAllowed
	case errors.Is(err, quicksight.ErrNoMapping):
		return audit.ReasonNoMapping
	case errors.Is(err, quicksight.ErrUserNotFound):
		return audit.ReasonNoQuickSightUser
	case errors.Is(err, quicksight.ErrNotAuthor):
		return audit.ReasonNotAuthor
	case errors.Is(err, quicksight.ErrResourceNotFound):
		return audit.ReasonNotFound
	case errors.Is(err, limit.ErrUserRate):
		return audit.ReasonRateLimited
	case errors.Is(err, quicksight.ErrSignInAgain): // before: it may wrap the next
		return audit.ReasonSignInAgain
	case errors.Is(err, quicksight.ErrNotInIdentityCenter):
		return audit.ReasonNotInIdentityCenter
	}
	return ""
}

// recordRefusal writes access_refused when err refuses u the view of
// entryPoint because of who they are.
func recordRefusal(c echo.Context, d Deps, u auth.User, entryPoint string, err error) {
	reason := accessRefusal(err)
	if d.Audit == nil || reason == "" {
		return
	}
	d.Audit.Record(c.Request().Context(), audit.Event{Event: audit.AccessRefused, Reason: reason,
		Subject: u.Subject, Email: u.Email, EntryPoint: entryPoint, Path: c.Request().URL.Path})
}

// recordEmbed writes embed_issued: who, as which QuickSight user, which
// experience and entry point, and QuickSight's request id; never the URL.
func recordEmbed(c echo.Context, d Deps, u auth.User, p quicksight.Person, id quicksight.Identity, t quicksight.Target, emb quicksight.Embed) {
	if d.Audit == nil {
		return
	}
	e := audit.Event{Event: audit.EmbedIssued,
		Subject: u.Subject, Email: u.Email, UserARN: id.UserARN, Namespace: p.Namespace, Role: id.Role,
		Experience: emb.Experience, EntryPoint: t.EntryPoint, AWSRequestID: emb.RequestID}
	if id.WithIdentity {
		// The Identity Center user: QuickSight knows who, the gateway
		// knows the role it signed with; the namespace is Identity Center's.
		e.UserARN, e.Namespace, e.RoleARN = "", "", id.RoleARN
	}
	d.Audit.Record(c.Request().Context(), e)
}

// recordSignInLimited writes sign_in_refused for a callback the
// per-address limit turned away (the per-user one is auth's to record).
func recordSignInLimited(c echo.Context, a Auditor) {
	if a != nil {
		a.Record(c.Request().Context(), audit.Event{Event: audit.SignInRefused, Reason: audit.ReasonRateLimited})
	}
}
