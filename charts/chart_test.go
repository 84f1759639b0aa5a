package charts

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slipwatch/slipwatch/config"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestLintStrict(t *testing.T) {
	for _, c := range chartCases() {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir, "--namespace", namespace}, valuesArgs(c.files, nil)...)
			if _, err := runHelm(t, args...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBadValuesAreRefused: a typo, a credential in the wrong place or a
// setting that would break the rollout fails `helm install` (which renders
// like `helm template`) with a message naming the value. Schema violations
// also fail `helm lint --strict`; lint only logs a template's own `fail`,
// by design, so that charts with required values lint.
func TestBadValuesAreRefused(t *testing.T) {
	tests := []struct {
		file   string
		schema bool
		want   string
	}{
		{"typo-top-level.yaml", true, "Additional property replicas is not allowed"},
		{"typo-config-key.yaml", true, "config.github: Additional property repo is not allowed"},
		{"secret-in-config.yaml", true, "config.github: Additional property token is not allowed"},
		{"server-in-config.yaml", true, "config: Additional property server is not allowed"},
		{"markers-key-in-config.yaml", true, "config: Additional property markers is not allowed"},
		{"short-markers-key.yaml", true, "secrets.markersKey"},
		{"wrong-type.yaml", true, "replicaCount: Invalid type. Expected: integer, given: string"},
		{"bad-enum.yaml", true, `config.baseline must be one of the following: "first_seen", "declared_only"`},
		{"bad-duration.yaml", true, "config.poll.interval: Does not match pattern"},
		{"negative-settle.yaml", true, "config.slip.settle: Does not match pattern"},
		{"bad-risk-below.yaml", true, "config.forecast.risk_below: Must be less than 1"},
		{"unscoped-allow.yaml", true, "config.commands.allow.0: Does not match pattern '^(github|jira):.+'"},
		{"slipwatch-extra-env.yaml", true, "extraEnv.0.name: Must not validate the schema"},
		{"missing-token.yaml", false, "secrets.githubToken is required by the config (it becomes SLIPWATCH_GITHUB_TOKEN)"},
		{"password-in-redis-url.yaml", false, "config.redis.url holds a password"},
		{"unused-secret.yaml", false, "secrets.jiraApiToken is set but the config does not use it"},
		{"secrets-with-existing-secret.yaml", false, `secrets.githubToken is set while existingSecret is "mine"`},
		{"short-termination-grace.yaml", false, "terminationGracePeriodSeconds (30) must be above shutdownGraceSeconds (30)"},
		{"quickstart-and-url.yaml", false, "quickstartRedis.enabled and config.redis.url (or addrs) both say where Redis is"},
		{"ingress-without-hosts.yaml", false, "ingress.enabled needs ingress.hosts"},
		{"dashboard-without-auth.yaml", false, "ingress.dashboard.auth must say what keeps strangers out of the pages and /api/v1"},
		{"dashboard-token-unset.yaml", false, "secrets.apiToken is required by the config (it becomes SLIPWATCH_SERVER_API_TOKEN)"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := "testdata/bad/" + tt.file
			_, err := runHelm(t, "template", releaseName, chartDir, "--namespace", namespace, "-f", f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("helm template -f %s: want an error with %q, got: %v", f, tt.want, err)
			}
			if !tt.schema {
				return
			}
			_, err = runHelm(t, "lint", "--strict", chartDir, "--namespace", namespace, "-f", f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("helm lint --strict -f %s: want an error with %q, got: %v", f, tt.want, err)
			}
		})
	}
}

