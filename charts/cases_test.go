package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipwatch/slipwatch/config"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fullname is the chart's name for the release's objects.
const fullname = releaseName + "-slipwatch"

// chartCase is one way a team installs the chart.
type chartCase struct {
	name  string
	files []string // values files; none means the chart's defaults
	// existing is the data of existingSecret as the platform team created
	// it, for the values files that name one.
	existing map[string]string
	replicas int32
	// parseErrs, when set, are lines config.Parse must report: the chart
	// renders, but slipwatch would refuse to start and say why.
	parseErrs []string
	check     func(t *testing.T, m *manifests, cfg *config.Config)
}

func chartCases() []chartCase {
	return []chartCase{
		{
			name:     "defaults",
			replicas: 2,
			parseErrs: []string{
				"redis.url: is not a URL",
				"configure at least one tracker",
			},
			check: func(t *testing.T, m *manifests, _ *config.Config) {
				for _, kind := range []string{"Ingress", "ServiceMonitor", "NetworkPolicy"} {
					if m.has(kind, fullname) {
						t.Errorf("%s rendered by default; it is opt-in", kind)
					}
				}
				if !m.has("PodDisruptionBudget", fullname) {
					t.Error("no PodDisruptionBudget by default")
				}
			},
		},
		{
			name:     "github token",
			files:    []string{"testdata/github-token.yaml"},
			replicas: 2,
			check: func(t *testing.T, m *manifests, cfg *config.Config) {
				want := map[string]string{
					"github.token":             "ghp_tokenFromValues0001",
					"github.webhook_secret":    "whsec-github-from-values-0001",
					"redis.password":           "redis-pass-from-values-0001",
					"markers.key":              "markers-key-from-values-0001",
					"markers.previous_keys[0]": "markers-key-from-values-0000",
					"markers.previous_keys[1]": "markers-key-from-values-000a",
				}
				if diff := cmp.Diff(want, secretsOf(cfg)); diff != "" {
					t.Errorf("credentials slipwatch gets (-want +got):\n%s", diff)
				}
				keys := secretKeys(get[corev1.Secret](t, m, "Secret", fullname))
				if diff := cmp.Diff([]string{"github-token", "github-webhook-secret", "markers-key", "markers-previous-keys", "redis-password"}, keys); diff != "" {
					t.Errorf("Secret keys (-want +got):\n%s", diff)
				}
				if cfg.Redis.URL != "redis://redis.data.svc:6379/0" || cfg.GitHub.BaseURL != config.DefaultGitHubBaseURL {
					t.Errorf("redis.url %q, github.base_url %q", cfg.Redis.URL, cfg.GitHub.BaseURL)
				}
				if cfg.Slip.Settle.D() != config.DefaultSlipSettle {
					t.Errorf("slip.settle %s with the chart's defaults, slipwatch's is %s", cfg.Slip.Settle, config.DefaultSlipSettle)
				}
			},
		},
		{
			name:  "existing secret",
			files: []string{"testdata/existing-secret.yaml"},
			existing: map[string]string{
				"github-token":          "ghp_fromTheExistingSecret0005",
				"github-webhook-secret": "whsec-existing-github-0005",
				"jira-api-token":        "jira-api-token-existing-0005",
				"jira-webhook-secret":   "whsec-existing-jira-0005",
				// No previous webhook secrets, no Redis password, no webhook
				// token: those keys are optional.
			},
			replicas: 2,
			check: func(t *testing.T, m *manifests, cfg *config.Config) {
				if m.has("Secret", fullname) {
					t.Error("the chart created a Secret although existingSecret is set")
				}
				want := map[string]string{
					"github.token":          "ghp_fromTheExistingSecret0005",
					"github.webhook_secret": "whsec-existing-github-0005",
					"jira.auth.api_token":   "jira-api-token-existing-0005",
					"jira.webhook_secret":   "whsec-existing-jira-0005",
				}
				if diff := cmp.Diff(want, secretsOf(cfg)); diff != "" {
					t.Errorf("credentials slipwatch gets (-want +got):\n%s", diff)
				}
				// What slipwatch cannot run without must stop the pod when
				// missing from the Secret; the rest is optional.
				refs := secretRefs(t, m)
				wantOptional := map[string]bool{
					"SLIPWATCH_GITHUB_TOKEN":                   false,
					"SLIPWATCH_GITHUB_WEBHOOK_SECRET":          true,
					"SLIPWATCH_GITHUB_PREVIOUS_WEBHOOK_SECRET": true,
					"SLIPWATCH_JIRA_AUTH_API_TOKEN":            false,
					"SLIPWATCH_JIRA_WEBHOOK_SECRET":            true,
					"SLIPWATCH_JIRA_PREVIOUS_WEBHOOK_SECRET":   true,
					"SLIPWATCH_JIRA_WEBHOOK_TOKEN":             true,
					"SLIPWATCH_REDIS_PASSWORD":                 true,
					"SLIPWATCH_SERVER_API_TOKEN":               true,
					"SLIPWATCH_MARKERS_KEY":                    true,
					"SLIPWATCH_MARKERS_PREVIOUS_KEYS":          true,
				}
				gotOptional := map[string]bool{}
				for env, ref := range refs {
					if ref.Name != "slipwatch-credentials" {
						t.Errorf("%s comes from Secret %q, want the existing one", env, ref.Name)
					}
					gotOptional[env] = ref.Optional != nil && *ref.Optional
				}
				if diff := cmp.Diff(wantOptional, gotOptional); diff != "" {
					t.Errorf("optional secret keys (-want +got):\n%s", diff)
				}
				if cfg.Location == nil || cfg.Location.String() != "Europe/Berlin" {
					t.Errorf("timezone: %v", cfg.Location)
				}
			},
		},
		{
			name:     "github app",
			files:    []string{"testdata/github-app.yaml"},
			replicas: 2,
			check: func(t *testing.T, m *manifests, cfg *config.Config) {
				if cfg.GitHub.App == nil || cfg.GitHub.App.ID != 123456 || cfg.GitHub.App.InstallationID != 98765432 {
					t.Fatalf("github.app: %+v", cfg.GitHub.App)
				}
				if !strings.HasPrefix(cfg.GitHub.App.PrivateKey.Value(), "-----BEGIN RSA PRIVATE KEY-----\n") {
					t.Error("the App's private key did not reach slipwatch as PEM")
				}
				if cfg.GitHub.Token != "" {
					t.Error("a token is set next to the App")
				}
				if !cmp.Equal(cfg.GitHub.Repos, []string{"platform/*", "platform-tools/fork-we-watch"}) || cfg.GitHub.DiscoverEvery.D() != 30*time.Minute {
					t.Errorf("an organisation-wide config: repos %v, discover_every %v", cfg.GitHub.Repos, cfg.GitHub.DiscoverEvery)
				}
				if cfg.GitHub.PreviousWebhookSecret.Value() != "whsec-app-old-0002" {
					t.Error("the previous webhook secret did not reach slipwatch")
				}
				// The chart adds no url to a Sentinel config (slipwatch
				// refuses addrs next to a url in standalone mode).
				if cfg.Redis.Mode != config.RedisSentinel || len(cfg.Redis.Addrs) != 3 || cfg.Redis.MasterName != "mymaster" {
					t.Errorf("redis: mode %q addrs %v master %q", cfg.Redis.Mode, cfg.Redis.Addrs, cfg.Redis.MasterName)
				}
			},
		},
		{
			name:     "jira data center",
			files:    []string{"testdata/jira.yaml"},
			replicas: 2,
			check: func(t *testing.T, m *manifests, cfg *config.Config) {
				if cfg.GitHub != nil {
					t.Error("GitHub is configured although the values name only Jira")
				}
				want := map[string]string{
					"jira.auth.pat":      "jira-pat-from-values-0003",
					"jira.webhook_token": "jira-webhook-token-0003",
				}
				if diff := cmp.Diff(want, secretsOf(cfg)); diff != "" {
					t.Errorf("credentials slipwatch gets (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:  "full",
			files: []string{"testdata/full.yaml"},
			existing: map[string]string{
				"github-app-private-key":    "-----BEGIN RSA PRIVATE KEY-----\nFULLKEY\n-----END RSA PRIVATE KEY-----\n",
				"github-webhook-secret":     "whsec-full-github-0006",
				"jira-oauth2-client-secret": "oauth-client-secret-0006",
				"jira-oauth2-refresh-token": "oauth-refresh-token-0006",
				"jira-webhook-secret":       "whsec-full-jira-0006",
				"redis-password":            "redis-pass-full-0006",
			},
			replicas: 3,
			check:    checkFull,
		},
		{
			name:     "dashboard behind the token",
			files:    []string{"testdata/dashboard-token.yaml"},
			replicas: 2,
			check:    checkDashboardToken,
		},
		{
			name:     "quickstart redis",
			files:    []string{"testdata/quickstart-redis.yaml"},
			replicas: 2,
			check:    checkQuickstart,
		},
	}
}

func checkFull(t *testing.T, m *manifests, cfg *config.Config) {
	dep := get[appsv1.Deployment](t, m, "Deployment", fullname)
	ctr := container(t, dep, "slipwatch")
	if want := "registry.acme.example/mirror/slipwatch@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; ctr.Image != want {
		t.Errorf("image %q, want %q", ctr.Image, want)
	}
	if cfg.Server.Listen != ":9090" || ctr.Ports[0].ContainerPort != 9090 {
		t.Errorf("listen %q, container port %d", cfg.Server.Listen, ctr.Ports[0].ContainerPort)
	}
	if g := *dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g != 60 || cfg.Server.ShutdownGrace.D().Seconds() != 40 {
		t.Errorf("terminationGracePeriodSeconds %d, shutdown_grace %s", g, cfg.Server.ShutdownGrace)
	}
	if cfg.Jira.Auth.OAuth2 == nil || cfg.Jira.Auth.OAuth2.ClientSecret.Value() != "oauth-client-secret-0006" ||
		cfg.Jira.Auth.OAuth2.RefreshToken.Value() != "oauth-refresh-token-0006" || cfg.Jira.Auth.OAuth2.ClientID != "client-id-4242" {
		t.Errorf("jira oauth2 did not come together from the ConfigMap and the Secret")
	}
	if cfg.GitHub.App == nil || cfg.GitHub.App.InstallationID != 12345678901 {
		t.Errorf("github.app: %+v; large numbers must survive the render", cfg.GitHub.App)
	}
	if cfg.Poll.Interval.D() != 10*time.Minute || cfg.Poll.MaxInterval.D() != 2*time.Hour {
		t.Errorf("poll %s / %s, want the values' 10m and 2h", cfg.Poll.Interval, cfg.Poll.MaxInterval)
	}
	if cfg.Slip.Settle.D() != 30*time.Minute {
		t.Errorf("slip.settle %s, want the 30m of the values", cfg.Slip.Settle)
	}
	if len(cfg.Links) != 1 || cfg.Forecast.Trials != 20000 || cfg.StatusUpdate.Every != 0 || cfg.Baseline != config.BaselineDeclaredOnly {
		t.Errorf("config did not survive rendering: links %v trials %d every %s baseline %s", cfg.Links, cfg.Forecast.Trials, cfg.StatusUpdate.Every, cfg.Baseline)
	}
	if cfg.TrackRecord.Thread != "acme/web#1" || cfg.Digest.Every.D() != 14*24*time.Hour {
		t.Errorf("track_record.thread %q, digest.every %s; want the values' acme/web#1 and 2w", cfg.TrackRecord.Thread, cfg.Digest.Every)
	}
	if dep.Spec.Template.Labels["team"] != "platform" || dep.Spec.Template.Labels["tier"] != "backend" || dep.Spec.Template.Annotations["example.com/owner"] != "platform" {
		t.Errorf("commonLabels, podLabels or podAnnotations missing on the pod: %v %v", dep.Spec.Template.Labels, dep.Spec.Template.Annotations)
	}

	// The Ingress exposes the two webhooks and nothing else.
	ing := get[networkingv1.Ingress](t, m, "Ingress", fullname)
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.TLS) != 1 {
		t.Errorf("ingress class or TLS missing: %+v", ing.Spec)
	}
	var paths []string
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			paths = append(paths, r.Host+p.Path)
			if p.PathType == nil || *p.PathType != networkingv1.PathTypeExact {
				t.Errorf("path %s is not Exact: a prefix would expose more than the webhook", p.Path)
			}
			if p.Backend.Service == nil || p.Backend.Service.Name != fullname || p.Backend.Service.Port.Name != "http" {
				t.Errorf("path %s goes to %+v", p.Path, p.Backend)
			}
		}
	}
	if diff := cmp.Diff([]string{"slipwatch.acme.example/webhooks/github", "slipwatch.acme.example/webhooks/jira"}, paths); diff != "" {
		t.Errorf("ingress paths (-want +got):\n%s", diff)
	}

	// The pages' own Ingress: its auth annotations, the pages and the read
	// API, never the webhooks, /metrics or the probes.
	dash := get[networkingv1.Ingress](t, m, "Ingress", fullname+"-dashboard")
	if dash.Annotations["nginx.ingress.kubernetes.io/auth-url"] == "" || ing.Annotations["nginx.ingress.kubernetes.io/auth-url"] != "" {
		t.Errorf("auth annotations: pages %v, webhooks %v", dash.Annotations, ing.Annotations)
	}
	if diff := cmp.Diff([]string{"promises.acme.example/ Exact", "promises.acme.example/track-record Exact", "promises.acme.example/commitments/ Prefix",
		"promises.acme.example/static/ Prefix", "promises.acme.example/api/v1/ Prefix"}, dashboardPaths(dash)); diff != "" {
		t.Errorf("dashboard ingress paths (-want +got):\n%s", diff)
	}
	if dash.Spec.IngressClassName == nil || *dash.Spec.IngressClassName != "nginx" {
		t.Errorf("the dashboard Ingress does not default to ingress.className")
	}

	sm := get[serviceMonitor](t, m, "ServiceMonitor", fullname)
	if sm.Metadata.Labels["release"] != "kube-prometheus-stack" || len(sm.Spec.Endpoints) != 1 ||
		sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "15s" {
		t.Errorf("ServiceMonitor: %+v labels %v", sm.Spec, sm.Metadata.Labels)
	}
	if diff := cmp.Diff(get[appsv1.Deployment](t, m, "Deployment", fullname).Spec.Selector.MatchLabels, sm.Spec.Selector.MatchLabels); diff != "" {
		t.Errorf("ServiceMonitor selects other than the Service's pods (-deployment +monitor):\n%s", diff)
	}

	pdb := get[policyv1.PodDisruptionBudget](t, m, "PodDisruptionBudget", fullname)
	if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(2) || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB: minAvailable %v maxUnavailable %v", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}

	np := get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", fullname)
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.String() != "http" || len(np.Spec.Ingress[0].From) != 2 {
		t.Errorf("ingress rules: %+v", np.Spec.Ingress)
	}
	if diff := cmp.Diff([]string{"53/UDP", "53/TCP", "6380/TCP", "443/TCP", "3128/TCP"}, egressPorts(np)); diff != "" {
		t.Errorf("egress ports (-want +got):\n%s", diff)
	}
	if len(np.Spec.Egress[1].To) != 1 || np.Spec.Egress[1].To[0].NamespaceSelector == nil {
		t.Errorf("Redis egress is not limited to redisTo: %+v", np.Spec.Egress[1].To)
	}
}

