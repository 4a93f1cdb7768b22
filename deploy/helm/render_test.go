package helm

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	chartDir    = "qsgate"
	examplesDir = "examples"
	releaseName = "qsgate"
	namespace   = "qsgate"
	kubeVersion = "v1.33.0"
)

// render renders the chart as `helm template` does (Helm's own engine,
// values coalesced with values.yaml and checked against values.schema.json,
// kinds in Helm's install order) with vals over the chart's values.yaml.
//
// It uses the engine rather than action.Install with a client-only dry run,
// which gives the same manifest: the action package links Helm's Kubernetes
// client, cli-runtime and the registry client, and nearly doubles the cold
// build of this module (1,158 packages against 650).
func render(t *testing.T, vals map[string]any) (string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	caps := common.DefaultCapabilities.Copy()
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	caps.KubeVersion = *kv
	if vals == nil {
		vals = map[string]any{}
	}
	opts := common.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	rv, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, false)
	if err != nil {
		return "", err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return "", err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return "", err
	}
	if len(hooks) > 0 {
		t.Fatalf("the chart has %d hooks; it is expected to have none", len(hooks))
	}
	var b strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return b.String(), nil
}

// mustRender renders and fails the test on an error.
func mustRender(t *testing.T, vals map[string]any) (string, objects) {
	t.Helper()
	m, err := render(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return m, decode(t, m)
}

// valuesFile reads a values file of the examples.
func valuesFile(t *testing.T, name string) map[string]any {
	t.Helper()
	v, err := common.ReadValuesFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return v
}

// objects are the rendered objects by kind, each decoded into its API type.
type objects struct {
	Deployment     *appsv1.Deployment
	Service        *corev1.Service
	ConfigMap      *corev1.ConfigMap
	Secret         *corev1.Secret
	ServiceAccount *corev1.ServiceAccount
	Ingress        *networkingv1.Ingress
	NetworkPolicy  *networkingv1.NetworkPolicy
	HPA            *autoscalingv2.HorizontalPodAutoscaler
	PDB            *policyv1.PodDisruptionBudget
	ServiceMonitor *serviceMonitor
	HTTPRoute      *httpRoute
	Kinds          []string
}

// decode splits a manifest into documents and decodes each strictly: an
// unknown field (a misspelt or misplaced key) is an error, as is a kind the
// chart is not expected to make or one made twice.
func decode(t *testing.T, manifest string) objects {
	t.Helper()
	var o objects
	for _, doc := range strings.Split(manifest, "\n---") {
		doc = strings.TrimSpace(doc)
		if doc == "" || allComments(doc) {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("type of document: %v\n%s", err, doc)
		}
		gvk := tm.APIVersion + "/" + tm.Kind
		var target any
		switch gvk {
		case "apps/v1/Deployment":
			o.Deployment = &appsv1.Deployment{}
			target = o.Deployment
		case "v1/Service":
			o.Service = &corev1.Service{}
			target = o.Service
		case "v1/ConfigMap":
			o.ConfigMap = &corev1.ConfigMap{}
			target = o.ConfigMap
		case "v1/Secret":
			o.Secret = &corev1.Secret{}
			target = o.Secret
		case "v1/ServiceAccount":
			o.ServiceAccount = &corev1.ServiceAccount{}
			target = o.ServiceAccount
		case "networking.k8s.io/v1/Ingress":
			o.Ingress = &networkingv1.Ingress{}
			target = o.Ingress
		case "networking.k8s.io/v1/NetworkPolicy":
			o.NetworkPolicy = &networkingv1.NetworkPolicy{}
			target = o.NetworkPolicy
		case "autoscaling/v2/HorizontalPodAutoscaler":
			o.HPA = &autoscalingv2.HorizontalPodAutoscaler{}
			target = o.HPA
		case "policy/v1/PodDisruptionBudget":
			o.PDB = &policyv1.PodDisruptionBudget{}
			target = o.PDB
		case "monitoring.coreos.com/v1/ServiceMonitor":
			o.ServiceMonitor = &serviceMonitor{}
			target = o.ServiceMonitor
		case "gateway.networking.k8s.io/v1/HTTPRoute":
			o.HTTPRoute = &httpRoute{}
			target = o.HTTPRoute
		default:
			t.Fatalf("unexpected kind %s:\n%s", gvk, doc)
		}
		for _, k := range o.Kinds {
			if k == tm.Kind {
				t.Fatalf("two objects of kind %s", tm.Kind)
			}
		}
		o.Kinds = append(o.Kinds, tm.Kind)
		if err := yaml.UnmarshalStrict([]byte(doc), target); err != nil {
			t.Fatalf("decode %s strictly: %v\n%s", gvk, err, doc)
		}
	}
	return o
}

func allComments(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1) the chart writes. The operator's Go module
// would bring a second copy of much of Kubernetes for one small type; these
// fields are spelt as its CRD spells them, and decoding is strict.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// httpRoute is the part of the Gateway API's HTTPRoute
// (gateway.networking.k8s.io/v1) the chart writes, for the same reason.
type httpRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ParentRefs []struct {
			Group       string `json:"group,omitempty"`
			Kind        string `json:"kind,omitempty"`
			Namespace   string `json:"namespace,omitempty"`
			Name        string `json:"name"`
			SectionName string `json:"sectionName,omitempty"`
			Port        int32  `json:"port,omitempty"`
		} `json:"parentRefs"`
		Hostnames []string `json:"hostnames"`
		Rules     []struct {
			Matches []struct {
				Path struct {
					Type  string `json:"type"`
					Value string `json:"value"`
				} `json:"path"`
			} `json:"matches"`
			BackendRefs []struct {
				Name string `json:"name"`
				Port int32  `json:"port"`
			} `json:"backendRefs"`
		} `json:"rules"`
	} `json:"spec"`
}

// container returns the Deployment's qsgate container.
func (o objects) container(t *testing.T) corev1.Container {
	t.Helper()
	if o.Deployment == nil {
		t.Fatal("no Deployment rendered")
	}
	cs := o.Deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "qsgate" {
		t.Fatalf("containers = %v, want one named qsgate", cs)
	}
	return cs[0]
}

// setting returns a qsgate setting as the pod sees it from the ConfigMap.
func (o objects) setting(name string) (string, bool) {
	if o.ConfigMap == nil {
		return "", false
	}
	v, ok := o.ConfigMap.Data[name]
	return v, ok
}
