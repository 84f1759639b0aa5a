package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// TestCheckEveryJiraProject: with jira.projects: ["*"] check finds the
// projects the account can browse (none listed in the config), lists
// their deliverables and says what it watched.
func TestCheckEveryJiraProject(t *testing.T) {
	t.Parallel()
	if redisSrv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	jira := apispec.JiraSandbox(t, jiratest.Options{Cloud: true, Index: true, Fail: t.Errorf})
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

// TestRunEveryJiraProject: the daemon with jira.projects: ["*"] finds the
// projects the account can browse, says so on /readyz, gives each
// project's version its thread, and takes a project created later at once
// from Jira's project_created webhook.
func TestRunEveryJiraProject(t *testing.T) {
	t.Parallel()
	if redisSrv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	jira := apispec.JiraSandbox(t, jiratest.Options{Cloud: true, Index: true, Fail: t.Errorf})
	day := func(days int) string { return time.Now().UTC().AddDate(0, 0, days).Format(time.DateOnly) }
	for _, p := range []string{"PLAT", "OPS"} {
		jira.AddProject(p, "")
		jira.AddVersion(p, jiratest.Version{Name: p + " 1.0", ReleaseDate: day(30)})
	}
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`redis: { url: "redis://%s/0", prefix: "%s" }
server: { listen: "%s", shutdown_grace: 5s }
poll: { interval: 1h }
log: { format: text }
jira:
  base_url: %s
  deployment: cloud
  auth: { email: bot@example.com, api_token: ${JIRA_API_TOKEN} }
  webhook_secret: ${JIRA_WEBHOOK_SECRET}
  projects: ["*"]
  write_interval: 10ms
`, redisSrv.Addr, redisSrv.Prefix(t), addr, jira.URL)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, addr, "JIRA_API_TOKEN=jira_run_token", "JIRA_WEBHOOK_SECRET=jira_hook_secret")
	threads := func() map[string]bool {
		out := map[string]bool{}
		for _, c := range jira.Created() {
			f, _ := c["fields"].(map[string]any)
			p, _ := f["project"].(map[string]any)
			out[fmt.Sprint(p["key"])] = true
		}
		return out
	}
	// One poll (the interval is an hour): both projects found and worked.
	d.waitUntil("threads in PLAT and OPS", func() bool { th := threads(); return th["PLAT"] && th["OPS"] })
	if body := d.get("/readyz"); !strings.Contains(body, "watching jira (2): OPS, PLAT") {
		t.Errorf("/readyz:\n%s", body)
	}

	id := jira.AddProject("NEW", "")
	jira.AddVersion("NEW", jiratest.Version{Name: "NEW 1.0", ReleaseDate: day(20)})
	body := []byte(fmt.Sprintf(`{"timestamp":%d,"webhookEvent":"project_created","project":{"id":%s,"key":"NEW","name":"New"}}`, time.Now().UnixMilli(), id))
	m := hmac.New(sha256.New, []byte("jira_hook_secret"))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/jira", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("X-Atlassian-Webhook-Identifier", "project-created-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("project_created: %v %v", resp, err)
	}
	resp.Body.Close()
	d.waitUntil("a thread in NEW, an hour before the next poll", func() bool { return threads()["NEW"] })
	if body := d.get("/readyz"); !strings.Contains(body, "watching jira (3): NEW, OPS, PLAT") {
		t.Errorf("/readyz after project_created:\n%s", body)
	}

	d.stop("jira_run_token", "jira_hook_secret")
}

// TestRunAnOrganisation: the daemon with github.repos: [acme/*] finds the
// organisation's repositories (not the archived one), says so on
// /readyz, gives each milestone its thread, and takes a repository
// created later at once from GitHub's repository webhook, an hour before
// its next look-up or poll.
func TestRunAnOrganisation(t *testing.T) {
	t.Parallel()
	gh, cfg := sandbox(t)
	gh.AddOrg("acme")
	due := time.Now().UTC().AddDate(0, 0, 40).Truncate(24 * time.Hour).Add(8 * time.Hour)
	gh.SetRepo(githubtest.Repo{Name: "acme/web"})
	gh.AddMilestone("acme/web", githubtest.Milestone{Title: "w1", DueOn: due})
	gh.SetRepo(githubtest.Repo{Name: "acme/attic", Archived: true})
	gh.AddMilestone("acme/attic", githubtest.Milestone{Title: "a1", DueOn: due})
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(data), "repos: [acme/api]", "repos: [acme/*]\n  write_interval: 10ms", 1) + "poll: { interval: 1h }\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	d := startDaemon(t, cfg, addr, "GITHUB_TOKEN=ghp_org_token", "SLIPWATCH_SERVER_LISTEN="+addr)
	tracked := func(repo string) bool {
		for _, is := range gh.Issues(repo) {
			if strings.HasPrefix(is.Title, "Delivery tracking:") && len(gh.Comments(repo, is.Number)) > 0 {
				return true
			}
		}
		return false
	}
	d.waitUntil("threads in acme/api and acme/web", func() bool { return tracked("acme/api") && tracked("acme/web") })
	if body := d.get("/readyz"); !strings.Contains(body, "watching github (2): acme/api, acme/web") {
		t.Errorf("/readyz:\n%s", body)
	}

	gh.SetRepo(githubtest.Repo{Name: "acme/new"})
	gh.AddMilestone("acme/new", githubtest.Milestone{Title: "n1", DueOn: due})
	body := []byte(`{"action":"created","repository":{"id":990,"name":"new","full_name":"acme/new","owner":{"login":"acme"},"archived":false},"organization":{"login":"acme"},"sender":{"login":"octocat"}}`)
	m := hmac.New(sha256.New, []byte("hooksecret"))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "repository")
	req.Header.Set("X-GitHub-Delivery", "repo-created-1")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("repository created: %v %v", resp, err)
	}
	resp.Body.Close()
	d.waitUntil("a thread in acme/new, an hour before the next look-up", func() bool { return tracked("acme/new") })
	if body := d.get("/readyz"); !strings.Contains(body, "watching github (3): acme/api, acme/new, acme/web") {
		t.Errorf("/readyz after the repository webhook:\n%s", body)
	}
	if tracked("acme/attic") {
		t.Error("the archived repository got a thread")
	}

	d.stop("ghp_org_token", "hooksecret")
}
