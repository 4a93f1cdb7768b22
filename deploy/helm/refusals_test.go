package helm

import (
	"strings"
	"testing"
)

// TestRefusedValues: values the chart must refuse, each with a message that
// names the problem (the schema's for types and keys, the chart's own for
// what a schema cannot say).
func TestRefusedValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"wrong type", map[string]any{"replicaCount": "two"}, "replicaCount"},
		{"unknown key", map[string]any{"replicas": 2}, "replicas"},
		{"unknown nested key", map[string]any{"shutdown": map[string]any{"delay": "10s"}}, "delay"},
		{"setting not a string", map[string]any{"config": map[string]any{"QSGATE_HOME_LIST": false}}, "QSGATE_HOME_LIST"},
		{"not a qsgate setting", map[string]any{"config": map[string]any{"public_url": "https://x"}}, "public_url"},
		{"no memory limit", map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": nil}}}, "memory"},
		{"redis URL scheme", map[string]any{"secret": map[string]any{"redisURL": "http://redis:6379"}}, "redisURL"},
		{"replicas without Redis", map[string]any{"replicaCount": 2}, "more than one replica"},
		{"autoscaling without Redis", map[string]any{"autoscaling": map[string]any{"enabled": true}}, "more than one replica"},
		{"existing Secret without Redis", map[string]any{"replicaCount": 3, "secret": map[string]any{"existingSecret": "qsgate-env"}}, "more than one replica"},
		{"session keys in config", map[string]any{"config": map[string]any{"QSGATE_SESSION_KEYS": "k"}}, "config.QSGATE_SESSION_KEYS: a secret"},
		{"client secret in config", map[string]any{"config": map[string]any{"QSGATE_OIDC_CLIENT_SECRET": "s"}}, "config.QSGATE_OIDC_CLIENT_SECRET: a secret"},
		{"Redis URL in config", map[string]any{"config": map[string]any{"QSGATE_REDIS_URL": "redis://r:6379"}}, "config.QSGATE_REDIS_URL: a secret"},
		{"shutdown delay in config", map[string]any{"config": map[string]any{"QSGATE_SHUTDOWN_DELAY": "5s"}}, "set by the chart"},
		{"listen address in config", map[string]any{"config": map[string]any{"QSGATE_LISTEN_ADDR": ":9000"}}, "set by the chart"},
		{"budget with one replica", map[string]any{"podDisruptionBudget": map[string]any{"enabled": true}}, "block every node drain"},
		{"monitor without metrics", map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}}}, "needs metrics.enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, tc.vals)
			if err == nil {
				t.Fatalf("rendered %v, want an error naming %q", tc.vals, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to name %q", err, tc.want)
			}
		})
	}
}

// TestReplicasWithRedis: more than one replica renders once the pods see
// QSGATE_REDIS_URL, from the chart's Secret or one the user manages.
func TestReplicasWithRedis(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret map[string]any
	}{
		{"chart's Secret", map[string]any{"sessionKeys": "k", "oidcClientSecret": "s", "redisURL": "redis://redis:6379/0"}},
		{"existing Secret", map[string]any{"existingSecret": "qsgate-env", "existingSecretHasRedisURL": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, o := mustRender(t, map[string]any{"replicaCount": 3, "secret": tc.secret})
			if got := *o.Deployment.Spec.Replicas; got != 3 {
				t.Fatalf("replicas = %d, want 3", got)
			}
		})
	}
}

// TestExistingSecret: with secret.existingSecret the chart makes no Secret,
// and the pods read the named one.
func TestExistingSecret(t *testing.T) {
	_, o := mustRender(t, map[string]any{"secret": map[string]any{"existingSecret": "qsgate-env", "sessionKeys": "ignored"}})
	if o.Secret != nil {
		t.Fatalf("the chart made Secret %s beside an existing one", o.Secret.Name)
	}
	var names []string
	for _, ef := range o.container(t).EnvFrom {
		if ef.SecretRef != nil {
			names = append(names, ef.SecretRef.Name)
		}
	}
	if len(names) != 1 || names[0] != "qsgate-env" {
		t.Fatalf("secretRefs = %v, want [qsgate-env]", names)
	}
}

// TestChecksumRollsPods: a change of a setting or a secret changes the pod
// template (so the Deployment rolls); the same values give the same one.
func TestChecksumRollsPods(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"config": map[string]any{"QSGATE_PUBLIC_URL": "https://a.example.com"},
			"secret": map[string]any{"sessionKeys": "k1", "oidcClientSecret": "s"},
		}
	}
	sums := func(vals map[string]any) string {
		_, o := mustRender(t, vals)
		a := o.Deployment.Spec.Template.Annotations
		if a["checksum/config"] == "" || a["checksum/secret"] == "" {
			t.Fatalf("pod annotations = %v, want checksum/config and checksum/secret", a)
		}
		return a["checksum/config"] + " " + a["checksum/secret"]
	}
	want := sums(base())
	if got := sums(base()); got != want {
		t.Fatalf("same values, checksums %s then %s", want, got)
	}
	setting := base()
	setting["config"].(map[string]any)["QSGATE_PUBLIC_URL"] = "https://b.example.com"
	secret := base()
	secret["secret"].(map[string]any)["sessionKeys"] = "k2,k1"
	drain := base()
	drain["shutdown"] = map[string]any{"delaySeconds": 20}
	for name, vals := range map[string]map[string]any{"setting": setting, "secret": secret, "drain": drain} {
		if got := sums(vals); got == want {
			t.Errorf("a changed %s left the checksums at %s: the pods would not roll", name, got)
		}
	}
}
