package qssim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

const (
	testAccount = "123456789012"
	testRegion  = "eu-west-1"
	testKey     = "AKIAIOSFODNN7EXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// embedURLShape is the pattern the QuickSight embedding SDK accepts (with http
// allowed for loopback), and embedURLExact the full shape QuickSight hands out.
var (
	embedURLShape = regexp.MustCompile(`^(https?://[^/]+)/(embedding|embed)/([^/]+)/[^?]+\?(.*)`)
	embedURLExact = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/embed/[0-9a-f]{32}(/[\w/-]+)\?isauthcode=true&identityprovider=quicksight&code=[A-Za-z0-9_-]{20,}$`)
)

// fakeClock is an injectable clock that starts at the real time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testConfig() qssim.Config {
	return qssim.Config{AccountID: testAccount, Region: testRegion, AccessKeyID: testKey, SecretAccessKey: testSecret}
}

// startSim starts a simulator with testConfig changed by edit, stopped at cleanup.
func startSim(t *testing.T, edit func(*qssim.Config)) *qssim.Server {
	t.Helper()
	cfg := testConfig()
	if edit != nil {
		edit(&cfg)
	}
	srv, err := qssim.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func sessionEmbedURL(ctx context.Context, qs *quicksight.Client, userArn, entryPoint string, lifetime int64) (*quicksight.GetSessionEmbedUrlOutput, error) {
	return qs.GetSessionEmbedUrl(ctx, &quicksight.GetSessionEmbedUrlInput{
		AwsAccountId:             aws.String(testAccount),
		EntryPoint:               aws.String(entryPoint),
		SessionLifetimeInMinutes: aws.Int64(lifetime),
		UserArn:                  aws.String(userArn),
	})
}

// get fetches url and returns status, headers and body.
func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET embed URL: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestGetSessionEmbedUrl(t *testing.T) {
	srv := startSim(t, nil)
	arn := srv.AddUser(qssim.User{UserName: "alice", Email: "alice@example.com", Role: "AUTHOR"})
	qs := client(srv.URL(), nil)

	for _, ep := range []string{"/start", "/start/analyses", "/start/dashboards", "/start/favorites", "/dashboards/sales-2024_q1", "/analyses/a1"} {
		t.Run(ep, func(t *testing.T) {
			out, err := sessionEmbedURL(t.Context(), qs, arn, ep, 60)
			if err != nil {
				t.Fatalf("GetSessionEmbedUrl: %v", err)
			}
			if got, want := out.Status, int32(200); got != want {
				t.Errorf("Status = %d, want %d", got, want)
			}
			url := aws.ToString(out.EmbedUrl)
			if !embedURLShape.MatchString(url) {
				t.Errorf("EmbedUrl %q does not match the embedding SDK pattern", url)
			}
			m := embedURLExact.FindStringSubmatch(url)
			if m == nil || m[1] != ep || !strings.HasPrefix(url, srv.URL()+"/embed/") {
				t.Errorf("EmbedUrl %q: want %s/embed/{32 hex}%s?isauthcode=true&identityprovider=quicksight&code=...", url, srv.URL(), ep)
			}
			reqID := aws.ToString(out.RequestId)
			if headerID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); reqID == "" || headerID != reqID {
				t.Errorf("RequestId body %q, header %q: want equal and non-empty", reqID, headerID)
			}
		})
	}

	calls := srv.Calls()
	if got, want := len(calls), 6; got != want {
		t.Fatalf("len(Calls()) = %d, want %d", got, want)
	}
	want := qssim.Call{Operation: "GetSessionEmbedUrl", AccountID: testAccount, EntryPoint: "/analyses/a1", SessionLifetime: 60,
		UserArn: arn, AccessKeyID: testKey, Region: testRegion, Principal: "arn:aws:iam::" + testAccount + ":user/qssim", Status: 200}
	got := calls[5]
	if got.Time.IsZero() {
		t.Errorf("last call has no Time")
	}
	want.RequestID, want.Time = got.RequestID, got.Time
	if !reflect.DeepEqual(got, want) {
		t.Errorf("last call = %+v, want %+v", got, want)
	}
}

func TestUserOperations(t *testing.T) {
	srv := startSim(t, nil)
	bob := srv.AddUser(qssim.User{UserName: "bob", Email: "bob@example.com", Role: "AUTHOR"})
	qs := client(srv.URL(), nil)
	ctx := t.Context()

	d, err := qs.DescribeUser(ctx, &quicksight.DescribeUserInput{AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), UserName: aws.String("bob")})
	if err != nil {
		t.Fatalf("DescribeUser: %v", err)
	}
	u := d.User
	if aws.ToString(u.Arn) != bob || aws.ToString(u.UserName) != "bob" || aws.ToString(u.Email) != "bob@example.com" ||
		u.Role != types.UserRoleAuthor || u.IdentityType != types.IdentityTypeQuicksight || !u.Active || aws.ToString(u.PrincipalId) == "" {
		t.Errorf("DescribeUser user = %+v, want bob, AUTHOR, QUICKSIGHT, active, ARN %s", u, bob)
	}

	_, err = qs.DescribeUser(ctx, &quicksight.DescribeUserInput{AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), UserName: aws.String("nobody")})
	if !isA[*types.ResourceNotFoundException](err) || httpStatus(err) != 404 {
		t.Errorf("DescribeUser(nobody) error = %v (status %d), want ResourceNotFoundException 404", err, httpStatus(err))
	}

	register := func(in quicksight.RegisterUserInput) (*quicksight.RegisterUserOutput, error) {
		in.AwsAccountId, in.Namespace = aws.String(testAccount), aws.String("default")
		return qs.RegisterUser(ctx, &in)
	}
	r, err := register(quicksight.RegisterUserInput{
		IdentityType: types.IdentityTypeIam, Email: aws.String("carol@example.com"), UserRole: types.UserRoleReader,
		IamArn: aws.String("arn:aws:iam::123456789012:role/PortalUsers"), SessionName: aws.String("carol"),
	})
	if err != nil {
		t.Fatalf("RegisterUser: %v", err)
	}
	if got, want := aws.ToString(r.User.Arn), srv.UserARN("default", "PortalUsers/carol"); got != want {
		t.Errorf("registered ARN = %q, want %q", got, want)
	}
	if r.Status != 200 || r.User.Role != types.UserRoleReader || r.User.IdentityType != types.IdentityTypeIam {
		t.Errorf("RegisterUser = status %d, user %+v; want 200, READER, IAM", r.Status, r.User)
	}
	d, err = qs.DescribeUser(ctx, &quicksight.DescribeUserInput{AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), UserName: aws.String("PortalUsers/carol")})
	if err != nil || aws.ToString(d.User.Email) != "carol@example.com" {
		t.Errorf("DescribeUser(PortalUsers/carol) = %+v, %v; want carol's record", d, err)
	}

	_, err = register(quicksight.RegisterUserInput{IdentityType: types.IdentityTypeQuicksight, Email: aws.String("b@example.com"), UserRole: types.UserRoleAdmin, UserName: aws.String("bob")})
	if !isA[*types.ResourceExistsException](err) || httpStatus(err) != 409 {
		t.Errorf("RegisterUser(bob again) error = %v, want ResourceExistsException 409", err)
	}
	_, err = register(quicksight.RegisterUserInput{IdentityType: types.IdentityTypeQuicksight, Email: aws.String("x@example.com"), UserRole: "WIZARD", UserName: aws.String("x")})
	if !isA[*types.InvalidParameterValueException](err) {
		t.Errorf("RegisterUser(role WIZARD) error = %v, want InvalidParameterValueException", err)
	}
}

// listAllUsers pages through ListUsers in the default namespace (pages of
// maxResults, nil for the default) and returns the user names and each
// page's size.
func listAllUsers(t *testing.T, qs *quicksight.Client, maxResults *int32) (names []string, sizes []int) {
	t.Helper()
	p := quicksight.NewListUsersPaginator(qs, &quicksight.ListUsersInput{
		AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), MaxResults: maxResults,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		sizes = append(sizes, len(page.UserList))
		for _, u := range page.UserList {
			names = append(names, aws.ToString(u.UserName))
		}
	}
	return names, sizes
}

func TestListUsersPagination(t *testing.T) {
	srv := startSim(t, nil)
	names := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"}
	for _, n := range names {
		srv.AddUser(qssim.User{UserName: n, Role: "READER"})
	}
	srv.AddUser(qssim.User{UserName: "other", Namespace: "tenant-b"})
	qs := client(srv.URL(), nil)

	got, sizes := listAllUsers(t, qs, aws.Int32(3))
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("listed users = %v, want %v", got, names)
	}
	if want := []int{3, 3, 1}; len(sizes) != 3 || sizes[0] != 3 || sizes[1] != 3 || sizes[2] != 1 {
		t.Errorf("page sizes = %v, want %v", sizes, want)
	}

	tests := []struct {
		name     string
		in       quicksight.ListUsersInput
		wantCode string
	}{
		{"max 0", quicksight.ListUsersInput{MaxResults: aws.Int32(0)}, qssim.ErrInvalidParameterValue},
		{"max 101", quicksight.ListUsersInput{MaxResults: aws.Int32(101)}, qssim.ErrInvalidParameterValue},
		{"max 100", quicksight.ListUsersInput{MaxResults: aws.Int32(100)}, ""},
		{"bad token", quicksight.ListUsersInput{NextToken: aws.String("not-a-token")}, qssim.ErrInvalidNextToken},
		{"unknown namespace", quicksight.ListUsersInput{Namespace: aws.String("nope")}, qssim.ErrResourceNotFound},
		{"other namespace", quicksight.ListUsersInput{Namespace: aws.String("tenant-b")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.AwsAccountId = aws.String(testAccount)
			if in.Namespace == nil {
				in.Namespace = aws.String("default")
			}
			_, err := qs.ListUsers(t.Context(), &in)
			if got := apiCode(t, err); got != tt.wantCode {
				t.Errorf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
		})
	}
}

func TestSignatureChecks(t *testing.T) {
	clock := newFakeClock()
	srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	tokenSrv := startSim(t, func(c *qssim.Config) { c.SessionToken = "session-token-1" })
	tokenArn := tokenSrv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})

	tests := []struct {
		name       string
		srv        *qssim.Server
		arn        string
		edit       func(*aws.Config)
		skew       time.Duration
		wantCode   string
		wantStatus int
	}{
		{"valid", srv, arn, nil, 0, "", 200},
		{"wrong secret", srv, arn, withCreds(testKey, "not-the-secret", ""), 0, qssim.ErrInvalidSignature, 403},
		{"wrong access key", srv, arn, withCreds("AKIAWRONGWRONGWRONG1", testSecret, ""), 0, qssim.ErrUnrecognizedClient, 403},
		{"wrong region", srv, arn, func(c *aws.Config) { c.Region = "us-west-2" }, 0, qssim.ErrInvalidSignature, 403},
		{"clock 14 minutes ahead", srv, arn, nil, 14 * time.Minute, "", 200},
		{"clock 16 minutes ahead", srv, arn, nil, 16 * time.Minute, qssim.ErrInvalidSignature, 403},
		{"clock 16 minutes behind", srv, arn, nil, -16 * time.Minute, qssim.ErrInvalidSignature, 403},
		{"session token", tokenSrv, tokenArn, withCreds(testKey, testSecret, "session-token-1"), 0, "", 200},
		{"missing session token", tokenSrv, tokenArn, nil, 0, qssim.ErrUnrecognizedClient, 403},
		{"wrong session token", tokenSrv, tokenArn, withCreds(testKey, testSecret, "session-token-2"), 0, qssim.ErrUnrecognizedClient, 403},
		{"unexpected session token", srv, arn, withCreds(testKey, testSecret, "session-token-1"), 0, qssim.ErrUnrecognizedClient, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(tt.skew)
			defer clock.Advance(-tt.skew)
			qs := client(tt.srv.URL(), func(c *aws.Config) {
				oneAttempt(c)
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			_, err := sessionEmbedURL(t.Context(), qs, tt.arn, "/start", 60)
			if got := apiCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil && httpStatus(err) != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", httpStatus(err), tt.wantStatus)
			}
		})
	}
}

// TestSignatureCoversRequest tampers with requests the SDK signed: the body,
// the query and a signed header must all be covered by the check.
func TestSignatureCoversRequest(t *testing.T) {
	srv := startSim(t, nil)
	srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})

	tests := []struct {
		name   string
		tamper func(*http.Request)
	}{
		{"body", func(r *http.Request) {
			b := []byte(`{"Email":"mallory@example.com","IdentityType":"QUICKSIGHT","UserName":"mallory","UserRole":"ADMIN"}`)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}},
		{"query", func(r *http.Request) { r.URL.RawQuery = "x=1" }},
		{"signed header", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }},
		{"path", func(r *http.Request) { r.URL.Path = "/accounts/" + testAccount + "/namespaces/other/users" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				tt.tamper(r)
				return http.DefaultTransport.RoundTrip(r)
			})}
			qs := client(srv.URL(), func(c *aws.Config) { oneAttempt(c); c.HTTPClient = hc })
			_, err := qs.RegisterUser(t.Context(), &quicksight.RegisterUserInput{
				AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), IdentityType: types.IdentityTypeQuicksight,
				Email: aws.String("eve@example.com"), UserName: aws.String("eve"), UserRole: types.UserRoleReader,
			})
			if got, want := apiCode(t, err), qssim.ErrInvalidSignature; got != want {
				t.Errorf("error code = %q (%v), want %q", got, err, want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestUnsignedRequest(t *testing.T) {
	srv := startSim(t, nil)
	resp, err := http.Get(srv.URL() + "/accounts/" + testAccount + "/session-embed-url?entry-point=/start")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	if got, want := resp.StatusCode, 403; got != want {
		t.Errorf("status = %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("X-Amzn-ErrorType"), qssim.ErrMissingAuthenticationToken; got != want {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", got, want)
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Error("X-Amzn-Requestid is missing")
	}
}

func TestSeedConstraints(t *testing.T) {
	srv := startSim(t, nil)
	author := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	admin := srv.AddUser(qssim.User{UserName: "root", Role: "ADMIN"})
	reader := srv.AddUser(qssim.User{UserName: "rita", Role: "READER"})
	inactive := srv.AddUser(qssim.User{UserName: "ivan", Role: "AUTHOR", Inactive: true})
	qs := client(srv.URL(), nil)

	tests := []struct {
		name       string
		account    string
		user       string
		entryPoint string
		lifetime   int64
		wantCode   string
		wantStatus int
		wantMsg    string
	}{
		{"author ok", testAccount, author, "/start", 15, "", 200, ""},
		{"admin ok", testAccount, admin, "/dashboards/" + strings.Repeat("d", 512), 600, "", 200, ""},
		{"other account", "999999999999", author, "/start", 60, qssim.ErrAccessDenied, 401, ""},
		{"short account", "12345", author, "/start", 60, qssim.ErrAccessDenied, 401, ""},
		{"entry point dot dot", testAccount, author, "/dashboards/../x", 60, qssim.ErrInvalidParameterValue, 400, ""},
		{"entry point escaped slash", testAccount, author, "/dashboards/a%2Fb", 60, qssim.ErrInvalidParameterValue, 400, ""},
		{"entry point empty", testAccount, author, "", 60, qssim.ErrInvalidParameterValue, 400, ""},
		{"entry point unknown", testAccount, author, "/start/admin", 60, qssim.ErrInvalidParameterValue, 400, ""},
		{"entry point no id", testAccount, author, "/dashboards/", 60, qssim.ErrInvalidParameterValue, 400, ""},
		{"entry point id too long", testAccount, author, "/dashboards/" + strings.Repeat("d", 513), 60, qssim.ErrInvalidParameterValue, 400, ""},
		{"entry point too long", testAccount, author, "/analyses/" + strings.Repeat("a", 991), 60, qssim.ErrInvalidParameterValue, 400, "1-1000"},
		{"lifetime 14", testAccount, author, "/start", 14, qssim.ErrSessionLifetimeInvalid, 400, ""},
		{"lifetime 601", testAccount, author, "/start", 601, qssim.ErrSessionLifetimeInvalid, 400, ""},
		{"unknown user", testAccount, srv.UserARN("default", "ghost"), "/start", 60, qssim.ErrQuickSightUserNotFound, 404, ""},
		{"not an ARN", testAccount, "ghost", "/start", 60, qssim.ErrInvalidParameterValue, 400, ""},
		{"reader", testAccount, reader, "/start", 60, qssim.ErrAccessDenied, 401, "must be an author or admin"},
		{"inactive", testAccount, inactive, "/start", 60, qssim.ErrAccessDenied, 401, "not active"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := qs.GetSessionEmbedUrl(t.Context(), &quicksight.GetSessionEmbedUrlInput{
				AwsAccountId: aws.String(tt.account), EntryPoint: aws.String(tt.entryPoint),
				SessionLifetimeInMinutes: aws.Int64(tt.lifetime), UserArn: aws.String(tt.user),
			})
			if got := apiCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if err == nil {
				if out.Status != int32(tt.wantStatus) {
					t.Errorf("Status = %d, want %d", out.Status, tt.wantStatus)
				}
				return
			}
			if got := httpStatus(err); got != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", got, tt.wantStatus)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestUserFaults(t *testing.T) {
	srv := startSim(t, nil)
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	qs := client(srv.URL(), oneAttempt)

	tests := []struct {
		code       string
		is         func(error) bool
		wantStatus int
	}{
		{qssim.ErrAccessDenied, isA[*types.AccessDeniedException], 401},
		{qssim.ErrInternalFailure, isA[*types.InternalFailureException], 500},
		{qssim.ErrInvalidParameterValue, isA[*types.InvalidParameterValueException], 400},
		{qssim.ErrQuickSightUserNotFound, isA[*types.QuickSightUserNotFoundException], 404},
		{qssim.ErrResourceExists, isA[*types.ResourceExistsException], 409},
		{qssim.ErrResourceNotFound, isA[*types.ResourceNotFoundException], 404},
		{qssim.ErrSessionLifetimeInvalid, isA[*types.SessionLifetimeInMinutesInvalidException], 400},
		{qssim.ErrThrottling, isA[*types.ThrottlingException], 429},
		{qssim.ErrUnsupportedUserEdition, isA[*types.UnsupportedUserEditionException], 403},
		// GetSessionEmbedUrl does not model ResourceUnavailableException: the
		// SDK gives a generic API error with the code.
		{qssim.ErrResourceUnavailable, func(err error) bool { return isA[*smithy.GenericAPIError](err) }, 503},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			srv.Reset()
			srv.FailUser(arn, tt.code)
			_, err := sessionEmbedURL(t.Context(), qs, arn, "/start", 60)
			if !tt.is(err) {
				t.Fatalf("error = %T %v, want the SDK's type for %s", err, err, tt.code)
			}
			if got := apiCode(t, err); got != tt.code {
				t.Errorf("error code = %q, want %q", got, tt.code)
			}
			if got := httpStatus(err); got != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", got, tt.wantStatus)
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].ErrorCode != tt.code || calls[0].Status != tt.wantStatus {
				t.Errorf("Calls() = %+v, want one call failed with %s %d", calls, tt.code, tt.wantStatus)
			}
		})
	}

	t.Run("DescribeUser ResourceUnavailable", func(t *testing.T) {
		srv.Reset()
		srv.FailUser(arn, qssim.ErrResourceUnavailable)
		_, err := qs.DescribeUser(t.Context(), &quicksight.DescribeUserInput{AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), UserName: aws.String("alice")})
		if !isA[*types.ResourceUnavailableException](err) {
			t.Errorf("error = %T %v, want *types.ResourceUnavailableException", err, err)
		}
	})

	t.Run("other users unaffected and ClearFaults", func(t *testing.T) {
		srv.Reset()
		bob := srv.AddUser(qssim.User{UserName: "bob", Role: "ADMIN"})
		srv.FailUser(arn, qssim.ErrThrottling)
		if _, err := sessionEmbedURL(t.Context(), qs, bob, "/start", 60); err != nil {
			t.Errorf("bob: %v, want success", err)
		}
		srv.ClearFaults()
		if _, err := sessionEmbedURL(t.Context(), qs, arn, "/start", 60); err != nil {
			t.Errorf("alice after ClearFaults: %v, want success", err)
		}
	})
}

func TestFailNext(t *testing.T) {
	srv := startSim(t, nil)
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})

	tests := []struct {
		name      string
		n         int
		code      string
		attempts  int
		wantErr   func(error) bool
		wantCalls int
	}{
		// The standard retryer makes 3 attempts on throttling and 5xx.
		{"throttled twice then ok", 2, qssim.ErrThrottling, 3, nil, 3},
		{"throttled beyond retries", 3, qssim.ErrThrottling, 3, isA[*types.ThrottlingException], 3},
		{"internal failure, one attempt", 1, qssim.ErrInternalFailure, 1, isA[*types.InternalFailureException], 1},
		{"access denied is not retried", 1, qssim.ErrAccessDenied, 3, isA[*types.AccessDeniedException], 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			srv.FailNext(tt.n, tt.code)
			qs := client(srv.URL(), func(c *aws.Config) { c.RetryMaxAttempts = tt.attempts })
			_, err := sessionEmbedURL(t.Context(), qs, arn, "/start", 60)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error = %v, want success after retries", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("error = %T %v, want the SDK's type for %s", err, err, tt.code)
			}
			if got := len(srv.Calls()); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	srv := startSim(t, nil)
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	qs := client(srv.URL(), oneAttempt)

	srv.SetLatency(100 * time.Millisecond)
	start := time.Now()
	if _, err := sessionEmbedURL(t.Context(), qs, arn, "/start", 60); err != nil {
		t.Fatalf("GetSessionEmbedUrl: %v", err)
	}
	if got, want := time.Since(start), 100*time.Millisecond; got < want {
		t.Errorf("call took %v, want at least %v", got, want)
	}

	srv.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := sessionEmbedURL(ctx, qs, arn, "/start", 60); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
}

func TestEmbedURLSingleUse(t *testing.T) {
	clock := newFakeClock()
	srv := startSim(t, func(c *qssim.Config) { c.Now = clock.Now })
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	qs := client(srv.URL(), nil)
	issue := func(t *testing.T) string {
		t.Helper()
		out, err := sessionEmbedURL(t.Context(), qs, arn, "/dashboards/d-1", 120)
		if err != nil {
			t.Fatalf("GetSessionEmbedUrl: %v", err)
		}
		return aws.ToString(out.EmbedUrl)
	}

	t.Run("opens once", func(t *testing.T) {
		url := issue(t)
		status, h, body := get(t, url)
		if status != 200 {
			t.Fatalf("first open status = %d, want 200; body %s", status, body)
		}
		for _, want := range []string{
			`id="qs-banner"`, "QuickSight simulator - demo",
			`id="qs-user-arn">` + arn + "<",
			`id="qs-entry-point">/dashboards/d-1<`,
			`id="qs-session-lifetime">120<`,
			`id="qs-user-name">alice<`, `id="qs-role">AUTHOR<`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page does not contain %q", want)
			}
		}
		if h.Get("X-Frame-Options") != "" {
			t.Errorf("X-Frame-Options = %q, want none (the page must be frameable)", h.Get("X-Frame-Options"))
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") {
			t.Errorf("Content-Security-Policy = %q, want frame-ancestors *", csp)
		}
		if strings.Contains(body, "src=") || strings.Contains(body, "<link") {
			t.Error("page loads external resources, want self-contained")
		}

		status, _, body = get(t, url)
		if status != 401 || !strings.Contains(body, "this sign-in link was already used") {
			t.Errorf("second open = %d, want 401 'this sign-in link was already used'; body %s", status, body)
		}
	})

	t.Run("wrong code", func(t *testing.T) {
		url := issue(t)
		status, _, body := get(t, url[:strings.Index(url, "code=")]+"code=guess")
		if status != 401 || !strings.Contains(body, "not valid") {
			t.Errorf("open with wrong code = %d, want 401 'not valid'; body %s", status, body)
		}
		if status, _, _ := get(t, url); status != 200 {
			t.Errorf("open with right code after a wrong one = %d, want 200", status)
		}
	})

	t.Run("wrong entry point", func(t *testing.T) {
		url := strings.Replace(issue(t), "/dashboards/d-1?", "/dashboards/d-2?", 1)
		if status, _, _ := get(t, url); status != 401 {
			t.Errorf("open with another entry point = %d, want 401", status)
		}
	})

	t.Run("valid until 5 minutes", func(t *testing.T) {
		url := issue(t)
		clock.Advance(5*time.Minute - time.Second)
		defer clock.Advance(-(5*time.Minute - time.Second))
		if status, _, body := get(t, url); status != 200 {
			t.Errorf("open after 4m59s = %d, want 200; body %s", status, body)
		}
	})

	t.Run("expired after 5 minutes", func(t *testing.T) {
		url := issue(t)
		clock.Advance(5 * time.Minute)
		defer clock.Advance(-5 * time.Minute)
		status, _, body := get(t, url)
		if status != 401 || !strings.Contains(body, "this sign-in link has expired") {
			t.Errorf("open after 5m = %d, want 401 'this sign-in link has expired'; body %s", status, body)
		}
	})
}

// TestEndpointFromEnvironment reaches the simulator the way `qsgate demo`
// will: the default config chain and AWS_ENDPOINT_URL_QUICKSIGHT (and _STS).
func TestEndpointFromEnvironment(t *testing.T) {
	srv := startSim(t, nil)
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "ADMIN"})
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_QUICKSIGHT": srv.URL(),
		"AWS_ENDPOINT_URL_STS":        srv.URL(),
		"AWS_REGION":                  testRegion,
		"AWS_ACCESS_KEY_ID":           testKey,
		"AWS_SECRET_ACCESS_KEY":       testSecret,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	out, err := sessionEmbedURL(t.Context(), quicksight.NewFromConfig(cfg), arn, "/start", 60)
	if err != nil {
		t.Fatalf("GetSessionEmbedUrl: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(out.EmbedUrl), srv.URL()+"/embed/") {
		t.Errorf("EmbedUrl = %q, want it on %s", aws.ToString(out.EmbedUrl), srv.URL())
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != testAccount {
		t.Errorf("GetCallerIdentity = %+v, %v; want account %s from the simulator", id, err, testAccount)
	}
}

// TestWithHTTPTest uses New behind httptest: embed URLs take the request's origin.
func TestWithHTTPTest(t *testing.T) {
	sim, err := qssim.New(testConfig())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(sim)
	defer ts.Close()
	arn := sim.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	out, err := sessionEmbedURL(t.Context(), client(ts.URL, nil), arn, "/start", 60)
	if err != nil {
		t.Fatalf("GetSessionEmbedUrl: %v", err)
	}
	url := aws.ToString(out.EmbedUrl)
	if !strings.HasPrefix(url, ts.URL+"/embed/") {
		t.Fatalf("EmbedUrl = %q, want it on %s", url, ts.URL)
	}
	if status, _, _ := get(t, url); status != 200 {
		t.Errorf("open = %d, want 200", status)
	}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     qssim.Config
		wantErr string
	}{
		{"zero value", qssim.Config{}, ""},
		{"bad account", qssim.Config{AccountID: "12345"}, `AccountID: must be 12 digits, got "12345"`},
		{"key without secret", qssim.Config{AccessKeyID: "AKIA"}, "set both or neither"},
		{"roles", qssim.Config{Roles: []string{"arn:aws:iam::" + qssim.DefaultAccountID + ":role/a", "arn:aws:iam::" + qssim.DefaultAccountID + ":role/path/b"}}, ""},
		{"role of another account", qssim.Config{Roles: []string{"arn:aws:iam::999999999999:role/a"}}, `Roles: "arn:aws:iam::999999999999:role/a" is not an IAM role ARN of account ` + qssim.DefaultAccountID},
		{"role not a role", qssim.Config{Roles: []string{"arn:aws:iam::" + qssim.DefaultAccountID + ":user/a"}}, "is not an IAM role ARN"},
		{"caller not an ARN", qssim.Config{CallerArn: "qssim"}, `CallerArn: must be an IAM or STS ARN, got "qssim"`},
		{"edition", qssim.Config{Edition: "ENTERPRISE_AND_Q"}, ""},
		{"unknown edition", qssim.Config{Edition: "PLATINUM"}, `Edition: must be one of ENTERPRISE, STANDARD, ENTERPRISE_AND_Q, got "PLATINUM"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := qssim.New(tt.cfg)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("New: %v, want no error", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}

	// The zero Config works with the documented defaults.
	srv, err := qssim.Start(qssim.Config{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer srv.Close()
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	qs := quicksight.NewFromConfig(aws.Config{
		Region:      qssim.DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider(qssim.DefaultAccessKeyID, qssim.DefaultSecretAccessKey, ""),
	}, func(o *quicksight.Options) { o.BaseEndpoint = aws.String(srv.URL()) })
	if _, err := qs.GetSessionEmbedUrl(t.Context(), &quicksight.GetSessionEmbedUrlInput{
		AwsAccountId: aws.String(qssim.DefaultAccountID), UserArn: aws.String(arn),
	}); err != nil {
		t.Errorf("GetSessionEmbedUrl with defaults: %v", err)
	}
	if c := srv.Calls(); len(c) != 1 || c[0].EntryPoint != "/start" || c[0].SessionLifetime != 600 {
		t.Errorf("Calls() = %+v, want entry point /start and lifetime 600 by default", c)
	}
}

// TestLogsHoldNoSecrets: neither the auth code nor the embed URL reaches the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	srv := startSim(t, func(c *qssim.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	out, err := sessionEmbedURL(t.Context(), client(srv.URL(), nil), arn, "/start", 60)
	if err != nil {
		t.Fatalf("GetSessionEmbedUrl: %v", err)
	}
	url := aws.ToString(out.EmbedUrl)
	get(t, url)
	get(t, url)

	code := url[strings.Index(url, "code=")+len("code="):]
	sessionID := embedURLShape.FindStringSubmatch(url)[3]
	got := logs.String()
	if !strings.Contains(got, "embed url opened") || !strings.Contains(got, "GetSessionEmbedUrl") {
		t.Fatalf("logs = %q, want the call and the openings", got)
	}
	for _, secret := range []string{code, sessionID, testSecret} {
		if strings.Contains(got, secret) {
			t.Errorf("logs contain a secret %q", secret)
		}
	}
}

// TestConcurrentUse runs calls and controls at once for the race detector.
func TestConcurrentUse(t *testing.T) {
	srv := startSim(t, nil)
	arn := srv.AddUser(qssim.User{UserName: "alice", Role: "AUTHOR"})
	qs := client(srv.URL(), nil)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			out, err := sessionEmbedURL(t.Context(), qs, arn, "/start", 60)
			if err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			// get would call t.Fatalf, which must stay on the test goroutine.
			resp, err := http.Get(aws.ToString(out.EmbedUrl))
			if err != nil {
				t.Errorf("open %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("open %d: status %d, want 200", i, resp.StatusCode)
			}
		})
		wg.Go(func() {
			srv.AddUser(qssim.User{UserName: "u" + string(rune('a'+i)), Role: "READER"})
			_ = srv.Calls()
		})
	}
	wg.Wait()
	if got, want := len(srv.Calls()), 16; got != want {
		t.Errorf("calls = %d, want %d", got, want)
	}
}
