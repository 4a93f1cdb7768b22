package qssim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

const testCaller = "arn:aws:iam::" + testAccount + ":user/qssim"

var (
	accessKeyShape = regexp.MustCompile(`^ASIA[A-Z2-7]{16}$`)
	roleIDShape    = regexp.MustCompile(`^AROA[A-Z2-7]{17}:`)
)

func TestAssumeRole(t *testing.T) {
	clock := newFakeClock()
	srv := startSim(t, func(c *qssim.Config) {
		c.Now = clock.Now
		c.IdentityRegion = "us-east-1"
		c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"}
	})
	pathRole := "arn:aws:iam::" + testAccount + ":role/team/Reports"
	if err := srv.AddRole(pathRole); err != nil {
		t.Fatalf("AddRole: %v", err)
	}
	portal := srv.RoleARN("PortalUsers")
	stsc := stsClient(srv.URL(), oneAttempt)

	tests := []struct {
		name       string
		role       string
		session    string
		seconds    *int32
		edit       func(*aws.Config)
		wantCode   string
		wantStatus int
		wantMsg    string
		wantArn    string
		wantLife   time.Duration
	}{
		{name: "default duration", role: portal, session: "alice", wantArn: "arn:aws:sts::" + testAccount + ":assumed-role/PortalUsers/alice", wantLife: time.Hour},
		{name: "role with a path, 12 hours", role: pathRole, session: "bob", seconds: aws.Int32(43200),
			wantArn: "arn:aws:sts::" + testAccount + ":assumed-role/Reports/bob", wantLife: 12 * time.Hour},
		{name: "15 minutes, every allowed character", role: portal, session: "a+b=c,d.e@f-g_H9", seconds: aws.Int32(900),
			wantArn: "arn:aws:sts::" + testAccount + ":assumed-role/PortalUsers/a+b=c,d.e@f-g_H9", wantLife: 15 * time.Minute},
		{name: "signed for the identity region", role: portal, session: "alice@example.com", edit: func(c *aws.Config) { c.Region = "us-east-1" },
			wantArn: "arn:aws:sts::" + testAccount + ":assumed-role/PortalUsers/alice@example.com", wantLife: time.Hour},
		{name: "signed for another region", role: portal, session: "alice", edit: func(c *aws.Config) { c.Region = "us-west-2" },
			wantCode: qssim.ErrSTSSignatureDoesNotMatch, wantStatus: 403, wantMsg: "Credential should be scoped to a valid region, not 'us-west-2'."},
		{name: "role not granted", role: srv.RoleARN("Admins"), session: "alice", wantCode: qssim.ErrSTSAccessDenied, wantStatus: 403,
			wantMsg: "User: " + testCaller + " is not authorized to perform: sts:AssumeRole on resource: " + srv.RoleARN("Admins")},
		{name: "session name with a space", role: portal, session: "bad name", wantCode: qssim.ErrSTSValidation, wantStatus: 400,
			wantMsg: `1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{name: "session name of 1", role: portal, session: "a", wantCode: qssim.ErrSTSValidation, wantStatus: 400,
			wantMsg: "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{name: "session name of 65", role: portal, session: strings.Repeat("s", 65), wantCode: qssim.ErrSTSValidation, wantStatus: 400,
			wantMsg: "Member must have length less than or equal to 64"},
		{name: "899 seconds", role: portal, session: "alice", seconds: aws.Int32(899), wantCode: qssim.ErrSTSValidation, wantStatus: 400,
			wantMsg: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{name: "43201 seconds", role: portal, session: "alice", seconds: aws.Int32(43201), wantCode: qssim.ErrSTSValidation, wantStatus: 400,
			wantMsg: "Member must have value less than or equal to 43200"},
		{name: "two problems", role: portal, session: "a", seconds: aws.Int32(60), wantCode: qssim.ErrSTSValidation, wantStatus: 400,
			wantMsg: "2 validation errors detected: Value 'a' at 'roleSessionName'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stsc := stsc
			if tt.edit != nil {
				stsc = stsClient(srv.URL(), func(c *aws.Config) { oneAttempt(c); tt.edit(c) })
			}
			out, err := stsc.AssumeRole(t.Context(), &sts.AssumeRoleInput{
				RoleArn: aws.String(tt.role), RoleSessionName: aws.String(tt.session), DurationSeconds: tt.seconds,
			})
			if got := apiCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil {
				if got := httpStatus(err); got != tt.wantStatus {
					t.Errorf("HTTP status = %d, want %d", got, tt.wantStatus)
				}
				if got := apiMessage(err); !strings.Contains(got, tt.wantMsg) {
					t.Errorf("message = %q, want it to contain %q", got, tt.wantMsg)
				}
				return
			}
			c, u := out.Credentials, out.AssumedRoleUser
			if got := aws.ToString(u.Arn); got != tt.wantArn {
				t.Errorf("AssumedRoleUser.Arn = %q, want %q", got, tt.wantArn)
			}
			if id := aws.ToString(u.AssumedRoleId); !roleIDShape.MatchString(id) || !strings.HasSuffix(id, ":"+tt.session) {
				t.Errorf("AssumedRoleId = %q, want AROA{17}:%s", id, tt.session)
			}
			if key := aws.ToString(c.AccessKeyId); !accessKeyShape.MatchString(key) {
				t.Errorf("AccessKeyId = %q, want ASIA and 16 characters", key)
			}
			if got := len(aws.ToString(c.SecretAccessKey)); got != 40 {
				t.Errorf("len(SecretAccessKey) = %d, want 40", got)
			}
			if aws.ToString(c.SessionToken) == "" {
				t.Error("SessionToken is empty")
			}
			if got, want := aws.ToTime(c.Expiration), clock.Now().Add(tt.wantLife); got.Sub(want).Abs() > time.Second {
				t.Errorf("Expiration = %v, want %v", got, want)
			}
		})
	}
}

func TestGetCallerIdentity(t *testing.T) {
	srv := startSim(t, func(c *qssim.Config) { c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"} })
	custom := startSim(t, func(c *qssim.Config) { c.CallerArn = "arn:aws:iam::" + testAccount + ":user/gateway" })
	role := assumeRole(t, stsClient(srv.URL(), nil), srv.RoleARN("PortalUsers"), "alice", 900)

	tests := []struct {
		name       string
		srv        *qssim.Server
		edit       func(*aws.Config)
		wantArn    string
		wantUserID *regexp.Regexp
	}{
		{"configured credentials", srv, nil, testCaller, regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`)},
		{"configured CallerArn", custom, nil, "arn:aws:iam::" + testAccount + ":user/gateway", regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`)},
		{"role session", srv, withRoleCreds(role.Credentials), aws.ToString(role.AssumedRoleUser.Arn),
			regexp.MustCompile("^" + regexp.QuoteMeta(aws.ToString(role.AssumedRoleUser.AssumedRoleId)) + "$")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := stsClient(tt.srv.URL(), tt.edit).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity: %v", err)
			}
			if got := aws.ToString(out.Arn); got != tt.wantArn {
				t.Errorf("Arn = %q, want %q", got, tt.wantArn)
			}
			if got := aws.ToString(out.UserId); !tt.wantUserID.MatchString(got) {
				t.Errorf("UserId = %q, want %v", got, tt.wantUserID)
			}
			if got := aws.ToString(out.Account); got != testAccount {
				t.Errorf("Account = %q, want %q", got, testAccount)
			}
		})
	}
}

func TestSTSCallsRecorded(t *testing.T) {
	srv := startSim(t, func(c *qssim.Config) { c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"} })
	role := assumeRole(t, stsClient(srv.URL(), nil), srv.RoleARN("PortalUsers"), "alice", 900)
	if _, err := stsClient(srv.URL(), withRoleCreds(role.Credentials)).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	calls := srv.Calls()
	want := []qssim.Call{
		{Operation: "AssumeRole", AccessKeyID: testKey, Region: testRegion, Principal: testCaller, Status: 200},
		{Operation: "GetCallerIdentity", AccessKeyID: aws.ToString(role.Credentials.AccessKeyId), Region: testRegion,
			Principal: aws.ToString(role.AssumedRoleUser.Arn), Status: 200},
	}
	if len(calls) != len(want) {
		t.Fatalf("Calls() = %+v, want %d calls", calls, len(want))
	}
	for i, got := range calls {
		if got.RequestID == "" || got.Time.IsZero() {
			t.Errorf("call %d has no RequestID or no Time", i)
		}
		want[i].RequestID, want[i].Time = got.RequestID, got.Time
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("call %d = %+v, want %+v", i, got, want[i])
		}
	}
}

func TestSTSFaults(t *testing.T) {
	srv := startSim(t, func(c *qssim.Config) { c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"} })
	assume := func(ctx context.Context, attempts int) error {
		_, err := stsClient(srv.URL(), func(c *aws.Config) { c.RetryMaxAttempts = attempts }).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(srv.RoleARN("PortalUsers")), RoleSessionName: aws.String("alice"),
		})
		return err
	}

	tests := []struct {
		name       string
		n          int
		code       string
		attempts   int
		wantCode   string
		wantStatus int
		wantType   func(error) bool
		wantCalls  int
	}{
		{"access denied", 1, qssim.ErrSTSAccessDenied, 3, qssim.ErrSTSAccessDenied, 403, nil, 1},
		{"region disabled", 1, qssim.ErrSTSRegionDisabled, 3, qssim.ErrSTSRegionDisabled, 403, isA[*ststypes.RegionDisabledException], 1},
		{"throttled twice then ok", 2, qssim.ErrSTSThrottling, 3, "", 200, nil, 3},
		{"throttled beyond retries", 3, qssim.ErrSTSThrottling, 3, qssim.ErrSTSThrottling, 400, nil, 3},
		{"internal failure is retried", 1, qssim.ErrSTSInternalFailure, 2, "", 200, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			srv.FailNext(tt.n, tt.code)
			err := assume(t.Context(), tt.attempts)
			if got := apiCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil && httpStatus(err) != tt.wantStatus {
				t.Errorf("HTTP status = %d, want %d", httpStatus(err), tt.wantStatus)
			}
			if tt.wantType != nil && !tt.wantType(err) {
				t.Errorf("error = %T, want the SDK's type for %s", err, tt.code)
			}
			calls := srv.Calls()
			if len(calls) != tt.wantCalls || calls[0].Operation != "AssumeRole" || calls[0].ErrorCode != tt.code {
				t.Errorf("Calls() = %+v, want %d AssumeRole calls, the first failed with %s", calls, tt.wantCalls, tt.code)
			}
		})
	}

	t.Run("latency", func(t *testing.T) {
		srv.Reset()
		srv.SetLatency(100 * time.Millisecond)
		start := time.Now()
		if err := assume(t.Context(), 1); err != nil {
			t.Fatalf("AssumeRole: %v", err)
		}
		if got, want := time.Since(start), 100*time.Millisecond; got < want {
			t.Errorf("call took %v, want at least %v", got, want)
		}
		srv.SetLatency(time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := assume(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestSTSWire checks the bytes STS answers with, beyond what the SDK parses.
func TestSTSWire(t *testing.T) {
	srv := startSim(t, func(c *qssim.Config) { c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"} })
	var body string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil {
			b, _ := io.ReadAll(resp.Body) // a short read shows up as a failed match below
			resp.Body.Close()
			body = string(b)
			resp.Body = io.NopCloser(bytes.NewReader(b))
		}
		return resp, err
	})}
	stsc := stsClient(srv.URL(), func(c *aws.Config) { oneAttempt(c); c.HTTPClient = hc })
	unsigned := func() string {
		resp, err := http.Post(srv.URL()+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body) // a short read shows up as a failed match below
		return resp.Status + " " + string(b)
	}

	tests := []struct {
		name string
		call func() string
		want *regexp.Regexp
	}{
		{"AssumeRole", func() string {
			assumeRole(t, stsc, srv.RoleARN("PortalUsers"), "alice", 900)
			return body
		}, regexp.MustCompile(`^<AssumeRoleResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/"><AssumeRoleResult>` +
			`<Credentials><AccessKeyId>ASIA[A-Z2-7]{16}</AccessKeyId><SecretAccessKey>[^<]{40}</SecretAccessKey><SessionToken>[^<]+</SessionToken>` +
			`<Expiration>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ</Expiration></Credentials>` +
			`<AssumedRoleUser><AssumedRoleId>AROA[A-Z2-7]{17}:alice</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/PortalUsers/alice</Arn></AssumedRoleUser>` +
			`</AssumeRoleResult><ResponseMetadata><RequestId>[0-9a-f-]{36}</RequestId></ResponseMetadata></AssumeRoleResponse>$`)},
		{"GetCallerIdentity", func() string {
			if _, err := stsc.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("GetCallerIdentity: %v", err)
			}
			return body
		}, regexp.MustCompile(`^<GetCallerIdentityResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
			`<Arn>arn:aws:iam::123456789012:user/qssim</Arn><UserId>AIDA[A-Z2-7]{17}</UserId><Account>123456789012</Account>` +
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>[0-9a-f-]{36}</RequestId></ResponseMetadata></GetCallerIdentityResponse>$`)},
		{"error", func() string {
			_, err := stsc.AssumeRole(t.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(srv.RoleARN("Nope")), RoleSessionName: aws.String("alice")})
			if err == nil {
				t.Fatal("AssumeRole of an unknown role succeeded")
			}
			return body
		}, regexp.MustCompile(`^<ErrorResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>` +
			`<Message>User: arn:aws:iam::123456789012:user/qssim is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Nope</Message>` +
			`</Error><RequestId>[0-9a-f-]{36}</RequestId></ErrorResponse>$`)},
		{"operation not simulated", func() string {
			_, err := stsc.GetSessionToken(t.Context(), &sts.GetSessionTokenInput{})
			if got, want := apiCode(t, err), qssim.ErrSTSInvalidAction; got != want {
				t.Errorf("GetSessionToken error code = %q, want %q", got, want)
			}
			return body
		}, regexp.MustCompile(`<Code>InvalidAction</Code><Message>Could not find operation GetSessionToken for version 2011-06-15</Message>`)},
		{"unsigned", unsigned, regexp.MustCompile(`^403 Forbidden <ErrorResponse xmlns="https://sts\.amazonaws\.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
			`<Code>MissingAuthenticationToken</Code>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.call(); !tt.want.MatchString(got) {
				t.Errorf("answer = %s\nwant it to match %s", got, tt.want)
			}
		})
	}
}

// TestSTSLogsHoldNoSecrets: issued secrets and session tokens never reach the log.
func TestSTSLogsHoldNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	srv := startSim(t, func(c *qssim.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"}
	})
	role := assumeRole(t, stsClient(srv.URL(), nil), srv.RoleARN("PortalUsers"), "alice", 900)
	_, err := sessionEmbedURL(t.Context(), client(srv.URL(), withRoleCreds(role.Credentials)), srv.UserARN("default", "ghost"), "/start", 60)
	if !isA[*types.QuickSightUserNotFoundException](err) {
		t.Fatalf("GetSessionEmbedUrl error = %v, want QuickSightUserNotFoundException", err)
	}
	got := logs.String()
	if !strings.Contains(got, "sts call") || !strings.Contains(got, "AssumeRole") || !strings.Contains(got, aws.ToString(role.AssumedRoleUser.Arn)) {
		t.Fatalf("logs = %q, want the STS call and the role session", got)
	}
	for _, secret := range []string{testSecret, aws.ToString(role.Credentials.SecretAccessKey), aws.ToString(role.Credentials.SessionToken)} {
		if strings.Contains(got, secret) {
			t.Errorf("logs contain a secret %q", secret)
		}
	}
}
