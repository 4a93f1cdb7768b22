// Package audit is qsgate's audit stream: the events a security team asks
// about ("who signed in, who was refused and why, who opened what"), one
// JSON object a line in the documented shape of docs/audit.schema.json,
// written to stdout or to a file of its own (QSGATE_AUDIT_LOG). It does not
// decide anything and does not replace the operational log: the packages
// that see an event (auth, handlers, quicksight) record it through an
// interface of their own, and a nil one records nothing.
//
// Nothing secret is ever in an event: no token, code, cookie, session id
// or embed URL; the Event type has no field that could hold one.
package audit

import (
	"context"
	"time"
)

// Version is the shape's version, the "version" of every line. It changes
// only when a field changes meaning or goes away; new fields and events
// keep it.
const Version = 1

// The events (Event.Event). docs/audit.md says what each means.
const (
	SignIn         = "sign_in"         // a sign-in completed: a session was made
	SignInRefused  = "sign_in_refused" // a callback made no session; Reason says why
	AccessRefused  = "access_refused"  // a signed-in user was turned away; Reason says why
	UserRegistered = "user_registered" // qsgate created a QuickSight user (register, iam with registration)
	RoleAssumed    = "role_assumed"    // iam mode: STS AssumeRole for a user's role session (a cold credentials fetch)
	SessionRevoked = "session_revoked" // sessions ended by an operator or the per-user cap; Count says how many
	SignOut        = "sign_out"        // a session ended by sign-out; Reason says whose
	EmbedIssued    = "embed_issued"    // QuickSight issued an embed URL (never in the event) for a user and entry point
)

// Reasons (Event.Reason), a fixed vocabulary per event.
const (
	// sign_in_refused
	ReasonStateInvalid        = "state_invalid"        // missing or wrong state, login cookie absent, expired or replayed
	ReasonProviderError       = "provider_error"       // the provider sent error= back
	ReasonCodeInvalid         = "code_invalid"         // no code, or the provider refused to exchange it
	ReasonTokenInvalid        = "token_invalid"        // the ID token or userinfo failed a check (signature, iss, aud, nonce, iat, sub, azp)
	ReasonSessionNotSaved     = "session_not_saved"    // the session could not be written (too large for its cookie)
	ReasonProviderUnavailable = "provider_unavailable" // the provider could not be reached or failed
	ReasonStoreUnavailable    = "store_unavailable"    // the session store (Redis) did not answer
	ReasonOther               = "other"                // none of these

	// sign_in_refused and access_refused
	ReasonNotAllowed  = "not_allowed"  // the access policy (allowed domains, groups) refuses the user
	ReasonRateLimited = "rate_limited" // past a per-user or per-address limit

	// access_refused
	ReasonNoMapping        = "no_mapping"         // the user mapping gives no QuickSight user
	ReasonNoQuickSightUser = "no_quicksight_user" // QuickSight has no such user
	ReasonNotAuthor        = "not_author"         // a reader asked for the console
	ReasonNotFound         = "not_found"          // QuickSight has no such dashboard or analysis, or not shared with the user
	// identity-center mode
	ReasonNotInIdentityCenter = "not_in_identity_center" // Identity Center has no active user for the provider's token
	ReasonSignInAgain         = "sign_in_again"          // the provider's token expired and could not be renewed

	// sign_out
	ReasonUser   = "user"   // the user signed out (POST /logout)
	ReasonPolicy = "policy" // the access policy no longer lets the user in, so qsgate ended the session

	// session_revoked
	ReasonOperator   = "operator"    // qsgate sessions revoke
	ReasonSessionCap = "session_cap" // a new sign-in past QSGATE_MAX_SESSIONS_PER_USER ended the oldest
)

// Event is one line of the audit stream. Record fills Audit, Version,
// Time and Instance, and the request's client address, request id and
// trace id from the context (WithRequest); the emitter fills the rest. Every
// string is cut to maxValue bytes.
type Event struct {
	// Audit is always true: the marker that tells an audit line from the
	// operational log's lines when they share a stream.
	Audit    bool      `json:"audit"`
	Version  int       `json:"version"`
	Time     time.Time `json:"time"`
	Event    string    `json:"event"`
	Reason   string    `json:"reason,omitempty"`
	Instance string    `json:"instance,omitempty"` // the host name of the qsgate that wrote it

	Subject   string `json:"sub,omitempty"`   // the user's subject at the provider
	Email     string `json:"email,omitempty"` // verified email, when the provider gave one
	UserARN   string `json:"user_arn,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Role      string `json:"role,omitempty"` // the QuickSight role (READER, AUTHOR, ADMIN)
	// RoleARN and RoleSession are the IAM role and the STS session name of
	// role_assumed.
	RoleARN     string `json:"role_arn,omitempty"`
	RoleSession string `json:"role_session,omitempty"`

	Experience string `json:"experience,omitempty"`  // QuickSightConsole, Dashboard, GenerativeQnA, DashboardVisual
	EntryPoint string `json:"entry_point,omitempty"` // /start, /dashboards/ID, ...
	Path       string `json:"path,omitempty"`        // the URL path refused (never the query)
	Count      *int   `json:"count,omitempty"`       // session_revoked: how many ended

	AWSRequestID string `json:"aws_request_id,omitempty"` // the QuickSight (or STS) request id
	ClientIP     string `json:"client_ip,omitempty"`      // the client as QSGATE_TRUSTED_PROXIES lets qsgate see it
	RequestID    string `json:"request_id,omitempty"`     // the X-Request-Id of the request, as in the operational log
	TraceID      string `json:"trace_id,omitempty"`       // the OpenTelemetry trace, when the request is traced
}

// N is n as Event.Count wants it.
func N(n int) *int { return &n }

// Request is what an event learns from the request it happened in.
type Request struct {
	ClientIP  string
	RequestID string
}

type requestKey struct{}

// WithRequest returns ctx carrying the request's client address and id,
// for every event recorded under it.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom is what WithRequest put in ctx.
func RequestFrom(ctx context.Context) (Request, bool) {
	r, ok := ctx.Value(requestKey{}).(Request)
	return r, ok
}
