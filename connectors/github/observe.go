package github

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/connectors"
)

// maxPages bounds one list walk, so a Link header that never ends cannot
// hold a worker forever (100 pages of 100 is far beyond a sane repo).
const maxPages = 100

// verdict is whether a command comment's author could commit when this
// process first read that text of it. A command is judged once, by a
// permission at most permissionTTL old; asking again on every poll would
// cost a request per commenter every few minutes and change nothing for
// a command the core has already answered. A new or edited comment is a
// new text, judged afresh.
type verdict struct {
	comment int64 // its ID
	updated time.Time
	can     bool
}

// List reads what changed in the repository since the last poll (see
// index) and returns its milestones, open and closed, as refs: an
// unchanged repository costs three 304s. List is what a poll calls; the
// Observes it leads to read what it learned, at no request.
func (c *Client) List(ctx context.Context, team string) ([]connectors.Ref, error) {
	full, _, _, err := c.resolve(ctx, team)
	if err != nil {
		return nil, err
	}
	v, err := c.view(ctx, full, true)
	if err != nil {
		return nil, err
	}
	refs := make([]connectors.Ref, 0, len(v.numbers))
	for _, n := range v.numbers {
		refs = append(refs, milestoneRef(full, n))
	}
	return refs, nil
}

func milestoneRef(repo string, number int) connectors.Ref {
	return connectors.Ref{Tracker: connectors.GitHub, Team: repo, Kind: connectors.Milestone, ID: strconv.Itoa(number)}
}

// Observe reads one milestone: the milestone itself, its items (issues and
// pull requests, the tracking issue left out: see milestoneItems), the
// tracking issue's comments and the repository's throughput, all from the
// repository's index, which it brings up to date first only when a poll
// did not in the last viewTTL (or a webhook or a write said it changed).
// With a fresh index it sends no request.
func (c *Client) Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	if ref.Tracker != connectors.GitHub || ref.Kind != connectors.Milestone {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: not a GitHub milestone: %w", ref, connectors.ErrTerminal)
	}
	full, owner, name, err := c.resolve(ctx, ref.Team)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	num, err := strconv.Atoi(ref.ID)
	if err != nil || num <= 0 {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: milestone id is not a number: %w", ref, connectors.ErrTerminal)
	}
	ref.Team = full

	v, err := c.view(ctx, full, false)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	m := v.milestones[num]
	if m == nil {
		// Not in the listing read moments ago: created since, or gone.
		gm, _, err := c.gh.Issues.GetMilestone(withTag(ctx, full, KindOther), owner, name, num)
		if err != nil {
			return connectors.Snapshot{}, c.wrap(fmt.Sprintf("get milestone %s#%d", full, num), err)
		}
		m = milestoneOf(gm)
		c.markStale(full)
	}
	items, thread, pin := c.milestoneItems(full, num, v)
	snap := connectors.Snapshot{Deliverable: m.deliverable(ref, items), Throughput: v.throughput}
	if pin != 0 && (thread == nil || thread.number != pin) {
		// The pinned tracking issue left the milestone or lost its label:
		// it stays the thread while it exists.
		if thread, err = c.pinnedIssue(ctx, full, owner, name, num, pin, thread); err != nil {
			return connectors.Snapshot{}, err
		}
	}
	if thread != nil {
		if snap.Thread, err = c.readThread(ctx, full, owner, name, thread, v); err != nil {
			return connectors.Snapshot{}, err
		}
	}
	return snap, nil
}

// deliverable is milestone m with its items, as the core sees it.
func deliverable(ref connectors.Ref, m *gh.Milestone, items []connectors.Item) connectors.Deliverable {
	return milestoneOf(m).deliverable(ref, items)
}

// view returns the repository's index as Observe reads it, brought up to
// date first when force is set, when marked stale (a webhook, a write) or
// when older than viewTTL.
func (c *Client) view(ctx context.Context, full string, force bool) (*repoView, error) {
	defer c.locks.Lock("repo\x00" + full)()
	c.mu.Lock()
	ix := c.index[full]
	if ix == nil {
		ix = newIndex()
		c.index[full] = ix
	}
	fresh := ix.built && !ix.stale && c.now().Sub(ix.fetched) < viewTTL
	v := ix.view
	c.mu.Unlock()
	if !force && fresh {
		return v, nil
	}
	// The repo lock keeps every other refresh of this repository out; the
	// client's lock guards only the pointer Observe reads.
	if err := c.refresh(ctx, full, ix); err != nil {
		return nil, err
	}
	c.mu.Lock()
	v = ix.view
	c.mu.Unlock()
	return v, nil
}

// indexFresh reports whether the repository's index is built, not marked
// stale and younger than viewTTL: what Observe just read is current.
func (c *Client) indexFresh(full string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ix := c.index[full]
	return ix != nil && ix.built && !ix.stale && c.now().Sub(ix.fetched) < viewTTL
}

