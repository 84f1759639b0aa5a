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

type permEntry struct {
	write   bool
	fetched time.Time
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
		m, _, err = c.gh.Issues.GetMilestone(withTag(ctx, full, KindOther), owner, name, num)
		if err != nil {
			return connectors.Snapshot{}, c.wrap(fmt.Sprintf("get milestone %s#%d", full, num), err)
		}
		c.markStale(full)
	}
	items, thread := c.milestoneItems(full, num, v)
	snap := connectors.Snapshot{Deliverable: deliverable(ref, m, items), Throughput: v.throughput}
	if thread != nil {
		if snap.Thread, err = c.readThread(ctx, full, owner, name, thread, v); err != nil {
			return connectors.Snapshot{}, err
		}
	}
	return snap, nil
}

func deliverable(ref connectors.Ref, m *gh.Milestone, items []connectors.Item) connectors.Deliverable {
	d := connectors.Deliverable{
		Ref:         ref,
		Title:       m.GetTitle(),
		URL:         m.GetHTMLURL(),
		Description: m.GetDescription(),
		Closed:      m.GetState() == "closed",
		Items:       items,
	}
	if m.DueOn != nil {
		d.DueAt = m.DueOn.Time
	}
	if m.ClosedAt != nil {
		d.ClosedAt = m.ClosedAt.Time
	}
	return d
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
// in the same unit. The tracking issue is the oldest labelled issue in
// the milestone, should there ever be two.
func (c *Client) milestoneItems(full string, num int, v *repoView) ([]connectors.Item, *gh.Issue) {
	items := slices.Clone(v.items[num])
	if items == nil {
		items = []connectors.Item{}
	}
	var thread *gh.Issue
	if candidates := v.threads[num]; len(candidates) > 0 {
		thread = candidates[0] // by number: the oldest
		c.mu.Lock()
		c.threadOf[milestoneKey(full, num)] = thread.GetNumber()
		c.mu.Unlock()
	}
	return items, thread
}

func threadID(full string, number int) string { return full + "#" + strconv.Itoa(number) }

// readThread returns the tracking issue with its comments, as the
// repository's comment lists told them. It reads the thread whole
// (conditionally) only when they do not add up to the issue's comment
// count, when a write to it failed moments ago (unsureFor), or when its
// turn to be checked has come (recheckDue).
func (c *Client) readThread(ctx context.Context, full, owner, name string, issue *gh.Issue, v *repoView) (*connectors.Thread, error) {
	num := issue.GetNumber()
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
	var comments []*gh.IssueComment
	if memo != nil {
		comments = slices.Clone(memo.comments)
	}
	read := memo == nil || unsure || len(comments) < issue.GetComments() || !now.Before(recheckDue(id, memo.checked))
	c.mu.Unlock()
	if read {
		var err error
		if comments, err = c.listComments(withTag(ctx, full, KindThread), owner, name, num); err != nil {
			return nil, err
		}
		kept := make([]*gh.IssueComment, len(comments))
		for i, cm := range comments {
			kept[i] = trimComment(cm)
		}
		c.mu.Lock()
		c.threads[id] = &threadMemo{checked: now, comments: kept}
		c.mu.Unlock()
	}
	self, err := c.Self(ctx)
	if err != nil {
		return nil, err
	}
	th := &connectors.Thread{ID: id, URL: issue.GetHTMLURL(), Comments: make([]connectors.Comment, 0, len(comments))}
	for _, gc := range comments {
		cm := toComment(gc, self)
		if !cm.BySelf && hasCommand(cm.Body) {
			if cm.AuthorCanCommit, err = c.canCommit(ctx, full, owner, name, cm.Author); err != nil {
				return nil, err
			}
		}
		th.Comments = append(th.Comments, cm)
	}
	return th, nil
}

// listComments reads every comment of issue num, all pages.
func (c *Client) listComments(ctx context.Context, owner, name string, num int) ([]*gh.IssueComment, error) {
	u := fmt.Sprintf("repos/%s/%s/issues/%d/comments?per_page=100", url.PathEscape(owner), url.PathEscape(name), num)
	comments, err := listAll[*gh.IssueComment](ctx, c, u)
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("list comments of %s/%s#%d", owner, name, num), err)
	}
	return comments, nil
}

func toComment(gc *gh.IssueComment, self string) connectors.Comment {
	login := gc.GetUser().GetLogin()
	return connectors.Comment{
		ID:        strconv.FormatInt(gc.GetID(), 10),
		URL:       gc.GetHTMLURL(),
		Author:    login,
		Body:      gc.GetBody(),
		Hidden:    gc.GetBody(), // markers are HTML comments in the body
		CreatedAt: gc.GetCreatedAt().Time,
		UpdatedAt: gc.GetUpdatedAt().Time,
		BySelf:    self != "" && strings.EqualFold(login, self),
	}
}

// hasCommand reports whether a comment may hold a /commit command, the
// only one whose author's permission matters; other comments cost no
// permission lookup.
func hasCommand(body string) bool {
	return strings.Contains(strings.ToLower(body), "/commit")
}

// canCommit: listed in commands.allow, or write, maintain or admin
// permission on the repository (GitHub reports maintain as "write").
func (c *Client) canCommit(ctx context.Context, full, owner, name, login string) (bool, error) {
	if login == "" {
		return false, nil
	}
	if c.allow[strings.ToLower(login)] {
		return true, nil
	}
	key := full + "\x00" + strings.ToLower(login)
	c.mu.Lock()
	p, ok := c.perms[key]
	c.mu.Unlock()
	if ok && c.now().Sub(p.fetched) < permissionTTL {
		return p.write, nil
	}
	level, _, err := c.gh.Repositories.GetPermissionLevel(withTag(ctx, full, KindOther), owner, name, login)
	write := false
	switch err := c.wrap(fmt.Sprintf("get permission of %s on %s", login, full), err); {
	case err == nil:
		switch level.GetPermission() {
		case "admin", "maintain", "write":
			write = true
		}
	case isNotFound(err):
		// Not a collaborator (or no such user): no permission.
	default:
		return false, err
	}
	c.mu.Lock()
	c.perms[key] = permEntry{write: write, fetched: c.now()}
	c.mu.Unlock()
	return write, nil
}
