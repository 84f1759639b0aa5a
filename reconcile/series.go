package reconcile

import (
	"slices"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// SeriesDays bounds the burn-up a record keeps: about six months, which
// covers the life of nearly every milestone and keeps a record small
// (two short arrays of integers, about 1 KiB of JSON at most).
const SeriesDays = 180

// Series is a deliverable's burn-up: the items done and in scope at the
// end of each day from From on, one entry a day, Done[i] and Total[i]
// being day From+i. The dashboard draws it.
//
// Days a pass saw keep what it saw. Days no pass saw — before the record
// existed, while slipwatch was down, or everything before a restore after
// Redis lost the record (the status marker does not carry the series, to
// stay compact) — are derived from the items the tracker reports, by
// their CreatedAt and ClosedAt. An item moved into the deliverable counts
// from its creation, since trackers do not say when it joined.
type Series struct {
	From  connectors.Date `json:"from"`
	Done  []int           `json:"done"`
	Total []int           `json:"total"`
}

// IsZero reports whether s holds no day (encoding/json's omitzero).
func (s Series) IsZero() bool { return len(s.Done) == 0 }

// Len is the number of days in s.
func (s Series) Len() int { return len(s.Done) }

// Last is the last day in s; zero when s is empty.
func (s Series) Last() connectors.Date {
	if s.IsZero() {
		return connectors.Date{}
	}
	return s.From.AddDays(len(s.Done) - 1)
}

// chartFacts keeps what the pages show beyond the decision: the thread's
// address and the burn-up, extended to today (or to the delivery day) and
// filled from the items where no pass saw a day. It never changes an
// action, so running it twice is harmless.
func (p *pass) chartFacts() {
	rec := &p.rec
	if p.snap.Thread != nil && p.snap.Thread.URL != "" {
		rec.ThreadURL = p.snap.Thread.URL
	}
	end := p.facts.today
	if rec.Delivered && rec.DeliveredOn.Before(end) {
		end = rec.DeliveredOn
	}
	rec.Series = observeSeries(rec.Series, p.d.Items, end, rec.Done, rec.Total, p.s.Location)
}

// observeSeries is s with day end set to done and total, the days between
// its last day and end derived from items, and no more than SeriesDays
// days. It returns s itself when nothing changes, and never writes into
// s's arrays (the previous record shares them).
func observeSeries(s Series, items []connectors.Item, end connectors.Date, done, total int, loc *time.Location) Series {
	if loc == nil {
		loc = time.UTC
	}
	if !s.IsZero() && len(s.Total) != len(s.Done) {
		s = Series{} // damaged: derive it again
	}
	last := s.Last()
	switch {
	case !s.IsZero() && last == end:
		if s.Done[len(s.Done)-1] == done && s.Total[len(s.Total)-1] == total {
			return s
		}
		out := Series{From: s.From, Done: slices.Clone(s.Done), Total: slices.Clone(s.Total)}
		out.Done[len(out.Done)-1], out.Total[len(out.Total)-1] = done, total
		return out
	case !s.IsZero() && last.After(end):
		// The clock went back, or the deliverable was delivered on a day
		// already drawn: the series ends at end.
		if n := end.Sub(s.From) + 1; n > 0 {
			out := Series{From: s.From, Done: slices.Clone(s.Done[:n]), Total: slices.Clone(s.Total[:n])}
			out.Done[n-1], out.Total[n-1] = done, total
			return out
		}
		s = Series{}
	}

	// Days after the last one seen, up to end, the last of them as
	// observed now.
	from := end.AddDays(-(SeriesDays - 1))
	if s.IsZero() {
		if first, ok := firstItemDay(items, loc); ok && first.Before(end) {
			from = latest(from, first)
		} else {
			from = end
		}
	} else {
		from = latest(from, last.AddDays(1))
	}
	n := end.Sub(from) + 1
	dDone, dTotal := deriveDays(items, from, n, loc)
	dDone[n-1], dTotal[n-1] = done, total

	keep := 0 // days of s kept, the newest SeriesDays-n
	if !s.IsZero() {
		keep = min(len(s.Done), SeriesDays-n)
	}
	out := Series{From: from.AddDays(-keep), Done: make([]int, 0, keep+n), Total: make([]int, 0, keep+n)}
	if keep > 0 {
		out.Done = append(out.Done, s.Done[len(s.Done)-keep:]...)
		out.Total = append(out.Total, s.Total[len(s.Total)-keep:]...)
	}
	out.Done = append(out.Done, dDone...)
	out.Total = append(out.Total, dTotal...)
	return out
}

// deriveDays counts, for the n days from from on, the items closed and
// created by the end of each day.
func deriveDays(items []connectors.Item, from connectors.Date, n int, loc *time.Location) (done, total []int) {
	done, total = make([]int, n), make([]int, n)
	baseDone, baseTotal := 0, 0 // before from
	for _, it := range items {
		switch i, ok := dayIndex(it.CreatedAt, from, n, loc); {
		case !ok, i < 0:
			baseTotal++ // created before from, or no creation date: in scope all along
		case i < n:
			total[i]++
		}
		if it.Done() {
			if i, _ := dayIndex(it.ClosedAt, from, n, loc); i < 0 {
				baseDone++
			} else if i < n {
				done[i]++
			}
		}
	}
	for i := range n {
		baseDone += done[i]
		baseTotal += total[i]
		done[i], total[i] = baseDone, max(baseTotal, baseDone)
	}
	return done, total
}

// dayIndex is t's day counted from from (negative before it; n or more
// after the n days), and false for the zero time.
func dayIndex(t time.Time, from connectors.Date, n int, loc *time.Location) (int, bool) {
	if t.IsZero() {
		return 0, false
	}
	i := connectors.DateOf(t, loc).Sub(from)
	if i >= n {
		i = n
	}
	return i, true
}

// firstItemDay is the day the first item was created (or closed, for a
// tracker that reports a close before the creation).
func firstItemDay(items []connectors.Item, loc *time.Location) (connectors.Date, bool) {
	var first time.Time
	for _, it := range items {
		for _, t := range [2]time.Time{it.CreatedAt, it.ClosedAt} {
			if !t.IsZero() && (first.IsZero() || t.Before(first)) {
				first = t
			}
		}
	}
	if first.IsZero() {
		return connectors.Date{}, false
	}
	return connectors.DateOf(first, loc), true
}

func latest(a, b connectors.Date) connectors.Date {
	if a.After(b) {
		return a
	}
	return b
}
