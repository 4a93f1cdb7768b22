package helm

import (
	"os"
	"regexp"
	"testing"
)

// TestKubernetesModulesAligned: every k8s.io module of the v0 releases
// (api, apimachinery, client-go, apiserver, ...) in deploy/go.mod is at one
// release, as Kubernetes publishes them together (kube-openapi and utils,
// on pseudo-versions of their own, are left out); a mix compiles but may
// decode differently from what a cluster of either release accepts.
func TestKubernetesModulesAligned(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*(k8s\.io/[a-z-]+) (v0\.\d+\.\d+)(?:\s|$)`)
	versions := map[string]string{}
	var want string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		versions[m[1]] = m[2]
		if m[1] == "k8s.io/api" {
			want = m[2]
		}
	}
	if want == "" {
		t.Fatal("k8s.io/api is not in go.mod")
	}
	for mod, v := range versions {
		if v != want {
			t.Errorf("%s %s, want %s (k8s.io/api's release)", mod, v, want)
		}
	}
	if len(versions) < 3 {
		t.Errorf("found %v, want at least api, apimachinery and client-go", versions)
	}
}
