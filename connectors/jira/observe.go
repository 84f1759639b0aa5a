package jira

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

func versionRef(project, id string) connectors.Ref {
	return connectors.Ref{Tracker: connectors.Jira, Team: project, Kind: connectors.Version, ID: id}
}

func issueRef(project, key string) connectors.Ref {
	return connectors.Ref{Tracker: connectors.Jira, Team: project, Kind: connectors.Issue, ID: key}
}

// List returns the project's deliverables: its versions (archived ones
// excepted: Jira hides them, and so does slipwatch) when
// jira.deliverables.versions is set, then the issues matched by
// jira.deliverables.jql, open and closed. It is a poll: it brings the
// project's index up to date with one request (index.go), and Observe
// then serves each deliverable from it.
//
// With jira.projects: ["*"], a project Jira no longer shows (deleted, or
// no longer browsable) lists nothing and is forgotten until discovery
// finds it again.
func (c *Client) List(ctx context.Context, team string) ([]connectors.Ref, error) {
	proj, err := c.project(team)
	if err != nil {
		return nil, err
	}
	ix, err := c.lockedIndex(ctx, proj, true)
	if c.all && projectGone(err) {
		c.log.InfoContext(ctx, "jira project gone; forgetting it", "project", proj, "error", err)
		c.dropProject(proj)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer ix.mu.Unlock()
	var refs []connectors.Ref
	if c.cfg.Deliverables.Versions {
		for _, v := range ix.st.versions {
			if !v.Archived {
				refs = append(refs, versionRef(proj, v.ID))
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(ix.st.deliverables), compareKeys)
	for _, k := range keys {
		refs = append(refs, issueRef(proj, k))
	}
	return refs, nil
}

func (c *Client) inProject(proj, jql string) string {
	return "project = " + quote(proj) + " AND (" + jql + ")"
}

func (c *Client) rememberProject(id, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.projectKeys[id] = key
}

// Observe reads one deliverable, its items, its thread with comments and
// the project's throughput, from the project's index: nothing is asked of
// Jira while the index is fresh and the thread's issue unchanged.
func (c *Client) Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	if ref.Tracker != connectors.Jira {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: not a Jira deliverable: %w", ref, connectors.ErrTerminal)
	}
	proj, err := c.project(ref.Team)
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: %w", ref, err)
	}
	ref.Team = proj
	switch ref.Kind {
	case connectors.Version, connectors.Issue:
	default:
		return connectors.Snapshot{}, fmt.Errorf("observe %s: kind %q is not a Jira deliverable: %w", ref, ref.Kind, connectors.ErrTerminal)
	}
	snap, err := c.observe(ctx, ref)
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: %w", ref, err)
	}
	return snap, nil
}

// later is what a snapshot taken from the index leaves to read once the
// index is unlocked.
type later struct {
	thread   string    // the thread's issue key; "" none
	threadAt time.Time // its issue's "updated" in the index; zero unknown
	pinned   bool      // thread is the version's pinned thread
	line     *issue    // an issue deliverable whose Committed: line's author is to be found
}

func (c *Client) observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	cloud, err := c.cloud(ctx)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	ix, err := c.lockedIndex(ctx, ref.Team, false)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	var snap connectors.Snapshot
	var next later
	if ref.Kind == connectors.Version {
		snap, next, err = c.versionSnapshot(ctx, ix, ref)
	} else {
		snap, next, err = c.issueSnapshot(ctx, ix, ref)
	}
	if err == nil {
		snap.Throughput = c.throughputOf(&ix.st, ref.Team, cloud)
	}
	ix.mu.Unlock()
	if err != nil {
		return connectors.Snapshot{}, err
	}
	if next.line != nil {
		d := &snap.Deliverable
		if d.DescriptionBy, d.DescriptionByCanCommit, err = c.lineAuthor(ctx, *next.line); err != nil {
			return connectors.Snapshot{}, err
		}
	}
	if next.thread == "" {
		return snap, nil
	}
	snap.Thread, err = c.threadAt(ctx, next.thread, next.threadAt)
	if next.pinned && errors.Is(err, connectors.ErrNotFound) {
		c.log.WarnContext(ctx, "the pinned tracking issue is gone; choosing the thread again", "commitment", ref.Key(), "issue", next.thread)
		c.mu.Lock()
		if c.pinned[ref.Key()] == next.thread {
			delete(c.pinned, ref.Key())
		}
		if c.threadOf[ref.Key()] == next.thread {
			delete(c.threadOf, ref.Key())
		}
		c.mu.Unlock()
		return c.observe(ctx, ref)
	}
	if err != nil {
		return connectors.Snapshot{}, err
	}
	return snap, nil
}