func checkQuickstart(t *testing.T, m *manifests, cfg *config.Config) {
	name := fullname + "-redis"
	if want := "redis://" + name + ":6379/0"; cfg.Redis.URL != want {
		t.Errorf("redis.url %q, want %q", cfg.Redis.URL, want)
	}
	svc := get[corev1.Service](t, m, "Service", name)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 6379 {
		t.Errorf("quick-start Redis Service ports: %+v", svc.Spec.Ports)
	}
	redis := get[appsv1.Deployment](t, m, "Deployment", name)
	if !selects(svc.Spec.Selector, redis.Spec.Template.Labels) || selects(svc.Spec.Selector, get[appsv1.Deployment](t, m, "Deployment", fullname).Spec.Template.Labels) {
		t.Error("the Redis Service does not select exactly the Redis pod")
	}
	// Only slipwatch may reach the password-less Redis.
	np := get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", name)
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].PodSelector == nil ||
		!selects(np.Spec.Ingress[0].From[0].PodSelector.MatchLabels, get[appsv1.Deployment](t, m, "Deployment", fullname).Spec.Template.Labels) {
		t.Errorf("Redis NetworkPolicy ingress: %+v", np.Spec.Ingress)
	}
	// And slipwatch's own policy lets it reach that Redis.
	own := get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", fullname)
	if len(own.Spec.Egress) < 2 || len(own.Spec.Egress[1].To) != 1 || !selects(own.Spec.Egress[1].To[0].PodSelector.MatchLabels, redis.Spec.Template.Labels) {
		t.Errorf("slipwatch's egress to the quick-start Redis: %+v", own.Spec.Egress)
	}
}

