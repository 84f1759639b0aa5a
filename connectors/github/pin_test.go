package github

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// TestPinnedThread: the team's own labelled issue is a milestone's thread
// (create_tracking_issue off). Someone labels an older issue: without the
// pin the oldest would be chosen; with it the thread stays, also once the
// pinned issue leaves the milestone, and is not counted as an item.
func TestPinnedThread(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, "v3.0", time.Time{})
	older := f.issue(repo, githubtest.Issue{Milestone: ms, CreatedAt: day("2026-01-10")})
	tracking := f.issue(repo, githubtest.Issue{Milestone: ms, Labels: []string{"slipwatch"}, CreatedAt: day("2026-01-11")})
	c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.CreateTrackingIssue = false })
	ctx := context.Background()
	ref := milestoneRef(repo, ms)
	observe := func() *connectors.Snapshot {
		t.Helper()
		f.advance(time.Hour) // past the connector's memos
		snap, err := c.Observe(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return &snap
	}
	want := threadID(repo, tracking)
	if snap := observe(); snap.Thread == nil || snap.Thread.ID != want {
		t.Fatalf("thread %+v, want %s", snap.Thread, want)
	}

	f.UpdateIssue(repo, older, func(is *githubtest.Issue) { is.Labels = []string{"slipwatch"} })
	c.PinThread(ref, want)
	snap := observe()
	if snap.Thread == nil || snap.Thread.ID != want {
		t.Errorf("pinned: thread %+v, want %s", snap.Thread, want)
	}
	if th, err := c.EnsureThread(ctx, snap.Deliverable); err != nil || th.ID != want {
		t.Errorf("pinned: EnsureThread = %+v, %v; want %s", th, err, want)
	}

	// Someone moves the tracking issue out of the milestone and drops its
	// label: it is still the thread, and not an item.
	f.UpdateIssue(repo, tracking, func(is *githubtest.Issue) { is.Milestone, is.Labels = 0, nil })
	snap = observe()
	if snap.Thread == nil || snap.Thread.ID != want {
		t.Errorf("pinned issue out of the milestone: thread %+v, want %s", snap.Thread, want)
	}
	for _, it := range snap.Deliverable.Items {
		if it.ID == strconv.Itoa(tracking) {
			t.Errorf("the tracking issue counts as an item")
		}
	}

	// Without a pin (a lost Redis), the oldest labelled issue is chosen:
	// what the pin protects against.
	c2 := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.CreateTrackingIssue = false })
	snap2, err := c2.Observe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if snap2.Thread == nil || snap2.Thread.ID != threadID(repo, older) {
		t.Errorf("unpinned: thread %+v, want the oldest labelled %s", snap2.Thread, threadID(repo, older))
	}
}

// TestOwnTrackingIssuePreferred: with no pin (Redis lost), among the
// labelled issues of a milestone the one slipwatch created wins over an
// older one someone else labelled.
func TestOwnTrackingIssuePreferred(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, "v3.0", time.Time{})
	f.issue(repo, githubtest.Issue{Milestone: ms, Labels: []string{"slipwatch"}, CreatedAt: day("2026-01-10")})
	own := f.issue(repo, githubtest.Issue{Milestone: ms, Labels: []string{"slipwatch"}, User: f.Self, CreatedAt: day("2026-01-11")})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if _, err := c.Self(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := c.Observe(ctx, milestoneRef(repo, ms))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Thread == nil || snap.Thread.ID != threadID(repo, own) {
		t.Errorf("thread %+v, want slipwatch's own %s", snap.Thread, threadID(repo, own))
	}
	if th, err := c.EnsureThread(ctx, snap.Deliverable); err != nil || th.ID != threadID(repo, own) {
		t.Errorf("EnsureThread = %+v, %v", th, err)
	}
}
