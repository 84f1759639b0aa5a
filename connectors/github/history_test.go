package github

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// TestHistory: what `slipwatch backtest` reads of a repository: the
// milestones closed since the start of the stretch, with their items
// (issues and pull requests, no tracking issue), and the completed items
// per day from a forecast window before it, as Observe counts them.
func TestHistory(t *testing.T) {
	t.Parallel()
	f := newSandbox(t) // 2026-03-02
	closeMilestone := func(n int, at time.Time) {
		f.UpdateMilestone(repo, n, func(m *githubtest.Milestone) { m.State, m.ClosedAt = "closed", at })
	}
	shipped := f.milestone(repo, "v1.0", day("2026-02-01"))
	f.UpdateMilestone(repo, shipped, func(m *githubtest.Milestone) { m.Description = "Committed: 2026-01-30" })
	closeMilestone(shipped, day("2026-02-10"))
	old := f.milestone(repo, "v0.9", day("2025-12-01"))
	closeMilestone(old, day("2025-12-15"))
	f.milestone(repo, "v2.0", day("2026-04-01"))

	a := f.issue(repo, githubtest.Issue{Milestone: shipped, CreatedAt: day("2025-12-20"), ClosedAt: day("2026-01-15")})
	b := f.issue(repo, githubtest.Issue{Milestone: shipped, CreatedAt: day("2026-01-05"), ClosedAt: day("2026-02-09")})
	left := f.issue(repo, githubtest.Issue{Milestone: shipped, CreatedAt: day("2026-01-06")})
	pr := f.issue(repo, githubtest.Issue{Milestone: shipped, PR: true, CreatedAt: day("2026-01-07"), ClosedAt: day("2026-02-08"), MergedAt: day("2026-02-08")})
	// A pull request closed without merging is no work done.
	unmerged := f.issue(repo, githubtest.Issue{Milestone: shipped, PR: true, CreatedAt: day("2026-01-07"), ClosedAt: day("2026-02-07")})
	f.issue(repo, githubtest.Issue{Milestone: shipped, Labels: []string{"slipwatch"}, CreatedAt: day("2026-01-02")})
	f.issue(repo, githubtest.Issue{Milestone: old, CreatedAt: day("2025-11-01"), ClosedAt: day("2025-12-14")})
	// Work outside any milestone; one closed as not planned; one closed
	// before the window.
	f.issue(repo, githubtest.Issue{CreatedAt: day("2025-11-01"), ClosedAt: day("2025-11-25")})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2025-11-01"), ClosedAt: day("2026-01-15"), StateReason: "not_planned"})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2025-10-01"), ClosedAt: day("2025-11-01")})

	c := newTestClient(t, f, nil)
	begin := connectors.Date{Year: 2026, Month: 1, Day: 1}
	past, err := c.History(context.Background(), "ACME/api", begin)
	if err != nil {
		t.Fatal(err)
	}
	if past.Team != repo || past.Since != begin || past.From.String() != "2025-11-21" || past.To.String() != "2026-03-02" {
		t.Errorf("past of %s since %s: days %s..%s", past.Team, past.Since, past.From, past.To)
	}
	counts := map[string]int{}
	for i, n := range past.Daily {
		if n > 0 {
			counts[past.From.AddDays(i).String()] = n
		}
	}
	// v0.9's close of 12-14 is in the window before the stretch; the
	// not-planned close, the pull request closed unmerged and the close
	// before the window are not counted.
	if diff := cmp.Diff(map[string]int{"2025-11-25": 1, "2025-12-14": 1, "2026-01-15": 1, "2026-02-08": 1, "2026-02-09": 1}, counts); diff != "" {
		t.Errorf("completed per day (-want +got):\n%s", diff)
	}
	if len(past.Deliverables) != 1 {
		t.Fatalf("%d deliverables, want v1.0 alone: %+v", len(past.Deliverables), past.Deliverables)
	}
	d := past.Deliverables[0]
	if d.Title != "v1.0" || !d.Closed || d.Description != "Committed: 2026-01-30" || d.Ref != milestoneRef(repo, shipped) {
		t.Errorf("deliverable %+v", d)
	}
	ids := map[string]bool{}
	for _, it := range d.Items {
		ids[it.ID] = it.Done()
	}
	// An item closed however it was closed is done, as on the milestone
	// page (Observe's items).
	want := map[string]bool{strconv.Itoa(a): true, strconv.Itoa(b): true, strconv.Itoa(left): false, strconv.Itoa(pr): true, strconv.Itoa(unmerged): true}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("items, done or not (-want +got):\n%s", diff)
	}
}
