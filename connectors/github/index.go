package github

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/connectors"
)

// How the index spends requests; nothing configures them.
const (
	// pageSize is GitHub's largest page.
	pageSize = 100
	// threadRecheck is how often, at least, a thread's comments are read
	// whole (conditionally: free when unchanged), each thread at its own
	// moment within the following recheckSpread. No list shows a deleted
	// comment; this bounds how long one is still believed.
	threadRecheck = 20 * time.Hour
	recheckSpread = 8 * time.Hour
	// walkPages bounds a cold start's walk of a repository's issues or
	// comments (a hundred thousand of them), so a Link header that never
	// ends cannot hold a worker forever.
	walkPages = 1000
)

// index is what the connector knows of one repository, kept current by
// reading what changed and nothing else (refresh):
//
//   - the milestones, with their open_issues and closed_issues counts;
//   - every issue and pull request of every milestone, and every one
//     closed in the forecast window (the throughput), with the times the
//     forecast needs;
//   - the tracking issues (thread candidates), whose comments live in
//     Client.threads.
//
// A cold start learns it by walking the repository's issues newest update
// first (see coldIssues); afterwards the first page of the same list, and
// of the repository's comments, says what changed: an unchanged repository
// answers both with a 304, which GitHub does not count. The milestones'
// counts check the result: a milestone whose counts disagree with the
// index (an issue deleted or transferred, which no list shows) has its
// issues read again, alone.
//
// It lives in memory, per replica: the validators of every page it reads
// live in Redis, so a restarted or second replica rebuilds it from
// answers that are mostly 304s (BENCHMARKS.md, "restart").
type index struct {
	built   bool
	fetched time.Time
	stale   bool

	milestones map[int]*milestone
	numbers    []int // milestone numbers in listing order

	items    map[int32]entry        // by issue number
	tracking map[int]*trackingIssue // the tracking issues among items

	// issuesMark and commentsMark are the newest updated_at read from
	// each list: the walk of what changed stops below them.
	issuesMark, commentsMark time.Time

	// accepted are milestone counts (open, closed) that a repair could not
	// make the index agree with: GitHub hides pull requests from a
	// credential without Pull requests: read, and counts them anyway. They
	// are not repaired again until they change.
	accepted map[int][2]int

	view *repoView // what Observe reads, rebuilt by each refresh
}

// entry is what the index keeps of an issue or pull request, by its
// number: an organisation's index holds hundreds of thousands, so it is 20
// bytes, and a map slot with its number 24.
type entry struct {
	created, closed, update seconds
	milestone               int32
	completed               bool // closed as finished work (see completed)
	tracking                bool // a tracking issue: labelled, not a pull request
}

func newIndex() *index {
	return &index{items: map[int32]entry{}, tracking: map[int]*trackingIssue{}, accepted: map[int][2]int{}, milestones: map[int]*milestone{}}
}

// repoView is what Observe reads of a repository: a snapshot of its index.
type repoView struct {
	milestones map[int]*milestone
	numbers    []int
	items      map[int][]item           // milestone → its items, by number
	threads    map[int][]*trackingIssue // milestone → its tracking issues, by number
	throughput connectors.Throughput
}

// item is an issue or pull request of a milestone as a view keeps it
// (12 bytes): Observe makes the connectors.Item of it.
type item struct {
	number          int32
	created, closed seconds
}

func (it item) toItem() connectors.Item {
	return connectors.Item{ID: strconv.Itoa(int(it.number)), CreatedAt: it.created.time(), ClosedAt: it.closed.time()}
}

// closedIssue is what throughput needs of a closed issue or pull request.
type closedIssue struct {
	milestone   int
	created, at time.Time
	completed   bool
}

func (c *Client) repoBase(full string) string {
	owner, name, _ := strings.Cut(full, "/")
	return "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
}

// The lists, as URLs whose pages (and so whose stored validators) stay the
// same from one poll to the next.
func issuesURL(base string) string {
	return base + "/issues?state=all&sort=updated&direction=desc&per_page=" + strconv.Itoa(pageSize)
}

func commentsURL(base string) string {
	return base + "/issues/comments?sort=updated&direction=desc&per_page=" + strconv.Itoa(pageSize)
}

