package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// A project is kept in memory between polls, so that a poll pays for what
// changed and nothing else.
//
// A full read (the first time, then once a day) takes the versions list,
// the issues matching jira.deliverables.jql, and in one search every issue
// of the project's versions or resolved in the forecast window, then the
// epics' children. After that a poll is one request: a search for the
// issues updated since the last one,
//
//	project = "PLAT" AND updated >= "2026-03-10 11:55" ORDER BY key ASC
//
// asking only the fields the index keeps. Jira reads the date in the
// credential's own time zone (/myself), to the minute, so the literal is
// written in that zone, rounded down, and starts syncMargin before the
// previous search began: that covers the rounding, a Jira clock behind
// slipwatch's by less than the margin, and a search index that lags the
// database (Cloud's does, by seconds). Issues it returns again unchanged
// (the same "updated") cost nothing more; a changed one updates the index
// (its versions, parent, epic, created and resolution dates), and when any
// changed, a second search with the same date asks which of them now match
// the deliverables JQL. A thread's comments are read again only when its
// issue's "updated" moved (a comment moves it).
//
// A version's release date moving, or its release, touches no issue, so
// the change search cannot see it: every jira.versions_every a poll reads
// the versions list instead (the next change search covers the gap), and a
// jira:version_* webhook has it read at once. Deletions leave no trace
// either: an issue deleted or moved to another project stays in the index
// until the next full read, unless its webhook arrives; the full read also
// reads every thread again once.
//
// Observe serves a deliverable from the index at no cost while the index
// is younger than a poll interval and no webhook said it changed; older,
// it runs the change search first. Each replica keeps its own index.

// How the index is kept; nothing configures these.
const (
	// syncMargin is how far before the previous change search the next
	// one starts.
	syncMargin = 5 * time.Minute
	// fullEvery is how often a project is read in full, to drop what only
	// a full read notices (deletions, issues moved away, a JQL whose
	// matches change without their issues changing); each project's is
	// spread over fullSpread more, so projects read together at a start
	// do not stay in step.
	fullEvery  = 24 * time.Hour
	fullSpread = 2 * time.Hour
	// maxInList is how many ids or keys one JQL IN list names: past it a
	// search is split, so URLs stay short.
	maxInList = 100
)

// jqlMinute is how a JQL date literal is written.
const jqlMinute = "2006-01-02 15:04"

// ixIssue is what the index keeps of an issue.
type ixIssue struct {
	key      string
	created  time.Time
	updated  time.Time
	resolved time.Time // resolutiondate: throughput
	done     time.Time // when it counts as finished (issueFields.done); zero while open
	tracking bool      // carries jira.tracking_label
	versions []string  // fixVersion ids
	// fixReleased is, for each of versions, whether the issue's payload
	// said it was released: for a version not in the list (another
	// project's, or the list not read).
	fixReleased []bool
	parent      string // parent's key (Cloud: the epic; Data Center: a sub-task's parent)
	// parentEpic and parentOpen are what the payload said of the parent:
	// the team's facts count an issue of an epic that is no deliverable.
	parentEpic, parentOpen bool
	epic                   string // Data Center's Epic Link: the epic's key
}

// ixDeliverable is what the index keeps of an issue deliverable besides
// its ixIssue.
type ixDeliverable struct {
	summary     string
	description string
	due         string
	done        time.Time
	creator     *gojira.User // whose the description's Committed: line is, if no edit changed it (lineAuthor)
}

// ixState is one project as last read.
type ixState struct {
	built      time.Time // last full read (slipwatch's clock)
	mark       time.Time // when the last change search (or full read) began
	synced     time.Time // last sync of any kind
	versionsAt time.Time // last read of the versions list

	issuesStale, versionsStale bool // a webhook said so
	needFull                   bool // the change search was refused

	versions     []version // as listed, archived ones too
	covered      map[string]bool
	epicsCovered map[string]bool
	issues       map[string]*ixIssue
	deliverables map[string]*ixDeliverable
	// ignored are changed issues that belong to nothing watched, by key,
	// with the "updated" they were seen at: the next change search, which
	// overlaps, must not take them for news.
	ignored map[string]time.Time

	byVersion map[string][]*ixIssue
	byEpic    map[string][]*ixIssue
}