// TestPlatformRules checks, for every way of installing, what a platform
// team reviews before letting a chart into a cluster.
func TestPlatformRules(t *testing.T) {
	for _, c := range chartCases() {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.files)
			for _, o := range m.objects {
				checkMetadata(t, o)
			}
			for _, d := range ofKind[appsv1.Deployment](m, "Deployment") {
				checkHardenedPod(t, d)
			}
			dep := get[appsv1.Deployment](t, m, "Deployment", fullname)
			checkSlipwatchPod(t, m, dep, c)
			checkService(t, m, dep)
			if pdb := ofKind[policyv1.PodDisruptionBudget](m, "PodDisruptionBudget"); len(pdb) == 1 {
				if !selects(pdb[0].Spec.Selector.MatchLabels, dep.Spec.Template.Labels) {
					t.Error("the PodDisruptionBudget does not select slipwatch's pods")
				}
			} else {
				t.Errorf("%d PodDisruptionBudgets, want 1", len(pdb))
			}
		})
	}
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkMetadata(t *testing.T, o object) {
	t.Helper()
	id := o.kind + "/" + o.name
	for _, msg := range validation.IsDNS1123Subdomain(o.name) {
		t.Errorf("%s: name: %s", id, msg)
	}
	if o.meta.Namespace != namespace {
		t.Errorf("%s: namespace %q, want the release's %q", id, o.meta.Namespace, namespace)
	}
	for k, v := range o.meta.Labels {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label %q: %s", id, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s=%q: %s", id, k, v, msg)
		}
	}
	want := map[string]string{
		"app.kubernetes.io/name":       "slipwatch",
		"app.kubernetes.io/instance":   releaseName,
		"app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/part-of":    "slipwatch",
	}
	for k, v := range want {
		if o.meta.Labels[k] != v {
			t.Errorf("%s: label %s=%q, want %q", id, k, o.meta.Labels[k], v)
		}
	}
	for _, k := range []string{"app.kubernetes.io/version", "app.kubernetes.io/component", "helm.sh/chart"} {
		if o.meta.Labels[k] == "" {
			t.Errorf("%s: no label %s", id, k)
		}
	}
}

// checkHardenedPod holds for every pod the chart runs, the quick-start
// Redis included: non-root, no privilege, read-only root, seccomp, no API
// token, no service links, resources and probes.
func checkHardenedPod(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	id := "Deployment/" + d.Name
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken is not false", id)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("%s: enableServiceLinks is not false", id)
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: shares a host namespace", id)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod runAsNonRoot is not true", id)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccompProfile is not RuntimeDefault", id)
	}
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		t.Errorf("%s: runs as UID 0", id)
	}
	if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("%s: selector %v does not select its own pods %v", id, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		cid := id + " container " + c.Name
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", cid)
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", cid)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", cid)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem is not true", cid)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities are not drop ALL, add none: %+v", cid, sc.Capabilities)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s: runs as UID 0", cid)
		}
		if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
			t.Errorf("%s: no CPU request", cid)
		}
		if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
			t.Errorf("%s: no memory request", cid)
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			t.Errorf("%s: no memory limit", cid)
		}
		if c.LivenessProbe == nil || c.ReadinessProbe == nil {
			t.Errorf("%s: liveness or readiness probe missing", cid)
		}
		if name, ref, _ := strings.Cut(c.Image, "@"); ref == "" && (!strings.Contains(name[strings.LastIndex(name, "/")+1:], ":") || strings.HasSuffix(name, ":latest")) {
			t.Errorf("%s: image %q is not pinned by tag or digest", cid, c.Image)
		}
	}
}