// secretsOf lists the credentials cfg holds, by key path.
func secretsOf(cfg *config.Config) map[string]string {
	out := map[string]string{}
	add := func(path string, s config.Secret) {
		if s != "" {
			out[path] = s.Value()
		}
	}
	add("redis.password", cfg.Redis.Password)
	add("markers.key", cfg.Markers.Key)
	for i, k := range cfg.Markers.PreviousKeys {
		add(fmt.Sprintf("markers.previous_keys[%d]", i), k)
	}
	if g := cfg.GitHub; g != nil {
		add("github.token", g.Token)
		add("github.webhook_secret", g.WebhookSecret)
		add("github.previous_webhook_secret", g.PreviousWebhookSecret)
		if g.App != nil {
			add("github.app.private_key", g.App.PrivateKey)
		}
	}
	if j := cfg.Jira; j != nil {
		add("jira.auth.api_token", j.Auth.APIToken)
		add("jira.auth.pat", j.Auth.PAT)
		add("jira.webhook_secret", j.WebhookSecret)
		add("jira.previous_webhook_secret", j.PreviousWebhookSecret)
		add("jira.webhook_token", j.WebhookToken)
		if o := j.Auth.OAuth2; o != nil {
			add("jira.auth.oauth2.client_secret", o.ClientSecret)
			add("jira.auth.oauth2.refresh_token", o.RefreshToken)
		}
	}
	return out
}

