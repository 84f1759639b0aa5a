package jira

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// Fields asked of searches. Cloud returns only the id unless told; Data
// Center returns every field unless told.
var (
	itemFields       = []string{"created", "updated", "resolutiondate", "statuscategorychangedate", "status", "labels"}
	deliverableField = []string{"summary", "description", "duedate", "created", "updated", "resolutiondate", "statuscategorychangedate", "status", "project", "creator"}
	throughputFields = []string{"resolutiondate", "created", "fixVersions", "parent"}
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
// jira.deliverables.jql, open and closed.
func (c *Client) List(ctx context.Context, team string) ([]connectors.Ref, error) {
	proj, err := c.project(team)
	if err != nil {
		return nil, err
	}
	var refs []connectors.Ref
	if c.cfg.Deliverables.Versions {
		var vs []version
		if err := c.get(ctx, "rest/api/2/project/"+url.PathEscape(proj)+"/versions", nil, &vs); err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", proj, err)
		}
		for _, v := range vs {
			if v.ProjectID != "" {
				c.rememberProject(string(v.ProjectID), proj)
			}
			if !v.Archived {
				refs = append(refs, versionRef(proj, v.ID))
			}
		}
	}
	if c.jql != "" {
		found, err := c.search(ctx, c.inProject(proj, c.jql), []string{"duedate"})
		if err != nil {
			return nil, fmt.Errorf("list issue deliverables of %s: %w", proj, err)
		}
		for _, is := range found {
			refs = append(refs, issueRef(proj, is.Key))
		}
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
// the project's throughput.
func (c *Client) Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	if ref.Tracker != connectors.Jira {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: not a Jira deliverable: %w", ref, connectors.ErrTerminal)
	}
	proj, err := c.project(ref.Team)
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: %w", ref, err)
	}
	ref.Team = proj
	var snap connectors.Snapshot
	switch ref.Kind {
	case connectors.Version:
		snap, err = c.observeVersion(ctx, ref)
	case connectors.Issue:
		snap, err = c.observeIssue(ctx, ref)
	default:
		err = fmt.Errorf("kind %q is not a Jira deliverable: %w", ref.Kind, connectors.ErrTerminal)
	}
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: %w", ref, err)
	}
	snap.Throughput, err = c.projectThroughput(ctx, proj)
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("observe %s: %w", ref, err)
	}
	return snap, nil
}

