package github

import (
	"context"
	"fmt"
	"maps"
	"net/http"
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

// repoView is what the three repository-wide lists said at one moment.
type repoView struct {
	fetched    time.Time
	day        connectors.Date // the day it was read, in the configured zone
	stale      bool
	milestones map[int]*gh.Milestone
	numbers    []int               // milestone numbers in listing order
	closed     map[int]closedIssue // closed issues and pull requests of the window (no tracking issues) by number
	closedBy   map[int]string      // milestone number → its closed issues (number@closed_at …)
	recent     map[int]string      // issue number → its comments of the last two days (id@updated_at …)
	throughput connectors.Throughput
	created    map[int]time.Time // closed item number → when it was created (teamFacts)
}

// closedIssue is what throughput and change detection need of a closed
// issue or pull request.
type closedIssue struct {
	milestone int
	at        time.Time
	completed bool
}

// itemsMemo is a milestone's issues as last read, and the listing
// fingerprint they were read under.
type itemsMemo struct {
	fingerprint string
	fetched     time.Time
	items       []connectors.Item
	thread      *gh.Issue // the tracking issue, nil if none
}

// threadMemo is a tracking issue's comments as last read.
type threadMemo struct {
	fingerprint string
	fetched     time.Time
	comments    []*gh.IssueComment
	// verdicts are canCommit's answers for the command comments, by
	// comment ID, each for the text it was given on (guarded by
	// Client.mu).
	verdicts map[int64]verdict
}

// verdict is whether a command comment's author could commit when this
// process first read that text of it. A command is judged once, by a
// permission at most permissionTTL old; asking again on every poll would
// cost a request per commenter every few minutes and change nothing for
// a command the core has already answered. A new or edited comment is a
// new text, judged afresh.
type verdict struct {
	updated time.Time
	can     bool
}

// List reads the repository's milestones (open and closed) and returns
// them as refs. It always re-reads the repository lists, each a
// conditional request: List is what a poll calls, and what Observe reuses
// for the next viewTTL.
func (c *Client) List(ctx context.Context, team string) ([]connectors.Ref, error) {
	full, _, _, err := c.repo(team)
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
// pull requests, the tracking issue left out: see items), the tracking
// issue's comments and the repository's throughput. Only what the
// repository lists say has changed is read again.
func (c *Client) Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	if ref.Tracker != connectors.GitHub || ref.Kind != connectors.Milestone {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: not a GitHub milestone: %w", ref, connectors.ErrTerminal)
	}
	full, owner, name, err := c.repo(ref.Team)
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
		m, _, err = c.gh.Issues.GetMilestone(ctx, owner, name, num)
		if err != nil {
			return connectors.Snapshot{}, c.wrap(fmt.Sprintf("get milestone %s#%d", full, num), err)
		}
		c.markStale(full)
	}
	memo, err := c.milestoneIssues(ctx, full, owner, name, m, v)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	snap := connectors.Snapshot{Deliverable: deliverable(ref, m, memo.items), Throughput: v.throughput}
	thread := memo.thread
	if pin := c.pinnedOf(milestoneKey(full, num)); pin != 0 && thread.GetNumber() != pin {
		// The pinned tracking issue left the milestone: it stays the
		// thread while it exists.
		if thread, err = c.pinnedIssue(ctx, full, owner, name, num, pin, memo.thread); err != nil {
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

func deliverable(ref connectors.Ref, m *gh.Milestone, items []connectors.Item) connectors.Deliverable {
	d := connectors.Deliverable{
		Ref:         ref,
		Title:       m.GetTitle(),
		URL:         m.GetHTMLURL(),
		Description: m.GetDescription(),
		Closed:      m.GetState() == "closed",
		Items:       items,
		// Creating or editing a milestone takes write permission on the
		// repository, which may commit: whoever wrote its description may.
		DescriptionByCanCommit: true,
	}
	if m.DueOn != nil {
		d.DueAt = m.DueOn.Time
	}
	if m.ClosedAt != nil {
		d.ClosedAt = m.ClosedAt.Time
	}
	return d
}

// view returns the repository's lists, read again when force is set, when
// marked stale (a webhook, a write) or when older than viewTTL.
func (c *Client) view(ctx context.Context, full string, force bool) (*repoView, error) {
	defer c.locks.Lock("repo\x00" + full)()
	c.mu.Lock()
	v := c.views[full]
	fresh := v != nil && !v.stale && c.now().Sub(v.fetched) < viewTTL
	c.mu.Unlock()
	if !force && fresh {
		return v, nil
	}
	v, err := c.readRepo(ctx, full, v)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.views[full] = v
	c.mu.Unlock()
	return v, nil
}

func (c *Client) markStale(full string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.views[full]; v != nil {
		v.stale = true
	}
}

// readRepo reads the lists an unchanged repository answers with 304s.
// Their URLs change at most once a day (since= is a day boundary in the
// configured zone), or no stored validator would ever match.
//
// The closed issues of the whole window are read once a day (the first
// read of the day, when the window moves anyway); every read takes those
// closed since yesterday and merges them in, which keeps a busy
// repository at one page per poll. An issue reopened during the day leaves
// the throughput at the next day's full read.
func (c *Client) readRepo(ctx context.Context, full string, prev *repoView) (*repoView, error) {
	owner, name, _ := strings.Cut(full, "/")
	now := c.now()
	today := connectors.DateOf(now, c.loc)
	from := today.AddDays(-(c.window - 1))
	base := "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name)

	milestones, err := listAll[*gh.Milestone](ctx, c, base+"/milestones?state=all&per_page=100")
	if err != nil {
		return nil, c.wrap("list milestones of "+full, err)
	}
	v := &repoView{
		fetched:    now,
		day:        today,
		milestones: map[int]*gh.Milestone{},
		closed:     map[int]closedIssue{},
		closedBy:   map[int]string{},
		recent:     map[int]string{},
	}
	// The full window first when this is the day's first read, then always
	// the recent list, so the polls after this one find it stored.
	var closed []*gh.Issue
	if prev != nil && prev.day == today && prev.closed != nil {
		for n, ci := range prev.closed {
			v.closed[n] = ci
		}
	} else {
		if closed, err = listAll[*gh.Issue](ctx, c, base+"/issues?state=closed&since="+since(from, c.loc)+"&per_page=100"); err != nil {
			return nil, c.wrap("list closed issues of "+full, err)
		}
	}
	latest, err := listAll[*gh.Issue](ctx, c, base+"/issues?state=closed&since="+since(today.AddDays(-1), c.loc)+"&per_page=100")
	if err != nil {
		return nil, c.wrap("list recently closed issues of "+full, err)
	}
	closed = append(closed, latest...)
	// Comments of the last two calendar days: yesterday is kept so a comment
	// made just before midnight is still seen by the first poll after it.
	recent, err := listAll[*gh.IssueComment](ctx, c, base+"/issues/comments?since="+since(today.AddDays(-1), c.loc)+"&per_page=100")
	if err != nil {
		return nil, c.wrap("list recent comments of "+full, err)
	}

	for _, m := range milestones {
		n := m.GetNumber()
		if _, dup := v.milestones[n]; dup || n <= 0 {
			continue // a page boundary moved under us; the next poll sees it whole
		}
		v.milestones[n] = m
		v.numbers = append(v.numbers, n)
	}
	for _, is := range closed {
		if c.isThread(is) || is.ClosedAt == nil {
			continue
		}
		v.closed[is.GetNumber()] = closedIssue{milestone: is.GetMilestone().GetNumber(), at: is.ClosedAt.Time, completed: completed(is)}
	}
	var done []time.Time
	numbers := slices.Sorted(maps.Keys(v.closed))
	for _, n := range numbers {
		ci := v.closed[n]
		if ci.milestone > 0 {
			v.closedBy[ci.milestone] += fmt.Sprintf("%d@%d ", n, ci.at.Unix())
		}
		if ci.completed {
			done = append(done, ci.at)
		}
	}
	v.throughput = connectors.CountThroughput(done, from, today, c.loc)
	c.teamFacts(v, prev, closed)
	for _, cm := range recent {
		n := issueNumber(cm.GetIssueURL())
		if n > 0 {
			v.recent[n] += fmt.Sprintf("%d@%d ", cm.GetID(), cm.GetUpdatedAt().Unix())
		}
	}
	return v, nil
}

// teamFacts adds the team-level facts (connectors.CountFacts) to the
// view's throughput from the closed list readRepo has just read, at no
// request of its own: each completed item of the window with its
// milestone, which is in progress while open, and begun before the window
// when it has closed items the window does not show. The creation times
// are kept across the day's reads, whose lists after the first hold only
// the latest closes.
func (c *Client) teamFacts(v, prev *repoView, closed []*gh.Issue) {
	v.created = map[int]time.Time{}
	if prev != nil && prev.day == v.day {
		maps.Copy(v.created, prev.created)
	}
	for _, is := range closed {
		if is.CreatedAt != nil {
			v.created[is.GetNumber()] = is.CreatedAt.Time
		}
	}
	start := v.throughput.From.Time(c.loc)
	seen := map[int]int{} // milestone → its closed items in the lists
	begun := map[int]bool{}
	for _, ci := range v.closed {
		if ci.milestone > 0 {
			seen[ci.milestone]++
			if ci.at.Before(start) {
				begun[ci.milestone] = true
			}
		}
	}
	var done []connectors.Completion
	for n, ci := range v.closed {
		if !ci.completed {
			continue
		}
		cp := connectors.Completion{Created: v.created[n], Closed: ci.at}
		if m := v.milestones[ci.milestone]; m != nil {
			cp.Deliverable = strconv.Itoa(ci.milestone)
			cp.Open = m.GetState() != "closed"
			cp.Begun = begun[ci.milestone] || m.GetClosedIssues() > seen[ci.milestone]
		}
		done = append(done, cp)
	}
	v.throughput.CountFacts(done, c.loc)
}

// since is the start of day d in loc as the UTC instant GitHub expects.
func since(d connectors.Date, loc *time.Location) string {
	return url.QueryEscape(d.Time(loc).UTC().Format(time.RFC3339))
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

// milestoneIssues returns the milestone's items and tracking issue, read
// again only when the milestone listing (counts, updated_at) or the
// closed-issue list changed for it, or the memo is older than memoTTL.
//
// The items are what the milestone page counts (its open_issues and
// closed_issues): the issues and the pull requests in the milestone, a
// closed one done however it was closed, less slipwatch's tracking issue,
// which is no work. Pull requests count because a team that puts them in
// a milestone sees them in its "% complete"; the throughput (readRepo)
// counts both kinds too, so the forecast divides remaining work by a pace
// in the same unit.
func (c *Client) milestoneIssues(ctx context.Context, full, owner, name string, m *gh.Milestone, v *repoView) (*itemsMemo, error) {
	num := m.GetNumber()
	key := milestoneKey(full, num)
	pin := c.pinnedOf(key)
	fp := fmt.Sprintf("%d|%s|%d|%d|%s|%s|%d", num, m.GetUpdatedAt().Format(time.RFC3339Nano), m.GetOpenIssues(), m.GetClosedIssues(), m.GetState(), v.closedBy[num], pin)
	c.mu.Lock()
	memo := c.items[key]
	c.mu.Unlock()
	if memo != nil && memo.fingerprint == fp && c.now().Sub(memo.fetched) < memoTTL {
		return memo, nil
	}
	u := fmt.Sprintf("repos/%s/%s/issues?milestone=%d&state=all&per_page=100", url.PathEscape(owner), url.PathEscape(name), num)
	issues, err := listAll[*gh.Issue](ctx, c, u)
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("list issues of milestone %s#%d", full, num), err)
	}
	memo = &itemsMemo{fingerprint: fp, fetched: c.now(), items: []connectors.Item{}}
	var tracking []*gh.Issue
	for _, is := range issues {
		switch {
		case !is.IsPullRequest() && (c.isTracking(is) || is.GetNumber() == pin):
			// A tracking issue, or the pinned one (whatever its labels
			// now): no work, and a candidate for the thread (chooseThread).
			// A labelled pull request is work like any other.
			tracking = append(tracking, is)
		default:
			it := connectors.Item{ID: strconv.Itoa(is.GetNumber()), CreatedAt: is.GetCreatedAt().Time}
			if is.GetState() == "closed" && is.ClosedAt != nil {
				it.ClosedAt = is.ClosedAt.Time
			}
			memo.items = append(memo.items, it)
		}
	}
	if listed, counted := len(memo.items)+len(tracking), m.GetOpenIssues()+m.GetClosedIssues(); listed < counted {
		// GitHub filters pull requests out of the lists for a credential
		// without the Pull requests permission, but the milestone counts
		// them: progress would quietly leave them out. (A change between
		// the two reads can also show here, once.)
		c.log.WarnContext(ctx, "GitHub listed fewer issues and pull requests than the milestone counts; "+
			"grant the credential Pull requests: read so progress counts pull requests as the milestone page does",
			"milestone", key, "listed", listed, "counted", counted)
	}
	slices.SortFunc(memo.items, func(a, b connectors.Item) int {
		x, _ := strconv.Atoi(a.ID)
		y, _ := strconv.Atoi(b.ID)
		return x - y
	})
	memo.thread = c.chooseThread(tracking, pin)
	c.mu.Lock()
	c.items[key] = memo
	if memo.thread != nil {
		c.threadOf[key] = memo.thread.GetNumber()
	}
	c.mu.Unlock()
	return memo, nil
}

func threadID(full string, number int) string { return full + "#" + strconv.Itoa(number) }

// chooseThread is the milestone's tracking issue among the issues in it
// that carry the tracking label (or are pinned): the pinned one; else the
// oldest slipwatch wrote itself, so that someone labelling an older issue
// does not move the thread after a lost Redis; else the oldest. Should
// there be two, every replica settles on the same one.
func (c *Client) chooseThread(tracking []*gh.Issue, pin int) *gh.Issue {
	c.selfMu.Lock()
	self := c.self
	c.selfMu.Unlock()
	var best *gh.Issue
	rank := func(is *gh.Issue) int {
		switch {
		case pin != 0 && is.GetNumber() == pin:
			return 0
		case self != "" && strings.EqualFold(is.GetUser().GetLogin(), self):
			return 1
		}
		return 2
	}
	for _, is := range tracking {
		if best == nil || rank(is) < rank(best) || rank(is) == rank(best) && is.GetNumber() < best.GetNumber() {
			best = is
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
func (c *Client) pinnedIssue(ctx context.Context, full, owner, name string, num, pin int, chosen *gh.Issue) (*gh.Issue, error) {
	is, _, err := c.gh.Issues.Get(ctx, owner, name, pin)
	err = c.wrap(fmt.Sprintf("get the pinned tracking issue %s#%d", full, pin), err)
	switch {
	case err == nil && !is.IsPullRequest():
		return is, nil
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

// readThread returns the tracking issue with its comments, read again only
// when the recent-comments list shows a change on it.
func (c *Client) readThread(ctx context.Context, full, owner, name string, issue *gh.Issue, v *repoView) (*connectors.Thread, error) {
	num := issue.GetNumber()
	id := threadID(full, num)
	fp := v.recent[num]
	now := c.now()
	c.mu.Lock()
	memo := c.threads[id]
	if until, ok := c.unsure[id]; ok {
		if now.Before(until) {
			memo = nil // a failed write may have landed since the last read
		} else {
			delete(c.unsure, id)
		}
	}
	c.mu.Unlock()
	if memo == nil || memo.fingerprint != fp || now.Sub(memo.fetched) >= memoTTL {
		comments, err := c.listComments(ctx, owner, name, num)
		if err != nil {
			return nil, err
		}
		fresh := &threadMemo{fingerprint: fp, fetched: now, comments: comments, verdicts: map[int64]verdict{}}
		c.mu.Lock()
		if old := c.threads[id]; old != nil {
			// Kept for the comments that are still there, unedited.
			for _, gc := range comments {
				if v, ok := old.verdicts[gc.GetID()]; ok && v.updated.Equal(gc.GetUpdatedAt().Time) {
					fresh.verdicts[gc.GetID()] = v
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
	th := &connectors.Thread{ID: id, URL: issue.GetHTMLURL(), Comments: make([]connectors.Comment, 0, len(memo.comments))}
	for _, gc := range memo.comments {
		cm := toComment(gc, self)
		if !cm.BySelf && hasCommand(cm.Body) {
			if cm.AuthorCanCommit, err = c.judge(ctx, memo, gc.GetID(), cm, full, owner, name); err != nil {
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
	v, ok := memo.verdicts[id]
	c.mu.Unlock()
	if ok && v.updated.Equal(cm.UpdatedAt) {
		return v.can, nil
	}
	can, err := c.canCommit(ctx, full, owner, name, cm.Author)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	if memo.verdicts == nil {
		memo.verdicts = map[int64]verdict{}
	}
	memo.verdicts[id] = verdict{updated: cm.UpdatedAt, can: can}
	c.mu.Unlock()
	return can, nil
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

// hasCommand reports whether a comment may hold a command, whose author's
// permission matters: a /commit is taken only from those who may commit,
// and the answers to /slipwatch status and help from those who may not
// are rationed. Other comments cost no permission lookup.
func hasCommand(body string) bool {
	b := strings.ToLower(body)
	return strings.Contains(b, "/commit") || strings.Contains(b, "/slipwatch")
}

// listAll walks a list by its Link headers from first (a path under the
// API root, or an absolute URL on the same host).
func listAll[T any](ctx context.Context, c *Client, first string) ([]T, error) {
	var out []T
	next := first
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("more than %d pages from %s", maxPages, first)
		}
		req, err := c.gh.NewRequest(http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		if req.URL.Host != c.gh.BaseURL.Host || req.URL.Scheme != c.gh.BaseURL.Scheme {
			// Never send the credential to another host a Link names.
			return nil, fmt.Errorf("next page %s is not on %s", req.URL.Redacted(), c.gh.BaseURL.Host)
		}
		var items []T
		resp, err := c.gh.Do(ctx, req, &items)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		next = nextLink(resp.Header.Values("Link"))
	}
	return out, nil
}