// versionSnapshot is a version from the index, and its thread to read;
// ix.mu is held.
func (c *Client) versionSnapshot(ctx context.Context, ix *projIndex, ref connectors.Ref) (connectors.Snapshot, later, error) {
	st := &ix.st
	v, ok := st.version(ref.ID)
	if !ok && c.cfg.Deliverables.Versions && st.versionsAt.Before(c.o.Now()) {
		// Created since the list was read, or named by a webhook for
		// another project: the list says which.
		if err := c.readVersions(ctx, ix, c.o.Now()); err != nil {
			return connectors.Snapshot{}, later{}, err
		}
		v, ok = st.version(ref.ID)
	}
	if !ok {
		return connectors.Snapshot{}, later{}, fmt.Errorf("version %s is not among project %s's versions: %w", ref.ID, ref.Team, connectors.ErrNotFound)
	}
	if !st.covered[v.ID] {
		// Archived when the project was read: its issues were not.
		if err := c.coverVersions(ctx, ix, []string{v.ID}); err != nil {
			return connectors.Snapshot{}, later{}, err
		}
	}
	due, err := v.releaseDate(c.o.Location)
	if err != nil {
		return connectors.Snapshot{}, later{}, err
	}
	d := connectors.Deliverable{
		Ref:         ref,
		Title:       v.Name,
		URL:         c.site + "/projects/" + url.PathEscape(ref.Team) + "/versions/" + url.PathEscape(v.ID),
		Description: v.Description,
		DueDate:     due,
		Closed:      v.Released,
		// Jira records no editor of a version, and only project and Jira
		// administrators (Administer Projects, Administer Jira) may edit
		// one: its Committed: line is taken as theirs.
		DescriptionByCanCommit: true,
	}
	if v.Released && !due.IsZero() {
		// A version records no release instant; releasing sets its
		// releaseDate (today unless the releaser picks a day), so that day
		// is when it was delivered.
		d.ClosedAt = due.Time(c.o.Location)
	}
	c.mu.Lock()
	pin := c.pinned[ref.Key()]
	c.mu.Unlock()
	var tracking []*ixIssue
	for _, x := range st.byVersion[v.ID] {
		if x.tracking || x.key == pin {
			tracking = append(tracking, x)
			continue
		}
		d.Items = append(d.Items, x.item())
	}
	sortItems(d.Items)

	var thread string
	var at time.Time
	if pin != "" {
		// The thread once chosen stays, labelled or not, in the version
		// or not, while Jira has it (Observe reads it, and chooses again
		// should it be gone).
		thread = pin
		if x := st.issues[pin]; x != nil {
			at = x.updated
		}
		return connectors.Snapshot{Deliverable: d}, later{thread: thread, threadAt: at, pinned: true}, nil
	}
	if t := oldestIx(tracking); t != nil {
		thread, at = t.key, t.updated
	}
	c.mu.Lock()
	if thread == "" {
		// Created by EnsureThread and not yet returned by a search.
		thread = c.threadOf[ref.Key()]
	} else {
		c.threadOf[ref.Key()] = thread
	}
	c.mu.Unlock()
	return connectors.Snapshot{Deliverable: d}, later{thread: thread, threadAt: at}, nil
}

// issueSnapshot is an issue deliverable (an epic) from the index; ix.mu is
// held. An issue that does not match jira.deliverables.jql in the project
// (any more) is not found: its due date cleared, moved, deleted, or never
// a deliverable but named by a webhook.
func (c *Client) issueSnapshot(ctx context.Context, ix *projIndex, ref connectors.Ref) (connectors.Snapshot, later, error) {
	st := &ix.st
	if c.jql == "" {
		return connectors.Snapshot{}, later{}, fmt.Errorf("issues are not deliverables here (jira.deliverables.jql is empty): %w", connectors.ErrNotFound)
	}
	dl, x := st.deliverables[ref.ID], st.issues[ref.ID]
	if dl == nil || x == nil {
		return connectors.Snapshot{}, later{}, fmt.Errorf("issue %s does not match jira.deliverables.jql in project %s: %w", ref.ID, ref.Team, connectors.ErrNotFound)
	}
	if !st.epicsCovered[ref.ID] {
		el, err := c.epicLinkField(ctx)
		if err != nil {
			return connectors.Snapshot{}, later{}, err
		}
		if err := c.readChildren(ctx, st, el, []string{ref.ID}); err != nil {
			return connectors.Snapshot{}, later{}, err
		}
		st.derive()
	}
	d := connectors.Deliverable{
		Ref:         ref,
		Title:       dl.summary,
		URL:         c.browse(ref.ID),
		Description: dl.description,
	}
	if dl.due != "" {
		var err error
		if d.DueDate, err = connectors.ParseDate(dl.due); err != nil {
			return connectors.Snapshot{}, later{}, fmt.Errorf("issue %s duedate: %w", ref.ID, err)
		}
	}
	if !dl.done.IsZero() {
		d.Closed, d.ClosedAt = true, dl.done
	}
	for _, ch := range st.byEpic[ref.ID] {
		d.Items = append(d.Items, ch.item())
	}
	sortItems(d.Items)
	next := later{thread: ref.ID, threadAt: x.updated}
	if committedLines(dl.description) != "" {
		next.line = &issue{Key: ref.ID, Fields: issueFields{Description: richText(dl.description),
			Updated: jiraTime{x.updated}, Creator: dl.creator}}
	}
	return connectors.Snapshot{Deliverable: d}, next, nil
}

