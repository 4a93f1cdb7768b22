package quicksight

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/qsgate/qsgate/limit"
)

// The kinds of failure the gateway tells apart. Handlers match them with
// errors.Is and never see AWS types.
var (
	ErrUserNotFound       = errors.New("the QuickSight user does not exist")
	ErrNotAuthor          = errors.New("the QuickSight user is a reader; the console needs an author or admin")
	ErrResourceNotFound   = errors.New("the dashboard or analysis does not exist")
	ErrThrottled          = errors.New("QuickSight is throttling requests")
	ErrTimeout            = errors.New("QuickSight did not answer in time")
	ErrAccessDenied       = errors.New("QuickSight denied the gateway's request")
	ErrUnavailable        = errors.New("QuickSight failed internally")
	ErrUnsupportedEdition = errors.New("the QuickSight edition does not support console embedding")
	ErrRejected           = errors.New("QuickSight rejected the gateway's request")
	// ErrUnreachable means the gateway could not connect to QuickSight (or
	// to the AWS endpoint the call needed first): refused, no route, no
	// such host, or no answer to the connection. Nothing was sent.
	ErrUnreachable = errors.New("QuickSight cannot be reached")
	// ErrOverloaded means the gateway's own budget of AWS calls had no room
	// in time (see package limit): the call was never sent.
	ErrOverloaded = errors.New("the gateway is at its QuickSight call budget")
	// ErrCanceled means the user's request ended (the browser went away)
	// before QuickSight answered: nobody is left to show a page to.
	ErrCanceled = errors.New("the request was canceled before QuickSight answered")
)

// Error is a failed QuickSight call: Kind is one of the Err values above;
// Code, RequestID and Message are AWS's, for the log only (Message can hold
// account details and is never shown to users); Hint tells the operator what
// to check.
type Error struct {
	Kind      error
	Op        string
	Code      string
	RequestID string
	Message   string
	Hint      string
	// RetryAfter, for ErrOverloaded, is when the budget has room again.
	RetryAfter time.Duration
	// IdentityRegion is set when QuickSight said the call belongs in
	// another region: the account's identity region.
	IdentityRegion string
}

func (e *Error) Error() string {
	return fmt.Sprintf("quicksight %s: %s (%s)", e.Op, e.Kind, e.Code)
}

func (e *Error) Unwrap() error { return e.Kind }

// LogAttrs are the attributes an error log line carries.
func (e *Error) LogAttrs() []any {
	attrs := []any{"aws_op", e.Op, "aws_error", e.Code, "aws_request_id", e.RequestID}
	if e.Message != "" {
		attrs = append(attrs, "aws_message", e.Message)
	}
	if e.Hint != "" {
		attrs = append(attrs, "hint", e.Hint)
	}
	return attrs
}

// KnownCode reports whether code is one this package maps, or one of its
// own (Timeout, Canceled, Unreachable, TransportError, GatewayBudget,
// NoIdentityContext): a bounded set, safe as a metric label.
func KnownCode(code string) bool {
	switch code {
	case "Timeout", "Canceled", "Unreachable", "TransportError", "GatewayBudget", "NoIdentityContext":
		return true
	}
	_, ok := codes[code]
	return ok
}

var identityRegionRE = regexp.MustCompile(`identity region is ([a-z0-9-]+)`)

const credentialHint = "AWS refused the gateway's credentials (expired, unknown or wrong secret): check the credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE, the instance or task role) and the clock"

// codes maps an AWS error code to our kind and an operator hint.
var codes = map[string]struct {
	kind error
	hint string
}{
	"QuickSightUserNotFoundException": {ErrUserNotFound, "register the user in QuickSight (RegisterUser) or fix the user mapping"},
	"ResourceNotFoundException":       {ErrResourceNotFound, ""},
	"ThrottlingException":             {ErrThrottled, "QuickSight throttled the gateway even after retries; spread load or ask AWS for a higher limit"},
	"AccessDeniedException":           {ErrAccessDenied, "the gateway's AWS identity needs quicksight:GetSessionEmbedUrl on the user ARNs it embeds, in the right account"},
	"InternalFailureException":        {ErrUnavailable, "QuickSight failed internally; retry later or contact AWS support with the request id"},
	"ResourceUnavailableException":    {ErrUnavailable, "QuickSight is unavailable; retry later"},
	"UnsupportedUserEditionException": {ErrUnsupportedEdition, "console embedding needs QuickSight Enterprise edition"},
	"UnsupportedPricingPlanException": {ErrUnsupportedEdition, "the QuickSight pricing plan does not support this"},
	"ResourceExistsException":         {ErrRejected, "QuickSight reported a resource conflict; retry, and contact AWS support with the request id if it persists"},
	// STS, in iam mode: the gateway may not assume the role.
	"AccessDenied":            {ErrAccessDenied, "the gateway's AWS identity needs sts:AssumeRole on QSGATE_IAM_ROLE_ARN, and the role's trust policy must allow it"},
	"RegionDisabledException": {ErrAccessDenied, "STS is not activated in this region for the account; activate it in IAM or set AWS_REGION"},
	// Credentials the front door refuses: expired, unknown or mis-signed.
	"ExpiredTokenException":                    {ErrAccessDenied, credentialHint},
	"ExpiredToken":                             {ErrAccessDenied, credentialHint},
	"UnrecognizedClientException":              {ErrAccessDenied, credentialHint},
	"InvalidClientTokenId":                     {ErrAccessDenied, credentialHint},
	"SignatureDoesNotMatch":                    {ErrAccessDenied, credentialHint},
	"InvalidSignatureException":                {ErrAccessDenied, credentialHint},
	"InvalidParameterValueException":           {ErrRejected, "QuickSight rejected a parameter; check QSGATE_USER_ARN_TEMPLATE or the user map, the account id and the namespace"},
	"SessionLifetimeInMinutesInvalidException": {ErrRejected, "check QSGATE_QUICKSIGHT_SESSION_LIFETIME (15-600)"},
	// SSO OIDC, in identity-center mode (idc.go refines them).
	"InvalidGrantException":       {ErrIssuerNotTrusted, "Identity Center refused the provider's token"},
	"InvalidClientException":      {ErrIssuerNotTrusted, "Identity Center refused the application"},
	"UnauthorizedClientException": {ErrIssuerNotTrusted, "the application may not use the jwt-bearer grant"},
}

