package qssim_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/quicksight"
	"github.com/aws/aws-sdk-go-v2/service/quicksight/types"

	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// registeredURLExact is the shape GenerateEmbedUrlForRegisteredUser's URLs
// have: /embed/ for dashboards, /embedding/ for the console, code first.
var registeredURLExact = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/(embed|embedding)/[0-9a-f]{32}(/[\w/-]+)\?code=[A-Za-z0-9_-]{20,}&identityprovider=quicksight&isauthcode=true$`)

var (
	consoleAt = func(path string) *types.RegisteredUserEmbeddingExperienceConfiguration {
		return &types.RegisteredUserEmbeddingExperienceConfiguration{
			QuickSightConsole: &types.RegisteredUserQuickSightConsoleEmbeddingConfiguration{InitialPath: aws.String(path)},
		}
	}
	dashboardOf = func(id string) *types.RegisteredUserEmbeddingExperienceConfiguration {
		return &types.RegisteredUserEmbeddingExperienceConfiguration{
			Dashboard: &types.RegisteredUserDashboardEmbeddingConfiguration{InitialDashboardId: aws.String(id)},
		}
	}
)

func registeredEmbedURL(t *testing.T, qs *quicksight.Client, user string, exp *types.RegisteredUserEmbeddingExperienceConfiguration, domains []string) (*quicksight.GenerateEmbedUrlForRegisteredUserOutput, error) {
	t.Helper()
	return qs.GenerateEmbedUrlForRegisteredUser(t.Context(), &quicksight.GenerateEmbedUrlForRegisteredUserInput{
		AwsAccountId: aws.String(testAccount), UserArn: aws.String(user), ExperienceConfiguration: exp,
		AllowedDomains: domains, SessionLifetimeInMinutes: aws.Int64(30),
	})
}

func TestGenerateEmbedUrlForRegisteredUser(t *testing.T) {
	srv := startSim(t, nil)
	admin := srv.AddUser(qssim.User{UserName: "root", Role: "ADMIN"})
	reader := srv.AddUser(qssim.User{UserName: "rita", Role: "READER"})
	qs := client(srv.URL(), nil)

	tests := []struct {
		name           string
		user           string
		exp            *types.RegisteredUserEmbeddingExperienceConfiguration
		domains        []string
		wantRoot       string
		wantPath       string
		wantExperience string
		wantCode       string
	}{
		{"admin console", admin, consoleAt("/start/favorites"), []string{"http://127.0.0.1:8080", "https://*.example.com"}, "embedding", "/start/favorites", "QuickSightConsole", ""},
		{"admin dashboard", admin, dashboardOf("d-1"), nil, "embed", "/dashboards/d-1", "Dashboard", ""},
		{"reader dashboard", reader, dashboardOf("d-42"), []string{"https://portal.example.com"}, "embed", "/dashboards/d-42", "Dashboard", ""},
		{"reader console", reader, consoleAt("/start"), nil, "", "", "QuickSightConsole", qssim.ErrAccessDenied},
		{"four domains", admin, consoleAt("/start"), []string{"https://a.example.com", "https://b.example.com", "https://c.example.com", "https://d.example.com"}, "", "", "QuickSightConsole", qssim.ErrInvalidParameterValue},
		{"bad initial path", admin, consoleAt("/admin"), nil, "", "", "QuickSightConsole", qssim.ErrInvalidParameterValue},
		{"bad dashboard id", admin, dashboardOf("a/b"), nil, "", "", "Dashboard", qssim.ErrInvalidParameterValue},
		{"unsimulated experience", admin, &types.RegisteredUserEmbeddingExperienceConfiguration{
			QSearchBar: &types.RegisteredUserQSearchBarEmbeddingConfiguration{InitialTopicId: aws.String("t1")},
		}, nil, "", "", "QSearchBar", qssim.ErrInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			out, err := registeredEmbedURL(t, qs, tt.user, tt.exp, tt.domains)
			if got := apiCode(t, err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Experience != tt.wantExperience || !reflect.DeepEqual(calls[0].AllowedDomains, tt.domains) {
				t.Fatalf("Calls() = %+v, want one call with Experience %q and AllowedDomains %q", calls, tt.wantExperience, tt.domains)
			}
			if err != nil {
				return
			}
			url := aws.ToString(out.EmbedUrl)
			m := registeredURLExact.FindStringSubmatch(url)
			if m == nil || m[1] != tt.wantRoot || m[2] != tt.wantPath {
				t.Errorf("EmbedUrl = %q, want %s/%s/{32 hex}%s?code=...&identityprovider=quicksight&isauthcode=true", url, srv.URL(), tt.wantRoot, tt.wantPath)
			}
			if !embedURLShape.MatchString(url) {
				t.Errorf("EmbedUrl %q does not match the embedding SDK pattern", url)
			}
			if out.Status != 200 || aws.ToString(out.RequestId) == "" {
				t.Errorf("Status = %d, RequestId = %q; want 200 and an id", out.Status, aws.ToString(out.RequestId))
			}
		})
	}

	t.Run("GetSessionEmbedUrl records no experience", func(t *testing.T) {
		srv.Reset()
		if _, err := sessionEmbedURL(t.Context(), qs, admin, "/start", 60); err != nil {
			t.Fatalf("GetSessionEmbedUrl: %v", err)
		}
		if c := srv.Calls(); len(c) != 1 || c[0].Experience != "" || c[0].AllowedDomains != nil {
			t.Errorf("Calls() = %+v, want Experience \"\" and no AllowedDomains", c)
		}
	})

	t.Run("unsupported pricing plan", func(t *testing.T) {
		srv.Reset()
		srv.FailUser(reader, qssim.ErrUnsupportedPricingPlan)
		defer srv.ClearFaults()
		_, err := registeredEmbedURL(t, client(srv.URL(), oneAttempt), reader, dashboardOf("d-1"), nil)
		if !isA[*types.UnsupportedPricingPlanException](err) || httpStatus(err) != 403 {
			t.Errorf("error = %T %v (HTTP %d), want UnsupportedPricingPlanException 403", err, err, httpStatus(err))
		}
	})
}

func TestAllowedDomains(t *testing.T) {
	srv := startSim(t, nil)
	admin := srv.AddUser(qssim.User{UserName: "root", Role: "ADMIN"})
	qs := client(srv.URL(), oneAttempt)

	tests := []struct {
		domain  string
		wantErr string // "" for accepted; else part of the message
	}{
		// The user guide's valid examples.
		{"https://example-1.com", ""},
		{"http://localhost", ""},
		{"https://www.アマゾンドメイン.jp", ""},
		{"https://*.sapp.amazon.com", ""},
		// Ports, loopback, and case.
		{"https://portal.example.com:8443", ""},
		{"https://*.apps.example.com:8443", ""},
		{"http://localhost:3000", ""},
		{"https://localhost:3000", ""},
		{"http://127.0.0.1:8080", ""},
		{"http://[::1]:8080", ""},
		{"https://Portal.Example.COM", ""},
		// The user guide's invalid examples.
		{"https://example.com.*.example-1.co.uk", "a wildcard must be the whole first label"},
		{"https://co.uk", "public suffix"},
		{"https://111.222.33.44.55:1234", "not a registrable domain"},
		{"https://111.222.33.44.55", "not a registrable domain"},
		// Origins only, https only.
		{"http://portal.example.com", "plain http is allowed only for localhost"},
		{"https://portal.example.com/", "no path"},
		{"https://portal.example.com/portal", "no path"},
		{"https://portal.example.com?x=1", "no path, query"},
		{"https://user@portal.example.com", "no user name"},
		{"portal.example.com", "no scheme"},
		{"ftp://portal.example.com", "the scheme must be https"},
		{"https://portal.example.com:0", "the port must be 1-65535"},
		{"https://portal.example.com:99999", "the port must be 1-65535"},
		{"https://10.0.0.5", "an IP address is not a domain"},
		{"https://*", "wildcard"},
		{"https://*.com", "not a public suffix"},
		{"https://a.*.example.com", "a wildcard must be the whole first label"},
		{"https://intranet", "single label"},
		{"https://-bad.example.com", "not a valid host name label"},
		{"https://bad_label.example.com", "not a valid host name label"},
		{"https://a..example.com", "not a valid host name label"},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			_, err := registeredEmbedURL(t, qs, admin, consoleAt("/start"), []string{tt.domain})
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("AllowedDomains %q: %v, want it accepted", tt.domain, err)
				}
				return
			}
			if !isA[*types.InvalidParameterValueException](err) || !strings.Contains(apiMessage(err), tt.wantErr) {
				t.Errorf("AllowedDomains %q: error = %v, want InvalidParameterValueException saying %q", tt.domain, err, tt.wantErr)
			}
			if msg := apiMessage(err); !strings.Contains(msg, "AllowedDomains: "+`"`+tt.domain+`"`) {
				t.Errorf("message %q does not name the domain", msg)
			}
		})
	}
}

// TestEmbedPages: each experience opens a page that says which it is; a URL
// opens only on the path it was issued for.
func TestEmbedPages(t *testing.T) {
	srv := startSim(t, nil)
	admin := srv.AddUser(qssim.User{UserName: "root", Role: "ADMIN"})
	qs := client(srv.URL(), nil)

	registered := func(exp *types.RegisteredUserEmbeddingExperienceConfiguration) string {
		out, err := registeredEmbedURL(t, qs, admin, exp, nil)
		if err != nil {
			t.Fatalf("GenerateEmbedUrlForRegisteredUser: %v", err)
		}
		return aws.ToString(out.EmbedUrl)
	}
	session := func(ep string) string {
		out, err := sessionEmbedURL(t.Context(), qs, admin, ep, 60)
		if err != nil {
			t.Fatalf("GetSessionEmbedUrl: %v", err)
		}
		return aws.ToString(out.EmbedUrl)
	}

	tests := []struct {
		name   string
		url    string
		want   []string
		absent []string
	}{
		{"dashboard", registered(dashboardOf("sales-2026")), []string{
			`<h1>Embedded dashboard</h1>`, `id="qs-experience">Dashboard<`, `id="qs-api">GenerateEmbedUrlForRegisteredUser<`,
			`id="qs-dashboard-id">sales-2026<`, `id="qs-entry-point">/dashboards/sales-2026<`, `<ul id="qs-parameters">`,
			`id="qs-session-lifetime">30<`,
		}, nil},
		{"console", registered(consoleAt("/start/analyses")), []string{
			`<h1>Embedded console</h1>`, `id="qs-experience">QuickSightConsole<`, `id="qs-entry-point">/start/analyses<`,
		}, []string{`id="qs-parameters"`, `id="qs-dashboard-id"`}},
		{"session API console", session("/start"), []string{
			`id="qs-experience">QuickSightConsole<`, `id="qs-api">GetSessionEmbedUrl<`,
		}, []string{`id="qs-parameters"`}},
		{"session API dashboard", session("/dashboards/d-9"), []string{
			`id="qs-experience">QuickSightConsole<`, `id="qs-dashboard-id">d-9<`, `id="qs-parameters"`,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := get(t, tt.url+"#p.Region=EMEA")
			if status != 200 {
				t.Fatalf("open = %d, want 200; body %s", status, body)
			}
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("page does not contain %q", want)
				}
			}
			for _, absent := range tt.absent {
				if strings.Contains(body, absent) {
					t.Errorf("page contains %q, want it absent", absent)
				}
			}
			// The page's one script runs by nonce; it polls its own origin.
			m := regexp.MustCompile(`<script nonce="([^"]+)">`).FindStringSubmatch(body)
			csp := h.Get("Content-Security-Policy")
			if m == nil || !strings.Contains(csp, "script-src 'nonce-"+m[1]+"'") || !strings.Contains(csp, "connect-src 'self'") {
				t.Errorf("script nonce %v, Content-Security-Policy %q: want the script's nonce and connect-src 'self'", m, csp)
			}
		})
	}

	t.Run("console URL on the dashboard path", func(t *testing.T) {
		url := strings.Replace(registered(consoleAt("/start")), "/embedding/", "/embed/", 1)
		if status, _, body := get(t, url); status != 401 || !strings.Contains(body, "not valid") {
			t.Errorf("open /embedding/ URL as /embed/ = %d, want 401 'not valid'", status)
		}
	})
}
