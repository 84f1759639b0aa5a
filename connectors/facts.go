package connectors

import "time"

// Completion is one item completed in a throughput window, as a connector
// reads it from the team's completed items: what Throughput's team-level
// facts are counted from.
type Completion struct {
	Created, Closed time.Time
	// Deliverable is the deliverable the item belongs to ("" none: work
	// no deliverable gets); Open says that deliverable is not delivered;
	// Begun says it had an item completed before the window, when the
	// connector can tell.
	Deliverable string
	Open        bool
	Begun       bool
}

// unsurePlanned: of the completed items of a deliverable begun before the
// window that were created before it, one in unsurePlanned counts as
// planned work, the others as neither. Counting them all as planned hides
// the growth of long-running deliverables (P85 coverage 78 % a quarter of
// the way in the backtest's scope-growth world), counting none overstates
// it (P50 coverage 64–71 %); one in four gave 82–90 % and 54–62 %, as when
// the backtest knew when every item was added.
const unsurePlanned = 4

// CountFacts sets t's team-level facts from the items completed in its
// window, [From, To] in loc (completions outside it are ignored):
//
//   - Active: the deliverables still open with a completion in the window;
//   - Assigned: the completions that belong to a deliverable;
//   - ScopePlannedClosed and ScopeAdded: those completions split by
//     whether the item was already in its deliverable when the
//     deliverable's first item of the window was completed, or was added
//     after it. Their ratio, added per planned item finished, is the rate
//     at which the team's deliverables grow once work is under way.
//
// Only completions are read, so a connector learns all four from the one
// list it reads for the throughput itself. One not known to have begun
// before the window has its start taken at its first completion in it. For
// a deliverable Begun before the window, the items created in the window
// were added; those created before it may have been either, and count as
// planned one time in unsurePlanned.
func (t *Throughput) CountFacts(done []Completion, loc *time.Location) {
	t.Active, t.Assigned, t.ScopeAdded, t.ScopePlannedClosed = 0, 0, 0, 0
	in := func(c Completion) bool {
		if c.Deliverable == "" || c.Closed.IsZero() {
			return false
		}
		d := DateOf(c.Closed, loc)
		return !d.Before(t.From) && !d.After(t.To)
	}
	first := map[string]time.Time{}
	start := t.From.Time(loc)
	for _, c := range done {
		if !in(c) {
			continue
		}
		f, ok := first[c.Deliverable]
		switch {
		case c.Begun:
			first[c.Deliverable] = start
		case !ok || c.Closed.Before(f):
			first[c.Deliverable] = c.Closed
		}
	}
	open := map[string]bool{}
	unsure := 0
	for _, c := range done {
		if !in(c) {
			continue
		}
		t.Assigned++
		if c.Open {
			open[c.Deliverable] = true
		}
		switch {
		case c.Created.After(first[c.Deliverable]):
			t.ScopeAdded++
		case c.Begun && c.Created.Before(start):
			unsure++
		default:
			t.ScopePlannedClosed++
		}
	}
	t.ScopePlannedClosed += unsure / unsurePlanned
	t.Active = len(open)
}