// checkSlipwatchPod: the probes, the drain, the config mount, the
// environment and the checksums of slipwatch's own pod.
func checkSlipwatchPod(t *testing.T, m *manifests, dep *appsv1.Deployment, c chartCase) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	ctr := container(t, dep, "slipwatch")
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != c.replicas {
		t.Errorf("replicas %v, want %d", dep.Spec.Replicas, c.replicas)
	}

	// Probes: liveness on /healthz, readiness on /readyz, both on the port
	// slipwatch listens on.
	cm := get[corev1.ConfigMap](t, m, "ConfigMap", fullname)
	var file struct {
		Server struct {
			Listen        string `yaml:"listen"`
			ShutdownGrace string `yaml:"shutdown_grace"`
		} `yaml:"server"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &file); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	var http *corev1.ContainerPort
	for i := range ctr.Ports {
		if ctr.Ports[i].Name == "http" {
			http = &ctr.Ports[i]
		}
	}
	if http == nil {
		t.Fatal("no container port named http")
	}
	if want := ":" + strconv.Itoa(int(http.ContainerPort)); file.Server.Listen != want {
		t.Errorf("server.listen %q, but the http port is %d", file.Server.Listen, http.ContainerPort)
	}
	for _, p := range []struct {
		kind  string
		probe *corev1.Probe
		path  string
	}{{"liveness", ctr.LivenessProbe, "/healthz"}, {"readiness", ctr.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe is not an HTTP GET", p.kind)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe GET %s on port %s, want %s on http", p.kind, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}

	// The kubelet must not kill the drain.
	grace, err := config.ParseDuration(file.Server.ShutdownGrace)
	if err != nil {
		t.Fatalf("server.shutdown_grace: %v", err)
	}
	if pod.TerminationGracePeriodSeconds == nil || float64(*pod.TerminationGracePeriodSeconds) <= grace.D().Seconds() {
		t.Errorf("terminationGracePeriodSeconds %v is not above shutdown_grace %s", pod.TerminationGracePeriodSeconds, grace)
	}

	if diff := strings.Join(ctr.Args, " "); diff != "run --config /etc/slipwatch/config.yaml" {
		t.Errorf("args %q", diff)
	}
	mounted := false
	for _, vm := range ctr.VolumeMounts {
		if vm.MountPath != "/etc/slipwatch" {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Error("the ConfigMap is not mounted at /etc/slipwatch")
	}

	// Environment: SLIPWATCH_* names slipwatch knows (it refuses others),
	// and only ever from a Secret.
	known := map[string]bool{}
	for _, v := range config.EnvVars() {
		known[v.Name] = true
	}
	for _, e := range ctr.Env {
		if !strings.HasPrefix(e.Name, config.EnvPrefix) {
			continue
		}
		if !known[e.Name] {
			t.Errorf("env %s is not a slipwatch setting: slipwatch would refuse to start", e.Name)
		}
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("env %s is not from a Secret", e.Name)
		}
	}

	// Checksums roll the pods when what they read at start changes.
	ann := dep.Spec.Template.Annotations
	if !hexSHA256.MatchString(ann["checksum/config"]) {
		t.Errorf("checksum/config = %q", ann["checksum/config"])
	}
	if _, ok := ann["checksum/secret"]; ok == (c.existing != nil) {
		t.Errorf("checksum/secret = %q with existingSecret %v: it belongs exactly to the chart's own Secret", ann["checksum/secret"], c.existing != nil)
	}

	sa := pod.ServiceAccountName
	if !m.has("ServiceAccount", sa) {
		t.Errorf("serviceAccountName %q is not rendered", sa)
	} else if s := get[corev1.ServiceAccount](t, m, "ServiceAccount", sa); s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
		t.Error("the ServiceAccount mounts API tokens by default")
	}
}

func checkService(t *testing.T, m *manifests, dep *appsv1.Deployment) {
	t.Helper()
	svc := get[corev1.Service](t, m, "Service", fullname)
	if !selects(svc.Spec.Selector, dep.Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select slipwatch's pods", svc.Spec.Selector)
	}
	for _, d := range ofKind[appsv1.Deployment](m, "Deployment") {
		if d.Name != dep.Name && selects(svc.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("Service %s also selects the pods of %s", svc.Name, d.Name)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v", svc.Spec.Ports)
	}
}

// TestChecksumsFollowContent: a config change rolls the pods through
// checksum/config, a credential change through checksum/secret, and
// neither moves for the other.
func TestChecksumsFollowContent(t *testing.T) {
	base := []string{"testdata/github-token.yaml"}
	sums := func(sets ...string) (string, string) {
		ann := get[appsv1.Deployment](t, render(t, base, sets...), "Deployment", fullname).Spec.Template.Annotations
		return ann["checksum/config"], ann["checksum/secret"]
	}
	cfg0, sec0 := sums()
	tests := []struct {
		name                  string
		set                   string
		configMoves, secMoves bool
	}{
		{"same values", "replicaCount=2", false, false},
		{"config change", "config.poll.interval=10m", true, false},
		{"credential change", "secrets.githubToken=ghp_rotated", false, true},
		{"scale only", "replicaCount=5", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, sec := sums(tt.set)
			if (cfg != cfg0) != tt.configMoves {
				t.Errorf("--set %s: checksum/config moved: %v, want %v", tt.set, cfg != cfg0, tt.configMoves)
			}
			if (sec != sec0) != tt.secMoves {
				t.Errorf("--set %s: checksum/secret moved: %v, want %v", tt.set, sec != sec0, tt.secMoves)
			}
		})
	}
}

// TestNotes: what `helm install` prints tells how to wire the webhooks to
// the actual URL and warns about what would stop slipwatch.
func TestNotes(t *testing.T) {
	tests := []struct {
		name   string
		files  []string
		want   []string
		absent []string
	}{
		{"defaults", nil, []string{
			"WARNING: config has neither github nor jira",
			"WARNING: config.redis.url is empty",
			"kubectl -n " + namespace + " rollout status deployment/" + fullname,
			"http://localhost:8080/ through the port-forward above (inside the cluster only;",
		}, []string{"/webhooks/github", "Bearer"}},
		{"full", []string{"testdata/full.yaml"}, []string{
			"https://slipwatch.acme.example/webhooks/github",
			"https://slipwatch.acme.example/webhooks/jira",
			// every Jira event connectors/jira acts on
			"Issue created/updated/deleted, Comment created/updated/deleted",
			"Version created/updated/released/unreleased/deleted/moved/merged",
			"key github-webhook-secret in Secret slipwatch-credentials",
			"a ServiceMonitor is installed",
			"https://promises.acme.example/ (through your auth proxy)",
		}, []string{"WARNING"}},
		{"jira data center", []string{"testdata/jira.yaml"}, []string{
			"/webhooks/jira?token=",
			"Expose it first",
		}, []string{"/webhooks/github"}},
		{"quickstart", []string{"testdata/quickstart-redis.yaml"}, []string{
			"NOTE: Redis is the quick-start one",
		}, []string{"WARNING"}},
		{"no webhook secret", []string{"testdata/bad/missing-token.yaml"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no webhook secret" {
				notes := renderNotes(t, tt.files, "secrets.githubToken=ghp_x")
				if !strings.Contains(notes, "WARNING: secrets.githubWebhookSecret is empty") {
					t.Errorf("no warning about the missing webhook secret:\n%s", notes)
				}
				return
			}
			notes := renderNotes(t, tt.files)
			for _, w := range tt.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(notes, a) {
					t.Errorf("NOTES have %q:\n%s", a, notes)
				}
			}
		})
	}
}

// TestImageTagDefaultsToAppVersion: a chart release deploys the binary it
// was cut with.
func TestImageTagDefaultsToAppVersion(t *testing.T) {
	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	b, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &chart); err != nil || chart.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion: %q, %v", chart.AppVersion, err)
	}
	for _, tt := range []struct {
		set, want string
	}{
		{"", "ghcr.io/slipwatch/slipwatch:" + chart.AppVersion},
		{"image.tag=v9.9.9", "ghcr.io/slipwatch/slipwatch:v9.9.9"},
	} {
		var sets []string
		if tt.set != "" {
			sets = append(sets, tt.set)
		}
		dep := get[appsv1.Deployment](t, render(t, nil, sets...), "Deployment", fullname)
		if got := container(t, dep, "slipwatch").Image; got != tt.want {
			t.Errorf("--set %q: image %q, want %q", tt.set, got, tt.want)
		}
		if got := dep.Labels["app.kubernetes.io/version"]; fmt.Sprintf("ghcr.io/slipwatch/slipwatch:%s", got) != tt.want {
			t.Errorf("--set %q: version label %q", tt.set, got)
		}
	}
}

// TestValuesDocumented: every value in values.yaml carries a `# --`
// comment, on itself or on the object it belongs to, so `helm show values`
// explains what it sets.
func TestValuesDocumented(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := strings.TrimPrefix(path+"."+k.Value, ".")
			switch {
			case strings.Contains(k.HeadComment, "# --"):
			case v.Kind == yaml.MappingNode && len(v.Content) > 0:
				walk(v, p)
			default:
				t.Errorf("values.yaml %s has no `# --` comment", p)
			}
		}
	}
	walk(doc.Content[0], "")
}

// TestReadmeListsSecretKeys: the chart README's table names every Secret
// key the chart reads, for whoever fills an existingSecret.
func TestReadmeListsSecretKeys(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chartCases() {
		for env, ref := range secretRefs(t, render(t, c.files)) {
			if row := "| `" + ref.Key + "` | `" + env + "` |"; !strings.Contains(string(b), row) {
				t.Errorf("README.md has no row %s", row)
			}
		}
	}
}
