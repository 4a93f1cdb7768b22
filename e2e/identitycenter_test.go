package e2e

import (
	"fmt"
	"maps"
	"testing"

	"github.com/qsgate/qsgate/internal/devkit/demo"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

// TestIdentityCenter runs the demo in identity-center mode in chromium:
// alice signs in on the provider's page, lands on /embed/start, and the
// console in the iframe is her IAM Identity Center user's, from the whole
// chain (CreateTokenWithIAM with the provider's ID token, AssumeRole with
// the identity context, GenerateEmbedUrlForRegisteredUserWithIdentity);
// nora, whom Identity Center does not know, gets the page saying so and no
// embed URL. Screenshot: identity-center.png, alice's embed page.
func TestIdentityCenter(t *testing.T) {
	tools := requireTools(t, chromiumTool)
	bin := gatewayBinary(t)
	b := startBrowser(t, tools[0], testOutDir(t))
	p := startPortal(t, bin, demo.Options{Mapping: demo.MappingIdentityCenter})
	if got, want := p.st.API, demo.APIRegisteredUser; got != want {
		t.Fatalf("the demo's API = %q, want %q", got, want)
	}

	t.Run("alice opens her console", func(t *testing.T) {
		tab := b.newTab(t)
		before := idcCalls(p.st.Sim)
		if resp := tab.signIn(t, p.url, p.st.IssuerURL, "/embed/start", "alice", ""); resp.Status != 200 {
			t.Fatalf("status of /embed/start = %d, want 200", resp.Status)
		}
		if got, want := tab.location(t), p.url+"/embed/start"; got != want {
			t.Errorf("landed on %s, want %s", got, want)
		}
		cp := tab.waitConsole(t, "alice's console", func(cp consolePage) bool {
			return cp.Ended || cp.Error != "" || cp.UserARN != ""
		})
		if cp.Ended || cp.Error != "" {
			t.Fatalf("the iframe shows the simulator's ended or error page: %+v", cp)
		}
		if want := p.userARN("alice@example.com"); cp.UserName != "alice@example.com" || cp.UserARN != want || cp.EntryPoint != "/start" {
			t.Errorf("the iframe shows %s (%s) at %s, want alice@example.com (%s) at /start", cp.UserName, cp.UserARN, cp.EntryPoint, want)
		}
		got := idcCalls(p.st.Sim)
		for op, n := range before {
			got[op] -= n
		}
		want := map[string]int{"CreateTokenWithIAM": 1, "AssumeRole": 1, "GenerateEmbedUrlForRegisteredUserWithIdentity": 1}
		if !maps.Equal(got, want) {
			t.Errorf("calls for alice's first view = %v, want %v", got, want)
		}
		tab.screenshot(t, "identity-center.png")
		tab.wantNoPolicyProblems(t)
	})

	t.Run("nora is not in Identity Center", func(t *testing.T) {
		tab := b.newTab(t)
		before := idcCalls(p.st.Sim)
		resp := tab.signIn(t, p.url, p.st.IssuerURL, "/embed/start", "nora", "")
		if resp.Status != 403 {
			t.Errorf("status of /embed/start = %d, want 403", resp.Status)
		}
		if got, want := tab.text(t, "#error h1"), "Your account is not in IAM Identity Center"; got != want {
			t.Errorf("page title = %q, want %q", got, want)
		}
		if got := tab.attr(t, "#error", "data-status"); got != fmt.Sprint(403) {
			t.Errorf("#error data-status = %q, want 403", got)
		}
		if n := tab.count(t, "#qs-console"); n != 0 {
			t.Errorf("refusal page has %d console iframes, want none", n)
		}
		// Identity Center refused her token: nothing after it was asked.
		got := idcCalls(p.st.Sim)
		for op, n := range before {
			got[op] -= n
		}
		if want := map[string]int{"CreateTokenWithIAM": 1, "AssumeRole": 0, "GenerateEmbedUrlForRegisteredUserWithIdentity": 0}; !maps.Equal(got, want) {
			t.Errorf("calls for nora's view = %v, want %v", got, want)
		}
		tab.wantNoPolicyProblems(t)
	})
}

// idcCalls counts the Identity Center chain's calls the simulator saw, by
// operation (every operation present, 0 when none).
func idcCalls(sim *qssim.Server) map[string]int {
	n := map[string]int{"CreateTokenWithIAM": 0, "AssumeRole": 0, "GenerateEmbedUrlForRegisteredUserWithIdentity": 0}
	for _, c := range sim.Calls() {
		if _, ok := n[c.Operation]; ok {
			n[c.Operation]++
		}
	}
	return n
}
