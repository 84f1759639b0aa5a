package github

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/connectors"
)

// naiveRead is the oracle of the index tests: every milestone of a
// repository read the simplest way there is — the milestones, each
// milestone's issues whole, each thread's comments whole, the window's
// closed issues — with no cache and no memory, built into the snapshots
// Observe must return. It shares nothing with the index but the mapping of
// one payload to one value (deliverable, toComment, completed, isThread).
func naiveRead(t testing.TB, f *sandbox, c *Client, full string) map[string]connectors.Snapshot {
	t.Helper()
	ctx := context.Background()
	api, err := gh.NewClient(&http.Client{}).WithAuthToken(testToken).WithEnterpriseURLs(c.cfg.BaseURL, c.cfg.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	owner, name, _ := strings.Cut(full, "/")
	var milestones []*gh.Milestone
	for page := 1; page != 0; {
		ms, resp, err := api.Issues.ListMilestones(ctx, owner, name, &gh.MilestoneListOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 100, Page: page}})
		if err != nil {
			t.Fatalf("naive: milestones: %v", err)
		}
		milestones, page = append(milestones, ms...), resp.NextPage
	}
	issues := func(opt gh.IssueListByRepoOptions) []*gh.Issue {
		var out []*gh.Issue
		opt.PerPage = 100
		for opt.Page = 1; opt.Page != 0; {
			is, resp, err := api.Issues.ListByRepo(ctx, owner, name, &opt)
			if err != nil {
				t.Fatalf("naive: issues %+v: %v", opt, err)
			}
			out, opt.Page = append(out, is...), resp.NextPage
		}
		return out
	}

	self := f.Self
	now := f.Now()
	today := connectors.DateOf(now, c.loc)
	from := today.AddDays(-(c.window - 1))
	var closes []time.Time
	var completions []*gh.Issue
	for _, is := range issues(gh.IssueListByRepoOptions{State: "closed", Since: from.Time(c.loc)}) {
		if !c.isThread(is) && completed(is) {
			closes = append(closes, is.GetClosedAt().Time)
			completions = append(completions, is)
		}
	}
	throughput := connectors.CountThroughput(closes, from, today, c.loc)
	byNumber := map[int]*gh.Milestone{}
	closedIn := map[int]int{} // milestone → its closed items
	begun := map[int]bool{}   // milestone → an item closed before the window

	out := map[string]connectors.Snapshot{}
	for _, m := range milestones {
		ref := milestoneRef(full, m.GetNumber())
		items := []connectors.Item{}
		var thread *gh.Issue
		for _, is := range issues(gh.IssueListByRepoOptions{Milestone: strconv.Itoa(m.GetNumber()), State: "all"}) {
			if c.isThread(is) {
				// slipwatch's own before others', the oldest of either.
				mine := strings.EqualFold(is.GetUser().GetLogin(), self)
				if thread == nil || mine && !strings.EqualFold(thread.GetUser().GetLogin(), self) ||
					mine == strings.EqualFold(thread.GetUser().GetLogin(), self) && is.GetNumber() < thread.GetNumber() {
					thread = is
				}
				continue
			}
			it := connectors.Item{ID: strconv.Itoa(is.GetNumber()), CreatedAt: is.GetCreatedAt().Time}
			if is.GetState() == "closed" {
				it.ClosedAt = is.GetClosedAt().Time
				closedIn[m.GetNumber()]++
				if it.ClosedAt.Before(from.Time(c.loc)) {
					begun[m.GetNumber()] = true
				}
			}
			items = append(items, it)
		}
		byNumber[m.GetNumber()] = m
		slices.SortFunc(items, func(a, b connectors.Item) int {
			x, _ := strconv.Atoi(a.ID)
			y, _ := strconv.Atoi(b.ID)
			return x - y
		})
		snap := connectors.Snapshot{Deliverable: deliverable(ref, m, items), Throughput: throughput}
		if thread != nil {
			th := &connectors.Thread{ID: threadID(full, thread.GetNumber()), URL: thread.GetHTMLURL(), Comments: []connectors.Comment{}}
			for page := 1; page != 0; {
				cs, resp, err := api.Issues.ListComments(ctx, owner, name, thread.GetNumber(), &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100, Page: page}})
				if err != nil {
					t.Fatalf("naive: comments: %v", err)
				}
				for _, gc := range cs {
					cm := toComment(gc, self)
					if !cm.BySelf && hasCommand(cm.Body) {
						cm.AuthorCanCommit = naiveCanCommit(t, api, c, owner, name, cm.Author)
					}
					th.Comments = append(th.Comments, cm)
				}
				page = resp.NextPage
			}
			snap.Thread = th
		}
		out[ref.Key()] = snap
	}
	// The forecast's team facts, from the window's completions and what
	// the milestones' whole lists said.
	var done []connectors.Completion
	for _, is := range completions {
		cp := connectors.Completion{Created: is.GetCreatedAt().Time, Closed: is.GetClosedAt().Time}
		if m := byNumber[is.GetMilestone().GetNumber()]; m != nil {
			n := m.GetNumber()
			cp.Deliverable, cp.Open = strconv.Itoa(n), m.GetState() != "closed"
			cp.Begun = begun[n] || m.GetClosedIssues() > closedIn[n]
		}
		done = append(done, cp)
	}
	throughput.CountFacts(done, c.loc)
	for k, snap := range out {
		snap.Throughput = throughput
		out[k] = snap
	}
	return out
}

func naiveCanCommit(t testing.TB, api *gh.Client, c *Client, owner, name, login string) bool {
	if c.allow[strings.ToLower(login)] {
		return true
	}
	p, resp, err := api.Repositories.GetPermissionLevel(context.Background(), owner, name, login)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return false
	}
	if err != nil {
		t.Fatalf("naive: permission of %s: %v", login, err)
	}
	switch p.GetPermission() {
	case "admin", "maintain", "write":
		return true
	}
	return false
}

// poll is one poll of full as the runner makes it: List, then Observe
// every milestone; the snapshots by key.
func poll(t testing.TB, c *Client, full string) map[string]connectors.Snapshot {
	t.Helper()
	ctx := context.Background()
	refs, err := c.List(ctx, full)
	if err != nil {
		t.Fatalf("List %s: %v", full, err)
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

// sameAsNaive fails t when the connector's snapshots differ from the
// naive read's.
func sameAsNaive(t testing.TB, f *sandbox, c *Client, full string, got map[string]connectors.Snapshot, step string) bool {
	t.Helper()
	want := naiveRead(t, f, c, full)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: snapshots differ from a naive full read (-naive +index):\n%s", step, diff)
		return false
	}
	return true
}
