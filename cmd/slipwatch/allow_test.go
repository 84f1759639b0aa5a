package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// TestAllowNamesTheTracker: commands.allow: ["jira:jsmith"] lets the Jira
// Data Center user jsmith record a promise, and not the GitHub user who
// holds the login jsmith (on a public repository, anyone). With one flat
// list, "jsmith" allowed both. On Jira, a Committed: line written by a
// user not in the list is not taken, and the status comment says so.
// Through the binary, as deployed: the config's form reaches each
// connector.
func TestAllowNamesTheTracker(t *testing.T) {
	t.Parallel()
	gh, cfg := sandbox(t)
	gh.SetPermission("acme/api", "jsmith", "read")
	jira := apispec.JiraSandbox(t, jiratest.Options{Cloud: false, Index: true, Fail: t.Errorf})
	jira.RequireAuth("Bearer jira_dc_pat")
	now := time.Now().UTC()
	day := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
	stamp := func(days int) string { return now.AddDate(0, 0, days).Format("2006-01-02T15:04:05.000-0700") }
	project := map[string]any{"id": "10000", "key": "PLAT"}
	jsmith := map[string]any{"name": "jsmith", "key": "JIRAUSER10400", "emailAddress": "j.smith@example.com", "displayName": "J. Smith"}
	eve := map[string]any{"name": "eve", "key": "JIRAUSER10500", "emailAddress": "eve@example.com", "displayName": "Eve"}
	jira.AddIssue("PLAT-1", map[string]any{"project": project, "summary": "Checkout v2", "issuetype": map[string]any{"name": "Epic"},
		"duedate": day(40), "created": stamp(-30), "updated": stamp(-30), "creator": jsmith, "description": "Checkout rewrite.",
		"status": map[string]any{"name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}}})
	for i := range 3 {
		jira.AddIssue(fmt.Sprint("PLAT-", 10+i), map[string]any{"project": project, "summary": fmt.Sprint("task ", i),
			"issuetype": map[string]any{"name": "Task"}, "parent": map[string]any{"key": "PLAT-1"}, "created": stamp(-20),
			"status": map[string]any{"name": "To Do", "statusCategory": map[string]any{"key": "new"}}})
	}
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, `commands: { allow: ["jira:jsmith"] }
jira:
  base_url: %s
  auth: { pat: ${JIRA_PAT} }
  projects: [PLAT]
  deliverables: { versions: false }
`, jira.URL)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t, "")
	env := []string{"GITHUB_TOKEN=ghp_check_token", "JIRA_PAT=jira_dc_pat"}
	apply := func() {
		t.Helper()
		if out, stderr, code := runBinary(t, bin, env, "check", "--config", cfg, "--apply"); code != 0 {
			t.Fatalf("check --apply: exit %d\n%s\n%s", code, out, stderr)
		}
	}
	apply() // tracking issue, status comments, baselines

	tracking := 0
	for _, is := range gh.Issues("acme/api") {
		if len(is.Labels) > 0 && is.Labels[0] == "slipwatch" {
			tracking = is.Number
		}
	}
	if tracking == 0 {
		t.Fatal("no tracking issue")
	}
	gh.AddComment("acme/api", tracking, "jsmith", "/commit "+day(50)+" from GitHub")
	jira.AddComment("PLAT-1", jsmith, "/commit "+day(45)+" agreed with the board", stamp(0))
	// eve, not listed, writes a Committed: line into the epic.
	jira.EditDescription("PLAT-1", eve, "Checkout rewrite.\nCommitted: "+day(60), stamp(0))
	apply()

	var ghReplies []string
	for _, c := range gh.Comments("acme/api", tracking) {
		if c.User == gh.Self {
			ghReplies = append(ghReplies, c.Body)
		}
	}
	if got := strings.Join(ghReplies, "\n---\n"); !strings.Contains(got, "jsmith may not record a commitment here") || strings.Contains(got, "Recommitted") {
		t.Errorf("GitHub: the login jsmith was not refused, though only jira:jsmith is allowed:\n%s", got)
	}
	var jiraSaid []string
	for _, c := range jira.Comments("PLAT-1") {
		jiraSaid = append(jiraSaid, strings.ReplaceAll(c.Body, `\`, ""))
	}
	said := strings.Join(jiraSaid, "\n---\n")
	if !strings.Contains(said, "Recommitted from "+day(40)+" to "+day(45)+" by jsmith") {
		t.Errorf("Jira: jsmith's /commit was not recorded:\n%s", said)
	}
	if !strings.Contains(said, "The description's Committed: "+day(60)+" was written by eve, who may not record a commitment; not taken.") {
		t.Errorf("Jira: the status comment does not say why eve's line was not taken:\n%s", said)
	}
}