func newState() ixState {
	return ixState{covered: map[string]bool{}, epicsCovered: map[string]bool{}, issues: map[string]*ixIssue{},
		deliverables: map[string]*ixDeliverable{}, ignored: map[string]time.Time{}}
}

// projIndex is one project's index. mu is held while it syncs and while a
// snapshot is taken from it.
type projIndex struct {
	mu   sync.Mutex
	proj string
	st   ixState
}

// hookNews is what webhooks said about a project since its index last
// looked: kept apart from the index, so a webhook never waits for a sync.
type hookNews struct {
	issues, versions bool
	deletedIssues    []string
	deletedVersions  []string
}

// rawIssue is a search result with its custom fields kept, for Data
// Center's Epic Link.
type rawIssue struct {
	issue
	custom map[string]json.RawMessage
}

func (r *rawIssue) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &r.issue); err != nil {
		return err
	}
	var aux struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.custom = aux.Fields
	return nil
}

// epicLink is how an issue names its epic, besides parent: Data Center's
// Jira Software field, found once in the field list.
type epicLink struct {
	known  bool
	field  string // "customfield_10008"; "" when there is none (Cloud, or no Jira Software)
	clause string // how JQL names it: "cf[10008]"
}

// indexFields are the fields the index keeps, for any issue.
func indexFields(el epicLink) []string {
	f := []string{"created", "updated", "resolutiondate", "statuscategorychangedate", "status", "labels", "fixVersions", "parent"}
	if el.field != "" {
		f = append(f, el.field)
	}
	return f
}

// deliverableFields are those of an issue deliverable besides.
func deliverableFields(el epicLink) []string {
	return append(indexFields(el), "summary", "description", "duedate", "project", "creator")
}

func (c *Client) toIx(r *rawIssue, el epicLink) *ixIssue {
	f := r.Fields
	x := &ixIssue{key: r.Key, created: f.Created.Time, updated: f.Updated.Time, resolved: f.ResolutionDate.Time, tracking: c.isTracking(r.issue)}
	if t, ok := f.done(); ok {
		x.done = t
	}
	for _, v := range f.FixVersions {
		x.versions = append(x.versions, v.ID)
		x.fixReleased = append(x.fixReleased, v.Released)
	}
	if p := f.Parent; p != nil {
		x.parent = p.Key
		x.parentEpic = isEpic(p.Fields.IssueType)
		x.parentOpen = p.Fields.Status == nil || p.Fields.Status.StatusCategory.Key != "done"
	}
	if raw, ok := r.custom[el.field]; ok && el.field != "" {
		var key string
		if json.Unmarshal(raw, &key) == nil && issueKeyLike(key) {
			x.epic = key
		}
	}
	return x
}

func toDeliverable(r *rawIssue) *ixDeliverable {
	d := &ixDeliverable{summary: r.Fields.Summary, description: string(r.Fields.Description), due: r.Fields.DueDate, creator: r.Fields.Creator}
	if t, ok := r.Fields.done(); ok {
		d.done = t
	}
	return d
}

// indexOf is proj's index, made empty on first use.
func (c *Client) indexOf(proj string) *projIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	ix := c.indexes[proj]
	if ix == nil {
		ix = &projIndex{proj: proj, st: newState()}
		c.indexes[proj] = ix
	}
	return ix
}

// forgetIndex drops proj's index (a project deleted or no longer visible).
func (c *Client) forgetIndex(proj string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.indexes, proj)
	delete(c.news, proj)
	for k := range c.threads {
		if projectOf(k) == proj {
			delete(c.threads, k)
		}
	}
}

// tell records what a webhook said about proj, for its index's next look.
func (c *Client) tell(proj string, f func(n *hookNews)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.news[proj]
	if n == nil {
		n = &hookNews{}
		c.news[proj] = n
	}
	f(n)
}

// lockedIndex returns proj's index brought up to date, locked: the caller
// unlocks it. poll is a poll's List: it always spends its one request.
func (c *Client) lockedIndex(ctx context.Context, proj string, poll bool) (*projIndex, error) {
	ix := c.indexOf(proj)
	ix.mu.Lock()
	if err := c.sync(ctx, ix, poll); err != nil {
		ix.mu.Unlock()
		return nil, err
	}
	return ix, nil
}

