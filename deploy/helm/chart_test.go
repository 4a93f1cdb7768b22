package helm

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var update = flag.Bool("update", false, "rewrite deploy/helm/examples/*.yaml from the chart")

// secretNames are the settings that must only ever be in a Secret.
var secretNames = []string{"QSGATE_SESSION_KEYS", "QSGATE_OIDC_CLIENT_SECRET", "QSGATE_REDIS_URL"}

// TestLint runs Helm's linter (strict: warnings fail) on the default and
// the full values.
func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
	}{
		{"default", map[string]any{}},
		{"full", valuesFile(t, "values-full.yaml")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv, err := common.ParseKubeVersion(kubeVersion)
			if err != nil {
				t.Fatal(err)
			}
			res := lint.RunAll(chartDir, tc.vals, namespace, lint.WithKubeVersion(kv))
			for _, m := range res.Messages {
				// Strict, as helm lint --strict: a warning fails.
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				} else {
					t.Logf("lint: %s", m)
				}
			}
		})
	}
}

// TestExamples keeps deploy/helm/examples/ in step with the chart: each
// values file there renders to the committed manifest (-update rewrites).
func TestExamples(t *testing.T) {
	for _, tc := range []struct{ values, golden string }{
		{"", "default.yaml"},
		{"values-full.yaml", "full.yaml"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			vals := map[string]any{}
			if tc.values != "" {
				vals = valuesFile(t, tc.values)
			}
			got, _ := mustRender(t, vals)
			path := filepath.Join(examplesDir, tc.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./helm -update)", err)
			}
			if got != string(want) {
				t.Fatalf("%s is not what the chart renders; run (cd deploy && go test ./helm -update) and review the diff", path)
			}
		})
	}
}

// TestDefaultValues checks what a pod needs from the default render: one
// replica, qsgate's ports and probes, the drain timing, the security
// context and a memory limit; nothing optional.
func TestDefaultValues(t *testing.T) {
	_, o := mustRender(t, nil)
	if got := o.Deployment.Spec.Replicas; got == nil || *got != 1 {
		t.Fatalf("replicas = %v, want 1", got)
	}
	for name, got := range map[string]bool{
		"Ingress": o.Ingress != nil, "HPA": o.HPA != nil, "PDB": o.PDB != nil,
		"ServiceMonitor": o.ServiceMonitor != nil, "NetworkPolicy": o.NetworkPolicy != nil,
		"HTTPRoute": o.HTTPRoute != nil,
	} {
		if got {
			t.Errorf("%s rendered with the default values, want none", name)
		}
	}
	c := o.container(t)
	checkPorts(t, o, c, 0)
	checkProbes(t, c)
	checkSecurity(t, o, c)
	checkDrain(t, o, c, 0, 10, 15)
	checkSecretsOnlyInSecret(t, o, c)
	if got := c.Args; len(got) != 1 || got[0] != "serve" {
		t.Errorf("args = %v, want [serve]", got)
	}
}

