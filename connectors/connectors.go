// Package connectors holds the vocabulary shared by the tracker connectors
// (connectors/github, connectors/jira) and the reconcile core: which
// deliverable, what the tracker shows of it now, and the thread where
// slipwatch talks about it. It does no I/O and imports no network package
// (HTTP helpers live in connectors/httpx): the connectors fill these types
// and the core reads them.
package connectors

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/internal/markup"
)

// Tracker names a tracker kind.
type Tracker string

// The trackers slipwatch speaks to.
const (
	GitHub Tracker = "github"
	Jira   Tracker = "jira"
)

// Kind is the kind of deliverable within a tracker.
type Kind string

// Deliverable kinds (DESIGN.md, Words).
const (
	Milestone Kind = "milestone" // GitHub milestone, ID = milestone number
	Version   Kind = "version"   // Jira version (fixVersion), ID = version id
	Issue     Kind = "issue"     // Jira issue with a due date (an epic), ID = issue key
)

// Ref identifies one deliverable. Its Key is the unit of work of the queue
// and the identity of the record in Redis.
type Ref struct {
	Tracker Tracker `json:"tracker"`
	Team    string  `json:"team"` // "acme/api" (GitHub repo) or "PLAT" (Jira project key)
	Kind    Kind    `json:"kind"`
	ID      string  `json:"id"` // "7", "10042", "PLAT-12"
}

// Key is the queue key, e.g. "github:acme/api/milestone/7" or
// "jira:PLAT/issue/PLAT-12".
func (r Ref) Key() string {
	return string(r.Tracker) + ":" + r.Team + "/" + string(r.Kind) + "/" + r.ID
}

func (r Ref) String() string { return r.Key() }

// ParseKey is the inverse of Ref.Key.
func ParseKey(key string) (Ref, error) {
	tracker, rest, ok := strings.Cut(key, ":")
	if !ok {
		return Ref{}, fmt.Errorf("key %q: want tracker:team/kind/id", key)
	}
	// The team of a GitHub ref holds one slash (owner/name), so split from
	// the right: the last two segments are kind and id.
	i := strings.LastIndex(rest, "/")
	if i <= 0 {
		return Ref{}, fmt.Errorf("key %q: want tracker:team/kind/id", key)
	}
	id := rest[i+1:]
	rest = rest[:i]
	j := strings.LastIndex(rest, "/")
	if j <= 0 {
		return Ref{}, fmt.Errorf("key %q: want tracker:team/kind/id", key)
	}
	r := Ref{Tracker: Tracker(tracker), Team: rest[:j], Kind: Kind(rest[j+1:]), ID: id}
	switch {
	case r.Tracker != GitHub && r.Tracker != Jira:
		return Ref{}, fmt.Errorf("key %q: unknown tracker %q", key, tracker)
	case r.Kind != Milestone && r.Kind != Version && r.Kind != Issue:
		return Ref{}, fmt.Errorf("key %q: unknown kind %q", key, r.Kind)
	case r.ID == "":
		return Ref{}, fmt.Errorf("key %q: empty id", key)
	case r.Tracker == GitHub && strings.Count(r.Team, "/") != 1:
		return Ref{}, fmt.Errorf("key %q: GitHub team must be owner/name", key)
	case r.Tracker == Jira && strings.Contains(r.Team, "/"):
		return Ref{}, fmt.Errorf("key %q: Jira team must be a project key", key)
	}
	return r, nil
}

// WebhookEvent is what a verified webhook delivery asks slipwatch to look
// at again. Webhooks only enqueue keys: the worker re-reads the tracker, so
// the payload is trusted for nothing but which deliverables to reconcile.
type WebhookEvent struct {
	Delivery string   // X-GitHub-Delivery, or the Jira delivery identifier
	Event    string   // "milestone", "issue_comment", "jira:version_updated", …
	Refs     []Ref    // deliverables to reconcile
	Teams    []string // whole teams to list again (a new milestone or version)
	Digest   string   // httpx.BodyDigest of the authenticated body: a replay under another ID is the same delivery
}

// Deliverable is a thing with a date, as the tracker shows it now.
type Deliverable struct {
	Ref         Ref
	Title       string
	URL         string // where a person opens it
	Description string // milestone description, version description, epic description

	// The current due date (the target). GitHub's due_on is an instant and
	// goes in DueAt; Jira's releaseDate and duedate are calendar dates and go
	// in DueDate. The core turns DueAt into a date in the configured zone.
	DueAt   time.Time
	DueDate Date

	// Closed is true once the deliverable is delivered (GitHub milestone
	// closed, Jira version released, issue resolved); ClosedAt says when.
	Closed   bool
	ClosedAt time.Time

	// Items is the work inside the deliverable (issues in a milestone or
	// version, children of an epic), excluding slipwatch's own tracking issue.
	Items []Item

	// DescriptionBy is who last changed the description's "Committed:"
	// line, as the tracker names users (a Jira account ID or user name);
	// "" when the tracker does not say. DescriptionByCanCommit says
	// whether that person may record a commitment: the core takes the line
	// only when it is true, as it takes a /commit only from someone who
	// may commit. GitHub: true (editing a milestone takes write
	// permission, which may commit). Jira: an issue's line from its
	// changelog and commands.allow; a version's true (only project and
	// Jira administrators may edit a version, and Jira records no editor).
	DescriptionBy          string
	DescriptionByCanCommit bool
}

// Due is the deliverable's target date in loc, and whether it has one.
func (d Deliverable) Due(loc *time.Location) (Date, bool) {
	switch {
	case !d.DueDate.IsZero():
		return d.DueDate, true
	case !d.DueAt.IsZero():
		return DateOf(d.DueAt, loc), true
	}
	return Date{}, false
}

