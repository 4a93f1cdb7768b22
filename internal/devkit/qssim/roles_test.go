package qssim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// TestRoleSessionEmbedding: GetSessionEmbedUrl without a user-arn, signed by
// a role session, is for the QuickSight user "RoleName/SessionName".
func TestRoleSessionEmbedding(t *testing.T) {
	srv := startSim(t, func(c *qssim.Config) { c.Roles = []string{"arn:aws:iam::" + testAccount + ":role/PortalUsers"} })
	role := srv.RoleARN("PortalUsers")
	qs := client(srv.URL(), oneAttempt)
	reg, err := qs.RegisterUser(t.Context(), &quicksight.RegisterUserInput{
		AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), IdentityType: types.IdentityTypeIam,
		IamArn: aws.String(role), SessionName: aws.String("alice@example.com"), Email: aws.String("alice@example.com"), UserRole: types.UserRoleAuthor,
	})
	if err != nil {
		t.Fatalf("RegisterUser: %v", err)
	}
	alice := aws.ToString(reg.User.Arn)
	rita := srv.AddUser(qssim.User{UserName: "PortalUsers/rita", Role: "READER", IdentityType: "IAM"})
	bob := srv.AddUser(qssim.User{UserName: "bob", Role: "ADMIN"})
	_, err = sessionEmbedURL(t.Context(), qs, rita, "/start", 60)
	readerDenied := apiMessage(err)
	if !strings.Contains(readerDenied, "must be an author or admin") {
		t.Fatalf("reader by ARN: %v, want AccessDenied for a reader", err)
	}

	tests := []struct {
		name       string
		qs         *quicksight.Client
		userArn    string // "" leaves it out
		wantCode   string
		wantStatus int
		wantUser   string // the Call's UserArn
		wantMsg    string
	}{
		{"role session of a registered author", roleClient(srv, role, "alice@example.com"), "", "", 200, alice, ""},
		{"role session of a reader", roleClient(srv, role, "rita"), "", qssim.ErrAccessDenied, 401, rita, readerDenied},
		{"role session not registered", roleClient(srv, role, "ghost"), "", qssim.ErrQuickSightUserNotFound, 404,
			srv.UserARN("default", "PortalUsers/ghost"), "The user with the provided name isn't found. No user has the ARN " + srv.UserARN("default", "PortalUsers/ghost") + "."},
		{"role session with a user-arn", roleClient(srv, role, "ghost"), bob, "", 200, bob, ""},
		{"configured credentials without a user-arn", qs, "", qssim.ErrQuickSightUserNotFound, 404, "", "No user-arn was given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			in := &quicksight.GetSessionEmbedUrlInput{AwsAccountId: aws.String(testAccount), EntryPoint: aws.String("/start")}
			if tt.userArn != "" {
				in.UserArn = aws.String(tt.userArn)
			}
			out, err := tt.qs.GetSessionEmbedUrl(t.Context(), in)
			if got := apiCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			calls := srv.Calls()
			if c := calls[len(calls)-1]; c.Operation != "GetSessionEmbedUrl" || c.UserArn != tt.wantUser {
				t.Errorf("last call = %+v, want GetSessionEmbedUrl for %q", c, tt.wantUser)
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
			status, _, body := get(t, aws.ToString(out.EmbedUrl))
			wantName := tt.wantUser[strings.Index(tt.wantUser, "/default/")+len("/default/"):]
			if status != 200 || !strings.Contains(body, `id="qs-user-name">`+wantName+"<") {
				t.Errorf("embed page = %d, want 200 signed in as %s; body %s", status, wantName, body)
			}
		})
	}
}

// TestRoleSessionUserNames: QuickSight names role-session users
// "RoleName/SessionName"; the SDK sends the "/" escaped (%2F) in the path and
// DescribeUser still finds the user.
func TestRoleSessionUserNames(t *testing.T) {
	srv := startSim(t, nil)
	var paths []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		paths = append(paths, r.URL.EscapedPath())
		return http.DefaultTransport.RoundTrip(r)
	})}
	qs := client(srv.URL(), func(c *aws.Config) { oneAttempt(c); c.HTTPClient = hc })

	tests := []struct {
		session  string
		wantPath string
	}{
		{"alice@example.com", "/users/PortalUsers%2Falice%40example.com"},
		{"a+b=c,d.e@f-g_H9", "/users/PortalUsers%2Fa%2Bb%3Dc%2Cd.e%40f-g_H9"},
	}
	for _, tt := range tests {
		t.Run(tt.session, func(t *testing.T) {
			reg, err := qs.RegisterUser(t.Context(), &quicksight.RegisterUserInput{
				AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), IdentityType: types.IdentityTypeIam,
				IamArn: aws.String(srv.RoleARN("PortalUsers")), SessionName: aws.String(tt.session), Email: aws.String("x@example.com"), UserRole: types.UserRoleReader,
			})
			if err != nil {
				t.Fatalf("RegisterUser: %v", err)
			}
			name := "PortalUsers/" + tt.session
			if got, want := aws.ToString(reg.User.UserName), name; got != want {
				t.Errorf("registered UserName = %q, want %q", got, want)
			}
			d, err := qs.DescribeUser(t.Context(), &quicksight.DescribeUserInput{
				AwsAccountId: aws.String(testAccount), Namespace: aws.String("default"), UserName: aws.String(name),
			})
			if err != nil {
				t.Fatalf("DescribeUser(%s): %v", name, err)
			}
			if got, want := aws.ToString(d.User.Arn), srv.UserARN("default", name); got != want {
				t.Errorf("DescribeUser Arn = %q, want %q", got, want)
			}
			if got := paths[len(paths)-1]; !strings.HasSuffix(got, tt.wantPath) {
				t.Errorf("DescribeUser path = %q, want it to end in %q", got, tt.wantPath)
			}
		})
	}
}