// TestFullValues checks the HA set: replicas sharing Redis, autoscaling,
// budget, monitor, network policy, ingress and route all pointing at
// qsgate's ports.
func TestFullValues(t *testing.T) {
	_, o := mustRender(t, valuesFile(t, "values-full.yaml"))
	c := o.container(t)
	checkPorts(t, o, c, 9090)
	checkProbes(t, c)
	checkSecurity(t, o, c)
	checkDrain(t, o, c, 5, 15, 20)
	checkSecretsOnlyInSecret(t, o, c)

	if o.Deployment.Spec.Replicas != nil {
		t.Errorf("replicas = %d with autoscaling, want unset (the HPA owns it)", *o.Deployment.Spec.Replicas)
	}
	if o.HPA == nil || o.HPA.Spec.ScaleTargetRef.Name != o.Deployment.Name || *o.HPA.Spec.MinReplicas < 2 {
		t.Errorf("HPA = %+v, want one scaling the Deployment from at least 2", o.HPA)
	}
	if o.PDB == nil || o.PDB.Spec.MaxUnavailable == nil || *o.PDB.Spec.MaxUnavailable != intstr.FromInt32(1) {
		t.Errorf("PDB = %+v, want maxUnavailable 1", o.PDB)
	}
	if o.Secret == nil || string(o.Secret.Data["QSGATE_REDIS_URL"]) == "" {
		t.Errorf("Secret has no QSGATE_REDIS_URL")
	}
	if o.ServiceMonitor == nil || len(o.ServiceMonitor.Spec.Endpoints) != 1 ||
		o.ServiceMonitor.Spec.Endpoints[0].Port != "metrics" || o.ServiceMonitor.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor = %+v, want port metrics, path /metrics", o.ServiceMonitor)
	}
	if o.Ingress == nil {
		t.Fatal("no Ingress")
	}
	if got := o.Ingress.Spec.Rules[0].HTTP.Paths[0].Backend.Service; got.Name != o.Service.Name || got.Port.Name != "http" {
		t.Errorf("ingress backend = %+v, want service %s port http", got, o.Service.Name)
	}
	if got := o.Ingress.Annotations["alb.ingress.kubernetes.io/healthcheck-path"]; got != "/readyz" {
		t.Errorf("ALB health check path = %q, want /readyz", got)
	}
	if o.HTTPRoute == nil || o.HTTPRoute.Spec.Rules[0].BackendRefs[0].Name != o.Service.Name ||
		o.HTTPRoute.Spec.Rules[0].BackendRefs[0].Port != o.Service.Spec.Ports[0].Port {
		t.Errorf("HTTPRoute = %+v, want a backend of the Service's http port", o.HTTPRoute)
	}
	np := o.NetworkPolicy
	if np == nil || len(np.Spec.Ingress) != 2 {
		t.Fatalf("NetworkPolicy = %+v, want two ingress rules (http, metrics)", np)
	}
	if got := np.Spec.Ingress[1]; got.Ports[0].Port.StrVal != "metrics" || len(got.From) != 1 {
		t.Errorf("metrics rule = %+v, want port metrics from the monitoring namespace only", got)
	}
	if got := o.ServiceAccount.Annotations["eks.amazonaws.com/role-arn"]; got == "" {
		t.Errorf("service account has no IRSA annotation")
	}
}

func checkPorts(t *testing.T, o objects, c corev1.Container, metricsPort int32) {
	t.Helper()
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != 8080 {
		t.Errorf("container port http = %d, want 8080", ports["http"])
	}
	if got, _ := o.setting("QSGATE_LISTEN_ADDR"); got != ":8080" {
		t.Errorf("QSGATE_LISTEN_ADDR = %q, want :8080", got)
	}
	got, set := o.setting("QSGATE_METRICS_ADDR")
	if metricsPort == 0 {
		if set || len(ports) != 1 {
			t.Errorf("metrics off, but QSGATE_METRICS_ADDR = %q, ports %v", got, ports)
		}
	} else {
		if want := ":" + itoa(metricsPort); got != want {
			t.Errorf("QSGATE_METRICS_ADDR = %q, want %q", got, want)
		}
		if ports["metrics"] != metricsPort {
			t.Errorf("container port metrics = %d, want %d", ports["metrics"], metricsPort)
		}
	}
	svc := map[string]string{}
	for _, p := range o.Service.Spec.Ports {
		svc[p.Name] = p.TargetPort.StrVal
	}
	if svc["http"] != "http" || (metricsPort != 0 && svc["metrics"] != "metrics") {
		t.Errorf("service target ports = %v, want http (and metrics) by name", svc)
	}
	if o.Service.Spec.SessionAffinity != "" {
		t.Errorf("service session affinity = %q: none is needed", o.Service.Spec.SessionAffinity)
	}
}

func checkProbes(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe = %+v, want an HTTP GET", p.name, p.probe)
			continue
		}
		if got := p.probe.HTTPGet; got.Path != p.path || got.Port.StrVal != "http" {
			t.Errorf("%s probe = %s on %s, want %s on http", p.name, got.Path, got.Port.String(), p.path)
		}
	}
}

