// Package quicksight is the gateway's side of Amazon QuickSight: it asks for
// console embed URLs (GetSessionEmbedUrl), maps signed-in users to QuickSight
// user ARNs, and turns AWS errors into this package's own error values. It
// never caches an embed URL: each one is single-use.
package quicksight

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
)

// API is the part of the AWS SDK client the embed call uses.
type API interface {
	GetSessionEmbedUrl(ctx context.Context, in *quicksight.GetSessionEmbedUrlInput, opts ...func(*quicksight.Options)) (*quicksight.GetSessionEmbedUrlOutput, error)
}

// Client issues console embed URLs for one QuickSight account.
type Client struct {
	API             API
	AccountID       string
	SessionLifetime int64         // minutes, 15-600
	Timeout         time.Duration // per page view, retries included
	// Directory, when set, explains an AccessDenied: it asks DescribeUser
	// (in the identity region) whether the user is a reader.
	Directory *Directory
}

// Embed is one freshly issued embed URL. URL is a bearer credential: show it
// to its user once, never log or store it.
type Embed struct {
	URL       string
	RequestID string
}

// MaxEntryPoint is the longest entry point GetSessionEmbedUrl accepts.
const MaxEntryPoint = 1000

var idRE = regexp.MustCompile(`^[\w-]{1,512}$`)

// ErrBadEntryPoint means the entry point is not one QuickSight accepts; it is
// caught before any AWS call.
var ErrBadEntryPoint = errors.New("not a QuickSight console entry point")

// ValidID reports whether id is a well-formed dashboard or analysis id.
func ValidID(id string) bool { return idRE.MatchString(id) }

// CheckEntryPoint enforces the seed's entry point forms and length.
func CheckEntryPoint(ep string) error {
	if len(ep) > MaxEntryPoint {
		return ErrBadEntryPoint
	}
	switch ep {
	case "/start", "/start/analyses", "/start/dashboards", "/start/favorites":
		return nil
	}
	for _, prefix := range []string{"/dashboards/", "/analyses/"} {
		if id, ok := strings.CutPrefix(ep, prefix); ok && ValidID(id) {
			return nil
		}
	}
	return ErrBadEntryPoint
}

// SessionEmbedURL calls GetSessionEmbedUrl once for id and entryPoint:
// with id.UserARN, or, for an IAM role session, signed with id.Creds and
// without a UserArn. Errors are *Error (see errors.go), or ErrBadEntryPoint
// before any call.
func (c *Client) SessionEmbedURL(ctx context.Context, id Identity, entryPoint string) (Embed, error) {
	if err := CheckEntryPoint(entryPoint); err != nil {
		return Embed{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	ctx, throttled := watchThrottling(ctx)
	in := &quicksight.GetSessionEmbedUrlInput{
		AwsAccountId:             aws.String(c.AccountID),
		EntryPoint:               aws.String(entryPoint),
		SessionLifetimeInMinutes: aws.Int64(c.SessionLifetime),
	}
	var opts []func(*quicksight.Options)
	if id.Creds != nil {
		opts = append(opts, func(o *quicksight.Options) { o.Credentials = id.Creds })
	} else {
		in.UserArn = aws.String(id.UserARN)
	}
	out, err := c.API.GetSessionEmbedUrl(ctx, in, opts...)
	if err != nil {
		e := throttledTimeout(classify("GetSessionEmbedUrl", err), throttled)
		if errors.Is(e, ErrAccessDenied) && c.isReader(ctx, id) {
			e.Kind, e.Hint = ErrNotAuthor, "the user's QuickSight role is a reader role; make them AUTHOR or ADMIN to use the console"
		}
		return Embed{}, e
	}
	return Embed{URL: aws.ToString(out.EmbedUrl), RequestID: aws.ToString(out.RequestId)}, nil
}

// isReader is a diagnosis made only after AccessDenied: QuickSight refuses
// readers the console with an unhelpful message. The role the mapper
// learned answers it; else DescribeUser in the identity region, which needs
// quicksight:DescribeUser: without it the answer is simply "no".
func (c *Client) isReader(ctx context.Context, id Identity) bool {
	if id.Role != "" {
		return IsReader(id.Role)
	}
	ns, name, ok := splitUserARN(id.UserARN)
	if !ok || c.Directory == nil {
		return false
	}
	u, err := c.Directory.Describe(ctx, ns, name)
	return err == nil && IsReader(u.Role)
}

// splitUserARN takes "arn:...:user/{namespace}/{name}" apart; an IAM role
// session's name holds a slash itself ("Role/session").
func splitUserARN(arn string) (namespace, name string, ok bool) {
	_, res, found := strings.Cut(arn, ":user/")
	if !found {
		return "", "", false
	}
	return strings.Cut(res, "/")
}
