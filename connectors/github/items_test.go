package github

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// TestMilestoneItemsMatchTheMilestonePage: a milestone's items are what
// GitHub's milestone page counts (open_issues and closed_issues): issues
// and pull requests, closed however they were closed, less slipwatch's
// tracking issue. The throughput counts the same kinds, finished work
// only: issues closed as completed and pull requests merged.
func TestMilestoneItemsMatchTheMilestonePage(t *testing.T) {
	t.Parallel()
	for _, withThread := range []bool{false, true} {
		name := "no tracking issue"
		if withThread {
			name = "with its tracking issue"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			ms := f.milestone(repo, "v3.0", time.Date(2026, 4, 1, 17, 0, 0, 0, time.UTC))
			other := f.milestone(repo, "v4.0", time.Time{})
			in := func(is githubtest.Issue) int {
				is.Milestone = ms
				if is.CreatedAt.IsZero() {
					is.CreatedAt = day("2026-01-05")
				}
				return f.issue(repo, is)
			}
			in(githubtest.Issue{Title: "open issue"})
			in(githubtest.Issue{Title: "done issue", ClosedAt: day("2026-02-25")})
			in(githubtest.Issue{Title: "dropped issue", ClosedAt: day("2026-02-26"), StateReason: "not_planned"})
			in(githubtest.Issue{Title: "open pull request", PR: true})
			in(githubtest.Issue{Title: "merged pull request", PR: true, ClosedAt: day("2026-02-27"), MergedAt: day("2026-02-27")})
			in(githubtest.Issue{Title: "abandoned pull request", PR: true, ClosedAt: day("2026-02-28")})
			if withThread {
				in(githubtest.Issue{Title: "Delivery tracking: v3.0", Labels: []string{"slipwatch"}, User: f.Self})
			}
			// Elsewhere in the repository: pace, not items.
			f.issue(repo, githubtest.Issue{Milestone: other, PR: true, CreatedAt: day("2026-02-01"), ClosedAt: day("2026-03-01"), MergedAt: day("2026-03-01")})
			f.issue(repo, githubtest.Issue{PR: true, CreatedAt: day("2026-02-01"), ClosedAt: day("2026-03-01")})
			f.issue(repo, githubtest.Issue{CreatedAt: day("2026-02-01"), ClosedAt: day("2026-03-01")})

			c := newTestClient(t, f, nil)
			ctx := context.Background()
			snap, err := c.Observe(ctx, milestoneRef(repo, ms))
			if err != nil {
				t.Fatal(err)
			}
			page, _, err := c.gh.Issues.GetMilestone(ctx, "acme", "api", ms)
			if err != nil {
				t.Fatal(err)
			}
			tracking := 0
			if withThread {
				tracking = 1 // open, in the milestone, counted by GitHub
			}
			items := snap.Deliverable.Items
			done := connectorsDone(items)
			if len(items) != page.GetOpenIssues()+page.GetClosedIssues()-tracking || done != page.GetClosedIssues() {
				t.Errorf("%d of %d items done; the milestone page counts %d closed, %d open (tracking issue: %d)",
					done, len(items), page.GetClosedIssues(), page.GetOpenIssues(), tracking)
			}
			if len(items) != 6 || done != 4 {
				t.Errorf("%d of %d items done, want 4 of 6", done, len(items))
			}
			if (snap.Thread != nil) != withThread {
				t.Errorf("thread %+v, want one: %v", snap.Thread, withThread)
			}

			// Window ends 2026-03-02: 02-25 the issue done, 02-27 the pull
			// request merged, 03-01 the other milestone's merged pull
			// request and the issue closed outside any milestone.
			tp := snap.Throughput
			got := map[string]int{}
			for i, n := range tp.Daily {
				if n > 0 {
					got[tp.From.AddDays(i).String()] = n
				}
			}
			want := map[string]int{"2026-02-25": 1, "2026-02-27": 1, "2026-03-01": 2}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("throughput by day (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPullRequestMergedInAMilestoneIsSeen: merging a pull request changes
// the milestone's counts, so the next poll reads its items again.
func TestPullRequestMergedInAMilestoneIsSeen(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, "v3.0", time.Date(2026, 4, 1, 17, 0, 0, 0, time.UTC))
	f.issue(repo, githubtest.Issue{Milestone: ms, CreatedAt: day("2026-01-05")})
	pr := f.issue(repo, githubtest.Issue{Milestone: ms, PR: true, CreatedAt: day("2026-01-06")})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	progress := func() (int, int) {
		t.Helper()
		if _, err := c.List(ctx, repo); err != nil { // a poll
			t.Fatal(err)
		}
		snap, err := c.Observe(ctx, milestoneRef(repo, ms))
		if err != nil {
			t.Fatal(err)
		}
		return connectorsDone(snap.Deliverable.Items), len(snap.Deliverable.Items)
	}
	if done, total := progress(); done != 0 || total != 2 {
		t.Fatalf("before the merge: %d of %d, want 0 of 2", done, total)
	}
	f.advance(time.Minute)
	f.UpdateIssue(repo, pr, func(is *githubtest.Issue) { is.ClosedAt, is.MergedAt = f.Now(), f.Now() })
	f.advance(time.Minute)
	if done, total := progress(); done != 1 || total != 2 {
		t.Errorf("after the merge: %d of %d, want 1 of 2", done, total)
	}
}

// TestPullRequestsTheCredentialCannotReadAreReported: GitHub leaves pull
// requests out of the lists for a credential without Pull requests: read,
// but the milestone still counts them. slipwatch cannot count what it is
// not shown; it says which permission is missing.
func TestPullRequestsTheCredentialCannotReadAreReported(t *testing.T) {
	t.Parallel()
	for _, access := range []bool{true, false} {
		t.Run(map[bool]string{true: "pull requests readable", false: "issues only"}[access], func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			f.SetPullRequestAccess(access)
			ms := f.milestone(repo, "v3.0", time.Time{})
			f.issue(repo, githubtest.Issue{Milestone: ms, CreatedAt: day("2026-01-05")})
			f.issue(repo, githubtest.Issue{Milestone: ms, PR: true, CreatedAt: day("2026-01-06")})
			f.issue(repo, githubtest.Issue{Milestone: ms, Labels: []string{"slipwatch"}, CreatedAt: day("2026-01-07")})
			var logs bytes.Buffer
			c := newTestClient(t, f, func(_ *config.GitHub, o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
			snap, err := c.Observe(context.Background(), milestoneRef(repo, ms))
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(logs.String(), "Pull requests: read")
			want := 2
			if !access {
				want = 1
			}
			if n := len(snap.Deliverable.Items); n != want || warned == access {
				t.Errorf("%d items, warned=%v; want %d items, a warning only when pull requests are hidden\n%s", n, warned, want, logs.String())
			}
		})
	}
}

func connectorsDone(items []connectors.Item) int {
	n := 0
	for _, it := range items {
		if it.Done() {
			n++
		}
	}
	return n
}