// threadMemo is a thread as read, and the "updated" of its issue then.
type threadMemo struct {
	updated time.Time
	th      *connectors.Thread
}

// threadAt is the thread on issue key, read again only when the issue's
// "updated" moved from the memo's (a comment added, edited or deleted
// moves it); updated zero (not in the index) always reads.
func (c *Client) threadAt(ctx context.Context, key string, updated time.Time) (*connectors.Thread, error) {
	if !updated.IsZero() {
		c.mu.Lock()
		m, ok := c.threads[key]
		c.mu.Unlock()
		if ok && m.updated.Equal(updated) {
			return cloneThread(m.th), nil
		}
	}
	th, err := c.readThread(ctx, key)
	if err != nil {
		return nil, err
	}
	if !updated.IsZero() {
		c.mu.Lock()
		c.threads[key] = threadMemo{updated: updated, th: th}
		c.mu.Unlock()
	}
	return cloneThread(th), nil
}

// forgetThread drops the memo of issue key's thread: slipwatch wrote on
// it, or a webhook said a comment changed.
func (c *Client) forgetThread(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.threads, key)
}

func cloneThread(th *connectors.Thread) *connectors.Thread {
	out := *th
	out.Comments = slices.Clone(th.Comments)
	return &out
}

// PinThread tells the connector the thread a version's record names (an
// issue key; "" for none): Observe and EnsureThread keep to it, whatever
// other issue carries the tracking label, for as long as Jira has it. A
// thread is chosen once; labelling another issue later must not move the
// promise's conversation. An epic's thread is the epic: nothing to pin.
// It does no I/O.
func (c *Client) PinThread(ref connectors.Ref, thread string) {
	if ref.Tracker != connectors.Jira || ref.Kind != connectors.Version {
		return
	}
	if proj, err := c.project(ref.Team); err == nil {
		ref.Team = proj
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !issueKeyLike(thread) {
		delete(c.pinned, ref.Key())
		return
	}
	c.pinned[ref.Key()] = thread
	c.threadOf[ref.Key()] = thread
}

// projectOf is the key of the project with id: remembered from the
// versions lists and discovery, else read from Jira once.
func (c *Client) projectOf(ctx context.Context, id string) (string, error) {
	c.mu.Lock()
	k, ok := c.projectKeys[id]
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	var p project
	if err := c.get(ctx, "rest/api/2/project/"+url.PathEscape(id), nil, &p); err != nil {
		return "", fmt.Errorf("read project %s: %w", id, err)
	}
	c.rememberProject(id, p.Key)
	return p.Key, nil
}

func (c *Client) isTracking(is issue) bool {
	return slices.Contains(is.Fields.Labels, c.cfg.TrackingLabel)
}

// oldest is the first-created of the tracking issues: should two exist,
// every replica settles on the same one.
func oldest(iss []issue) string {
	var best *issue
	for i := range iss {
		is := &iss[i]
		if best == nil || is.Fields.Created.Before(best.Fields.Created.Time) ||
			(is.Fields.Created.Equal(best.Fields.Created.Time) && issueNumber(is.Key) < issueNumber(best.Key)) {
			best = is
		}
	}
	if best == nil {
		return ""
	}
	return best.Key
}

// oldestIx is oldest over the index's issues.
func oldestIx(xs []*ixIssue) *ixIssue {
	var best *ixIssue
	for _, x := range xs {
		if best == nil || x.created.Before(best.created) || (x.created.Equal(best.created) && issueNumber(x.key) < issueNumber(best.key)) {
			best = x
		}
	}
	return best
}

func (x *ixIssue) item() connectors.Item {
	return connectors.Item{ID: x.key, CreatedAt: x.created, ClosedAt: x.done}
}

func sortItems(items []connectors.Item) {
	slices.SortFunc(items, func(a, b connectors.Item) int { return compareKeys(a.ID, b.ID) })
}

// compareKeys orders issue keys by project, then number.
func compareKeys(a, b string) int {
	if c := strings.Compare(projectOf(a), projectOf(b)); c != 0 {
		return c
	}
	return issueNumber(a) - issueNumber(b)
}

func projectOf(key string) string {
	p, _, _ := strings.Cut(key, "-")
	return p
}

// children are an epic's issues, for History (a poll reads them into the
// index: readChildren). Cloud links them with parent; Data Center with
// Jira Software's Epic Link field, when it has one (epicLinkField).
func (c *Client) children(ctx context.Context, key string) ([]issue, error) {
	el, err := c.epicLinkField(ctx)
	if err != nil {
		return nil, err
	}
	jql := "parent = " + quote(key)
	if el.clause != "" {
		jql += " OR " + el.clause + " = " + quote(key)
	}
	found, err := c.search(ctx, jql, itemFields)
	if err != nil {
		return nil, fmt.Errorf("list the children of %s: %w", key, err)
	}
	return found, nil
}

// throughputOf is the number of the project's issues resolved per day
// over the forecast window ending today (in the configured zone), with
// the team-level facts, from the index: it holds every issue resolved in
// the window (the full read asks one extra day, as Jira reads the date in
// the credential's zone, and each change search brings the later ones).
func (c *Client) throughputOf(st *ixState, proj string, cloud bool) connectors.Throughput {
	to := connectors.DateOf(c.o.Now(), c.o.Location)
	from := to.AddDays(-(c.o.WindowDays - 1))
	var closed []time.Time
	var done []*ixIssue
	for _, x := range st.issues {
		if !x.resolved.IsZero() && strings.EqualFold(projectOf(x.key), proj) {
			closed = append(closed, x.resolved)
			done = append(done, x)
		}
	}
	t := connectors.CountThroughput(closed, from, to, c.o.Location)
	c.teamFacts(&t, st, done, cloud)
	return t
}

// teamFacts adds the team-level facts (connectors.CountFacts) to t from
// the index's resolved issues, at no request of its own: the index keeps
// their created, fixVersions and parent. An issue belongs to its first
// unreleased fixVersion (else its first) when versions are deliverables,
// else, with jira.deliverables.jql, to its parent epic, which Cloud names
// in parent (Data Center links epics by its Epic Link field, which the
// facts leave alone as they always have). Where neither can be seen the
// facts stay zero, which the forecast reads as unknown rather than as
// work outside any deliverable. A version's or epic's start before the
// window is not known (Begun).
func (c *Client) teamFacts(t *connectors.Throughput, st *ixState, done []*ixIssue, cloud bool) {
	versions, epics := c.cfg.Deliverables.Versions, c.jql != "" && cloud
	if !versions && !epics {
		return
	}
	// The versions list is fresher than what an issue last said of its
	// versions: a release touches no issue.
	released := func(x *ixIssue, i int) bool {
		if v, ok := st.version(x.versions[i]); ok {
			return v.Released
		}
		return x.fixReleased[i]
	}
	cps := make([]connectors.Completion, 0, len(done))
	for _, x := range done {
		cp := connectors.Completion{Created: x.created, Closed: x.resolved}
		switch {
		case versions && len(x.versions) > 0:
			i := 0
			for j := range x.versions {
				if !released(x, j) {
					i = j
					break
				}
			}
			cp.Deliverable, cp.Open = "version/"+x.versions[i], !released(x, i)
		case epics && x.parent != "" && x.parentEpic:
			cp.Deliverable, cp.Open = "issue/"+x.parent, x.parentOpen
			if p := st.issues[x.parent]; p != nil {
				cp.Open = p.done.IsZero()
			}
		}
		cps = append(cps, cp)
	}
	t.CountFacts(cps, c.o.Location)
}

// isEpic reports whether an issue type is an epic: Cloud says so by its
// hierarchy level (1), older payloads only by name.
func isEpic(t *issueType) bool {
	return t != nil && (t.HierarchyLevel >= 1 || strings.EqualFold(t.Name, "epic"))
}
