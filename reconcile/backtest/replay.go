// Package backtest measures how well slipwatch's forecast would have
// served: it replays a team's history day by day, calls the forecast of
// each open deliverable exactly as the daemon does (the items as they
// stood that day, the team's closes in the window before it), and compares
// the dates, the chance and the at_risk warnings with when each
// deliverable really finished. The histories come from simulated teams
// (sim.go, the worlds of docs/forecast.md) or from a team's own trackers.
// It does no I/O.
package backtest

import (
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// History is what a team's trackers show of a stretch of its past.
type History struct {
	// Daily is the team's completed items per day from From on: all of
	// them, in a deliverable or not, as connectors.Throughput counts them.
	From  connectors.Date
	Daily []int
	// Deliverables are the team's deliverables of the stretch, measured or
	// not: every one counts in the team's facts (deliverables in
	// progress, scope growth).
	Deliverables []Deliverable
}

// Deliverable is one deliverable of a History.
type Deliverable struct {
	ID    string
	Items []connectors.Item // every item it ever had, with their final close times
	// The promise: its date, when it was made and the items then. A zero
	// PromisedAt measures the forecast's dates only (no chance, no
	// warnings), from the deliverable's first completed item.
	Promised   connectors.Date
	PromisedAt time.Time
	Scope      int
	// Delivered is the day the last item was completed.
	Delivered connectors.Date
	// Measure selects the deliverables judged; the others are the team's
	// other work.
	Measure bool
}

// Model is a forecast model the backtest can judge.
type Model int

// The models: today's product and the one it had before issue #20.
const (
	// Old is the model before issue #20 (oldmodel.go: the whole team's
	// pace, the open items, the window's mean taken as exact) with at_risk
	// when the P85 date is after the promise.
	Old Model = iota
	// New is the product's forecast: NewForecastInput, Forecaster.Forecast
	// and IsAtRisk.
	New
	// NumModels is the number of models.
	NumModels
)

func (m Model) String() string {
	if m == Old {
		return "old"
	}
	return "new"
}

// Point is one forecast as the backtest keeps it.
type Point struct {
	Day         connectors.Date
	Enough      bool
	P50         connectors.Date
	P85         connectors.Date
	P95         connectors.Date
	ChanceKnown bool
	Chance      float64
}

// checkpointShares place the checkpoints where a deliverable's forecast is
// judged: the promise, then 25, 50 and 75 % of the way (of the time it
// really took, or of its items done; see Outcome).
var checkpointShares = [...]float64{0, 0.25, 0.5, 0.75}

// NumCheckpoints is the number of checkpoints.
const NumCheckpoints = len(checkpointShares)

// Outcome is how one model fared on one deliverable.
type Outcome struct {
	ID        string
	Promised  connectors.Date // zero: no promise
	Delivered connectors.Date
	// At are the forecasts at the checkpoints by time: the promise, and
	// 25/50/75 % of the time the work really took. Done are those by
	// progress: the promise, and the first days a quarter, half and three
	// quarters of the items (as they stood that day) were done; Done[c]
	// has no Day when the work leapt past that share on its last day.
	At   [NumCheckpoints]Point
	Done [NumCheckpoints]Point
	// Daily are the forecasts of each day from the promise on, while the
	// promise was ahead (the days at_risk is judged on).
	Daily   []Point
	Promise connectors.Date // the day the promise was made
}

// Late reports whether the deliverable finished after its promise.
func (o Outcome) Late() bool { return !o.Promised.IsZero() && o.Delivered.After(o.Promised) }

// Replay walks h day by day and returns, per measured deliverable, how each
// model fared: out[m][i] is model m on the i-th measured deliverable.
func Replay(h History, s reconcile.Settings) [NumModels][]Outcome {
	if s.Location == nil {
		s.Location = time.UTC
	}
	var out [NumModels][]Outcome
	type open struct {
		d     *Deliverable
		start connectors.Date
		at    [NumCheckpoints]connectors.Date
		outs  [NumModels]Outcome
	}
	var live []*open
	first, last := connectors.Date{}, connectors.Date{}
	for i := range h.Deliverables {
		d := &h.Deliverables[i]
		if !d.Measure || d.Delivered.IsZero() {
			continue
		}
		start, ok := startOf(*d, s.Location)
		if !ok || !start.Before(d.Delivered) {
			continue
		}
		o := &open{d: d, start: start}
		span := d.Delivered.Sub(start)
		for c, f := range checkpointShares {
			o.at[c] = start.AddDays(int(f * float64(span)))
		}
		for m := range o.outs {
			o.outs[m] = Outcome{ID: d.ID, Promised: d.Promised, Delivered: d.Delivered, Promise: start}
		}
		live = append(live, o)
		if first.IsZero() || start.Before(first) {
			first = start
		}
		if d.Delivered.After(last) {
			last = d.Delivered
		}
	}
	var f reconcile.Forecaster
	var old oldModel
	var items []connectors.Item
	for today := first; today.Before(last); today = today.AddDays(1) {
		tp := h.throughput(today, s)
		for _, o := range live {
			d := o.d
			if today.Before(o.start) || !today.Before(d.Delivered) {
				continue
			}
			items = itemsOn(items[:0], d.Items, today, s.Location)
			promise := reconcile.Commitment{Date: d.Promised, At: d.PromisedAt, Scope: d.Scope}
			var fc [NumModels]reconcile.Forecast
			fc[New] = f.Forecast(reconcile.NewForecastInput(d.ID, items, promise, tp, today, s), s)
			fc[Old] = old.forecast(d.ID, openCount(items), tp, s, today)
			done := float64(len(items)-openCount(items)) / float64(max(len(items), 1))
			for m := range fc {
				p := point(today, fc[m])
				for c, day := range o.at {
					if day == today {
						o.outs[m].At[c] = p
					}
					if dp := &o.outs[m].Done[c]; dp.Day.IsZero() && done >= checkpointShares[c] {
						*dp = p
					}
				}
				if !d.Promised.IsZero() && !today.After(d.Promised) {
					o.outs[m].Daily = append(o.outs[m].Daily, p)
				}
			}
		}
	}
	for _, o := range live {
		for m := range out {
			out[m] = append(out[m], o.outs[m])
		}
	}
	return out
}

// FirstFlag is the first day model m's at_risk rule, under s, was on for
// o (zero: never). Overdue says more than at risk, so only the days up to
// the promise count.
func FirstFlag(o Outcome, m Model, s reconcile.Settings) connectors.Date {
	on := false
	for _, p := range o.Daily {
		f := reconcile.Forecast{Enough: p.Enough, P50: p.P50, P85: p.P85, P95: p.P95, Promised: o.Promised, ChanceKnown: p.ChanceKnown, Chance: p.Chance}
		if m == New {
			on = reconcile.IsAtRisk(on, f, s)
		} else {
			on = oldAtRisk(on, f, o.Promised)
		}
		if on {
			return p.Day
		}
	}
	return connectors.Date{}
}

// oldAtRisk is the rule the product had before the chance: at risk when
// the P85 date is after the promise, back on track once it is two days
// inside it.
func oldAtRisk(was bool, f reconcile.Forecast, promised connectors.Date) bool {
	switch {
	case f.Enough && f.P85.After(promised):
		return true
	case !f.Enough || f.P85.Sub(promised) <= -2:
		return false
	}
	return was
}

func point(today connectors.Date, f reconcile.Forecast) Point {
	p := Point{Day: today, Enough: f.Enough, P50: f.P50, P85: f.P85, P95: f.P95}
	if f.ChanceKnown {
		p.ChanceKnown, p.Chance = true, f.Chance
	}
	return p
}

// startOf is the day a deliverable's forecast is first judged: the day its
// promise was made, or without one the day of its first completed item.
func startOf(d Deliverable, loc *time.Location) (connectors.Date, bool) {
	if !d.PromisedAt.IsZero() {
		return connectors.DateOf(d.PromisedAt, loc), true
	}
	var firstClose time.Time
	for _, it := range d.Items {
		if it.Done() && (firstClose.IsZero() || it.ClosedAt.Before(firstClose)) {
			firstClose = it.ClosedAt
		}
	}
	if firstClose.IsZero() {
		return connectors.Date{}, false
	}
	return connectors.DateOf(firstClose, loc), true
}

// itemsOn is the items as the tracker showed them at the end of day:
// those created by then, closed only if closed by then.
func itemsOn(dst, all []connectors.Item, day connectors.Date, loc *time.Location) []connectors.Item {
	end := day.AddDays(1).Time(loc)
	for _, it := range all {
		if !it.CreatedAt.Before(end) {
			continue
		}
		if !it.ClosedAt.Before(end) {
			it.ClosedAt = time.Time{}
		}
		dst = append(dst, it)
	}
	return dst
}

func openCount(items []connectors.Item) int {
	n := 0
	for _, it := range items {
		if !it.Done() {
			n++
		}
	}
	return n
}

// throughput is what the connector reports at the end of day: the team's
// daily closes in the window and the team-level facts.
func (h History) throughput(day connectors.Date, s reconcile.Settings) connectors.Throughput {
	window := max(s.Window, 1)
	from := day.AddDays(-(window - 1))
	tp := connectors.Throughput{From: from, To: day, Daily: make([]int, window)}
	for i := range tp.Daily {
		if j := from.AddDays(i).Sub(h.From); j >= 0 && j < len(h.Daily) {
			tp.Daily[i] = h.Daily[j]
		}
	}
	// What a connector reads: the items completed in the window, each with
	// its deliverable, counted as connectors.CountFacts counts them.
	start, end := from.Time(s.Location), day.AddDays(1).Time(s.Location)
	var done []connectors.Completion
	for _, d := range h.Deliverables {
		open := d.Delivered.IsZero() || d.Delivered.After(day)
		begun := false
		for _, it := range d.Items {
			if it.Done() && it.ClosedAt.Before(start) {
				begun = true
			}
		}
		for _, it := range d.Items {
			if it.Done() && !it.ClosedAt.Before(start) && it.ClosedAt.Before(end) {
				done = append(done, connectors.Completion{Created: it.CreatedAt, Closed: it.ClosedAt, Deliverable: d.ID, Open: open, Begun: begun})
			}
		}
	}
	tp.CountFacts(done, s.Location)
	return tp
}
