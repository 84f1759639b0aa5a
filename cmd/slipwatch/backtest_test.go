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

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// pastDay is noon UTC n days from today (n < 0: in the past).
func pastDay(n int) time.Time {
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, n).Add(12 * time.Hour)
}

// steadyTeam is a team's last 150 days: two items completed every working
// day, and two deliverables of 20 items each worked through at that pace,
// delivered 100 and 50 days ago; items is called once per item, done ones
// with their close time, and deliverable once per deliverable first.
func steadyTeam(deliverable func(k int, due, closed time.Time), item func(k int, created, closed time.Time)) {
	for k, start := range []int{-130, -80} {
		end := start + 27
		deliverable(k, pastDay(end+3), pastDay(end+1))
		n := 0
		for d := start; d <= end && n < 20; d++ {
			if pastDay(d).Weekday() == time.Saturday || pastDay(d).Weekday() == time.Sunday {
				continue
			}
			item(k, pastDay(start-5), pastDay(d).Add(-time.Hour))
			item(k, pastDay(start-5), pastDay(d))
			n += 2
		}
	}
	// The rest of the team's work, on the days no deliverable took it.
	for d := -150; d < 0; d++ {
		if (d >= -130 && d <= -103) || (d >= -80 && d <= -53) {
			continue
		}
		if wd := pastDay(d).Weekday(); wd != time.Saturday && wd != time.Sunday {
			item(-1, pastDay(d-10), pastDay(d))
			item(-1, pastDay(d-10), pastDay(d).Add(time.Hour))
		}
	}
}

// TestBacktest runs `slipwatch backtest` as a user does, against the
// GitHub and Jira sandboxes: each team's delivered deliverables are read
// from the tracker and replayed.
func TestBacktest(t *testing.T) {
	t.Parallel()
	if redisSrv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	gh := apispec.GitHubSandbox(t, nil)
	var ms [2]int
	steadyTeam(func(k int, due, closed time.Time) {
		ms[k] = gh.AddMilestone("acme/api", githubtest.Milestone{Title: fmt.Sprint("v", k+1), DueOn: due, State: "closed", ClosedAt: closed})
	}, func(k int, created, closed time.Time) {
		is := githubtest.Issue{Title: "work", CreatedAt: created, ClosedAt: closed, UpdatedAt: closed}
		if k >= 0 {
			is.Milestone = ms[k]
		}
		gh.AddIssue("acme/api", is)
	})

	jira := apispec.JiraSandbox(t, jiratest.Options{Cloud: true, Index: true, Fail: t.Errorf})
	jira.RequireAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("bot@example.com:jira_backtest_token")))
	project := map[string]any{"id": "10000", "key": "PLAT"}
	var versions [2]string
	n := 0
	steadyTeam(func(k int, due, closed time.Time) {
		// A released version's date is its release day; the promise is
		// the description's.
		versions[k] = jira.AddVersion("PLAT", jiratest.Version{Name: fmt.Sprint("2.", k), Released: true, ProjectID: "10000",
			ReleaseDate: closed.Format(time.DateOnly), Description: "Committed: " + due.Format(time.DateOnly)})
	}, func(k int, created, closed time.Time) {
		n++
		fields := map[string]any{"project": project, "summary": "work", "created": created.Format("2006-01-02T15:04:05.000-0700"),
			"resolutiondate": closed.Format("2006-01-02T15:04:05.000-0700"),
			"status":         map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}}}
		if k >= 0 {
			fields["fixVersions"] = []any{map[string]any{"id": versions[k], "name": fmt.Sprint("2.", k), "released": true}}
		}
		jira.AddIssue(fmt.Sprint("PLAT-", 100+n), fields)
	})

	cfg := fmt.Sprintf(`redis: { url: "redis://%s/0", prefix: "%s" }
github: { base_url: %s, token: ${GITHUB_TOKEN}, repos: [acme/api] }
jira:
  base_url: %s
  auth: { email: bot@example.com, api_token: ${JIRA_API_TOKEN} }
  projects: [PLAT]
  deliverables: { versions: true, jql: "" }
`, redisSrv.Addr, redisSrv.Prefix(t), gh.URL, jira.URL)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t, "")
	env := []string{"GITHUB_TOKEN=ghp_backtest_token", "JIRA_API_TOKEN=jira_backtest_token"}

	stdout, stderr, code := runBinary(t, bin, env, "backtest", "--config", path, "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var got struct {
		Teams []backtestTeam `json:"teams"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(got.Teams) != 2 {
		t.Fatalf("%d teams, want acme/api and PLAT:\n%s", len(got.Teams), stdout)
	}
	for _, team := range got.Teams {
		// Both deliverables were delivered on their promise at the team's
		// steady pace: the forecast made when work began held.
		if team.Deliverables != 2 || team.Promised != 2 || team.P85Judged != 2 || team.P85Held != 2 {
			t.Errorf("%s %s: %d judged, %d promised, P85 held %d of %d; want 2, 2, 2 of 2", team.Tracker, team.Team,
				team.Deliverables, team.Promised, team.P85Held, team.P85Judged)
		}
		if team.New.ChanceN == 0 || *team.New.ChanceMet != 1 || *team.New.ChanceStated <= 0 || *team.New.ChanceStated > 1 {
			t.Errorf("%s: chance stated %v met %v over %d: every promise was met", team.Team, pct(team.New.ChanceStated), pct(team.New.ChanceMet), team.New.ChanceN)
		}
		if team.Old.P85[2] == nil || team.New.P50[2] == nil {
			t.Errorf("%s: the old model's P85 or the new P50 half way is missing: %s", team.Team, stdout)
		}
	}

	text, stderr, code := runBinary(t, bin, env, "backtest", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"TEAM", "github acme/api", "jira PLAT", "For acme/api the 85% date has held for 2 of 2 past deliverables.",
		"For PLAT the 85% date has held for 2 of 2 past deliverables."} {
		if !strings.Contains(text, want) {
			t.Errorf("the table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(stdout+text+stderr, "ghp_backtest_token") || strings.Contains(stdout+text+stderr, "jira_backtest_token") {
		t.Error("a token leaked into the output")
	}
	if _, stderr, code := runBinary(t, bin, env, "backtest", "--config", path, "--days", "0"); code != 2 || !strings.Contains(stderr, "--days 0") {
		t.Errorf("--days 0: exit %d, stderr %q; want 2 and a word about --days", code, stderr)
	}
}
