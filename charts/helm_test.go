package charts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
)

const (
	chartDir    = "slipwatch"
	releaseName = "rel"
	namespace   = "tracking"
)

// helmInstall is what CI runs when helm is missing; the tests work with
// any Helm 3.
const helmInstall = "go install helm.sh/helm/v3/cmd/helm@v3.16.4"

// helm finds the helm binary: on the PATH, or where `go install` puts it.
// Without it the test fails in CI (CI=true) and is skipped, loudly,
// elsewhere.
func helm(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "helm")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	msg := "helm not found on PATH or in $(go env GOPATH)/bin; install it with: " + helmInstall
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING CHART TESTS: " + msg)
	return ""
}

// runHelm runs helm with args and returns stdout, or the combined output as
// the error when helm fails.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Helm must not pick up a user's repositories, plugins or cluster.
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "kubeconfig"),
	)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// valuesArgs turns values files and --set pairs into helm flags.
func valuesArgs(files []string, sets []string) []string {
	var args []string
	for _, f := range files {
		args = append(args, "-f", f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// render is `helm template` decoded: every object strictly into its
// Kubernetes type.
func render(t *testing.T, files []string, sets ...string) *manifests {
	t.Helper()
	args := append([]string{"template", releaseName, chartDir, "--namespace", namespace}, valuesArgs(files, sets)...)
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifests(out)
	if err != nil {
		t.Fatalf("helm template %v: %v", files, err)
	}
	return m
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// the chart writes. Decoding is strict, so a field the chart writes that is
// not here (or misspelled) fails the test.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port              string           `json:"port"`
			Path              string           `json:"path"`
			Scheme            string           `json:"scheme"`
			Interval          string           `json:"interval"`
			ScrapeTimeout     string           `json:"scrapeTimeout"`
			Relabelings       []map[string]any `json:"relabelings"`
			MetricRelabelings []map[string]any `json:"metricRelabelings"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// kindOf says, for every kind the chart may render, its apiVersion and the
// type it decodes into. A kind not here fails the test: whoever adds one
// adds its checks.
func kindOf(kind string) (apiVersion string, obj any, ok bool) {
	switch kind {
	case "ConfigMap":
		return "v1", &corev1.ConfigMap{}, true
	case "Secret":
		return "v1", &corev1.Secret{}, true
	case "Service":
		return "v1", &corev1.Service{}, true
	case "ServiceAccount":
		return "v1", &corev1.ServiceAccount{}, true
	case "Deployment":
		return "apps/v1", &appsv1.Deployment{}, true
	case "Ingress":
		return "networking.k8s.io/v1", &networkingv1.Ingress{}, true
	case "NetworkPolicy":
		return "networking.k8s.io/v1", &networkingv1.NetworkPolicy{}, true
	case "PodDisruptionBudget":
		return "policy/v1", &policyv1.PodDisruptionBudget{}, true
	case "ServiceMonitor":
		return "monitoring.coreos.com/v1", &serviceMonitor{}, true
	}
	return "", nil, false
}

type object struct {
	kind, name string
	meta       metav1.ObjectMeta
	obj        any    // *appsv1.Deployment, …
	json       []byte // the object as the API server would receive it
}

type manifests struct {
	objects []object
}

func decodeManifests(stream string) (*manifests, error) {
	m := &manifests{}
	dec := yaml.NewDecoder(strings.NewReader(stream))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not YAML: %w", err)
		}
		if doc == nil {
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(raw, &tm); err != nil {
			return nil, err
		}
		apiVersion, obj, ok := kindOf(tm.Kind)
		if !ok {
			return nil, fmt.Errorf("kind %q is not one the tests know; add it to kindOf and check it", tm.Kind)
		}
		if tm.APIVersion != apiVersion {
			return nil, fmt.Errorf("%s has apiVersion %q, want %q", tm.Kind, tm.APIVersion, apiVersion)
		}
		strict, err := sigsjson.UnmarshalStrict(raw, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		if len(strict) > 0 {
			return nil, fmt.Errorf("%s is not a valid %s: %v", tm.Kind, apiVersion, errors.Join(strict...))
		}
		var meta metav1.ObjectMeta
		switch o := obj.(type) {
		case *serviceMonitor:
			meta = o.Metadata
		case metav1.Object:
			meta = metav1.ObjectMeta{Name: o.GetName(), Namespace: o.GetNamespace(), Labels: o.GetLabels(), Annotations: o.GetAnnotations()}
		}
		m.objects = append(m.objects, object{kind: tm.Kind, name: meta.Name, meta: meta, obj: obj, json: raw})
	}
	return m, nil
}

// get returns the one object of kind and name, failing the test without it.
func get[T any](t *testing.T, m *manifests, kind, name string) *T {
	t.Helper()
	for _, o := range m.objects {
		if o.kind == kind && o.name == name {
			v, ok := o.obj.(*T)
			if !ok {
				t.Fatalf("%s/%s decoded as %T", kind, name, o.obj)
			}
			return v
		}
	}
	t.Fatalf("no %s/%s among %v", kind, name, m.names())
	return nil
}

// has reports whether an object of kind and name was rendered.
func (m *manifests) has(kind, name string) bool {
	for _, o := range m.objects {
		if o.kind == kind && o.name == name {
			return true
		}
	}
	return false
}

func (m *manifests) names() []string {
	var out []string
	for _, o := range m.objects {
		out = append(out, o.kind+"/"+o.name)
	}
	return out
}

// ofKind returns every object of kind.
func ofKind[T any](m *manifests, kind string) []*T {
	var out []*T
	for _, o := range m.objects {
		if o.kind == kind {
			if v, ok := o.obj.(*T); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// renderNotes renders NOTES.txt, which `helm template` renders (and fails
// on) but does not print: a copy of the chart gets one more template that
// puts the notes in a ConfigMap.
func renderNotes(t *testing.T, files []string, sets ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), chartDir)
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	probe := `apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  notes: {{ include (print $.Template.BasePath "/NOTES.txt") . | quote }}
`
	if err := os.WriteFile(filepath.Join(dir, "templates", "zz-notes.yaml"), []byte(probe), 0o644); err != nil {
		t.Fatal(err)
	}
	abs := make([]string, len(files))
	for i, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		abs[i] = a
	}
	args := append([]string{"template", releaseName, dir, "--namespace", namespace, "--show-only", "templates/zz-notes.yaml"}, valuesArgs(abs, sets)...)
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	return get[corev1.ConfigMap](t, m, "ConfigMap", "notes").Data["notes"]
}
