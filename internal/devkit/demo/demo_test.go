package demo_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/oauth2"

	"github.com/qsgate/qsgate/internal/devkit/demo"
)

const publicURL = "http://127.0.0.1:8080"

// roleARN is the IAM role the iam mode's gateway assumes.
const roleARN = "arn:aws:iam::111122223333:role/QuickSightEmbed"

func start(t *testing.T, mapping string) *demo.Stack {
	t.Helper()
	st, err := demo.Start(demo.Options{PublicURL: publicURL, Mapping: mapping})
	if err != nil {
		t.Fatalf("Start(Mapping %q): %v", mapping, err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestStartRefusesUnknownMapping(t *testing.T) {
	t.Parallel()
	for _, mapping := range []string{"ldap", "LOOKUP", "file"} {
		t.Run(mapping, func(t *testing.T) {
			t.Parallel()
			st, err := demo.Start(demo.Options{PublicURL: publicURL, Mapping: mapping})
			if err == nil {
				st.Close()
				t.Fatalf("Start(Mapping %q) succeeded, want an error", mapping)
			}
			for _, want := range []string{mapping, "template", "lookup", "register", "iam", "identity-center"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error = %q, want it to name %q", err, want)
				}
			}
			if _, err := demo.Users(mapping); err == nil {
				t.Errorf("Users(%q) succeeded, want an error", mapping)
			}
		})
	}
}

func TestMappings(t *testing.T) {
	t.Parallel()
	if got, want := demo.Mappings(), []string{"template", "lookup", "register", "iam", "identity-center"}; !slices.Equal(got, want) {
		t.Fatalf("Mappings() = %q, want %q", got, want)
	}
}

// TestSettings checks each mode's settings say what the simulator was
// seeded for. "SIM" stands for the simulator's URL; "" for must be absent.
func TestSettings(t *testing.T) {
	t.Parallel()
	common := map[string]string{
		"QSGATE_PUBLIC_URL":            publicURL,
		"QSGATE_OIDC_CLIENT_ID":        demo.ClientID,
		"QSGATE_QUICKSIGHT_ACCOUNT_ID": "111122223333",
		"QSGATE_ALLOWED_EMAIL_DOMAINS": "example.com",
		"QSGATE_AUTHOR_GROUPS":         "qs-authors",
		"QSGATE_ADMIN_GROUPS":          "qs-admins",
		"AWS_ENDPOINT_URL_QUICKSIGHT":  "SIM",
		"QSGATE_QUICKSIGHT_API":        "session",
		"QSGATE_DASHBOARD_EXPERIENCE":  "console",
	}
	notIAM := map[string]string{"QSGATE_IAM_ROLE_ARN": "", "QSGATE_IAM_REGISTER": "", "AWS_ENDPOINT_URL_STS": "",
		"QSGATE_IDC_APPLICATION_ARN": "", "QSGATE_IDC_ROLE_ARN": "", "QSGATE_IDC_REGION": "", "AWS_ENDPOINT_URL_SSO_OIDC": ""}
	tests := []struct {
		mapping     string
		wantMapping string // Stack.Mapping
		want        map[string]string
	}{
		{"", "template", merge(notIAM, map[string]string{"QSGATE_USER_MAPPING": "template"})},
		{"template", "template", merge(notIAM, map[string]string{"QSGATE_USER_MAPPING": "template"})},
		{"lookup", "lookup", merge(notIAM, map[string]string{"QSGATE_USER_MAPPING": "lookup"})},
		{"register", "register", merge(notIAM, map[string]string{"QSGATE_USER_MAPPING": "register"})},
		{"iam", "iam", map[string]string{
			"QSGATE_USER_MAPPING":  "iam",
			"QSGATE_IAM_ROLE_ARN":  roleARN,
			"QSGATE_IAM_REGISTER":  "true",
			"AWS_ENDPOINT_URL_STS": "SIM",
		}},
		// Only the registered-user API embeds an Identity Center user.
		{"identity-center", "identity-center", map[string]string{
			"QSGATE_USER_MAPPING":        "identity-center",
			"QSGATE_QUICKSIGHT_API":      "registered-user",
			"QSGATE_IDC_APPLICATION_ARN": "arn:aws:sso::111122223333:application/ssoins-qssim0000000000/apl-qsgatedemo",
			"QSGATE_IDC_ROLE_ARN":        "arn:aws:iam::111122223333:role/QuickSightIdentity",
			"QSGATE_IDC_REGION":          "us-east-1",
			"AWS_ENDPOINT_URL_SSO_OIDC":  "SIM",
			"AWS_ENDPOINT_URL_STS":       "SIM",
			"QSGATE_IAM_ROLE_ARN":        "",
		}},
	}
	for _, tt := range tests {
		t.Run("mapping "+tt.mapping, func(t *testing.T) {
			t.Parallel()
			st := start(t, tt.mapping)
			if got, want := st.Mapping, tt.wantMapping; got != want {
				t.Errorf("Stack.Mapping = %q, want %q", got, want)
			}
			for k, want := range merge(common, tt.want) {
				if want == "SIM" {
					want = st.Sim.URL()
				}
				got, ok := st.Settings[k]
				switch {
				case want == "" && ok:
					t.Errorf("%s = %q, want it unset", k, got)
				case want != "" && got != want:
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got, want := st.Settings["QSGATE_OIDC_ISSUER"], st.IssuerURL; got != want {
				t.Errorf("QSGATE_OIDC_ISSUER = %q, want %q", got, want)
			}
		})
	}
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestSimulatorUsers lists, with the real SDK and the mode's settings, the
// QuickSight users each mode starts with: nora and eve never have one.
func TestSimulatorUsers(t *testing.T) {
	t.Parallel()
	// UserName | Email | Role | IdentityType, sorted by UserName as ListUsers
	// answers.
	template := []string{
		"adam@example.com | adam@example.com | ADMIN | QUICKSIGHT",
		"alice@example.com | alice@example.com | AUTHOR | QUICKSIGHT",
		"rita@example.com | rita@example.com | READER | QUICKSIGHT",
	}
	lookup := []string{ // names unlike the emails, and the stored emails in another case
		"adam.admin | Adam@EXAMPLE.com | ADMIN | QUICKSIGHT",
		"alice.author | Alice@Example.com | AUTHOR | QUICKSIGHT",
		"rita.reader | RITA@example.com | READER | QUICKSIGHT",
	}
	iam := []string{
		"QuickSightEmbed/adam@example.com | adam@example.com | ADMIN | IAM",
		"QuickSightEmbed/alice@example.com | alice@example.com | AUTHOR | IAM",
		"QuickSightEmbed/rita@example.com | rita@example.com | READER | IAM",
	}
	tests := []struct {
		mapping string
		want    []string
	}{
		{"", template},
		{"template", template},
		{"lookup", lookup},
		{"register", lookup},
		{"iam", iam},
		{"identity-center", []string{ // nora is not in Identity Center
			"adam@example.com | adam@example.com | ADMIN | IAM_IDENTITY_CENTER",
			"alice@example.com | alice@example.com | AUTHOR | IAM_IDENTITY_CENTER",
			"rita@example.com | rita@example.com | READER | IAM_IDENTITY_CENTER",
		}},
	}
	for _, tt := range tests {
		t.Run("mapping "+tt.mapping, func(t *testing.T) {
			t.Parallel()
			st := start(t, tt.mapping)
			got := listUsers(t, st)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("QuickSight users:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			// Stack.Users says the same, so the banner does not lie.
			var fromStack []string
			for _, u := range st.Users {
				if q := u.QuickSight; q != nil {
					fromStack = append(fromStack, q.UserName+" | "+q.Email+" | "+q.Role+" | "+q.IdentityType)
				}
			}
			slices.Sort(fromStack)
			if !slices.Equal(fromStack, tt.want) {
				t.Errorf("Stack.Users' QuickSight users:\n  %s\nwant:\n  %s", strings.Join(fromStack, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// listUsers lists the simulator's users as the gateway would, with the
// settings' credentials and endpoint.
func listUsers(t *testing.T, st *demo.Stack) []string {
	t.Helper()
	s := st.Settings
	client := quicksight.New(quicksight.Options{
		Region:       s["AWS_REGION"],
		Credentials:  credentials.NewStaticCredentialsProvider(s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"], ""),
		BaseEndpoint: aws.String(s["AWS_ENDPOINT_URL_QUICKSIGHT"]),
	})
	var users []string
	pages := quicksight.NewListUsersPaginator(client, &quicksight.ListUsersInput{
		AwsAccountId: aws.String(s["QSGATE_QUICKSIGHT_ACCOUNT_ID"]),
		Namespace:    aws.String("default"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		for _, u := range page.UserList {
			users = append(users, aws.ToString(u.UserName)+" | "+aws.ToString(u.Email)+" | "+string(u.Role)+" | "+string(u.IdentityType))
		}
	}
	return users
}

// TestIAMSettingsWork does what the iam mode's gateway will do, with the
// real SDK and nothing but the settings: assume the role with the email as
// session name, then open a console session as that role session. alice's
// seeded IAM user answers; nora has none until the gateway registers her.
func TestIAMSettingsWork(t *testing.T) {
	t.Parallel()
	st := start(t, "iam")
	s := st.Settings
	if got, want := s["QSGATE_IAM_ROLE_ARN"], st.Sim.RoleARN(demo.IAMRoleName); got != want {
		t.Errorf("QSGATE_IAM_ROLE_ARN = %q, want the simulator's %q", got, want)
	}
	stsClient := sts.New(sts.Options{
		Region:       s["AWS_REGION"],
		Credentials:  credentials.NewStaticCredentialsProvider(s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"], ""),
		BaseEndpoint: aws.String(s["AWS_ENDPOINT_URL_STS"]),
	})
	for _, tt := range []struct {
		email    string
		wantUser bool
	}{
		{"alice@example.com", true},
		{"nora@example.com", false},
	} {
		out, err := stsClient.AssumeRole(t.Context(), &sts.AssumeRoleInput{
			RoleArn:         aws.String(s["QSGATE_IAM_ROLE_ARN"]),
			RoleSessionName: aws.String(tt.email),
		})
		if err != nil {
			t.Fatalf("AssumeRole %s as %s: %v", s["QSGATE_IAM_ROLE_ARN"], tt.email, err)
		}
		c := out.Credentials
		qs := quicksight.New(quicksight.Options{
			Region:       s["AWS_REGION"],
			Credentials:  credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)),
			BaseEndpoint: aws.String(s["AWS_ENDPOINT_URL_QUICKSIGHT"]),
		})
		_, err = qs.GetSessionEmbedUrl(t.Context(), &quicksight.GetSessionEmbedUrlInput{
			AwsAccountId: aws.String(s["QSGATE_QUICKSIGHT_ACCOUNT_ID"]),
			UserArn:      aws.String(st.Sim.UserARN("default", demo.IAMRoleName+"/"+tt.email)),
		})
		if got := err == nil; got != tt.wantUser {
			t.Errorf("GetSessionEmbedUrl as role session %s: err = %v, want success %t", tt.email, err, tt.wantUser)
		}
	}
}

// TestDescriptions checks each mode tells nora and eve what will happen to
// them: the banner and the sign-in page print these lines.
func TestDescriptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mapping string
		want    map[string]string // subject -> a part of the description
	}{
		{"template", map[string]string{"alice": "opens the console", "rita": "refuses readers", "nora": "403"}},
		{"lookup", map[string]string{"alice": `"alice.author"`, "rita": `"rita.reader"`, "nora": "403"}},
		{"register", map[string]string{"alice": `"alice.author"`, "nora": "registered as author on first view"}},
		{"iam", map[string]string{"alice": `"QuickSightEmbed/alice@example.com"`, "nora": "registered as author"}},
		{"identity-center", map[string]string{"alice": `IAM Identity Center user "alice@example.com": opens the console`, "adam": "admin", "nora": "not in IAM Identity Center: sees the 403 page"}},
	}
	for _, tt := range tests {
		t.Run(tt.mapping, func(t *testing.T) {
			t.Parallel()
			users, err := demo.Users(tt.mapping)
			if err != nil {
				t.Fatalf("Users(%q): %v", tt.mapping, err)
			}
			bySubject := map[string]demo.User{}
			for _, u := range users {
				bySubject[u.Subject] = u
			}
			want := merge(tt.want, map[string]string{"eve": "outside the allowed email domain: sees the not-allowed page"})
			for subject, part := range want {
				if got := bySubject[subject].Description; !strings.Contains(got, part) {
					t.Errorf("%s's description = %q, want it to contain %q", subject, got, part)
				}
			}
		})
	}
}

// TestSignInPage opens the provider's sign-in page as the gateway's users
// would and looks for everyone, with their groups.
func TestSignInPage(t *testing.T) {
	t.Parallel()
	st := start(t, "register")
	authorize := st.IssuerURL + "/authorize?" + url.Values{
		"client_id":             {demo.ClientID},
		"redirect_uri":          {publicURL + "/auth/callback"},
		"response_type":         {"code"},
		"scope":                 {"openid email profile"},
		"state":                 {"s"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"},
	}.Encode()
	resp, err := http.Get(authorize)
	if err != nil {
		t.Fatalf("GET authorize: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read sign-in page: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page status = %d, want 200:\n%s", resp.StatusCode, body)
	}
	wants := []string{
		`id="groups-alice">groups: qs-authors<`,
		`id="groups-adam">groups: qs-admins<`,
		`id="groups-rita">groups: staff<`,
		`id="groups-nora">groups: qs-authors<`,
		`id="groups-eve">groups: qs-authors<`,
		"eve@partner.example",
		"Eve External",
	}
	for _, u := range st.Users {
		wants = append(wants, `id="login-`+u.Subject+`"`, html.EscapeString(u.Description))
	}
	for _, want := range wants {
		if !strings.Contains(string(body), want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
}

// TestIdentityCenterAccount asks, with the real SDK and nothing but the
// settings, what the identity-center gateway's doctor asks: the account
// signs users in with IAM Identity Center, in the instance of the
// application the settings name; the session API is refused for the mode.
func TestIdentityCenterAccount(t *testing.T) {
	t.Parallel()
	st := start(t, "identity-center")
	s := st.Settings
	client := quicksight.New(quicksight.Options{
		Region:       s["QSGATE_IDC_REGION"],
		Credentials:  credentials.NewStaticCredentialsProvider(s["AWS_ACCESS_KEY_ID"], s["AWS_SECRET_ACCESS_KEY"], ""),
		BaseEndpoint: aws.String(s["AWS_ENDPOINT_URL_QUICKSIGHT"]),
	})
	out, err := client.DescribeAccountSubscription(t.Context(), &quicksight.DescribeAccountSubscriptionInput{AwsAccountId: aws.String(s["QSGATE_QUICKSIGHT_ACCOUNT_ID"])})
	if err != nil {
		t.Fatalf("DescribeAccountSubscription: %v", err)
	}
	if got, want := aws.ToString(out.AccountInfo.AuthenticationType), "IAM_IDENTITY_CENTER"; got != want {
		t.Errorf("AuthenticationType = %q, want %q", got, want)
	}
	instance := aws.ToString(out.AccountInfo.IAMIdentityCenterInstanceArn)
	if _, id, _ := strings.Cut(instance, "/"); id == "" || !strings.Contains(s["QSGATE_IDC_APPLICATION_ARN"], ":application/"+id+"/") {
		t.Errorf("the application %s is not in QuickSight's Identity Center instance %s", s["QSGATE_IDC_APPLICATION_ARN"], instance)
	}
	if st, err := demo.Start(demo.Options{PublicURL: publicURL, Mapping: "identity-center", API: "session"}); err == nil {
		st.Close()
		t.Errorf("Start(identity-center, session API) succeeded, want an error")
	}
}
