package github

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// coldCost is what a cold poll of repo cost, by kind.
func coldCost(t *testing.T, f *sandbox) (*Client, Cost) {
	t.Helper()
	c := newTestClient(t, f, nil)
	var m Meter
	got := pollMetered(t, c, repo, &m)
	sameAsNaive(t, f, c, repo, got, "cold")
	return c, m.Cost()
}

// A cold start walks the repository's issues whole when that is fewer
// pages than walking them to the window's start and then reading the
// milestones' issues; in a repository of many issues in no milestone it
// reads the milestones' issues instead.
func TestColdStartWalksTheCheaperWay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		outside               int // old closed issues in no milestone
		issues, milestoneWalk int // counted pages of each list
	}{
		// 150 in milestones: 2 pages either way; walking on is cheaper.
		{name: "few issues outside milestones", outside: 20, issues: 2},
		// 150 in milestones (2 pages) against 450 more issues to walk.
		{name: "most issues outside milestones", outside: 450, issues: 1, milestoneWalk: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			ms := f.milestone(repo, "v1", day("2026-04-01"))
			for range 150 {
				f.issue(repo, githubtest.Issue{Milestone: ms, CreatedAt: day("2025-06-01")})
			}
			for range tt.outside {
				f.issue(repo, githubtest.Issue{CreatedAt: day("2025-06-01"), ClosedAt: day("2025-07-01")})
			}
			f.issue(repo, githubtest.Issue{Milestone: ms, CreatedAt: day("2026-02-01"), ClosedAt: day("2026-02-20")})
			_, cost := coldCost(t, f)
			if got := cost.Kinds[KindIssues].Counted(); got != tt.issues {
				t.Errorf("%d counted pages of the issues, want %d: %+v", got, tt.issues, cost)
			}
			if got := cost.Kinds[KindMilestoneIssues].Counted(); got != tt.milestoneWalk {
				t.Errorf("%d counted pages of the milestones' issues, want %d: %+v", got, tt.milestoneWalk, cost)
			}
		})
	}
}

// A cold start learns the threads from the repository's comments when
// they are on the first pages, and reads each thread alone when the
// repository's comments are too many pages for that to be cheaper.
func TestColdStartReadsThreadsTheCheaperWay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		noise            int // later comments on other issues
		comments, thread int // counted requests of each kind
	}{
		{name: "threads on the first page", noise: 10, comments: 1},
		{name: "threads on the second page", noise: 150, comments: 2},
		// Seven pages of comments against two threads read alone.
		{name: "threads far down a busy repository", noise: 650, comments: 1, thread: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			for i := range 2 {
				ms := f.milestone(repo, "v"+string(rune('1'+i)), day("2026-04-01"))
				th := f.issue(repo, githubtest.Issue{Milestone: ms, Labels: []string{"slipwatch"}, CreatedAt: day("2025-06-01"), User: f.Self})
				f.AddCommentAt(repo, th, "carol", "an early word", day("2025-06-02"))
				f.AddCommentAt(repo, th, f.Self, "Status", day("2025-06-03"))
			}
			other := f.issue(repo, githubtest.Issue{CreatedAt: day("2025-06-01")})
			for range tt.noise {
				f.AddCommentAt(repo, other, "carol", "+1", day("2026-01-01"))
			}
			_, cost := coldCost(t, f)
			if got := cost.Kinds[KindComments].Counted(); got != tt.comments {
				t.Errorf("%d counted pages of the repository's comments, want %d: %+v", got, tt.comments, cost)
			}
			if got := cost.Kinds[KindThread].Counted(); got != tt.thread {
				t.Errorf("%d threads read alone, want %d: %+v", got, tt.thread, cost)
			}
		})
	}
}