// sync brings ix up to date; ix.mu is held.
func (c *Client) sync(ctx context.Context, ix *projIndex, poll bool) error {
	c.applyNews(ix)
	now := c.o.Now()
	st := &ix.st
	if st.built.IsZero() || st.needFull || now.Sub(st.built) >= fullEvery+spread(ix.proj) || now.Sub(st.mark) >= fullEvery {
		return c.fullRead(ctx, ix, now)
	}
	versions := c.cfg.Deliverables.Versions
	routine := poll || now.Sub(st.synced) >= c.o.PollInterval || now.Before(st.synced)
	doVersions := versions && (st.versionsStale || (routine && now.Sub(st.versionsAt) >= c.versionsEvery()))
	// A routine sync spends one request: the versions list when it is
	// due, else the change search. The change search skipped is not
	// lost: the next one asks from the same mark.
	doChanges := st.issuesStale || (routine && !doVersions)
	if doVersions {
		if err := c.readVersions(ctx, ix, now); err != nil {
			if ctx.Err() != nil || projectGone(err) {
				return err
			}
			// The list is asked again at the next sync; meanwhile the
			// issues must not wait for it.
			c.log.WarnContext(ctx, "cannot read the versions list; keeping the last one", "project", ix.proj, "error", err)
			doChanges = true
		}
	}
	if doChanges {
		if err := c.readChanges(ctx, ix, now); err != nil {
			return err
		}
	}
	if routine || doVersions || doChanges {
		st.synced = now
	}
	return nil
}

// applyNews moves the webhooks' news into ix; ix.mu is held.
func (c *Client) applyNews(ix *projIndex) {
	c.mu.Lock()
	n := c.news[ix.proj]
	delete(c.news, ix.proj)
	c.mu.Unlock()
	if n == nil {
		return
	}
	st := &ix.st
	st.issuesStale = st.issuesStale || n.issues
	st.versionsStale = st.versionsStale || n.versions
	for _, k := range n.deletedIssues {
		delete(st.issues, k)
		delete(st.deliverables, k)
	}
	for _, id := range n.deletedVersions {
		st.versions = slices.DeleteFunc(st.versions, func(v version) bool { return v.ID == id })
	}
	if len(n.deletedIssues) > 0 {
		st.derive()
	}
}

func (c *Client) versionsEvery() time.Duration {
	if d := c.cfg.VersionsEvery.D(); d > 0 {
		return d
	}
	return config.DefaultJiraVersionsEvery
}

// spread is proj's share of fullSpread, the same on every replica.
func spread(proj string) time.Duration {
	h := fnv.New32a()
	_, _ = h.Write([]byte(proj))
	return time.Duration(h.Sum32()%uint32(fullSpread/time.Minute)) * time.Minute
}

// fullRead rebuilds ix from scratch; ix.mu is held. Nothing is kept of a
// read that fails.
func (c *Client) fullRead(ctx context.Context, ix *projIndex, now time.Time) error {
	proj := ix.proj
	el, err := c.epicLinkField(ctx)
	if err != nil {
		return err
	}
	next := newState()
	next.built, next.mark, next.synced = now, now, now
	if c.cfg.Deliverables.Versions {
		vs, err := c.versionList(ctx, proj)
		if err != nil {
			return err
		}
		next.versions, next.versionsAt = vs, now
	}
	if c.jql != "" {
		found, err := searchAs[rawIssue](ctx, c, c.inProject(proj, c.jql), deliverableFields(el))
		if err != nil {
			return fmt.Errorf("list issue deliverables of %s: %w", proj, err)
		}
		for i := range found {
			next.issues[found[i].Key] = c.toIx(&found[i], el)
			next.deliverables[found[i].Key] = toDeliverable(&found[i])
		}
	}
	var ids []string
	for _, v := range next.versions {
		if !v.Archived {
			ids = append(ids, v.ID)
		}
	}
	// The versions' issues and the window's resolved issues in one search
	// (more when the project has many versions).
	resolved := "resolved >= " + quote(c.windowFrom(now).AddDays(-1).String())
	chunks := slices.Collect(slices.Chunk(ids, maxInList))
	for i := range max(1, len(chunks)) {
		var or []string
		if i < len(chunks) {
			or = append(or, "fixVersion in ("+strings.Join(chunks[i], ", ")+")")
		}
		if i == 0 {
			or = append(or, resolved)
		}
		found, err := searchAs[rawIssue](ctx, c, c.inProject(proj, strings.Join(or, " OR ")), indexFields(el))
		if err != nil {
			return fmt.Errorf("read the issues of %s: %w", proj, err)
		}
		for i := range found {
			if next.issues[found[i].Key] == nil {
				next.issues[found[i].Key] = c.toIx(&found[i], el)
			}
		}
	}
	for _, id := range ids {
		next.covered[id] = true
	}
	if err := c.readChildren(ctx, &next, el, slices.Sorted(maps.Keys(next.deliverables))); err != nil {
		return err
	}
	next.derive()
	ix.st = next
	// Every thread is read again once too: a comment deleted may not move
	// its issue's "updated".
	c.mu.Lock()
	for k := range c.threads {
		if projectOf(k) == proj {
			delete(c.threads, k)
		}
	}
	c.mu.Unlock()
	c.log.DebugContext(ctx, "jira project read in full", "project", proj, "issues", len(next.issues), "versions", len(next.versions))
	return nil
}

