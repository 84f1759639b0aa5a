package charts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipwatch/slipwatch/config"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestConfigMapParses: the config.yaml the chart renders, with the
// environment the kubelet would give the pod, is a config slipwatch
// accepts (config.Parse decodes strictly and validates), and the
// credentials arrive where slipwatch reads them.
func TestConfigMapParses(t *testing.T) {
	for _, c := range chartCases() {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.files)
			data := get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]
			cfg, err := config.Parse([]byte(data), podEnv(t, m, c))
			if c.parseErrs != nil {
				if err == nil {
					t.Fatalf("config.Parse accepted a config it should refuse:\n%s", data)
				}
				for _, want := range c.parseErrs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("config.Parse error lacks %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("slipwatch would refuse the rendered config:\n%v\n--- config.yaml\n%s", err, data)
			}
			if c.check != nil {
				c.check(t, m, cfg)
			}
		})
	}
}

// TestConfigMapNeedsTheSecret: without the Secret's variables the same
// config is refused for the missing token, which is what proves the token
// lives only in the Secret.
func TestConfigMapNeedsTheSecret(t *testing.T) {
	m := render(t, []string{"testdata/github-token.yaml"})
	data := get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]
	_, err := config.Parse([]byte(data), nil)
	if err == nil || !strings.Contains(err.Error(), "github: set token or app") {
		t.Errorf("config.Parse without the Secret: %v", err)
	}
}

// podEnv is the environment the kubelet would give the slipwatch
// container, with Secret references resolved against the chart's Secret or
// the case's existing one.
func podEnv(t *testing.T, m *manifests, c chartCase) []string {
	t.Helper()
	ctr := container(t, get[appsv1.Deployment](t, m, "Deployment", fullname), "slipwatch")
	var env []string
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secretData(t, m, c, ref.Name)[ref.Key]
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				t.Fatalf("env %s: Secret %s has no key %s, so the pod would not start", e.Name, ref.Name, ref.Key)
			}
			env = append(env, e.Name+"="+v)
		case e.ValueFrom.ResourceFieldRef != nil:
			res := strings.TrimPrefix(e.ValueFrom.ResourceFieldRef.Resource, "limits.")
			q, ok := ctr.Resources.Limits[corev1.ResourceName(res)]
			if !ok {
				t.Fatalf("env %s refers to limit %s, which is not set", e.Name, res)
			}
			env = append(env, e.Name+"="+strconv.FormatInt(q.Value(), 10))
		default:
			t.Fatalf("env %s: a source the test does not resolve", e.Name)
		}
	}
	return env
}

func secretData(t *testing.T, m *manifests, c chartCase, name string) map[string]string {
	t.Helper()
	if c.existing != nil {
		if name != "slipwatch-credentials" {
			t.Fatalf("Secret %q is not the existing one", name)
		}
		return c.existing
	}
	out := map[string]string{}
	for k, v := range get[corev1.Secret](t, m, "Secret", name).Data {
		out[k] = string(v)
	}
	return out
}

// TestNoCredentialInConfigMap: no key of the rendered config.yaml is a
// credential, and no credential value given to the chart appears in any
// object but the Secret.
func TestNoCredentialInConfigMap(t *testing.T) {
	secretPaths := map[string]bool{}
	for _, l := range configLeaves() {
		if l.secret {
			secretPaths[l.path] = true
		}
	}
	for _, c := range chartCases() {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.files)
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]), &doc); err != nil {
				t.Fatal(err)
			}
			for _, p := range yamlLeaves(doc, "") {
				if secretPaths[p] {
					t.Errorf("config.yaml sets credential %s", p)
				}
			}
			values := valuesSecrets(t, c.files)
			for _, v := range c.existing {
				values = append(values, v)
			}
			for _, o := range m.objects {
				if o.kind == "Secret" {
					continue
				}
				for _, v := range values {
					if strings.Contains(string(o.json), v) || strings.Contains(string(o.json), strings.TrimSpace(v)) {
						t.Errorf("%s/%s holds a credential value", o.kind, o.name)
					}
				}
			}
		})
	}
}