func checkSecurity(t *testing.T, o objects, c corev1.Container) {
	t.Helper()
	pod := o.Deployment.Spec.Template.Spec
	ps, sc := pod.SecurityContext, c.SecurityContext
	if ps == nil || sc == nil {
		t.Fatalf("security contexts: pod %v, container %v", ps, sc)
	}
	if ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.RunAsUser == nil || *ps.RunAsUser == 0 {
		t.Errorf("pod runs as root: %+v", ps)
	}
	if ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccomp = %+v, want RuntimeDefault", ps.SeccompProfile)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("root filesystem is writable")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("privilege escalation allowed")
	}
	if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities = %+v, want all dropped, none added", sc.Capabilities)
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("container runAsNonRoot unset")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("service account token mounted: qsgate does not use the Kubernetes API")
	}
	mem, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok || mem.IsZero() {
		t.Errorf("no memory limit: qsgate sets its Go soft limit from it")
	}
}

// checkDrain: the kubelet's SIGKILL must come after the preStop sleep,
// QSGATE_SHUTDOWN_DELAY and QSGATE_SHUTDOWN_GRACE, and the settings qsgate
// reads must be the ones the pod's timing was computed from.
func checkDrain(t *testing.T, o objects, c corev1.Container, preStop, delay, grace int64) {
	t.Helper()
	if got, _ := o.setting("QSGATE_SHUTDOWN_DELAY"); got != itoa(int32(delay))+"s" {
		t.Errorf("QSGATE_SHUTDOWN_DELAY = %q, want %ds", got, delay)
	}
	if got, _ := o.setting("QSGATE_SHUTDOWN_GRACE"); got != itoa(int32(grace))+"s" {
		t.Errorf("QSGATE_SHUTDOWN_GRACE = %q, want %ds", got, grace)
	}
	var sleep int64
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		if c.Lifecycle.PreStop.Exec != nil {
			t.Errorf("preStop exec %v: the distroless image has no shell or sleep", c.Lifecycle.PreStop.Exec.Command)
		}
		if c.Lifecycle.PreStop.Sleep != nil {
			sleep = c.Lifecycle.PreStop.Sleep.Seconds
		}
	}
	if sleep != preStop {
		t.Errorf("preStop sleep = %ds, want %ds", sleep, preStop)
	}
	tg := o.Deployment.Spec.Template.Spec.TerminationGracePeriodSeconds
	if tg == nil || *tg < sleep+delay+grace {
		t.Errorf("terminationGracePeriodSeconds = %v, want at least %d (preStop %d + delay %d + grace %d)", tg, sleep+delay+grace, sleep, delay, grace)
	}
}

func checkSecretsOnlyInSecret(t *testing.T, o objects, c corev1.Container) {
	t.Helper()
	for _, name := range secretNames {
		if _, ok := o.ConfigMap.Data[name]; ok {
			t.Errorf("%s is in the ConfigMap", name)
		}
		for _, e := range c.Env {
			if e.Name == name && e.Value != "" {
				t.Errorf("%s is a literal in the pod spec", name)
			}
		}
	}
	var fromSecret bool
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && o.Secret != nil && ef.SecretRef.Name == o.Secret.Name {
			fromSecret = true
		}
	}
	if !fromSecret {
		t.Errorf("the container does not read the chart's Secret")
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// TestTracingVariables: the OpenTelemetry SDK's own OTEL_* variables go in
// config beside qsgate's settings (docs/tracing.md).
func TestTracingVariables(t *testing.T) {
	_, o := mustRender(t, map[string]any{"config": map[string]any{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability:4318",
		"OTEL_TRACES_SAMPLER":         "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":     "0.1",
	}})
	if got := o.ConfigMap.Data["OTEL_TRACES_EXPORTER"]; got != "otlp" {
		t.Errorf("ConfigMap OTEL_TRACES_EXPORTER = %q, want otlp", got)
	}
}