func (c *Client) observeVersion(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	var v version
	if err := c.get(ctx, "rest/api/2/version/"+url.PathEscape(ref.ID), nil, &v); err != nil {
		return connectors.Snapshot{}, fmt.Errorf("get version: %w", err)
	}
	if v.ProjectID != "" {
		key, err := c.projectOf(ctx, string(v.ProjectID))
		if err != nil {
			return connectors.Snapshot{}, err
		}
		if !strings.EqualFold(key, ref.Team) {
			return connectors.Snapshot{}, fmt.Errorf("version %s belongs to project %s, not %s: %w", v.ID, key, ref.Team, connectors.ErrNotFound)
		}
	}
	due, err := v.releaseDate(c.o.Location)
	if err != nil {
		return connectors.Snapshot{}, err
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

	found, err := c.search(ctx, c.inProject(ref.Team, "fixVersion = "+v.ID), itemFields)
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("list the version's issues: %w", err)
	}
	c.mu.Lock()
	pin := c.pinned[ref.Key()]
	c.mu.Unlock()
	var tracking []issue
	for _, is := range found {
		if c.isTracking(is) || is.Key == pin {
			tracking = append(tracking, is)
			continue
		}
		d.Items = append(d.Items, toItem(is))
	}
	sortItems(d.Items)

	snap := connectors.Snapshot{Deliverable: d}
	if pin != "" {
		// The thread once chosen stays, labelled or not, in the version
		// or not, while Jira has it.
		th, err := c.readThread(ctx, pin)
		switch {
		case err == nil:
			snap.Thread = th
			return snap, nil
		case !errors.Is(err, connectors.ErrNotFound):
			return connectors.Snapshot{}, err
		}
		c.log.WarnContext(ctx, "the pinned tracking issue is gone; choosing the thread again", "commitment", ref.Key(), "issue", pin)
		c.mu.Lock()
		if c.pinned[ref.Key()] == pin {
			delete(c.pinned, ref.Key())
		}
		if c.threadOf[ref.Key()] == pin {
			delete(c.threadOf, ref.Key())
		}
		c.mu.Unlock()
	}
	key := oldest(tracking)
	if key == "" {
		// Cloud's search index may lag a tracking issue created moments ago.
		c.mu.Lock()
		key = c.threadOf[ref.Key()]
		c.mu.Unlock()
	}
	if key != "" {
		c.mu.Lock()
		c.threadOf[ref.Key()] = key
		c.mu.Unlock()
		th, err := c.readThread(ctx, key)
		if err != nil {
			return connectors.Snapshot{}, err
		}
		snap.Thread = th
	}
	return snap, nil
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

// projectOf is the key of the project with id: remembered from List, else
// read from Jira once.
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

func toItem(is issue) connectors.Item {
	it := connectors.Item{ID: is.Key, CreatedAt: is.Fields.Created.Time}
	if t, ok := is.Fields.done(); ok {
		it.ClosedAt = t
	}
	return it
}

func sortItems(items []connectors.Item) {
	slices.SortFunc(items, func(a, b connectors.Item) int {
		if c := strings.Compare(projectOf(a.ID), projectOf(b.ID)); c != 0 {
			return c
		}
		return issueNumber(a.ID) - issueNumber(b.ID)
	})
}

func projectOf(key string) string {
	p, _, _ := strings.Cut(key, "-")
	return p
}

func (c *Client) observeIssue(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	if c.jql == "" {
		return connectors.Snapshot{}, fmt.Errorf("issues are not deliverables here (jira.deliverables.jql is empty): %w", connectors.ErrNotFound)
	}
	is, err := c.deliverableIssue(ctx, ref)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	f := is.Fields
	d := connectors.Deliverable{
		Ref:         ref,
		Title:       f.Summary,
		URL:         c.browse(is.Key),
		Description: string(f.Description),
	}
	if f.DueDate != "" {
		if d.DueDate, err = connectors.ParseDate(f.DueDate); err != nil {
			return connectors.Snapshot{}, fmt.Errorf("issue %s duedate: %w", is.Key, err)
		}
	}
	if t, ok := f.done(); ok {
		d.Closed, d.ClosedAt = true, t
	}
	if d.DescriptionBy, d.DescriptionByCanCommit, err = c.lineAuthor(ctx, is); err != nil {
		return connectors.Snapshot{}, err
	}
	children, err := c.children(ctx, ref.Team, is.Key)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	for _, ch := range children {
		d.Items = append(d.Items, toItem(ch))
	}
	sortItems(d.Items)
	th, err := c.readThread(ctx, is.Key)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	return connectors.Snapshot{Deliverable: d, Thread: th}, nil
}

// deliverableIssue reads an issue through the deliverables JQL, so one that
// no longer matches it (its due date cleared, moved to another project, or
// never a deliverable but named by a webhook) is not found rather than
// watched by mistake.
func (c *Client) deliverableIssue(ctx context.Context, ref connectors.Ref) (issue, error) {
	jql := c.inProject(ref.Team, "key = "+quote(ref.ID)+" AND ("+c.jql+")")
	found, err := c.search(ctx, jql, deliverableField)
	if err != nil && !isStatus(err, http.StatusBadRequest) {
		return issue{}, err
	}
	if err == nil && len(found) > 0 {
		return found[0], nil
	}
	// Either no match, or a 400 (JQL names a key that does not exist, or
	// the configured JQL is broken): ask for the issue itself to tell.
	var is issue
	if gerr := c.get(ctx, "rest/api/2/issue/"+url.PathEscape(ref.ID), url.Values{"fields": {"project"}}, &is); gerr != nil {
		if errors.Is(gerr, connectors.ErrNotFound) {
			return issue{}, fmt.Errorf("issue %s: %w", ref.ID, gerr)
		}
		if err != nil {
			return issue{}, err
		}
		return issue{}, gerr
	}
	if err != nil {
		return issue{}, err // the issue exists: the JQL itself is wrong
	}
	where := ref.Team
	if is.Fields.Project != nil {
		where = is.Fields.Project.Key
	}
	return issue{}, fmt.Errorf("issue %s (now %s in %s) does not match jira.deliverables.jql in project %s: %w",
		ref.ID, is.Key, where, ref.Team, connectors.ErrNotFound)
}

// children are an epic's issues. Cloud links them with parent. Data Center
// links them with the Jira Software field "Epic Link" (parent there is only
// a sub-task's parent); an instance without Jira Software has no such
// field and answers 400, after which parent alone is asked.
func (c *Client) children(ctx context.Context, proj, key string) ([]issue, error) {
	cloud, err := c.cloud(ctx)
	if err != nil {
		return nil, err
	}
	parentOnly := "parent = " + quote(key)
	c.mu.Lock()
	noEpicLink := c.noEpicLink
	c.mu.Unlock()
	if cloud || noEpicLink {
		found, err := c.search(ctx, parentOnly, itemFields)
		if err != nil {
			return nil, fmt.Errorf("list the children of %s: %w", key, err)
		}
		return found, nil
	}
	found, err := c.search(ctx, parentOnly+` OR "Epic Link" = `+quote(key), itemFields)
	if jiraSays(err, http.StatusBadRequest, "Epic Link") {
		c.log.InfoContext(ctx, "no Epic Link field; epic children are found by parent only", "error", err)
		c.mu.Lock()
		c.noEpicLink = true
		c.mu.Unlock()
		found, err = c.search(ctx, parentOnly, itemFields)
	}
	if err != nil {
		return nil, fmt.Errorf("list the children of %s: %w", key, err)
	}
	return found, nil
}

// teamFacts adds the team-level facts (connectors.CountFacts) to t from
// the issues the throughput search found, at no request of its own: the
// search asks for their created, fixVersions and parent fields too. An
// issue belongs to its first unreleased fixVersion (else its first) when
// versions are deliverables, else, with jira.deliverables.jql, to its
// parent epic, which Cloud names in parent (Data Center links epics by a
// custom field the search does not name). Where neither can be seen the
// facts stay zero, which the forecast reads as unknown rather than as
// work outside any deliverable. A version's or epic's start before the
// window is not known (Begun).
func (c *Client) teamFacts(t *connectors.Throughput, found []issue, cloud bool) {
	versions, epics := c.cfg.Deliverables.Versions, c.jql != "" && cloud
	if !versions && !epics {
		return
	}
	done := make([]connectors.Completion, 0, len(found))
	for _, is := range found {
		f := is.Fields
		if f.ResolutionDate.IsZero() {
			continue
		}
		cp := connectors.Completion{Created: f.Created.Time, Closed: f.ResolutionDate.Time}
		switch p := f.Parent; {
		case versions && len(f.FixVersions) > 0:
			v := f.FixVersions[0]
			for _, fv := range f.FixVersions {
				if !fv.Released {
					v = fv
					break
				}
			}
			cp.Deliverable, cp.Open = "version/"+v.ID, !v.Released
		case epics && p != nil && p.Key != "" && isEpic(p.Fields.IssueType):
			cp.Deliverable = "issue/" + p.Key
			cp.Open = p.Fields.Status == nil || p.Fields.Status.StatusCategory.Key != "done"
		}
		done = append(done, cp)
	}
	t.CountFacts(done, c.o.Location)
}

// isEpic reports whether an issue type is an epic: Cloud says so by its
// hierarchy level (1), older payloads only by name.
func isEpic(t *issueType) bool {
	return t != nil && (t.HierarchyLevel >= 1 || strings.EqualFold(t.Name, "epic"))
}

// projectThroughput is the number of issues resolved per day in the
// project over the forecast window ending today (in the configured zone),
// reused for ThroughputTTL across the project's deliverables.
//
// The JQL names the first day as an absolute date rather than "-42d":
// a relative date is measured from the Jira server's clock, and
// slipwatch's clock may be simulated. Jira reads the date in the
// credential's own time zone, so one extra day is asked for and
// CountThroughput keeps exactly the window in slipwatch's zone.
func (c *Client) projectThroughput(ctx context.Context, proj string) (connectors.Throughput, error) {
	now := c.o.Now()
	to := connectors.DateOf(now, c.o.Location)
	from := to.AddDays(-(c.o.WindowDays - 1))

	c.mu.Lock()
	m, ok := c.throughput[proj]
	c.mu.Unlock()
	if ok && m.t.To == to && now.Sub(m.at) < throughputTTL && now.Sub(m.at) >= 0 {
		return m.t, nil
	}

	jql := c.inProject(proj, "resolved >= "+quote(from.AddDays(-1).String()))
	found, err := c.search(ctx, jql, throughputFields)
	if err != nil {
		return connectors.Throughput{}, fmt.Errorf("throughput of %s: %w", proj, err)
	}
	var closed []time.Time
	for _, is := range found {
		if !is.Fields.ResolutionDate.IsZero() {
			closed = append(closed, is.Fields.ResolutionDate.Time)
		}
	}
	t := connectors.CountThroughput(closed, from, to, c.o.Location)
	cloud, err := c.cloud(ctx)
	if err != nil {
		return connectors.Throughput{}, fmt.Errorf("throughput of %s: %w", proj, err)
	}
	c.teamFacts(&t, found, cloud)
	c.mu.Lock()
	c.throughput[proj] = throughputMemo{at: now, t: t}
	c.mu.Unlock()
	return t, nil
}
