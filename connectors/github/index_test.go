package github

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// changeWorld is a repository with something of every kind the index
// keeps: two open milestones and a closed one, open and done issues
// (done in the window and long before it), pull requests open and merged,
// issues in no milestone, and a tracking issue with comments in each
// milestone.
type changeWorld struct {
	v1, v2, v0            int
	open, doneOld, prOpen int
	doneInWindow          int
	t1, t2                int
	v2Open                int
	t1Comment             int64
}

func buildChangeWorld(f *sandbox) changeWorld {
	var w changeWorld
	w.v1 = f.milestone(repo, "v1", day("2026-04-01"))
	w.v2 = f.milestone(repo, "v2", day("2026-06-01"))
	w.v0 = f.milestone(repo, "v0", day("2025-12-01"))
	f.UpdateMilestone(repo, w.v0, func(m *githubtest.Milestone) { m.State, m.ClosedAt = "closed", day("2025-12-02") })
	w.open = f.issue(repo, githubtest.Issue{Milestone: w.v1, CreatedAt: day("2026-01-05")})
	f.issue(repo, githubtest.Issue{Milestone: w.v1, CreatedAt: day("2026-01-06")})
	w.doneOld = f.issue(repo, githubtest.Issue{Milestone: w.v1, CreatedAt: day("2025-10-01"), ClosedAt: day("2025-11-15")})
	w.doneInWindow = f.issue(repo, githubtest.Issue{Milestone: w.v1, CreatedAt: day("2026-01-07"), ClosedAt: day("2026-02-25")})
	w.prOpen = f.issue(repo, githubtest.Issue{Milestone: w.v1, PR: true, CreatedAt: day("2026-02-01")})
	f.issue(repo, githubtest.Issue{Milestone: w.v1, PR: true, CreatedAt: day("2026-02-02"), ClosedAt: day("2026-02-26"), MergedAt: day("2026-02-26")})
	w.t1 = f.issue(repo, githubtest.Issue{Milestone: w.v1, Labels: []string{"slipwatch"}, CreatedAt: day("2026-01-08"), User: f.Self})
	w.v2Open = f.issue(repo, githubtest.Issue{Milestone: w.v2, CreatedAt: day("2026-01-09")})
	f.AddCommentAt(repo, w.v2Open, "carol", "an old remark", day("2026-01-10"))
	w.t2 = f.issue(repo, githubtest.Issue{Milestone: w.v2, Labels: []string{"slipwatch"}, CreatedAt: day("2026-01-11"), User: f.Self})
	for range 3 {
		f.issue(repo, githubtest.Issue{Milestone: w.v0, CreatedAt: day("2025-09-01"), ClosedAt: day("2025-11-20")})
	}
	f.issue(repo, githubtest.Issue{Milestone: w.v0, Labels: []string{"slipwatch"}, CreatedAt: day("2025-09-02"), ClosedAt: day("2025-12-03"), User: f.Self})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: day("2026-02-27")})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: day("2026-03-01"), PR: true, MergedAt: day("2026-03-01")})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2025-06-01"), ClosedAt: day("2025-07-01")})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01")})
	f.SetPermission(repo, "lead", "write")
	f.AddCommentAt(repo, w.t1, "lead", "/commit 2026-04-01 as agreed", day("2026-01-12"))
	w.t1Comment = f.AddCommentAt(repo, w.t1, f.Self, "Status\n\n<!-- slipwatch:status id=x v=1 {} -->", day("2026-01-13"))
	f.AddCommentAt(repo, w.t1, "carol", "thanks", day("2026-01-14"))
	f.AddCommentAt(repo, w.t2, "lead", "/commit 2026-06-01", day("2026-01-15"))
	return w
}