// classify turns an SDK error into *Error.
//
// When the SDK's retry budget is spent (every retry takes from it, and only
// successful calls give back), it stops retrying and joins
// ratelimit.QuotaExceededError to the last attempt's error. That says
// nothing of what went wrong: a QuickSight that cannot be reached spends
// the budget in about 18 views, and its calls are then unreachable, not
// throttled. So the last attempt's error is classified as any other, and
// the spent budget is told in the hint.
func classify(op string, err error) *Error {
	e := &Error{Kind: ErrRejected, Op: op, Code: "Unknown"}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		e.RequestID = re.ServiceRequestID()
	}
	var apiErr smithy.APIError
	var budget *limit.RateError
	dial := unreachable(err)
	switch {
	case errors.As(err, &budget):
		e.Kind, e.Code, e.RetryAfter = ErrOverloaded, "GatewayBudget", budget.RetryAfter
		e.Hint = "the gateway held this call back: QSGATE_QUICKSIGHT_MAX_RPS or QSGATE_QUICKSIGHT_MAX_INFLIGHT is reached"
	case errors.Is(err, errHeldBack):
		e.Kind, e.Code = ErrThrottled, "ThrottlingException"
		e.Hint = "the SDK held the call back after QuickSight throttled recent calls; lower QSGATE_QUICKSIGHT_MAX_RPS below the account's rate"
	case errors.As(err, &apiErr):
		e.Code, e.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
		if c, ok := codes[e.Code]; ok {
			e.Kind, e.Hint = c.kind, c.hint
		} else {
			e.Hint = "unexpected QuickSight error; see aws_error"
		}
		if m := identityRegionRE.FindStringSubmatch(e.Message); m != nil {
			e.IdentityRegion = m[1]
			e.Hint = fmt.Sprintf("this call must go to the identity region %s: set QSGATE_QUICKSIGHT_IDENTITY_REGION=%s (user ARNs) and check AWS_REGION", m[1], m[1])
		}
	case dial != nil && !errors.Is(err, context.Canceled):
		// Checked before the deadline: a connection that the view's
		// deadline cut short never reached QuickSight either. A browser
		// that left (Canceled) is no outage.
		e.Kind, e.Code, e.Message = ErrUnreachable, "Unreachable", dial.Error() // the address and why, not the request's URL
		e.Hint = "could not connect to " + target(err) + "; check that the network reaches the endpoint (AWS_REGION, AWS_ENDPOINT_URL_QUICKSIGHT, proxies, security groups, DNS) and the AWS Health Dashboard"
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.Code, e.Hint = ErrTimeout, "Timeout", "the view's AWS work (room in the budget, finding the user, the embed call) did not finish within QSGATE_AWS_TIMEOUT"
	case errors.Is(err, context.Canceled):
		e.Kind, e.Code = ErrCanceled, "Canceled"
	default:
		e.Kind, e.Code, e.Message = ErrUnavailable, "TransportError", err.Error()
		e.Hint = "the connection to QuickSight broke off, or AWS credentials could not be had; check the network, AWS_REGION, the credential chain and AWS_ENDPOINT_URL_QUICKSIGHT"
	}
	if isRetryQuota(err) {
		e.Hint += "; the SDK's retry budget is spent, so failed calls are not retried until calls succeed again (qsgate_aws_retry_budget_remaining)"
	}
	return e
}

// unreachable is err's failure to connect, if that is what it holds:
// refused, no route, no such host, a connect timeout, or the proxy not
// reachable; nil otherwise.
func unreachable(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return op
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns
	}
	return nil
}

// target names the innermost AWS call in err, the one that could not
// connect: "QuickSight for GetSessionEmbedUrl", or "ec2imds for
// GetMetadata" when fetching credentials failed inside a QuickSight call.
func target(err error) string {
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return "QuickSight"
	}
	for {
		var inner *smithy.OperationError
		if !errors.As(op.Err, &inner) {
			return op.ServiceID + " for " + op.OperationName
		}
		op = inner
	}
}

// isRetryQuota reports whether the SDK's retryer gave up because its retry
// budget is spent.
func isRetryQuota(err error) bool {
	var q ratelimit.QuotaExceededError
	return errors.As(err, &q)
}
