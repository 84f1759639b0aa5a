package charts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/slipwatch/slipwatch/config"
)

// TestReadmeOrganisationExample: the chart README's organisation-wide
// values render, and give slipwatch a config watching every Jira project
// the account can browse.
func TestReadmeOrganisationExample(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "### A whole organisation\n")
	_, after, ok2 := strings.Cut(after, "```yaml\n")
	example, _, ok3 := strings.Cut(after, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no organisation example")
	}
	f := filepath.Join(t.TempDir(), "org-values.yaml")
	if err := os.WriteFile(f, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	c := chartCase{name: "organisation", files: []string{f}, existing: map[string]string{"jira-api-token": "jira-org-token"}}
	m := render(t, c.files)
	cfg, err := config.Parse([]byte(get[corev1.ConfigMap](t, m, "ConfigMap", fullname).Data["config.yaml"]), podEnv(t, m, c))
	if err != nil {
		t.Fatalf("the README's organisation example does not give a valid config: %v", err)
	}
	if !cfg.Jira.AllProjects() || cfg.Jira.Auth.APIToken.Value() != "jira-org-token" {
		t.Errorf("config from the organisation example: projects %v, token reached: %v", cfg.Jira.Projects, cfg.Jira.Auth.APIToken.Value() != "")
	}
}