// readChildren reads the children of epics (in any project: an epic's
// stories may live elsewhere) into st and marks the epics covered.
func (c *Client) readChildren(ctx context.Context, st *ixState, el epicLink, epics []string) error {
	for chunk := range slices.Chunk(epics, maxInList) {
		keys := make([]string, len(chunk))
		for i, k := range chunk {
			keys[i] = quote(k)
		}
		list := "(" + strings.Join(keys, ", ") + ")"
		jql := "parent in " + list
		if el.clause != "" {
			jql += " OR " + el.clause + " in " + list
		}
		found, err := searchAs[rawIssue](ctx, c, jql, indexFields(el))
		if err != nil {
			return fmt.Errorf("list the children of %s: %w", strings.Join(chunk, ", "), err)
		}
		for i := range found {
			st.upsert(c.toIx(&found[i], el))
		}
		for _, k := range chunk {
			st.epicsCovered[k] = true
		}
	}
	return nil
}

// readVersions reads the versions list into ix, and the issues of any
// version first seen; ix.mu is held.
func (c *Client) readVersions(ctx context.Context, ix *projIndex, now time.Time) error {
	vs, err := c.versionList(ctx, ix.proj)
	if err != nil {
		return err
	}
	st := &ix.st
	st.versions, st.versionsAt, st.versionsStale = vs, now, false
	var fresh []string
	for _, v := range vs {
		if !v.Archived && !st.covered[v.ID] {
			fresh = append(fresh, v.ID)
		}
	}
	return c.coverVersions(ctx, ix, fresh)
}

// coverVersions reads every issue of versions the index has not read in
// full (new, unarchived); ix.mu is held. Issues changed since the last
// full read are in the index already; the others are found here.
func (c *Client) coverVersions(ctx context.Context, ix *projIndex, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	el, err := c.epicLinkField(ctx)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, maxInList) {
		found, err := searchAs[rawIssue](ctx, c, c.inProject(ix.proj, "fixVersion in ("+strings.Join(chunk, ", ")+")"), indexFields(el))
		if err != nil {
			return fmt.Errorf("read the issues of versions %s: %w", strings.Join(chunk, ", "), err)
		}
		for i := range found {
			ix.st.upsert(c.toIx(&found[i], el))
		}
		for _, id := range chunk {
			ix.st.covered[id] = true
		}
	}
	ix.st.derive()
	return nil
}