func milestonedURL(base string) string {
	return base + "/issues?milestone=*&state=all&sort=created&direction=asc&per_page=" + strconv.Itoa(pageSize)
}

// refresh brings ix up to date: the first page of the issues (more when
// more changed), the milestones, the first page of the comments; a cold
// index is walked whole first. A milestone whose counts then disagree has
// its issues read again.
func (c *Client) refresh(ctx context.Context, full string, ix *index) error {
	base := c.repoBase(full)
	now := c.now()
	from := connectors.DateOf(now, c.loc).AddDays(-(c.window - 1)).Time(c.loc)
	// A webhook that marks the index stale while this refresh reads keeps
	// it stale: what it announced may have come after the lists were read.
	c.mu.Lock()
	ix.stale = false
	c.mu.Unlock()
	if !ix.built {
		// The milestones first: their counts price the walk.
		if err := c.readMilestones(ctx, full, base, ix); err != nil {
			return err
		}
		if err := c.coldIssues(ctx, full, base, ix, from); err != nil {
			return err
		}
	} else {
		if err := c.changedIssues(ctx, full, base, ix); err != nil {
			return err
		}
		if err := c.readMilestones(ctx, full, base, ix); err != nil {
			return err
		}
	}
	if len(c.disagreeing(ix)) > 0 && ix.built {
		// Something changed between the two reads (the milestones are
		// newer): what changed is on the first page again.
		if err := c.changedIssues(ctx, full, base, ix); err != nil {
			return err
		}
	}
	for _, num := range c.disagreeing(ix) {
		if err := c.repair(ctx, full, base, ix, num); err != nil {
			return err
		}
	}
	if !ix.built {
		c.openThreads(full, ix)
		if err := c.coldComments(ctx, full, base, ix); err != nil {
			return err
		}
	} else if err := c.changedComments(ctx, full, base, ix); err != nil {
		return err
	}
	c.prune(ix, from)
	v := c.buildView(ix, now)
	c.mu.Lock()
	ix.built, ix.fetched, ix.view = true, now, v
	c.mu.Unlock()
	return nil
}

func (c *Client) readMilestones(ctx context.Context, full, base string, ix *index) error {
	milestones, err := listAll[*gh.Milestone](withTag(ctx, full, KindMilestones), c, base+"/milestones?state=all&per_page="+strconv.Itoa(pageSize))
	if err != nil {
		return c.wrap("list milestones of "+full, err)
	}
	ix.milestones, ix.numbers = make(map[int]*milestone, len(milestones)), nil
	for _, gm := range milestones {
		n := gm.GetNumber()
		if _, dup := ix.milestones[n]; dup || n <= 0 {
			continue // a page boundary moved under us; the next poll sees it whole
		}
		ix.milestones[n] = milestoneOf(gm)
		ix.numbers = append(ix.numbers, n)
	}
	return nil
}

// coldIssues learns every issue the index keeps. It walks the repository's
// issues, most recently updated first, down to the start of the forecast
// window (everything closed in it, milestone or not, is there); what is
// left are items of the milestones not touched since. By then the first
// page's Link header says how many pages the whole list has, and the
// milestones' counts how many pages their items fill: it finishes the
// walk, or reads the milestones' items instead, whichever is fewer pages.
// Last, the first page again (a 304 unless something changed during the
// walk), so nothing that moved to the top meanwhile is missed.
func (c *Client) coldIssues(ctx context.Context, full, base string, ix *index, from time.Time) error {
	ctx = withTag(ctx, full, KindIssues)
	first := issuesURL(base)
	issues, next, last, err := readPage[*gh.Issue](ctx, c, first)
	if err != nil {
		return c.wrap("list issues of "+full, err)
	}
	c.mergeIssues(full, ix, issues)
	mark := newestIssue(issues)
	pages := 1
	for next != "" && !oldestIssue(issues).Before(from) && pages < walkPages {
		if issues, next, _, err = readPage[*gh.Issue](ctx, c, next); err != nil {
			return c.wrap("list issues of "+full, err)
		}
		c.mergeIssues(full, ix, issues)
		pages++
	}
	if next != "" {
		counted := 0
		for _, m := range ix.milestones {
			counted += m.counts[0] + m.counts[1]
		}
		if rest, milestoned := last-pages, (counted+pageSize-1)/pageSize; rest > milestoned {
			all, err := listAll[*gh.Issue](withTag(ctx, full, KindMilestoneIssues), c, milestonedURL(base))
			if err != nil {
				return c.wrap("list the milestones' issues of "+full, err)
			}
			c.mergeIssues(full, ix, all)
			next = ""
		}
		for ; next != "" && pages < walkPages; pages++ {
			if issues, next, _, err = readPage[*gh.Issue](ctx, c, next); err != nil {
				return c.wrap("list issues of "+full, err)
			}
			c.mergeIssues(full, ix, issues)
		}
		if next != "" {
			c.log.WarnContext(ctx, "stopped walking the issues of a repository; milestones that disagree are read alone",
				"repo", full, "pages", pages)
		}
	}
	if pages > 1 {
		if issues, _, _, err = readPage[*gh.Issue](ctx, c, first); err != nil {
			return c.wrap("list issues of "+full, err)
		}
		c.mergeIssues(full, ix, issues)
		mark = later(mark, newestIssue(issues))
	}
	ix.issuesMark = mark
	return nil
}