func yamlLeaves(v any, path string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return []string{path}
	}
	var out []string
	for k, child := range m {
		p := k
		if path != "" {
			p = path + "." + k
		}
		out = append(out, yamlLeaves(child, p)...)
	}
	return out
}

type leaf struct {
	path   string
	secret bool
}

// configLeaves is every settable key of slipwatch's config, from its
// yaml tags, marking the credentials (config.Secret, or a list of them).
func configLeaves() []leaf {
	var out []leaf
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			p := tag
			if prefix != "" {
				p = prefix + "." + tag
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(ft, p)
				continue
			}
			secret := reflect.TypeFor[config.Secret]()
			out = append(out, leaf{path: p, secret: ft == secret || ft.Kind() == reflect.Slice && ft.Elem() == secret})
		}
	}
	walk(reflect.TypeFor[config.Config](), "")
	return out
}

// TestSchemaMirrorsConfig: values.schema.json's `config` offers exactly
// slipwatch's keys minus the credentials and the chart-owned server keys.
// A key added to slipwatch fails here until the chart offers it; a key
// removed fails here until the schema drops it.
func TestSchemaMirrorsConfig(t *testing.T) {
	leaves := configLeaves()
	// The walk above must agree with the program's own list of keys.
	var fromWalk, fromProgram []string
	for _, l := range leaves {
		fromWalk = append(fromWalk, l.path)
	}
	for _, v := range config.EnvVars() {
		fromProgram = append(fromProgram, v.Path)
	}
	slices.Sort(fromWalk)
	slices.Sort(fromProgram)
	if diff := cmp.Diff(fromProgram, fromWalk); diff != "" {
		t.Fatalf("the test's walk of config.Config disagrees with config.EnvVars (-program +walk):\n%s", diff)
	}

	// The chart sets these itself, from containerPort and shutdownGraceSeconds.
	chartOwned := []string{"server.listen", "server.shutdown_grace"}
	var want []string
	for _, l := range leaves {
		if !l.secret && !slices.Contains(chartOwned, l.path) {
			want = append(want, l.path)
		}
	}
	slices.Sort(want)

	b, err := os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema schemaNode
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	cfg, ok := schema.Properties["config"]
	if !ok {
		t.Fatal("values.schema.json has no config")
	}
	got := cfg.leaves("")
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values.schema.json config keys vs slipwatch's non-credential keys (-slipwatch +schema):\n%s", diff)
	}
	cfg.strict(t, "config")
}

type schemaNode struct {
	Type                 any                   `json:"type"`
	Properties           map[string]schemaNode `json:"properties"`
	AdditionalProperties any                   `json:"additionalProperties"`
}

func (n schemaNode) leaves(path string) []string {
	if len(n.Properties) == 0 {
		return []string{path}
	}
	var out []string
	for k, child := range n.Properties {
		p := k
		if path != "" {
			p = path + "." + k
		}
		out = append(out, child.leaves(p)...)
	}
	return out
}

// strict: every object with properties refuses others, so a typo fails.
func (n schemaNode) strict(t *testing.T, path string) {
	t.Helper()
	if len(n.Properties) == 0 {
		return
	}
	if n.AdditionalProperties != false {
		t.Errorf("values.schema.json %s allows unknown keys", path)
	}
	for k, child := range n.Properties {
		child.strict(t, path+"."+k)
	}
}

// TestCredentialsCoverEverySecret: for every credential slipwatch has, some
// install passes it through the Secret, under slipwatch's own variable
// name. A credential added to slipwatch fails here until the chart can
// deliver it.
func TestCredentialsCoverEverySecret(t *testing.T) {
	names := map[string]string{}
	for _, v := range config.EnvVars() {
		names[v.Path] = v.Name
	}
	var want []string
	for _, l := range configLeaves() {
		if l.secret {
			want = append(want, names[l.path])
		}
	}
	slices.Sort(want)

	seen := map[string]bool{}
	for _, c := range chartCases() {
		for env := range secretRefs(t, render(t, c.files)) {
			seen[env] = true
		}
	}
	var got []string
	for env := range seen {
		got = append(got, env)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials the chart delivers vs slipwatch's (-slipwatch +chart):\n%s", diff)
	}
}