func (c *Client) markStale(full string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix := c.index[full]; ix != nil {
		ix.stale = true
	}
}

// completed reports whether a closed issue or pull request is finished
// work. Issues closed as not planned or as duplicates are not, nor are pull
// requests closed without merging: counting them would let a triage sweep
// pass for a burst of delivery.
func completed(is *gh.Issue) bool {
	if is.IsPullRequest() {
		return !is.GetPullRequestLinks().GetMergedAt().IsZero()
	}
	switch is.GetStateReason() {
	case "not_planned", "duplicate":
		return false
	}
	return true
}

// isThread reports whether is is a tracking issue: labelled, and an issue
// (a labelled pull request is work like any other).
func (c *Client) isThread(is *gh.Issue) bool { return !is.IsPullRequest() && c.isTracking(is) }

func (c *Client) isTracking(is *gh.Issue) bool {
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), c.label) {
			return true
		}
	}
	return false
}

// issueNumber is the number at the end of an issue API URL.
func issueNumber(u string) int {
	i := strings.LastIndexByte(u, '/')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(u[i+1:])
	if err != nil {
		return 0
	}
	return n
}

func milestoneKey(full string, number int) string { return full + "#milestone=" + strconv.Itoa(number) }

// milestoneItems returns the milestone's items and tracking issue from
// the repository's view.
//
// The items are what the milestone page counts (its open_issues and
// closed_issues): the issues and the pull requests in the milestone, a
// closed one done however it was closed, less slipwatch's tracking issue,
// which is no work. Pull requests count because a team that puts them in
// a milestone sees them in its "% complete"; the throughput (buildView)
// counts both kinds too, so the forecast divides remaining work by a pace
// in the same unit. The tracking issue is the one pinned (PinThread),
// else chosen among the labelled issues in the milestone (chooseThread);
// the pinned one is no work whatever its labels now. It returns the pin
// too, 0 for none.
func (c *Client) milestoneItems(full string, num int, v *repoView) ([]connectors.Item, *trackingIssue, int) {
	key := milestoneKey(full, num)
	pin := c.pinnedOf(key)
	items := make([]connectors.Item, 0, len(v.items[num]))
	for _, it := range v.items[num] {
		if pin != 0 && int(it.number) == pin {
			continue
		}
		items = append(items, it.toItem())
	}
	thread := c.chooseThread(v.threads[num], pin)
	if thread != nil {
		c.mu.Lock()
		c.threadOf[key] = thread.number
		c.mu.Unlock()
	}
	return items, thread, pin
}

func threadID(full string, number int) string { return full + "#" + strconv.Itoa(number) }

// chooseThread is the milestone's tracking issue among the issues in it
// that carry the tracking label (or are pinned): the pinned one; else the
// oldest slipwatch wrote itself, so that someone labelling an older issue
// does not move the thread after a lost Redis; else the oldest. Should
// there be two, every replica settles on the same one.
func (c *Client) chooseThread(tracking []*trackingIssue, pin int) *trackingIssue {
	c.selfMu.Lock()
	self := c.self
	c.selfMu.Unlock()
	var best *trackingIssue
	rank := func(t *trackingIssue) int {
		switch {
		case pin != 0 && t.number == pin:
			return 0
		case self != "" && strings.EqualFold(t.author.String(), self):
			return 1
		}
		return 2
	}
	for _, t := range tracking {
		if best == nil || rank(t) < rank(best) || rank(t) == rank(best) && t.number < best.number {
			best = t
		}
	}
	return best
}