// changedIssues reads what changed since the last read: the first page of
// the issues, most recently updated first, and further pages while they
// are still newer than the last read's newest.
func (c *Client) changedIssues(ctx context.Context, full, base string, ix *index) error {
	ctx = withTag(ctx, full, KindIssues)
	issues, next, _, err := readPage[*gh.Issue](ctx, c, issuesURL(base))
	if err != nil {
		return c.wrap("list issues of "+full, err)
	}
	c.mergeIssues(full, ix, issues)
	mark := later(ix.issuesMark, newestIssue(issues))
	for pages := 1; next != "" && !oldestIssue(issues).Before(ix.issuesMark) && pages < maxPages; pages++ {
		if issues, next, _, err = readPage[*gh.Issue](ctx, c, next); err != nil {
			return c.wrap("list issues of "+full, err)
		}
		c.mergeIssues(full, ix, issues)
	}
	ix.issuesMark = mark
	return nil
}

func newestIssue(issues []*gh.Issue) time.Time {
	var t time.Time
	for _, is := range issues {
		t = later(t, is.GetUpdatedAt().Time)
	}
	return t
}

func oldestIssue(issues []*gh.Issue) time.Time {
	var t time.Time
	for i, is := range issues {
		if u := is.GetUpdatedAt().Time; i == 0 || u.Before(t) {
			t = u
		}
	}
	return t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// mergeIssues puts what a list said of each issue into the index, unless
// the index already knows a later state of it.
func (c *Client) mergeIssues(full string, ix *index, issues []*gh.Issue) {
	for _, is := range issues {
		n := is.GetNumber()
		if n <= 0 || n > math.MaxInt32 {
			continue // not a number GitHub gives an issue
		}
		e := entry{milestone: int32(is.GetMilestone().GetNumber()), created: secondsOf(is.GetCreatedAt().Time), update: secondsOf(is.GetUpdatedAt().Time), tracking: c.isThread(is)}
		if old, ok := ix.items[int32(n)]; ok && old.update > e.update {
			continue
		}
		if is.GetState() == "closed" && is.ClosedAt != nil {
			e.closed, e.completed = secondsOf(is.ClosedAt.Time), completed(is)
		}
		ix.items[int32(n)] = e
		if !e.tracking {
			delete(ix.tracking, n)
			continue
		}
		ix.tracking[n] = trackingOf(is)
		if ix.built {
			// A tracking issue seen for the first time since the index was
			// built (made, or labelled, since) starts with no comments
			// known: if it has any, its count says to read them.
			c.openThread(full, n)
		}
	}
}

// counts is how many open and closed items of each milestone the index
// holds, tracking issues included (GitHub counts them).
func (ix *index) counts() map[int][2]int {
	out := map[int][2]int{}
	for _, e := range ix.items {
		if m := int(e.milestone); m > 0 {
			k := out[m]
			if e.closed == 0 {
				k[0]++
			} else {
				k[1]++
			}
			out[m] = k
		}
	}
	return out
}

// disagreeing are the milestones whose counts the index does not match
// (and did not accept after a repair), in listing order.
func (c *Client) disagreeing(ix *index) []int {
	have := ix.counts()
	var out []int
	for _, n := range ix.numbers {
		want := ix.milestones[n].counts
		if have[n] != want && ix.accepted[n] != want {
			out = append(out, n)
		}
	}
	return out
}

// repair reads milestone num's issues whole and makes the index say what
// they say: an issue the index placed in it that is not there was deleted,
// transferred or moved (a move shows in the next list of what changed).
func (c *Client) repair(ctx context.Context, full, base string, ix *index, num int) error {
	u := fmt.Sprintf("%s/issues?milestone=%d&state=all&per_page=%d", base, num, pageSize)
	issues, err := listAll[*gh.Issue](withTag(ctx, full, KindMilestoneIssues), c, u)
	if err != nil {
		return c.wrap(fmt.Sprintf("list issues of milestone %s#%d", full, num), err)
	}
	listed := map[int]bool{}
	for _, is := range issues {
		listed[is.GetNumber()] = true
	}
	for n, e := range ix.items {
		if int(e.milestone) == num && !listed[int(n)] {
			delete(ix.items, n)
			delete(ix.tracking, int(n))
		}
	}
	c.mergeIssues(full, ix, issues)
	want := ix.milestones[num].counts
	if have := ix.counts()[num]; have != want {
		// GitHub filters pull requests out of the lists for a credential
		// without the Pull requests permission, but the milestone counts
		// them: progress would quietly leave them out. (A change between
		// the two reads can also show here, once.)
		ix.accepted[num] = want
		c.log.WarnContext(ctx, "GitHub listed fewer issues and pull requests than the milestone counts; "+
			"grant the credential Pull requests: read so progress counts pull requests as the milestone page does",
			"milestone", milestoneKey(full, num), "listed", have[0]+have[1], "counted", want[0]+want[1])
		return nil
	}
	delete(ix.accepted, num)
	return nil
}

// openThreads makes sure every tracking issue of a milestone has a memo
// for the comments list to fill.
func (c *Client) openThreads(full string, ix *index) {
	for n, t := range ix.tracking {
		if t.milestone > 0 {
			c.openThread(full, n)
		}
	}
}

func (c *Client) openThread(full string, n int) {
	id := threadID(full, n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.threads[id] == nil {
		c.threads[id] = &threadMemo{checked: c.now()}
	}
}

// coldComments learns the tracking issues' comments from the repository's
// comments, most recently updated first: all of them when they fit on the
// first page, as they do in most repositories; past it, the walk goes on
// only while it costs no more pages than reading each thread that still
// lacks comments alone, which Observe does otherwise (readThread). Each
// thread is known whole when it holds as many comments as its issue
// counts.
func (c *Client) coldComments(ctx context.Context, full, base string, ix *index) error {
	ctx = withTag(ctx, full, KindComments)
	first := commentsURL(base)
	comments, next, last, err := readPage[*gh.IssueComment](ctx, c, first)
	if err != nil {
		return c.wrap("list comments of "+full, err)
	}
	c.mergeComments(full, comments)
	mark := newestComment(comments)
	pages := 1
	if next != "" && last-pages <= len(c.lacking(full, ix)) {
		for ; next != "" && len(c.lacking(full, ix)) > 0 && pages < walkPages; pages++ {
			if comments, next, _, err = readPage[*gh.IssueComment](ctx, c, next); err != nil {
				return c.wrap("list comments of "+full, err)
			}
			c.mergeComments(full, comments)
		}
	}
	if pages > 1 {
		if comments, _, _, err = readPage[*gh.IssueComment](ctx, c, first); err != nil {
			return c.wrap("list comments of "+full, err)
		}
		c.mergeComments(full, comments)
		mark = later(mark, newestComment(comments))
	}
	ix.commentsMark = mark
	return nil
}

// lacking are the tracking issues of milestones whose memo holds fewer
// comments than the issue counts.
func (c *Client) lacking(full string, ix *index) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for n, t := range ix.tracking {
		memo := c.threads[threadID(full, n)]
		if t.milestone > 0 && memo != nil && len(memo.comments) < t.comments {
			out = append(out, n)
		}
	}
	return out
}

// changedComments reads the comments that changed since the last read:
// the first page, and further pages while still newer than the last
// read's newest.
func (c *Client) changedComments(ctx context.Context, full, base string, ix *index) error {
	ctx = withTag(ctx, full, KindComments)
	comments, next, _, err := readPage[*gh.IssueComment](ctx, c, commentsURL(base))
	if err != nil {
		return c.wrap("list comments of "+full, err)
	}
	c.mergeComments(full, comments)
	mark := later(ix.commentsMark, newestComment(comments))
	for pages := 1; next != "" && !oldestComment(comments).Before(ix.commentsMark) && pages < maxPages; pages++ {
		if comments, next, _, err = readPage[*gh.IssueComment](ctx, c, next); err != nil {
			return c.wrap("list comments of "+full, err)
		}
		c.mergeComments(full, comments)
	}
	ix.commentsMark = mark
	return nil
}

func newestComment(cs []*gh.IssueComment) time.Time {
	var t time.Time
	for _, cm := range cs {
		t = later(t, cm.GetUpdatedAt().Time)
	}
	return t
}

func oldestComment(cs []*gh.IssueComment) time.Time {
	var t time.Time
	for i, cm := range cs {
		if u := cm.GetUpdatedAt().Time; i == 0 || u.Before(t) {
			t = u
		}
	}
	return t
}

// mergeComments puts each comment into its thread's memo, when the memo
// exists: comments on other issues and pull requests are no thread's.
func (c *Client) mergeComments(full string, comments []*gh.IssueComment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cm := range comments {
		if memo := c.threads[threadID(full, issueNumber(cm.GetIssueURL()))]; memo != nil {
			memo.put(commentOf(cm))
		}
	}
}

// threadMemo is a tracking issue's comments as known, oldest first.
type threadMemo struct {
	checked  time.Time // when they were last read whole (or the memo began)
	comments []comment
	// verdicts are canCommit's answers for the command comments, by
	// comment ID, each for the text it was given on (guarded by
	// Client.mu): a slice, a tenth of the smallest map.
	verdicts []verdict
}

// verdict is the verdict on comment id, if any.
func (m *threadMemo) verdict(id int64) (verdict, bool) {
	i, found := slices.BinarySearchFunc(m.verdicts, id, byComment)
	if !found {
		return verdict{}, false
	}
	return m.verdicts[i], true
}

// judged keeps v, in place of any earlier verdict on its comment.
func (m *threadMemo) judged(v verdict) {
	i, found := slices.BinarySearchFunc(m.verdicts, v.comment, byComment)
	if found {
		m.verdicts[i] = v
		return
	}
	m.verdicts = slices.Insert(m.verdicts, i, v)
}

func byComment(v verdict, id int64) int { return cmp.Compare(v.comment, id) }

// put adds or replaces comment cm, unless the memo holds a later version.
func (m *threadMemo) put(cm comment) {
	i, found := slices.BinarySearchFunc(m.comments, cm.id, func(x comment, id int64) int { return cmp.Compare(x.id, id) })
	switch {
	case !found:
		m.comments = slices.Insert(m.comments, i, cm)
	case !m.comments[i].updated.After(cm.updated):
		m.comments[i] = cm
	}
}

// recheckDue is when a thread is next read whole though nothing said it
// changed: threadRecheck after the last time, plus its own share of
// recheckSpread so that the threads of a cold start are not all read
// again in the same minute a day later.
func recheckDue(id string, checked time.Time) time.Time {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return checked.Add(threadRecheck + time.Duration(h.Sum32())%recheckSpread)
}

// prune forgets what no deliverable and no throughput needs: issues in no
// milestone that are open or closed before the window. Should one join a
// milestone, its update brings it back.
func (c *Client) prune(ix *index, from time.Time) {
	for n, e := range ix.items {
		if e.milestone == 0 && !e.tracking && (e.closed == 0 || e.closed < secondsOf(from)) {
			delete(ix.items, n)
		}
	}
}

// buildView is the snapshot Observe reads.
func (c *Client) buildView(ix *index, now time.Time) *repoView {
	today := connectors.DateOf(now, c.loc)
	from := today.AddDays(-(c.window - 1))
	v := &repoView{
		milestones: ix.milestones,
		numbers:    ix.numbers,
		items:      map[int][]item{},
		threads:    map[int][]*trackingIssue{},
	}
	// Each milestone's items fill a slice of exactly their number: a view
	// is kept until the next change.
	count := map[int]int{}
	for _, e := range ix.items {
		if e.milestone > 0 && !e.tracking {
			count[int(e.milestone)]++
		}
	}
	for m, k := range count {
		v.items[m] = make([]item, 0, k)
	}
	var closed []closedIssue
	var done []time.Time
	for _, n := range slices.Sorted(maps.Keys(ix.items)) {
		e := ix.items[n]
		m := int(e.milestone)
		if e.tracking {
			if m > 0 {
				v.threads[m] = append(v.threads[m], ix.tracking[int(n)])
			}
			continue
		}
		if m > 0 {
			v.items[m] = append(v.items[m], item{number: n, created: e.created, closed: e.closed})
		}
		if e.closed != 0 {
			at := e.closed.time()
			closed = append(closed, closedIssue{milestone: m, created: e.created.time(), at: at, completed: e.completed})
			if e.completed {
				done = append(done, at)
			}
		}
	}
	v.throughput = connectors.CountThroughput(done, from, today, c.loc)
	c.teamFacts(v, closed)
	return v
}

// teamFacts adds the team-level facts the forecast reads
// (connectors.CountFacts) to the view's throughput, from the index's
// closed items at no request of its own: each completed item with its
// milestone, which is in progress while open, and begun before the window
// when one of its items closed before it (or it counts more closed items
// than the index holds).
func (c *Client) teamFacts(v *repoView, closed []closedIssue) {
	start := v.throughput.From.Time(c.loc)
	seen := map[int]int{} // milestone → its closed items in the index
	begun := map[int]bool{}
	for _, ci := range closed {
		if ci.milestone > 0 {
			seen[ci.milestone]++
			if ci.at.Before(start) {
				begun[ci.milestone] = true
			}
		}
	}
	var done []connectors.Completion
	for _, ci := range closed {
		if !ci.completed {
			continue
		}
		cp := connectors.Completion{Created: ci.created, Closed: ci.at}
		if m := v.milestones[ci.milestone]; m != nil {
			cp.Deliverable = strconv.Itoa(ci.milestone)
			cp.Open = !m.closed
			cp.Begun = begun[ci.milestone] || m.counts[1] > seen[ci.milestone]
		}
		done = append(done, cp)
	}
	v.throughput.CountFacts(done, c.loc)
}

// readPage reads one page of a list (a path under the API root, or a
// next-page URL on the same host): its items, the next page's URL ("" on
// the last) and the number of the last page the Link header names (0
// when it names none).
func readPage[T any](ctx context.Context, c *Client, u string) ([]T, string, int, error) {
	req, err := c.gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, "", 0, err
	}
	if req.URL.Host != c.gh.BaseURL.Host || req.URL.Scheme != c.gh.BaseURL.Scheme {
		// Never send the credential to another host a Link names.
		return nil, "", 0, fmt.Errorf("next page %s is not on %s", req.URL.Redacted(), c.gh.BaseURL.Host)
	}
	var items []T
	resp, err := c.gh.Do(ctx, req, &items)
	if err != nil {
		return nil, "", 0, err
	}
	return items, nextLink(resp.Header.Values("Link")), resp.LastPage, nil
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
		items, n, _, err := readPage[T](ctx, c, next)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		next = n
	}
	return out, nil
}

// noteThread puts a tracking issue EnsureThread found or made into the
// repository's index, so that the next Observe sees it before the next
// poll's lists do.
func (c *Client) noteThread(full string, is *gh.Issue) {
	defer c.locks.Lock("repo\x00" + full)()
	c.mu.Lock()
	ix := c.index[full]
	c.mu.Unlock()
	if ix == nil || !ix.built {
		return // the first refresh reads it
	}
	c.mergeIssues(full, ix, []*gh.Issue{is})
	v := c.buildView(ix, c.now())
	c.mu.Lock()
	ix.view = v
	c.mu.Unlock()
}