// TestReadmeExampleInstalls: the values file the chart README tells people
// to write, with the Secret it tells them to create, renders and gives
// slipwatch a config it accepts.
func TestReadmeExampleInstalls(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "with `my-values.yaml`:\n\n```yaml\n")
	example, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no my-values.yaml example")
	}
	f := filepath.Join(t.TempDir(), "my-values.yaml")
	if err := os.WriteFile(f, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	c := chartCase{
		name:     "readme",
		files:    []string{f},
		existing: map[string]string{"github-token": "ghp_readme", "github-webhook-secret": "whsec-readme"},
	}
	m := render(t, c.files)
	cfg, err := config.Parse([]byte(get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]), podEnv(t, m, c))
	if err != nil {
		t.Fatalf("the README's example does not give a valid config: %v", err)
	}
	if cfg.GitHub.Token.Value() != "ghp_readme" {
		t.Error("the README's Secret key github-token does not reach slipwatch")
	}
}

// TestSlipSettle: slip.settle set on the chart reaches slipwatch as given,
// 0s (at once) included, and the chart's own default is slipwatch's.
func TestSlipSettle(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config struct {
			Slip struct{ Settle string }
		}
	}
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	shown, err := config.ParseDuration(values.Config.Slip.Settle)
	if err != nil || shown.D() != config.DefaultSlipSettle {
		t.Errorf("values.yaml config.slip.settle is %q (%v), slipwatch's default is %s", values.Config.Slip.Settle, err, config.DefaultSlipSettle)
	}

	c := chartCase{name: "github token", files: []string{"testdata/github-token.yaml"}}
	for _, tt := range []struct {
		set  string
		want time.Duration
	}{
		{"", config.DefaultSlipSettle},
		{"config.slip.settle=0s", 0},
		{"config.slip.settle=0", 0},
		{"config.slip.settle=90m", 90 * time.Minute},
		{"config.slip.settle=2d", 48 * time.Hour},
	} {
		t.Run(tt.set, func(t *testing.T) {
			var sets []string
			if tt.set != "" {
				sets = append(sets, tt.set)
			}
			m := render(t, c.files, sets...)
			data := get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]
			cfg, err := config.Parse([]byte(data), podEnv(t, m, c))
			if err != nil {
				t.Fatalf("slipwatch would refuse the rendered config: %v\n%s", err, data)
			}
			if got := cfg.Slip.Settle.D(); got != tt.want {
				t.Errorf("slip.settle = %s, want %s\n%s", got, tt.want, data)
			}
		})
	}
}

// TestForecastRiskBelow: forecast.risk_below set on the chart reaches
// slipwatch as given, and the chart's own default is slipwatch's.
func TestForecastRiskBelow(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config struct {
			Forecast struct {
				RiskBelow float64 `yaml:"risk_below"`
			}
		}
	}
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	if got := values.Config.Forecast.RiskBelow; got != config.DefaultForecastRiskBelow {
		t.Errorf("values.yaml config.forecast.risk_below is %v, slipwatch's default is %v", got, config.DefaultForecastRiskBelow)
	}
	c := chartCase{name: "github token", files: []string{"testdata/github-token.yaml"}}
	for _, tt := range []struct {
		file string
		want float64
	}{
		{"", config.DefaultForecastRiskBelow},
		{"testdata/risk-below.yaml", 0.3},
	} {
		t.Run(tt.file, func(t *testing.T) {
			files := c.files
			if tt.file != "" {
				files = append(slices.Clone(files), tt.file)
			}
			m := render(t, files)
			data := get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]
			cfg, err := config.Parse([]byte(data), podEnv(t, m, c))
			if err != nil {
				t.Fatalf("slipwatch would refuse the rendered config: %v\n%s", err, data)
			}
			if got := cfg.Forecast.RiskBelow; got != tt.want {
				t.Errorf("forecast.risk_below = %v, want %v\n%s", got, tt.want, data)
			}
		})
	}
}
