package quicksight

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/smithy-go"
)

type claims map[string]string

func (c claims) Claim(name string) string { return c[name] }

func TestTemplateMapper(t *testing.T) {
	tests := []struct {
		tmpl    string
		claims  claims
		want    string
		wantErr bool
	}{
		{DefaultARNTemplate, claims{"email": "alice@example.com"}, "arn:aws:quicksight:us-east-1:123456789012:user/default/alice@example.com", false},
		{"arn:aws:quicksight:{identity_region}:{account_id}:user/{namespace}/Embed/{sub}", claims{"sub": "abc-123"}, "arn:aws:quicksight:us-east-1:123456789012:user/default/Embed/abc-123", false},
		{"arn:aws:quicksight:us-east-1:{account_id}:user/default/{claim:employee_id}", claims{"employee_id": "E42"}, "arn:aws:quicksight:us-east-1:123456789012:user/default/E42", false},
		{DefaultARNTemplate, claims{}, "", true},                                  // no email
		{DefaultARNTemplate, claims{"email": "x/../admin"}, "", true},             // a slash would change the ARN
		{DefaultARNTemplate, claims{"email": "a:b@example.com"}, "", true},        // so would a colon
		{DefaultARNTemplate, claims{"email": "a b@example.com"}, "", true},        // spaces
		{DefaultARNTemplate, claims{"email": strings.Repeat("a", 300)}, "", true}, // too long
		{DefaultARNTemplate, claims{"email": "élise@example.com"}, "", true},      // non-ASCII
		{"arn:aws:quicksight:us-east-1:{account_id}:user/default/{preferred_username}", claims{"preferred_username": "bob"}, "arn:aws:quicksight:us-east-1:123456789012:user/default/bob", false},
	}
	for _, tt := range tests {
		if _, err := TemplateClaims(tt.tmpl); err != nil {
			t.Fatalf("TemplateClaims(%q): %v", tt.tmpl, err)
		}
		m := NewTemplateMapper(tt.tmpl, "123456789012", "default", "us-east-1")
		got, err := m.UserARN(tt.claims)
		if tt.wantErr {
			if !errors.Is(err, ErrNoMapping) {
				t.Errorf("UserARN(%v) = %q, %v; want ErrNoMapping", tt.claims, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("UserARN(%v) = %q, %v; want %q", tt.claims, got, err, tt.want)
		}
	}
}

func TestTemplateClaims(t *testing.T) {
	for tmpl, want := range map[string]string{
		DefaultARNTemplate: "email",
		"arn:aws:quicksight:us-east-1:{account_id}:user/default/{sub}-{claim:dept}": "sub,dept",
	} {
		got, err := TemplateClaims(tmpl)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("TemplateClaims(%q) = %v, %v; want %s", tmpl, got, err, want)
		}
	}
	for _, bad := range []string{"", "arn:{mail}", "arn:{claim:}", "arn:{email", "arn:aws:quicksight:us-east-1:{account_id}:user/default/fixed",
		// A claim may fill only the user name, never the partition, region or namespace.
		"arn:aws:quicksight:{claim:region}:{account_id}:user/default/{email}",
		"arn:aws{claim:p}:quicksight:us-east-1:{account_id}:user/default/{email}",
		"arn:aws:quicksight:us-east-1:{account_id}:user/{claim:dept}/{email}",
		"arn:aws:quicksight:us-east-1:{account_id}:user/{namespace}{claim:dept}/{email}"} {
		if _, err := TemplateClaims(bad); err == nil {
			t.Errorf("TemplateClaims(%q) succeeded, want an error", bad)
		}
	}
}

func TestFileMapper(t *testing.T) {
	m, err := ReadUserMap("users.csv", []byte("key,arn\nAlice@Example.com,arn:aws:quicksight:us-east-1:123456789012:user/default/alice\nsub-7,arn:aws:quicksight:us-east-1:123456789012:user/default/seven\nkate@example.com,arn:aws:quicksight:us-east-1:123456789012:user/default/kate\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		claims claims
		want   string
	}{
		{claims{"sub": "x", "email": "ALICE@example.com"}, "arn:aws:quicksight:us-east-1:123456789012:user/default/alice"},
		{claims{"sub": "sub-7", "email": "alice@example.com"}, "arn:aws:quicksight:us-east-1:123456789012:user/default/seven"},
		{claims{"sub": "nobody"}, ""},
		{claims{"sub": "nobody", "email": "attacker@evil.com@alice@example.com"}, ""},
		{claims{"sub": "nobody", "email": "sub-7"}, ""},                 // an email claim equal to someone's subject
		{claims{"sub": "alice@example.com"}, ""},                        // a subject that looks like someone's email
		{claims{"sub": "nobody", "email": "\u212Aate@example.com"}, ""}, // the Kelvin sign folds to k in Unicode, not here
	}
	for _, tt := range tests {
		got, err := m.UserARN(tt.claims)
		if tt.want == "" {
			if !errors.Is(err, ErrNoMapping) {
				t.Errorf("UserARN(%v) = %q, %v; want ErrNoMapping", tt.claims, got, err)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("UserARN(%v) = %q, %v; want %q", tt.claims, got, err, tt.want)
		}
	}
}

func TestReadUserMapErrors(t *testing.T) {
	for name, tt := range map[string]struct{ file, body, want string }{
		"csv bad arn":     {"u.csv", "a@example.com,arn:aws:s3:::bucket\n", "line 1:"},
		"csv 3 columns":   {"u.csv", "a@example.com,x,y\n", "line 1:"},
		"csv duplicate":   {"u.csv", "a@example.com,arn:aws:quicksight:us-east-1:123456789012:user/default/a\nA@example.com,arn:aws:quicksight:us-east-1:123456789012:user/default/b\n", "line 2: \"a@example.com\" is listed twice"},
		"csv empty":       {"u.csv", "# nothing\n", "no mappings"},
		"yaml not a map":  {"u.yaml", "- a\n- b\n", "line 1:"},
		"yaml bad syntax": {"u.yml", "a: [\n", "yaml:"},
	} {
		_, err := ReadUserMap(tt.file, []byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, tt.want)
		}
	}
}

func TestCheckEntryPoint(t *testing.T) {
	good := []string{"/start", "/start/analyses", "/start/dashboards", "/start/favorites", "/dashboards/abc-1_2", "/analyses/" + strings.Repeat("x", 512),
		"/qna", "/qna/topic-1_a", "/qna/" + strings.Repeat("t", 256), "/visual/d-1/s_2/v3", "/visual/" + strings.Repeat("d", 512) + "/s/v"}
	bad := []string{"", "/", "/start/", "/start/other", "/dashboards/", "/dashboards/a/b", "/dashboards/..", "/dashboards/a%2Fb",
		"/dashboards/a?b", "/dashboards/a#b", "/dashboards/a b", "/dashboards/é", "/analyses/" + strings.Repeat("x", 513), "/users/x", "start",
		"/qna/", "/qna/a/b", "/qna/a.b", "/qna/" + strings.Repeat("t", 257), "/QnA", "/visual/", "/visual/d/s", "/visual/d/s/", "/visual/d//v",
		"/visual/d/s/v/x", "/visual/../s/v", "/visual/d/s%2Fx/v", "/visual/d/s/v?x", "/visual/" + strings.Repeat("d", 512) + "/" + strings.Repeat("s", 512) + "/v"}
	for _, ep := range good {
		if err := CheckEntryPoint(ep); err != nil {
			t.Errorf("CheckEntryPoint(%q) = %v, want nil", ep, err)
		}
	}
	for _, ep := range bad {
		if err := CheckEntryPoint(ep); !errors.Is(err, ErrBadEntryPoint) {
			t.Errorf("CheckEntryPoint(%q) = %v, want ErrBadEntryPoint", ep, err)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err     error
		kind    error
		code    string
		hintHas string
	}{
		{&smithy.GenericAPIError{Code: "ThrottlingException"}, ErrThrottled, "ThrottlingException", "throttled"},
		{&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "Operation is being called from endpoint quicksight.eu-west-1.amazonaws.com, but your identity region is us-east-1. Please use the us-east-1 endpoint."},
			ErrAccessDenied, "AccessDeniedException", "QSGATE_QUICKSIGHT_IDENTITY_REGION=us-east-1"},
		{&smithy.GenericAPIError{Code: "SomethingNew"}, ErrRejected, "SomethingNew", "unexpected"},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), ErrTimeout, "Timeout", "QSGATE_AWS_TIMEOUT"},
		{errors.New("connection reset by peer"), ErrUnavailable, "TransportError", "AWS_ENDPOINT_URL_QUICKSIGHT"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ErrUnreachable, "Unreachable", "could not connect to QuickSight"},
		{fmt.Errorf("op: %w", &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}), ErrUnreachable, "Unreachable", "could not connect"},
		{fmt.Errorf("op: %w", &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}), ErrCanceled, "Canceled", ""},
		// The SDK joins the quota error to the last attempt's error, which
		// says what happened; the spent budget goes in the hint.
		{errors.Join(&smithy.GenericAPIError{Code: "InternalFailureException"}, ratelimit.QuotaExceededError{Available: 0, Requested: 14}),
			ErrUnavailable, "InternalFailureException", "retry budget is spent"},
		{errors.Join(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ratelimit.QuotaExceededError{Available: 10, Requested: 14}),
			ErrUnreachable, "Unreachable", "retry budget is spent"},
		{errors.Join(&smithy.GenericAPIError{Code: "ThrottlingException"}, ratelimit.QuotaExceededError{Available: 0, Requested: 5}),
			ErrThrottled, "ThrottlingException", "retry budget is spent"},
		{fmt.Errorf("op: %w", context.Canceled), ErrCanceled, "Canceled", ""},
		{&smithy.GenericAPIError{Code: "ExpiredTokenException"}, ErrAccessDenied, "ExpiredTokenException", "credential chain"},
		{&smithy.GenericAPIError{Code: "UnrecognizedClientException"}, ErrAccessDenied, "UnrecognizedClientException", "credential chain"},
		{&smithy.GenericAPIError{Code: "InvalidClientTokenId"}, ErrAccessDenied, "InvalidClientTokenId", "credential chain"},
		{&smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}, ErrAccessDenied, "SignatureDoesNotMatch", "credential chain"},
		{&smithy.GenericAPIError{Code: "AccessDenied"}, ErrAccessDenied, "AccessDenied", "sts:AssumeRole"},
	}
	for _, tt := range tests {
		e := classify("GetSessionEmbedUrl", tt.err)
		if !errors.Is(e, tt.kind) || e.Code != tt.code || !strings.Contains(e.Hint, tt.hintHas) {
			t.Errorf("classify(%v) = kind %v code %q hint %q; want %v %q containing %q", tt.err, e.Kind, e.Code, e.Hint, tt.kind, tt.code, tt.hintHas)
		}
	}
}