// TestEachChangeCostsWhatChanged makes one change of each kind after a
// warm poll and checks the next poll twice: what it cost (counted
// requests, by kind: no thread read or milestone repair unless the change
// calls for one) and what it saw (the snapshots a naive full read gives).
func TestEachChangeCostsWhatChanged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		change      func(f *sandbox, c *Client, w changeWorld)
		maxCounted  int
		repairs     int // counted milestone_issues requests
		threadReads int // at most so many requests for one thread's comments
	}{
		{name: "nothing", change: func(*sandbox, *Client, changeWorld) {}},
		{name: "issue closed", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) { f.closeIssue(repo, w.open, "completed") }},
		{name: "issue closed as not planned", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) { f.closeIssue(repo, w.open, "not_planned") }},
		{name: "issue reopened", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.doneInWindow, func(is *githubtest.Issue) { is.ClosedAt = time.Time{} })
		}},
		{name: "done long ago, reopened", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.doneOld, func(is *githubtest.Issue) { is.ClosedAt = time.Time{} })
		}},
		{name: "pull request merged", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.prOpen, func(is *githubtest.Issue) { is.ClosedAt, is.MergedAt = f.Now(), f.Now() })
		}},
		{name: "issue moved to another milestone", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.open, func(is *githubtest.Issue) { is.Milestone = w.v2 })
		}},
		{name: "issue taken out of its milestone", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.open, func(is *githubtest.Issue) { is.Milestone = 0 })
		}},
		{name: "issue added to a milestone", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.AddIssue(repo, githubtest.Issue{Milestone: w.v2})
		}},
		{name: "issue in no milestone closed", maxCounted: 1, change: func(f *sandbox, _ *Client, _ changeWorld) {
			f.AddIssue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: f.Now()})
		}},
		{name: "milestone due date moved", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateMilestone(repo, w.v1, func(m *githubtest.Milestone) { m.DueOn = day("2026-05-01") })
		}},
		{name: "milestone closed", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateMilestone(repo, w.v2, func(m *githubtest.Milestone) { m.State, m.ClosedAt = "closed", f.Now() })
		}},
		{name: "milestone created", maxCounted: 1, change: func(f *sandbox, _ *Client, _ changeWorld) { f.milestone(repo, "v3", day("2026-09-01")) }},
		{name: "comment added to a thread", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.AddComment(repo, w.t1, "lead", "/commit 2026-04-20 scope cut")
		}},
		{name: "comment edited", maxCounted: 1, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.EditComment(repo, w.t1Comment, "Status, edited\n\n<!-- slipwatch:status id=x v=1 {} -->", time.Time{})
		}},
		{name: "comment deleted, webhook told", maxCounted: 2, threadReads: 1, change: func(f *sandbox, c *Client, w changeWorld) {
			f.DeleteComment(repo, w.t1Comment)
			c.invalidate(repo, "issue_comment", hookPayload{Action: "deleted", Issue: &hookIssue{Number: w.t1}})
		}},
		{name: "tracking label removed", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.t2, func(is *githubtest.Issue) { is.Labels = nil })
		}},
		{name: "an older issue with a comment labelled", maxCounted: 3, threadReads: 1, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.v2Open, func(is *githubtest.Issue) { is.Labels = []string{"slipwatch"} })
		}},
		{name: "tracking issue moved to another milestone", maxCounted: 2, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.UpdateIssue(repo, w.t2, func(is *githubtest.Issue) { is.Milestone = w.v1 })
		}},
		{name: "issue deleted or transferred", maxCounted: 3, repairs: 1, change: func(f *sandbox, _ *Client, w changeWorld) {
			f.DeleteIssue(repo, w.open)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			w := buildChangeWorld(f)
			c := newTestClient(t, f, nil)
			sameAsNaive(t, f, c, repo, poll(t, c, repo), "cold")
			f.advance(5 * time.Minute)
			poll(t, c, repo)

			tt.change(f, c, w)
			f.advance(5 * time.Minute)
			f.ResetCounts()
			var m Meter
			got := pollMetered(t, c, repo, &m)
			cost := m.Cost()
			if n := cost.Counted(); n > tt.maxCounted {
				t.Errorf("the poll after the change made %d counted requests, want at most %d: %+v", n, tt.maxCounted, cost)
			}
			if n := cost.Kinds[KindMilestoneIssues].Counted(); n != tt.repairs {
				t.Errorf("%d milestones' issues read whole, want %d: %+v", n, tt.repairs, cost)
			}
			if n := threadHits(f, repo); n > tt.threadReads {
				t.Errorf("%d threads read whole, want at most %d", n, tt.threadReads)
			}
			if got, want := f.counts().Counted, cost.Counted(); got != want {
				t.Errorf("the sandbox counted %d requests, the meter %d", got, want)
			}
			sameAsNaive(t, f, c, repo, got, "after the change")

			// And the poll after that, nothing having changed, is free.
			f.advance(5 * time.Minute)
			var again Meter
			pollMetered(t, c, repo, &again)
			if n := again.Cost().Counted(); n != 0 {
				t.Errorf("the next poll made %d counted requests, want 0: %+v", n, again.Cost())
			}
		})
	}
}

