package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/slipwatch/slipwatch/config"
)

// TestReadmeOrganisationExamples: the chart README's organisation-wide
// values render, and give slipwatch a config watching every repository of
// the GitHub organisation (owner/*) or every Jira project the account can
// browse, with the credentials reaching the pod from the Secret.
func TestReadmeOrganisationExamples(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### A whole organisation\n")
	section, _, _ = strings.Cut(section, "\n## ")
	if !ok {
		t.Fatal("README.md has no organisation section")
	}
	existing := map[string]string{
		"jira-api-token":         "jira-org-token",
		"github-app-private-key": "-----BEGIN RSA PRIVATE KEY-----\nFULLKEY\n-----END RSA PRIVATE KEY-----\n",
		"github-webhook-secret":  "org-webhook-secret",
	}
	var github, jira int
	for i := 0; ; i++ {
		_, after, ok := strings.Cut(section, "```yaml\n")
		if !ok {
			break
		}
		example, rest, _ := strings.Cut(after, "```")
		section = rest
		f := filepath.Join(t.TempDir(), "org-values.yaml")
		if err := os.WriteFile(f, []byte(example), 0o644); err != nil {
			t.Fatal(err)
		}
		c := chartCase{name: "organisation", files: []string{f}, existing: existing}
		m := render(t, c.files)
		cfg, err := config.Parse([]byte(get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]), podEnv(t, m, c))
		if err != nil {
			t.Fatalf("the README's organisation example %d does not give a valid config: %v", i+1, err)
		}
		if cfg.GitHub != nil {
			github++
			if !cfg.GitHub.Watches("acme/any-new-repo") || cfg.GitHub.App == nil || cfg.GitHub.App.PrivateKey.Value() == "" {
				t.Errorf("GitHub example: repos %v, App key reached: %v", cfg.GitHub.Repos, cfg.GitHub.App != nil && cfg.GitHub.App.PrivateKey.Value() != "")
			}
		}
		if cfg.Jira != nil {
			jira++
			if !cfg.Jira.AllProjects() || cfg.Jira.Auth.APIToken.Value() != "jira-org-token" {
				t.Errorf("Jira example: projects %v, token reached: %v", cfg.Jira.Projects, cfg.Jira.Auth.APIToken.Value() != "")
			}
		}
	}
	if github != 1 || jira != 1 {
		t.Errorf("the organisation section has %d GitHub and %d Jira examples, want one of each", github, jira)
	}
}
