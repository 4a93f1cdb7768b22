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

// API is the part of the AWS SDK client this package calls.
type API interface {
	GetSessionEmbedUrl(ctx context.Context, in *quicksight.GetSessionEmbedUrlInput, opts ...func(*quicksight.Options)) (*quicksight.GetSessionEmbedUrlOutput, error)
	DescribeUser(ctx context.Context, in *quicksight.DescribeUserInput, opts ...func(*quicksight.Options)) (*quicksight.DescribeUserOutput, error)
}

// Client issues console embed URLs for one QuickSight account.
type Client struct {
	API             API
	AccountID       string
	SessionLifetime int64         // minutes, 15-600
	Timeout         time.Duration // per page view, retries included
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

// SessionEmbedURL calls GetSessionEmbedUrl once for userARN and entryPoint.
// Errors are *Error (see errors.go), or ErrBadEntryPoint before any call.
func (c *Client) SessionEmbedURL(ctx context.Context, userARN, entryPoint string) (Embed, error) {
	if err := CheckEntryPoint(entryPoint); err != nil {
		return Embed{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	out, err := c.API.GetSessionEmbedUrl(ctx, &quicksight.GetSessionEmbedUrlInput{
		AwsAccountId:             aws.String(c.AccountID),
		EntryPoint:               aws.String(entryPoint),
		SessionLifetimeInMinutes: aws.Int64(c.SessionLifetime),
		UserArn:                  aws.String(userARN),
	})
	if err != nil {
		e := classify("GetSessionEmbedUrl", err)
		if errors.Is(e, ErrAccessDenied) && c.isReader(ctx, userARN) {
			e.Kind, e.Hint = ErrNotAuthor, "the user's QuickSight role is READER; make them AUTHOR or ADMIN to use the console"
		}
		return Embed{}, e
	}
	return Embed{URL: aws.ToString(out.EmbedUrl), RequestID: aws.ToString(out.RequestId)}, nil
}

// isReader is a diagnosis made only after AccessDenied: QuickSight refuses
// readers the console with an unhelpful message, so ask DescribeUser. It
// needs quicksight:DescribeUser; without it the answer is simply "no".
func (c *Client) isReader(ctx context.Context, userARN string) bool {
	ns, name, ok := splitUserARN(userARN)
	if !ok {
		return false
	}
	out, err := c.API.DescribeUser(ctx, &quicksight.DescribeUserInput{
		AwsAccountId: aws.String(c.AccountID),
		Namespace:    aws.String(ns),
		UserName:     aws.String(name),
	})
	return err == nil && out.User != nil && out.User.Role == "READER"
}

// splitUserARN takes "arn:...:user/{namespace}/{name}" apart.
func splitUserARN(arn string) (namespace, name string, ok bool) {
	_, res, found := strings.Cut(arn, ":user/")
	if !found {
		return "", "", false
	}
	return strings.Cut(res, "/")
}