// PinThread tells the connector the thread a milestone's record names
// ("owner/name#N"; "" for none): Observe and EnsureThread keep to it,
// whatever other issue carries the tracking label, for as long as GitHub
// has it. A thread is chosen once; labelling another issue later must not
// move the promise's conversation. It does no I/O.
func (c *Client) PinThread(ref connectors.Ref, thread string) {
	if ref.Tracker != connectors.GitHub || ref.Kind != connectors.Milestone {
		return
	}
	full, _, _, err := c.repo(ref.Team)
	num, nerr := strconv.Atoi(ref.ID)
	if err != nil || nerr != nil {
		return
	}
	key := milestoneKey(full, num)
	repo, n, ok := strings.Cut(thread, "#")
	number, aerr := strconv.Atoi(n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok || aerr != nil || number <= 0 || !strings.EqualFold(repo, full) {
		delete(c.pinned, key)
		return
	}
	c.pinned[key] = number
	c.threadOf[key] = number
}

func (c *Client) pinnedOf(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinned[key]
}

// pinnedIssue reads the pinned tracking issue of milestone num, which is
// no longer in the milestone. Gone from GitHub, it is unpinned and the
// thread is what the milestone's issues say (chosen).
func (c *Client) pinnedIssue(ctx context.Context, full, owner, name string, num, pin int, chosen *trackingIssue) (*trackingIssue, error) {
	is, _, err := c.gh.Issues.Get(withTag(ctx, full, KindThread), owner, name, pin)
	err = c.wrap(fmt.Sprintf("get the pinned tracking issue %s#%d", full, pin), err)
	switch {
	case err == nil && !is.IsPullRequest():
		return trackingOf(is), nil
	case err == nil, isNotFound(err):
		key := milestoneKey(full, num)
		c.log.WarnContext(ctx, "the pinned tracking issue is gone; choosing the thread again", "milestone", key, "thread", threadID(full, pin))
		c.mu.Lock()
		if c.pinned[key] == pin {
			delete(c.pinned, key)
		}
		if c.threadOf[key] == pin {
			delete(c.threadOf, key)
		}
		c.mu.Unlock()
		return chosen, nil
	}
	return nil, err
}

// readThread returns the tracking issue with its comments, as the
// repository's comment lists told them. It reads the thread whole
// (conditionally) only when they do not add up to the issue's comment
// count, when a write to it failed moments ago (unsureFor), or when its
// turn to be checked has come (recheckDue).
func (c *Client) readThread(ctx context.Context, full, owner, name string, issue *trackingIssue, v *repoView) (*connectors.Thread, error) {
	num := issue.number
	id := threadID(full, num)
	now := c.now()
	c.mu.Lock()
	memo := c.threads[id]
	unsure := false
	if until, ok := c.unsure[id]; ok {
		if now.Before(until) {
			unsure = true // a failed write may have landed since the last read
		} else {
			delete(c.unsure, id)
		}
	}
	var comments []comment
	if memo != nil {
		comments = slices.Clone(memo.comments)
	}
	read := memo == nil || unsure || len(comments) < issue.comments || !now.Before(recheckDue(id, memo.checked))
	c.mu.Unlock()
	if read {
		var err error
		if comments, err = c.listComments(withTag(ctx, full, KindThread), owner, name, num); err != nil {
			return nil, err
		}
		// The memo's own copy: a list merged into it later must not
		// change what this Observe returns.
		fresh := &threadMemo{checked: now, comments: slices.Clone(comments)}
		c.mu.Lock()
		if old := c.threads[id]; old != nil {
			// Kept for the comments that are still there, unedited.
			for _, k := range comments {
				if v, ok := old.verdict(k.id); ok && v.updated.Equal(k.updated) {
					fresh.judged(v)
				}
			}
		}
		c.threads[id] = fresh
		c.mu.Unlock()
		memo = fresh
	}
	self, err := c.Self(ctx)
	if err != nil {
		return nil, err
	}
	th := &connectors.Thread{ID: id, URL: issue.url, Comments: make([]connectors.Comment, 0, len(comments))}
	for _, k := range comments {
		cm := k.toComment(self)
		if !cm.BySelf && hasCommand(cm.Body) {
			if cm.AuthorCanCommit, err = c.judge(ctx, memo, k.id, cm, full, owner, name); err != nil {
				return nil, err
			}
		}
		th.Comments = append(th.Comments, cm)
	}
	return th, nil
}

// judge is canCommit for the author of command comment id, once per text
// of the comment (see verdict).
func (c *Client) judge(ctx context.Context, memo *threadMemo, id int64, cm connectors.Comment, full, owner, name string) (bool, error) {
	c.mu.Lock()
	v, ok := memo.verdict(id)
	c.mu.Unlock()
	if ok && v.updated.Equal(cm.UpdatedAt) {
		return v.can, nil
	}
	can, err := c.canCommit(ctx, full, owner, name, cm.Author)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	memo.judged(verdict{comment: id, updated: cm.UpdatedAt, can: can})
	c.mu.Unlock()
	return can, nil
}

// listComments reads every comment of issue num, all pages.
func (c *Client) listComments(ctx context.Context, owner, name string, num int) ([]comment, error) {
	u := fmt.Sprintf("repos/%s/%s/issues/%d/comments?per_page=100", url.PathEscape(owner), url.PathEscape(name), num)
	gcs, err := listAll[*gh.IssueComment](ctx, c, u)
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("list comments of %s/%s#%d", owner, name, num), err)
	}
	comments := make([]comment, len(gcs))
	for i, gc := range gcs {
		comments[i] = commentOf(gc)
	}
	return comments, nil
}

// toComment is comment gc as the core sees it.
func toComment(gc *gh.IssueComment, self string) connectors.Comment {
	return commentOf(gc).toComment(self)
}

// hasCommand reports whether a comment may hold a command, whose author's
// permission matters: a /commit is taken only from those who may commit,
// and the answers to /slipwatch status and help from those who may not
// are rationed. Other comments cost no permission lookup.
func hasCommand(body string) bool {
	b := strings.ToLower(body)
	return strings.Contains(b, "/commit") || strings.Contains(b, "/slipwatch")
}
