package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// TestCheckEveryJiraProject: with jira.projects: ["*"] check finds the
// projects the account can browse (none listed in the config), lists
// their deliverables and says what it watched.
func TestCheckEveryJiraProject(t *testing.T) {
	t.Parallel()
	if redisSrv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	jira := jiratest.New(jiratest.Options{Cloud: true, Index: true, Fail: t.Errorf})
	t.Cleanup(jira.Close)
	jira.RequireAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("bot@example.com:jira_org_token")))
	jira.SetPageSize(1) // one project per page: discovery pages
	day := func(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format(time.DateOnly) }
	for _, p := range []string{"PLAT", "OPS", "HR"} {
		jira.AddProject(p, "")
		jira.AddVersion(p, jiratest.Version{Name: p + " 1.0", ReleaseDate: day(30)})
	}
	jira.SetBrowsable("HR", false)
	cfg := fmt.Sprintf(`redis: { url: "redis://%s/0", prefix: "%s" }
log: { format: text }
jira:
  base_url: %s
  deployment: cloud
  auth: { email: bot@example.com, api_token: ${JIRA_API_TOKEN} }
  projects: ["*"]
`, redisSrv.Addr, redisSrv.Prefix(t), jira.URL)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t, "")
	env := []string{"JIRA_API_TOKEN=jira_org_token"}
	stdout, stderr, code := runBinary(t, bin, env, "check", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"PLAT version PLAT 1.0", "OPS version OPS 1.0", "watching jira (2): OPS, PLAT"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "HR") {
		t.Errorf("check watched HR, which the account cannot browse:\n%s", stdout)
	}
	out, stderr, code := runBinary(t, bin, env, "check", "--config", path, "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, stderr)
	}
	var res struct {
		Watching map[string][]string `json:"watching"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if diff := cmp.Diff(map[string][]string{"jira": {"OPS", "PLAT"}}, res.Watching); diff != "" {
		t.Errorf("--json watching (-want +got):\n%s", diff)
	}
	if strings.Contains(stderr, "jira_org_token") {
		t.Error("the Jira token leaked into the log")
	}
}