// threadHits is how many requests read one issue's comments whole.
func threadHits(f *sandbox, full string) int {
	n := 0
	for _, is := range f.Issues(full) {
		n += f.Hits("GET /repos/" + full + "/issues/" + strconv.Itoa(is.Number) + "/comments")
	}
	return n
}

func pollMetered(t testing.TB, c *Client, full string, m *Meter) map[string]connectors.Snapshot {
	t.Helper()
	ctx := WithMeter(context.Background(), m)
	refs, err := c.List(ctx, full)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	out := map[string]connectors.Snapshot{}
	for _, ref := range refs {
		s, err := c.Observe(ctx, ref)
		if err != nil {
			t.Fatalf("Observe %s: %v", ref, err)
		}
		out[ref.Key()] = s
	}
	return out
}

// TestIndexMatchesANaiveReadThroughRandomChanges is the differential test:
// a repository of three pages of issues goes through a fixed-seed random
// sequence of changes of every kind (a hundred and more at once, now and
// then; days passing, so the forecast window moves; a restart with the
// same validators half-way), and after each the connector's snapshots are
// what a naive full read gives.
func TestIndexMatchesANaiveReadThroughRandomChanges(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	rng := rand.New(rand.NewPCG(22, 7))
	var milestones []int
	for i := range 5 {
		milestones = append(milestones, f.milestone(repo, fmt.Sprintf("m%d", i), f.Now().Add(time.Duration(i*20)*24*time.Hour)))
	}
	users := []string{"lead", "carol", "Dana", f.Self}
	f.SetPermission(repo, "lead", "write")
	for i := range 210 {
		is := githubtest.Issue{CreatedAt: f.Now().Add(-time.Duration(rng.IntN(200)+1) * 24 * time.Hour), PR: rng.IntN(4) == 0}
		if rng.IntN(5) > 0 {
			is.Milestone = milestones[rng.IntN(len(milestones))]
		}
		if rng.IntN(2) == 0 {
			is.ClosedAt = is.CreatedAt.Add(time.Duration(rng.Int64N(int64(f.Now().Sub(is.CreatedAt)))))
			if is.PR && rng.IntN(3) > 0 {
				is.MergedAt = is.ClosedAt
			}
		}
		if i < len(milestones) {
			is = githubtest.Issue{Milestone: milestones[i], Labels: []string{"slipwatch"}, CreatedAt: f.Now().Add(-100 * 24 * time.Hour), User: f.Self}
		}
		n := f.issue(repo, is)
		if is.Labels != nil {
			for j := range 3 {
				f.AddCommentAt(repo, n, users[j%len(users)], "/commit 2026-0"+strconv.Itoa(4+j)+"-01", is.CreatedAt.Add(time.Duration(j+1)*time.Hour))
			}
		}
	}
	// Comments elsewhere, later than the threads': past the first page of
	// the repository's comments, a thread is read whole.
	for i := range 150 {
		if is, ok := pickIssue(f, rng, func(is githubtest.Issue) bool { return len(is.Labels) == 0 }); ok {
			f.AddCommentAt(repo, is.Number, users[i%2], "noise", f.Now().Add(-time.Duration(rng.IntN(30*24)+1)*time.Hour))
		}
	}
	store := newMemValidators()
	newClient := func() *Client {
		return newTestClient(t, f, func(_ *config.GitHub, o *Options) { o.Validators = store })
	}
	c := newClient()
	var cold Meter
	if !sameAsNaive(t, f, c, repo, pollMetered(t, c, repo, &cold), "cold") {
		return
	}
	if n := cold.Cost().Kinds[KindMilestoneIssues].Requests; n > 0 {
		t.Errorf("cold start: %d milestones' issues read whole, though the walk saw every one", n)
	}

	pick := func(keep func(githubtest.Issue) bool) (githubtest.Issue, bool) { return pickIssue(f, rng, keep) }
	tracking := func(is githubtest.Issue) bool { return slices.Contains(is.Labels, "slipwatch") }
	var log []string
	deleted := false // only a deleted issue calls for a milestone's issues read whole
	changes := []func(){
		func() { // close one
			if is, ok := pick(func(is githubtest.Issue) bool { return is.ClosedAt.IsZero() }); ok {
				log = append(log, fmt.Sprintf("close #%d", is.Number))
				f.UpdateIssue(repo, is.Number, func(x *githubtest.Issue) {
					x.ClosedAt = f.Now()
					if x.PR {
						x.MergedAt = f.Now()
					}
					if rng.IntN(4) == 0 {
						x.StateReason = "not_planned"
					}
				})
			}
		},
		func() { // reopen one
			if is, ok := pick(func(is githubtest.Issue) bool { return !is.ClosedAt.IsZero() }); ok {
				log = append(log, fmt.Sprintf("reopen #%d", is.Number))
				f.UpdateIssue(repo, is.Number, func(x *githubtest.Issue) { x.ClosedAt, x.MergedAt, x.StateReason = time.Time{}, time.Time{}, "" })
			}
		},
		func() { // move one between milestones, or out of them
			if is, ok := pick(func(githubtest.Issue) bool { return true }); ok {
				to := 0
				if rng.IntN(4) > 0 {
					to = milestones[rng.IntN(len(milestones))]
				}
				log = append(log, fmt.Sprintf("move #%d to %d", is.Number, to))
				f.UpdateIssue(repo, is.Number, func(x *githubtest.Issue) { x.Milestone = to })
			}
		},
		func() { // a new issue or pull request
			is := githubtest.Issue{Milestone: milestones[rng.IntN(len(milestones))], PR: rng.IntN(3) == 0}
			log = append(log, fmt.Sprintf("new #%d", f.AddIssue(repo, is)))
		},
		func() { // delete one in a milestone
			if is, ok := pick(func(is githubtest.Issue) bool { return is.Milestone != 0 }); ok {
				log = append(log, fmt.Sprintf("delete #%d", is.Number))
				f.DeleteIssue(repo, is.Number)
				deleted = true
			}
		},
		func() { // label or unlabel one
			if is, ok := pick(func(is githubtest.Issue) bool { return is.Milestone != 0 }); ok {
				log = append(log, fmt.Sprintf("toggle the label of #%d", is.Number))
				f.UpdateIssue(repo, is.Number, func(x *githubtest.Issue) {
					if tracking(*x) {
						x.Labels = nil
					} else {
						x.Labels = []string{"slipwatch"}
					}
				})
			}
		},
		func() { // comment on a thread, or elsewhere
			if is, ok := pick(func(is githubtest.Issue) bool { return tracking(is) || rng.IntN(10) == 0 }); ok {
				log = append(log, fmt.Sprintf("comment on #%d", is.Number))
				f.AddComment(repo, is.Number, users[rng.IntN(len(users))], "/commit 2026-07-0"+strconv.Itoa(rng.IntN(9)+1))
			}
		},
		func() { // edit a comment
			if is, ok := pick(tracking); ok {
				if cs := f.Comments(repo, is.Number); len(cs) > 0 {
					cm := cs[rng.IntN(len(cs))]
					log = append(log, fmt.Sprintf("edit comment %d on #%d", cm.ID, is.Number))
					f.EditComment(repo, cm.ID, cm.Body+" (edited)", time.Time{})
				}
			}
		},
		func() { // delete a comment; the webhook says so
			if is, ok := pick(tracking); ok {
				if cs := f.Comments(repo, is.Number); len(cs) > 0 {
					cm := cs[rng.IntN(len(cs))]
					log = append(log, fmt.Sprintf("delete comment %d on #%d", cm.ID, is.Number))
					f.DeleteComment(repo, cm.ID)
					c.invalidate(repo, "issue_comment", hookPayload{Action: "deleted", Issue: &hookIssue{Number: is.Number}})
				}
			}
		},
		func() { // move a due date, close or reopen a milestone
			n := milestones[rng.IntN(len(milestones))]
			log = append(log, fmt.Sprintf("milestone %d changed", n))
			f.UpdateMilestone(repo, n, func(m *githubtest.Milestone) {
				switch rng.IntN(3) {
				case 0:
					m.DueOn = m.DueOn.Add(7 * 24 * time.Hour)
				case 1:
					m.State, m.ClosedAt = "closed", f.Now()
				default:
					m.State, m.ClosedAt = "open", time.Time{}
				}
			})
		},
		func() { // a bulk change: more than a page of issues at once
			log = append(log, "bulk")
			for _, is := range f.Issues(repo) {
				if rng.IntN(2) == 0 && !tracking(is) {
					f.UpdateIssue(repo, is.Number, func(x *githubtest.Issue) { x.Milestone = milestones[rng.IntN(len(milestones))] })
				}
			}
		},
	}
	weights := []int{6, 2, 4, 3, 1, 2, 5, 2, 1, 2, 1}
	choose := func() func() {
		total := 0
		for _, w := range weights {
			total += w
		}
		r := rng.IntN(total)
		for i, w := range weights {
			if r < w {
				return changes[i]
			}
			r -= w
		}
		return changes[0]
	}
	const steps = 40
	for step := range steps {
		log, deleted = log[:0], false
		for range 1 + rng.IntN(3) {
			choose()()
			f.advance(time.Duration(rng.IntN(90)+1) * time.Second)
		}
		switch {
		case step%13 == 12:
			f.advance(time.Duration(1+rng.IntN(3)) * 24 * time.Hour) // the window moves
		default:
			f.advance(5 * time.Minute)
		}
		if step == steps/2 {
			c = newClient() // a restart: same Redis, empty memory
			log = append(log, "restart")
		}
		var m Meter
		if !sameAsNaive(t, f, c, repo, pollMetered(t, c, repo, &m), fmt.Sprintf("step %d %v", step, log)) {
			return
		}
		if n := m.Cost().Kinds[KindMilestoneIssues].Requests; n > 0 && !deleted {
			t.Errorf("step %d %v: %d milestones' issues read whole, though what changed was on the lists", step, log, n)
		}
	}
}

// pickIssue is a random issue of repo among those keep keeps.
func pickIssue(f *sandbox, rng *rand.Rand, keep func(githubtest.Issue) bool) (githubtest.Issue, bool) {
	var all []githubtest.Issue
	for _, is := range f.Issues(repo) {
		if keep(is) {
			all = append(all, is)
		}
	}
	if len(all) == 0 {
		return githubtest.Issue{}, false
	}
	return all[rng.IntN(len(all))], true
}