// Item is one unit of work inside a deliverable.
type Item struct {
	ID        string    // "42" (GitHub issue number) or "PLAT-42"
	CreatedAt time.Time // when it was created (scope growth is judged by when it joined; trackers report creation)
	ClosedAt  time.Time // zero while open
}

// Done reports whether the item is closed.
func (i Item) Done() bool { return !i.ClosedAt.IsZero() }

// Thread is where slipwatch talks about a deliverable: the GitHub tracking
// issue of a milestone, the Jira issue of a version, or the epic itself.
type Thread struct {
	ID       string // "acme/api#42" or "PLAT-99"
	URL      string
	Comments []Comment
}

// ThreadTitle is the title (GitHub) or summary (Jira) of a tracking issue
// slipwatch creates for the deliverable titled deliverable. The title is
// the users' text, so it is made inert (no mention, reference, HTML or
// link) and cut to fit both trackers: Jira refuses a summary over 255
// characters, GitHub a title over 256.
func ThreadTitle(deliverable string) string {
	const prefix = "Delivery tracking: "
	return prefix + markup.Title(deliverable, maxThreadTitle-len(prefix))
}

// maxThreadTitle bounds a tracking issue's title in bytes, which are never
// fewer than the characters the trackers count.
const maxThreadTitle = 255

// Comment is one comment on a thread.
type Comment struct {
	ID        string
	URL       string
	Author    string // login (GitHub) or account ID / name (Jira)
	Body      string // as the tracker returns it (Markdown or wiki markup)
	CreatedAt time.Time
	UpdatedAt time.Time

	// BySelf is true when slipwatch's own identity wrote the comment. Only
	// such comments' markers are trusted: a user pasting a marker must not
	// make slipwatch believe it already said something.
	BySelf bool

	// Hidden is the text where slipwatch's markers live. On GitHub it is the
	// body itself (markers are HTML comments, which GitHub does not render);
	// on Jira, whose wiki markup has no hidden comment, it is the value of
	// the comment's "slipwatch" entity property.
	Hidden string

	// EditedBy is who last edited the comment, when the tracker says so
	// and it is not the author (Jira's updateAuthor); "" otherwise (GitHub's
	// REST API names no editor). A command in a comment someone else
	// edited is the editor's: AuthorCanCommit is then about EditedBy, and
	// a commitment it records is theirs.
	EditedBy string

	// AuthorCanCommit is the connector's answer to "may the person who
	// wrote this text (EditedBy when set, else Author) record a
	// commitment?" (GitHub: write permission or better on the repo, or
	// listed in commands.allow; Jira: listed in commands.allow).
	AuthorCanCommit bool
}

// Writer is who wrote the comment's current text: its editor when the
// tracker names one other than the author, else its author.
func (c Comment) Writer() string {
	if c.EditedBy != "" {
		return c.EditedBy
	}
	return c.Author
}

// WrittenAt is when the comment's current text was written: its last
// edit, when it was edited, else its creation. A command made by editing
// an old comment is made at the edit.
func (c Comment) WrittenAt() time.Time {
	if c.UpdatedAt.After(c.CreatedAt) {
		return c.UpdatedAt
	}
	return c.CreatedAt
}

// Snapshot is everything a connector observed about one deliverable in one
// pass: the deliverable, its thread (nil while it has none) and the team's
// throughput. The reconcile core reads commands and markers from the
// thread's comments itself.
type Snapshot struct {
	Deliverable Deliverable
	Thread      *Thread
	Throughput  Throughput
}

// Throughput is the team's completed items per day: Daily[i] is the number
// of items closed (GitHub) or resolved (Jira) in the whole repo or project
// on From+i days, in the configured zone, up to and including To.
type Throughput struct {
	From  Date
	To    Date
	Daily []int

	// The team-level facts below let the forecast give a deliverable its
	// share of the team and expect the scope growth usual for the team.
	// The zero value means unknown, and the forecast then falls back on
	// its defaults (docs/forecast.md).

	// Active is how many of the team's deliverables are in progress: not
	// yet delivered, with at least one item completed in the window. The
	// deliverable being forecast counts when it has such an item.
	Active int

	// Assigned is how many of the items completed in the window belong to
	// one of the team's deliverables; the rest (support, chores) is work
	// no deliverable gets. Zero: unknown (taken as all of them).
	Assigned int

	// ScopeAdded and ScopePlannedClosed measure how the team's scope grows
	// once work is under way, over the window and across the team's
	// deliverables (open or delivered): of the items of a deliverable
	// completed in the window, ScopeAdded counts those added to it after
	// its first completed item, ScopePlannedClosed those already there.
	// Their ratio is the items added per planned item finished. Connectors
	// count all four with CountFacts.
	ScopeAdded         int
	ScopePlannedClosed int
}

// Total is the number of completed items in the window.
func (t Throughput) Total() int {
	n := 0
	for _, c := range t.Daily {
		n += c
	}
	return n
}

// CountThroughput buckets completion instants into days [from, to] in loc;
// instants outside the window are ignored.
func CountThroughput(closed []time.Time, from, to Date, loc *time.Location) Throughput {
	t := Throughput{From: from, To: to}
	n := to.Sub(from) + 1
	if n <= 0 {
		return t
	}
	t.Daily = make([]int, n)
	for _, c := range closed {
		i := DateOf(c, loc).Sub(from)
		if i >= 0 && i < n {
			t.Daily[i]++
		}
	}
	return t
}