// readChanges is the change search; ix.mu is held.
func (c *Client) readChanges(ctx context.Context, ix *projIndex, now time.Time) error {
	st := &ix.st
	el, err := c.epicLinkField(ctx)
	if err != nil {
		return err
	}
	loc, err := c.userZone(ctx)
	if err != nil {
		return err
	}
	since := "updated >= " + quote(st.mark.Add(-syncMargin).In(loc).Format(jqlMinute))
	scope := "project = " + quote(ix.proj)
	epics := slices.Sorted(maps.Keys(st.deliverables))
	if len(epics) > 0 && len(epics) <= maxInList {
		// Children in other projects change too.
		keys := make([]string, len(epics))
		for i, k := range epics {
			keys[i] = quote(k)
		}
		list := "(" + strings.Join(keys, ", ") + ")"
		scope = "(" + scope + " OR parent in " + list
		if el.clause != "" {
			scope += " OR " + el.clause + " in " + list
		}
		scope += ")"
	}
	found, err := searchAs[rawIssue](ctx, c, scope+" AND "+since+" ORDER BY key ASC", indexFields(el))
	if isStatus(err, http.StatusBadRequest) && len(epics) > 0 {
		// An epic deleted since makes "parent in (…)" invalid. Fall back on
		// the project alone, and rebuild at the next sync.
		c.log.WarnContext(ctx, "jira change search refused; reading the project in full next time", "project", ix.proj, "error", err)
		st.needFull = true
		found, err = searchAs[rawIssue](ctx, c, "project = "+quote(ix.proj)+" AND "+since+" ORDER BY key ASC", indexFields(el))
	}
	if err != nil {
		return fmt.Errorf("search the changes of %s: %w", ix.proj, err)
	}
	var changed []*rawIssue
	for i := range found {
		r := &found[i]
		if old := st.issues[r.Key]; old != nil && old.updated.Equal(r.Fields.Updated.Time) {
			continue
		}
		if at, ok := st.ignored[r.Key]; ok && at.Equal(r.Fields.Updated.Time) {
			continue
		}
		changed = append(changed, r)
	}
	if len(changed) > 0 && c.jql != "" {
		matches, err := searchAs[rawIssue](ctx, c, c.inProject(ix.proj, c.jql)+" AND "+since+" ORDER BY key ASC", deliverableFields(el))
		if err != nil {
			return fmt.Errorf("search the changed deliverables of %s: %w", ix.proj, err)
		}
		matching := map[string]bool{}
		for i := range matches {
			m := &matches[i]
			matching[m.Key] = true
			st.deliverables[m.Key] = toDeliverable(m)
			st.upsert(c.toIx(m, el))
		}
		for _, r := range changed {
			if !matching[r.Key] && projectOf(r.Key) == ix.proj {
				delete(st.deliverables, r.Key)
			}
		}
	}
	window := c.windowFrom(now).AddDays(-1).Time(c.o.Location)
	for _, r := range changed {
		x := c.toIx(r, el)
		if st.deliverables[x.key] == nil && !st.watches(x, window) {
			// Nothing slipwatch watches: remembered only so that the next,
			// overlapping search does not take it for news again.
			delete(st.issues, x.key)
			st.ignored[x.key] = x.updated
			continue
		}
		delete(st.ignored, x.key)
		st.upsert(x)
	}
	// Forget what the next search cannot return again.
	for k, at := range st.ignored {
		if at.Before(now.Add(-2 * syncMargin)) {
			delete(st.ignored, k)
		}
	}
	var uncovered []string
	for k := range st.deliverables {
		if !st.epicsCovered[k] {
			uncovered = append(uncovered, k)
		}
	}
	slices.Sort(uncovered)
	if err := c.readChildren(ctx, st, el, uncovered); err != nil {
		return err
	}
	st.mark, st.issuesStale = now, false
	if len(changed) > 0 || len(uncovered) > 0 {
		st.derive()
		c.log.DebugContext(ctx, "jira project changed", "project", ix.proj, "issues", len(changed))
	}
	return nil
}

// watches reports whether x belongs to something the index serves: a
// version, an epic (or a sub-task's parent), or the throughput window.
func (st *ixState) watches(x *ixIssue, window time.Time) bool {
	return len(x.versions) > 0 || x.parent != "" || x.epic != "" || x.tracking || (!x.resolved.IsZero() && !x.resolved.Before(window))
}

func (st *ixState) upsert(x *ixIssue) {
	if old := st.issues[x.key]; old != nil && old.updated.After(x.updated) {
		return // a search answered from an older index
	}
	st.issues[x.key] = x
}

