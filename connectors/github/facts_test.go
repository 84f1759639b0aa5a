package github

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// TestThroughputTeamFacts: the team-level facts the forecast reads
// (connectors.Throughput) come from the repository's closed list, at no
// request of their own: milestones in progress, the share of the
// completed work in a milestone, and how milestones grew once begun.
func TestThroughputTeamFacts(t *testing.T) {
	t.Parallel()
	f := newSandbox(t) // 2026-03-02; the window starts 2026-01-20
	a := f.milestone(repo, "a", time.Time{})
	b := f.milestone(repo, "b", time.Time{})
	done := f.milestone(repo, "done", time.Time{})
	f.UpdateMilestone(repo, done, func(m *githubtest.Milestone) { m.State, m.ClosedAt = "closed", day("2026-02-15") })

	// a began before the window: its item created since was added; the
	// two created before it may have been either (one in four counts).
	f.issue(repo, githubtest.Issue{Milestone: a, CreatedAt: day("2025-11-01"), ClosedAt: day("2025-12-01")})
	f.issue(repo, githubtest.Issue{Milestone: a, CreatedAt: day("2025-11-01"), ClosedAt: day("2026-02-02")})
	f.issue(repo, githubtest.Issue{Milestone: a, CreatedAt: day("2025-11-01"), ClosedAt: day("2026-02-03")})
	f.issue(repo, githubtest.Issue{Milestone: a, CreatedAt: day("2026-02-01"), ClosedAt: day("2026-02-10")})
	f.issue(repo, githubtest.Issue{Milestone: a, CreatedAt: day("2025-11-01"), ClosedAt: day("2026-02-11"), StateReason: "not_planned"})
	f.issue(repo, githubtest.Issue{Milestone: a, CreatedAt: day("2025-11-01")})
	// b began in the window on 02-05: one item planned, one added after.
	f.issue(repo, githubtest.Issue{Milestone: b, CreatedAt: day("2026-01-25"), ClosedAt: day("2026-02-05")})
	f.issue(repo, githubtest.Issue{Milestone: b, CreatedAt: day("2026-02-06"), ClosedAt: day("2026-02-20")})
	bOpen := f.issue(repo, githubtest.Issue{Milestone: b, CreatedAt: day("2026-02-07")})
	// Delivered milestone, and work in no milestone.
	f.issue(repo, githubtest.Issue{Milestone: done, CreatedAt: day("2026-01-10"), ClosedAt: day("2026-02-14")})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-10"), ClosedAt: day("2026-02-16")})

	c := newTestClient(t, f, nil)
	ctx := context.Background()
	facts := func() connectors.Throughput {
		t.Helper()
		snap, err := c.Observe(ctx, milestoneRef(repo, b))
		if err != nil {
			t.Fatal(err)
		}
		tp := snap.Throughput
		return connectors.Throughput{Active: tp.Active, Assigned: tp.Assigned, ScopeAdded: tp.ScopeAdded, ScopePlannedClosed: tp.ScopePlannedClosed}
	}
	want := connectors.Throughput{Active: 2, Assigned: 6, ScopeAdded: 2, ScopePlannedClosed: 2}
	if diff := cmp.Diff(want, facts()); diff != "" {
		t.Errorf("first read of the day (-want +got):\n%s", diff)
	}

	// Later the same day b's other added item is done: the day's later
	// reads see only the latest closes, and keep what the first read knew.
	f.advance(time.Hour)
	f.UpdateIssue(repo, bOpen, func(is *githubtest.Issue) { is.ClosedAt = f.Now() })
	f.advance(time.Minute)
	if _, err := c.List(ctx, repo); err != nil {
		t.Fatal(err)
	}
	want.Assigned, want.ScopeAdded = 7, 3
	if diff := cmp.Diff(want, facts()); diff != "" {
		t.Errorf("a later read (-want +got):\n%s", diff)
	}
}
