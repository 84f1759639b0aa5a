package backtest

import (
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// FromPast is the History of a team's own past as its tracker shows it
// (connectors.Past), for `slipwatch backtest`. Each delivered deliverable
// with completed work is measured:
//
//   - its work is the items completed by the time it was delivered (those
//     left open were not part of what was delivered), and it finished the
//     day its last one was completed;
//   - its promise is the date its description declares ("Committed:"),
//     else its due date, except a Jira version's, which releasing it sets
//     to the release day; without either only the dates are judged, not
//     the chance;
//   - the promise is taken as made when its first item was completed (the
//     trackers do not keep when a date was first set), with the items it
//     had then as its scope.
func FromPast(p connectors.Past, loc *time.Location) History {
	if loc == nil {
		loc = time.UTC
	}
	h := History{From: p.From, Daily: p.Daily}
	for _, d := range p.Deliverables {
		var items []connectors.Item
		var first, last time.Time
		for _, it := range d.Items {
			if !it.Done() {
				continue
			}
			items = append(items, it)
			if first.IsZero() || it.ClosedAt.Before(first) {
				first = it.ClosedAt
			}
			if it.ClosedAt.After(last) {
				last = it.ClosedAt
			}
		}
		if len(items) == 0 {
			continue
		}
		bd := Deliverable{ID: d.Ref.Key(), Items: items, Delivered: connectors.DateOf(last, loc),
			Measure: !connectors.DateOf(last, loc).Before(p.Since)}
		promised, ok := reconcile.DeclaredDate(d.Ref.Tracker, d.Description)
		if due, has := d.Due(loc); !ok && has && d.Ref.Kind != connectors.Version {
			promised, ok = due, true
		}
		if ok {
			bd.Promised, bd.PromisedAt = promised, first
			for _, it := range items {
				if !it.CreatedAt.After(first) {
					bd.Scope++
				}
			}
		}
		h.Deliverables = append(h.Deliverables, bd)
	}
	return h
}

// TeamResult is how the forecast would have served one team on its own
// past: the new model's figures, the old one's beside them.
type TeamResult struct {
	Team string
	// Deliverables judged; Promised of them had a promise, so the chance
	// was judged too.
	Deliverables, Promised int
	// Held of Judged: the P85 date stated the day work began (or the
	// promise was made) held.
	Held, Judged int
	New, Old     Stats
}

// Own replays h (FromPast) under s and measures both models on it.
func Own(team string, h History, s reconcile.Settings) TeamResult {
	outs := Replay(h, s)
	r := TeamResult{Team: team, New: Measure(New, outs[New], s), Old: Measure(Old, outs[Old], s)}
	r.Deliverables = len(outs[New])
	for _, o := range outs[New] {
		if !o.Promised.IsZero() {
			r.Promised++
		}
	}
	r.Held, r.Judged = Held(outs[New])
	return r
}

// Chance is the stated chance of meeting the promise, averaged over the
// checkpoints where one was stated, and the share of those that were met.
func (s Stats) Chance() (stated, met float64, n int) {
	on := 0
	for _, d := range s.Calibration {
		n += d.N
		stated += d.Stated
		on += d.OnTime
	}
	if n == 0 {
		return 0, 0, 0
	}
	return stated / float64(n), float64(on) / float64(n), n
}

// P85 is the share of forecasts with a date whose P85 held at checkpoint
// c (0: the promise, then 25/50/75 % of the way by time); ok is false
// when there were none.
func (s Stats) P85(c int) (share float64, ok bool) {
	cv := s.Coverage[c]
	return cov(cv, 85), cv.Forecasts > 0
}

// P50 is the same for the P50 date.
func (s Stats) P50(c int) (share float64, ok bool) {
	cv := s.Coverage[c]
	return cov(cv, 50), cv.Forecasts > 0
}