// derive rebuilds the lookups from the issues.
func (st *ixState) derive() {
	st.byVersion = map[string][]*ixIssue{}
	st.byEpic = map[string][]*ixIssue{}
	for _, x := range st.issues {
		for _, v := range x.versions {
			st.byVersion[v] = append(st.byVersion[v], x)
		}
		if x.parent != "" {
			st.byEpic[x.parent] = append(st.byEpic[x.parent], x)
		}
		if x.epic != "" && x.epic != x.parent {
			st.byEpic[x.epic] = append(st.byEpic[x.epic], x)
		}
	}
}

func (st *ixState) version(id string) (version, bool) {
	for _, v := range st.versions {
		if v.ID == id {
			return v, true
		}
	}
	return version{}, false
}

// windowFrom is the first day of the forecast window ending today.
func (c *Client) windowFrom(now time.Time) connectors.Date {
	return connectors.DateOf(now, c.o.Location).AddDays(-(c.o.WindowDays - 1))
}

// versionList is GET /project/{key}/versions, a conditional request.
func (c *Client) versionList(ctx context.Context, proj string) ([]version, error) {
	var vs []version
	if err := c.get(ctx, "rest/api/2/project/"+url.PathEscape(proj)+"/versions", nil, &vs); err != nil {
		return nil, fmt.Errorf("list versions of %s: %w", proj, err)
	}
	for _, v := range vs {
		if v.ProjectID != "" {
			c.rememberProject(string(v.ProjectID), proj)
		}
	}
	return vs, nil
}

// userZone is the zone Jira reads the credential's JQL dates in: its
// profile's (/myself timeZone). A zone Go does not know (or none) is
// replaced by the westernmost offset, UTC-12: a literal read in any real
// zone then names an earlier instant, and the search only asks for more.
func (c *Client) userZone(ctx context.Context) (*time.Location, error) {
	c.mu.Lock()
	loc := c.zone
	c.mu.Unlock()
	if loc != nil {
		return loc, nil
	}
	u, err := c.selfUser(ctx)
	if err != nil {
		return nil, err
	}
	loc, err = time.LoadLocation(u.TimeZone)
	if u.TimeZone == "" || err != nil {
		loc = time.FixedZone("UTC-12", -12*60*60)
		c.log.WarnContext(ctx, "the Jira user's time zone is unknown; change searches ask from up to a day earlier", "time_zone", u.TimeZone)
	}
	c.mu.Lock()
	c.zone = loc
	c.mu.Unlock()
	return loc, nil
}

// ghEpicLink is the schema of Jira Software's Epic Link field.
const ghEpicLink = "com.pyxis.greenhopper.jira:gh-epic-link"

// jiraField is an element of /rest/api/2/field.
type jiraField struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	ClauseNames []string `json:"clauseNames"`
	Schema      struct {
		Custom string `json:"custom"`
	} `json:"schema"`
}

// epicLinkField finds, once, how Data Center names an issue's epic (Cloud
// uses parent for epics: nothing to find).
func (c *Client) epicLinkField(ctx context.Context) (epicLink, error) {
	c.mu.Lock()
	el := c.epic
	c.mu.Unlock()
	if el.known {
		return el, nil
	}
	cloud, err := c.cloud(ctx)
	if err != nil {
		return epicLink{}, err
	}
	el = epicLink{known: true}
	if !cloud {
		var fields []jiraField
		if err := c.get(ctx, "rest/api/2/field", nil, &fields); err != nil {
			return epicLink{}, fmt.Errorf("list Jira's fields (for Epic Link): %w", err)
		}
		if i := slices.IndexFunc(fields, func(f jiraField) bool { return f.Schema.Custom == ghEpicLink }); i >= 0 {
			f := fields[i]
			el.field, el.clause = f.ID, quote(f.Name)
			for _, cn := range f.ClauseNames {
				if strings.HasPrefix(cn, "cf[") {
					el.clause = cn // stable when the field is renamed
					break
				}
			}
		} else {
			c.log.InfoContext(ctx, "no Epic Link field (Jira Software is not installed); epic children are found by parent only")
		}
	}
	c.mu.Lock()
	c.epic = el
	c.mu.Unlock()
	return el, nil
}

// projectGone reports whether err says the project does not exist (or is
// not visible): the versions list's 404, or the JQL's 400 naming it.
func projectGone(err error) bool {
	return errors.Is(err, connectors.ErrNotFound) || jiraSays(err, http.StatusBadRequest, "for the field 'project'")
}