func secretKeys(s *corev1.Secret) []string {
	var keys []string
	for k := range s.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// secretRefs maps each SLIPWATCH_* variable of the slipwatch container to
// the Secret key it comes from.
func secretRefs(t *testing.T, m *manifests) map[string]*corev1.SecretKeySelector {
	t.Helper()
	out := map[string]*corev1.SecretKeySelector{}
	for _, e := range container(t, get[appsv1.Deployment](t, m, "Deployment", fullname), "slipwatch").Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			out[e.Name] = e.ValueFrom.SecretKeyRef
		}
	}
	return out
}

func container(t *testing.T, d *appsv1.Deployment, name string) *corev1.Container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container %q", d.Name, name)
	return nil
}

func egressPorts(np *networkingv1.NetworkPolicy) []string {
	var out []string
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			proto := "TCP"
			if p.Protocol != nil {
				proto = string(*p.Protocol)
			}
			out = append(out, p.Port.String()+"/"+proto)
		}
	}
	return out
}

// selects reports whether a selector's labels all hold on labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// valuesSecrets are the credentials a values file gives the chart.
func valuesSecrets(t *testing.T, files []string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Secrets map[string]string `yaml:"secrets"`
		}
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, s := range v.Secrets {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// dashboardPaths are an Ingress's "host/path type" rules, each checked to
// go to slipwatch's Service.
func dashboardPaths(ing *networkingv1.Ingress) []string {
	var out []string
	for _, r := range ing.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			s := r.Host + p.Path
			if p.PathType != nil {
				s += " " + string(*p.PathType)
			}
			if p.Backend.Service == nil || p.Backend.Service.Name != fullname || p.Backend.Service.Port.Name != "http" {
				s += " (to another backend)"
			}
			out = append(out, s)
		}
	}
	return out
}

// checkDashboardToken: exposing the pages with auth: token makes the
// token a credential the pod needs, and slipwatch gets it.
func checkDashboardToken(t *testing.T, m *manifests, cfg *config.Config) {
	if cfg.Server.APIToken.Value() != "dashboard-api-token-0007-abcdef" {
		t.Errorf("server.api_token did not reach slipwatch")
	}
	keys := secretKeys(get[corev1.Secret](t, m, "Secret", fullname))
	if diff := cmp.Diff([]string{"api-token", "github-token"}, keys); diff != "" {
		t.Errorf("Secret keys (-want +got):\n%s", diff)
	}
	if m.has("Ingress", fullname) {
		t.Error("the webhook Ingress is on although only the dashboard's was asked for")
	}
	dash := get[networkingv1.Ingress](t, m, "Ingress", fullname+"-dashboard")
	if got := dashboardPaths(dash); len(got) != 5 || got[0] != "slipwatch.acme.example/ Exact" {
		t.Errorf("dashboard paths: %v", got)
	}
}