// Without Pull requests: read GitHub lists no pull requests but the
// milestones count them: the milestone is read whole once to make sure,
// logged, and not again until its counts change.
func TestHiddenPullRequestsAreCheckedOnce(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.SetPullRequestAccess(false)
	ms := f.milestone(repo, "v1", day("2026-04-01"))
	f.issue(repo, githubtest.Issue{Milestone: ms, CreatedAt: day("2026-01-01")})
	f.issue(repo, githubtest.Issue{Milestone: ms, PR: true, CreatedAt: day("2026-01-02")})
	c, cost := coldCost(t, f)
	if got := cost.Kinds[KindMilestoneIssues].Requests; got != 1 {
		t.Errorf("cold start: milestone read whole %d times, want once: %+v", got, cost)
	}
	for i := range 3 {
		f.advance(5 * time.Minute)
		var m Meter
		got := pollMetered(t, c, repo, &m)
		if n := m.Cost().Counted(); n != 0 {
			t.Errorf("poll %d: %d counted requests, want 0: %+v", i, n, m.Cost())
		}
		sameAsNaive(t, f, c, repo, got, "warm")
	}
	f.issue(repo, githubtest.Issue{Milestone: ms, PR: true, CreatedAt: f.Now()})
	f.advance(5 * time.Minute)
	var m Meter
	pollMetered(t, c, repo, &m)
	if got := m.Cost().Kinds[KindMilestoneIssues].Requests; got != 1 {
		t.Errorf("after the counts changed: milestone read whole %d times, want once", got)
	}
}

// slipwatch's own comment, posted or edited, is known from GitHub's
// answer: the next Observe reads nothing, and the next poll pays only for
// the lists the write changed.
func TestWritesNeedNoRead(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	snap, err := c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	posted, err := c.Post(ctx, snap.Thread, "slipped", "<!-- slipwatch:event id=e1 kind=slipped -->")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Edit(ctx, snap.Thread, posted.ID, "slipped, edited", "<!-- slipwatch:event id=e1 kind=slipped -->"); err != nil {
		t.Fatal(err)
	}
	f.ResetCounts()
	after, err := c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.counts().Total; got != 0 {
		t.Errorf("Observe after the writes made %d requests, want 0", got)
	}
	last := after.Thread.Comments[len(after.Thread.Comments)-1]
	if last.ID != posted.ID || last.Body != "slipped, edited\n\n<!-- slipwatch:event id=e1 kind=slipped -->" || !last.BySelf {
		t.Errorf("last comment %+v, want the edited post", last)
	}
	f.advance(5 * time.Minute)
	sameAsNaive(t, f, c, repo, poll(t, c, repo), "the poll after")
}

// Costs and meters say what each repository and each call cost, by kind,
// as the sandbox counted it.
func TestCostsByRepositoryAndKind(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	f.milestone("acme/web", "w1", time.Time{})
	c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.Repos = []string{repo, "acme/web"} })
	ctx := context.Background()
	var list, observe Meter
	if _, err := c.List(WithMeter(ctx, &list), repo); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Observe(WithMeter(ctx, &observe), milestoneRef(repo, w.ms)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx, "acme/web"); err != nil {
		t.Fatal(err)
	}
	wantList := Cost{Requests: 3, Kinds: map[string]KindCost{
		KindMilestones: {Requests: 1}, KindIssues: {Requests: 1}, KindComments: {Requests: 1},
	}}
	if diff := cmp.Diff(wantList, list.Cost()); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	// The Observe: who slipwatch is (once) and the /commit authors'
	// permissions; the lists were read moments ago.
	if got := observe.Cost(); got.Kinds[KindOther].Requests != got.Requests || got.Requests == 0 {
		t.Errorf("Observe: %+v, want permission and identity look-ups only", got)
	}
	costs := c.Costs()
	if got := costs[repo].Kinds[KindMilestones].Requests; got != 1 {
		t.Errorf("%s: %d milestone lists, want 1", repo, got)
	}
	if got := costs["acme/web"].Requests; got != 3 {
		t.Errorf("acme/web: %d requests, want 3", got)
	}
	if got := costs[""].Requests; got != 1 {
		t.Errorf("requests for no repository: %d, want 1 (GET /user)", got)
	}
	total := 0
	for _, cost := range costs {
		total += cost.Requests
	}
	if got := f.counts().Total; got != total {
		t.Errorf("the sandbox answered %d requests, the costs add up to %d", got, total)
	}
}
