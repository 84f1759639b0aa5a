package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// Issue #24, "quiet about the past": the first start against a project
// with months of history says nothing about what was delivered before it
// came, and talks about the open work as always.

// checkJSON runs `slipwatch check --json` against the world (nothing is
// posted without --apply) and returns its commitments by title.
func (w *world) checkJSON() map[string]reconcile.View {
	w.t.Helper()
	cmd := exec.Command(slipwatchBin, "check", "--json", "--config", w.config)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.t.TempDir()}, w.env...)
	out, err := cmd.Output()
	if err != nil {
		w.t.Fatalf("slipwatch check --json: %v\n%s", err, out)
	}
	for _, s := range secrets {
		if strings.Contains(string(out), s) {
			w.t.Errorf("slipwatch check printed a configured secret (%.6s…)", s)
		}
	}
	var res struct {
		Commitments []reconcile.View `json:"commitments"`
		Errors      []string         `json:"errors"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		w.t.Fatalf("slipwatch check --json: %v\n%s", err, out)
	}
	if len(res.Errors) > 0 {
		w.t.Errorf("slipwatch check: %v", res.Errors)
	}
	byTitle := map[string]reconcile.View{}
	for _, v := range res.Commitments {
		byTitle[v.Title] = v
	}
	return byTitle
}

// checkDelivered fails unless check lists title as delivered on date,
// historical, with no promise.
func checkDelivered(t *testing.T, views map[string]reconcile.View, title, on string) {
	t.Helper()
	v, ok := views[title]
	switch {
	case !ok:
		t.Errorf("check does not list %s", title)
	case v.Delivered == nil || v.Delivered.String() != on || !v.Historical || v.Committed != nil:
		t.Errorf("check lists %s as delivered %s, historical=%v, committed %s; want delivered %s, historical, no promise",
			title, v.DeliveredText(), v.Historical, v.CommittedText(), on)
	}
}

func TestFirstStartQuietAboutThePastGitHub(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	// Two milestones closed months ago, with their issues and pull
	// requests; one open, due in 30 days.
	old := map[string]int{}
	for _, m := range []struct {
		title     string
		due, shut int
	}{{"v1.0", -120, -118}, {"v1.1", -60, -55}} {
		n := w.gh.AddMilestone(repoName, githubtest.Milestone{Title: m.title, State: "closed", DueOn: day(m.due), ClosedAt: day(m.shut)})
		old[m.title] = n
		for i := range 3 {
			w.gh.AddIssue(repoName, githubtest.Issue{Title: fmt.Sprintf("%s task %d", m.title, i), Milestone: n,
				CreatedAt: day(m.due - 30), ClosedAt: day(m.shut - 1)})
		}
		w.gh.AddIssue(repoName, githubtest.Issue{Title: m.title + " change", Milestone: n, PR: true,
			CreatedAt: day(m.due - 20), ClosedAt: day(m.shut - 1), MergedAt: day(m.shut - 1)})
	}
	open := w.gh.AddMilestone(repoName, githubtest.Milestone{Title: "v2.0", DueOn: day(30)})
	for i := range 4 {
		is := githubtest.Issue{Title: fmt.Sprintf("v2.0 task %d", i), Milestone: open, CreatedAt: day(-10)}
		if i == 0 {
			is.ClosedAt = day(-2)
		}
		w.gh.AddIssue(repoName, is)
	}
	w.gh.AddIssue(repoName, githubtest.Issue{Title: "v2.0 change", Milestone: open, PR: true, CreatedAt: day(-5), ClosedAt: day(-1), MergedAt: day(-1)})
	w.gh.AddIssue(repoName, githubtest.Issue{Title: "v2.0 draft", Milestone: open, PR: true, CreatedAt: day(-1)})

	d := w.start("daemon")
	exp := expect{}
	exp.add(open, reconcile.EvCommitted, 1)
	waitFor(t, 40*time.Second, "the open milestone's thread", func() bool { return w.converged(exp, open) })
	// Two polls over every milestone: the old ones had every chance.
	waitFor(t, 40*time.Second, "two polls", func() bool {
		return d.metric("slipwatch_polls_total", `tracker="github"`) >= 2 && d.metric("slipwatch_reconciles_total", `result="ok"`) >= 6
	})
	quietGitHub(t, w, old, open)
	if f := w.tally(exp); !f.ok() {
		t.Errorf("open milestone: %v", f)
	}
	// The open milestone's progress counts its issues and pull requests,
	// as the milestone page does.
	if line := w.statusLine(open, "Progress"); !strings.Contains(line, "2 of 6 issues and pull requests done") {
		t.Errorf("open milestone's Progress line %q, want 2 of 6 issues and pull requests", line)
	}

	views := w.checkJSON()
	checkDelivered(t, views, "v1.0", day(-118).Format(time.DateOnly))
	checkDelivered(t, views, "v1.1", day(-55).Format(time.DateOnly))
	if v := views["v2.0"]; v.Delivered != nil || v.Historical || v.CommittedText() != day(30).Format(time.DateOnly) || v.Done != 2 || v.Total != 6 {
		t.Errorf("check lists v2.0 as %+v; want open, promised its due date, 2 of 6 done", v)
	}

	// Redis lost: nothing on GitHub says slipwatch ever spoke of the old
	// milestones, and it still does not.
	d.kill()
	w.flushAll()
	d.run()
	waitFor(t, 40*time.Second, "two polls after FLUSHALL", func() bool {
		return d.metric("slipwatch_polls_total", `tracker="github"`) >= 2 && d.metric("slipwatch_reconciles_total", `result="ok"`) >= 6
	})
	quietGitHub(t, w, old, open)
	if f := w.tally(exp); !f.ok() {
		t.Errorf("open milestone after FLUSHALL: %v", f)
	}

	// Reopened, an old milestone is live: its thread, its promise (the
	// due date it has, long past) and the news that it is overdue.
	w.gh.UpdateMilestone(repoName, old["v1.1"], func(m *githubtest.Milestone) { m.State, m.ClosedAt = "open", time.Time{} })
	if status, body := d.send(milestoneHook("reopened", old["v1.1"])); status != 202 {
		t.Fatalf("milestone reopened: %d %s", status, body)
	}
	exp.add(old["v1.1"], reconcile.EvCommitted, 1)
	exp.add(old["v1.1"], reconcile.EvOverdue, 1)
	waitFor(t, 30*time.Second, "the reopened milestone's thread", func() bool { return w.converged(exp, old["v1.1"]) })
	if f := w.tally(exp); !f.ok() {
		t.Errorf("after reopening v1.1: %v", f)
	}
	if len(w.tracking(old["v1.0"])) != 0 {
		t.Errorf("v1.0, still closed, got a tracking issue when v1.1 was reopened")
	}
}

// quietGitHub fails if slipwatch opened a tracking issue for an old
// milestone, or wrote anywhere but the open milestone's tracking issue.
func quietGitHub(t *testing.T, w *world, old map[string]int, open int) {
	t.Helper()
	for title, n := range old {
		if nums := w.tracking(n); len(nums) != 0 {
			t.Errorf("milestone %s, closed before slipwatch came, got tracking issues %v", title, nums)
		}
	}
	if n := w.gh.Hits("POST /repos/acme/api/issues"); n != 1 {
		t.Errorf("%d issues created, want 1: the open milestone's tracking issue", n)
	}
	thread := w.tracking(open)
	for _, is := range w.gh.Issues(repoName) {
		if len(thread) == 1 && is.Number == thread[0] {
			continue
		}
		if cs := w.gh.Comments(repoName, is.Number); len(cs) != 0 {
			t.Errorf("issue #%d %q has %d comments, want none", is.Number, is.Title, len(cs))
		}
	}
}

func TestFirstStartQuietAboutThePastJira(t *testing.T) {
	t.Parallel()
	ed := jiraEdition{name: "cloud", cloud: true, deployment: "cloud"}
	w := newWorld(t, options{jira: &ed})
	now := time.Now().UTC()
	project := map[string]any{"id": jiraProjectID, "key": jiraProject}
	n := 0
	add := func(fields map[string]any) string {
		n++
		key := fmt.Sprintf("%s-%d", jiraProject, n)
		fields["project"] = project
		if _, ok := fields["created"]; !ok {
			fields["created"] = now.AddDate(0, 0, -150).Format(jiraTime)
		}
		if _, ok := fields["issuetype"]; !ok {
			fields["issuetype"] = map[string]any{"name": "Task"}
		}
		fields["summary"] = "Task " + key
		w.jira.AddIssue(key, fields)
		return key
	}
	done := func(daysAgo int, f map[string]any) map[string]any {
		f["status"] = map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}}
		f["resolutiondate"] = now.AddDate(0, 0, -daysAgo).Format(jiraTime)
		return f
	}
	inVersion := func(id, name string) []any { return []any{map[string]any{"id": id, "name": name}} }

	// Two versions released months ago, one still to come.
	v10 := w.jira.AddVersion(jiraProject, jiratest.Version{Name: "1.0", Released: true, ReleaseDate: day(-120).Format(time.DateOnly)})
	v11 := w.jira.AddVersion(jiraProject, jiratest.Version{Name: "1.1", Released: true, ReleaseDate: day(-60).Format(time.DateOnly)})
	v20 := w.jira.AddVersion(jiraProject, jiratest.Version{Name: "2.0", ReleaseDate: day(30).Format(time.DateOnly)})
	for range 2 {
		add(done(121, map[string]any{"fixVersions": inVersion(v10, "1.0")}))
		add(done(61, map[string]any{"fixVersions": inVersion(v11, "1.1")}))
	}
	add(done(3, map[string]any{"fixVersions": inVersion(v20, "2.0")}))
	for range 2 {
		add(map[string]any{"fixVersions": inVersion(v20, "2.0"),
			"status": map[string]any{"name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}}})
	}
	// An epic done months ago, talked about on its own thread by people.
	oldEpic := add(done(92, map[string]any{"issuetype": map[string]any{"name": "Epic", "hierarchyLevel": 1}, "duedate": day(-90).Format(time.DateOnly)}))
	add(done(93, map[string]any{"parent": map[string]any{"key": oldEpic}}))
	w.jira.AddComment(oldEpic, map[string]any{"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Jane Lead"},
		"Shipped. /slipwatch status", now.AddDate(0, 0, -91).Format(jiraTime))

	d := w.start("daemon")
	version := jiraDeliverable{version: v20}
	exp := jiraExpect{}
	exp.add(version, reconcile.EvCommitted, 1)
	waitFor(t, 40*time.Second, "the open version's thread", func() bool { return w.jiraConverged(exp) })
	waitFor(t, 40*time.Second, "two polls", func() bool {
		return d.metric("slipwatch_polls_total", `tracker="jira"`) >= 2 && d.metric("slipwatch_reconciles_total", `result="ok"`) >= 8
	})
	quietJira := func(when string) {
		t.Helper()
		if created := w.jira.Created(); len(created) != 1 || w.jira.Hits("POST /rest/api/2/issue") != 1 {
			t.Errorf("%s: %d issues created (%d POSTs), want 1: the open version's tracking issue", when, len(created), w.jira.Hits("POST /rest/api/2/issue"))
		}
		for _, jd := range []jiraDeliverable{{version: v10}, {version: v11}} {
			if keys := w.jiraThreadIssues(jd); len(keys) != 0 {
				t.Errorf("%s: %v, released before slipwatch came, got tracking issues %v", when, jd, keys)
			}
		}
		if cs := w.jira.Comments(oldEpic); len(cs) != 1 || w.jira.Hits("POST /rest/api/2/issue/"+oldEpic+"/comment") != 0 {
			t.Errorf("%s: the old epic %s has %d comments, want Jane's alone", when, oldEpic, len(cs))
		}
		threads := map[string]bool{}
		for _, k := range w.jiraThreadIssues(version) {
			threads[k] = true
		}
		for _, is := range w.jira.Issues() {
			if threads[is.Key] || is.Key == oldEpic {
				continue
			}
			if cs := w.jira.Comments(is.Key); len(cs) != 0 {
				t.Errorf("%s: %s has %d comments, want none", when, is.Key, len(cs))
			}
		}
		if f := w.jiraTally(exp); !f.ok() {
			t.Errorf("%s: the open version: %v", when, f)
		}
	}
	quietJira("first start")

	views := w.checkJSON()
	checkDelivered(t, views, "1.0", day(-120).Format(time.DateOnly))
	checkDelivered(t, views, "1.1", day(-60).Format(time.DateOnly))
	checkDelivered(t, views, "Task "+oldEpic, now.AddDate(0, 0, -92).Format(time.DateOnly))
	if v := views["2.0"]; v.Delivered != nil || v.Historical || v.CommittedText() != day(30).Format(time.DateOnly) {
		t.Errorf("check lists 2.0 as %+v; want open, promised its release date", v)
	}

	d.kill()
	w.flushAll()
	d.run()
	waitFor(t, 40*time.Second, "two polls after FLUSHALL", func() bool {
		return d.metric("slipwatch_polls_total", `tracker="jira"`) >= 2 && d.metric("slipwatch_reconciles_total", `result="ok"`) >= 8
	})
	quietJira("after FLUSHALL")
}
