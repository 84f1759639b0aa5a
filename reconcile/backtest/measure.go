package backtest

import (
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// Stats are a model's figures over a set of deliverables.
type Stats struct {
	Deliverables int
	Late         int                      // finished after the promise
	Coverage     [NumCheckpoints]Coverage // checkpoints by time
	ByProgress   [NumCheckpoints]Coverage // checkpoints by progress
	Calibration  [10]Decile               // by stated chance: [0,10%), [10%,20%) … [90%,100%]
	Warnings     Warnings
}

// Coverage is how often the dates held at one checkpoint.
type Coverage struct {
	Forecasts     int // with a date
	NoDate        int // "not enough history"
	P50, P85, P95 int // finished by that date
}

// Decile is the chances stated within one tenth, and what came of them.
type Decile struct {
	N      int
	Stated float64 // sum of the stated chances
	OnTime int
}

// Warnings are what the at_risk flag said.
type Warnings struct {
	Flagged       int // flagged at least once before the promise passed
	FlaggedLate   int // of those, finished late
	AtPromise     int // first flagged on the day of the promise
	LateWarned14  int // late, and flagged 14 days or more before the promise
	OnTimeFlagged int // on time, yet flagged at some point
}

// Measure sums up model m's outcomes, its at_risk rule under s.
func Measure(m Model, outs []Outcome, s reconcile.Settings) Stats {
	var st Stats
	for _, o := range outs {
		st.Deliverables++
		late := o.Late()
		if late {
			st.Late++
		}
		for c, p := range o.At {
			st.Coverage[c].add(p, o.Delivered)
		}
		for c, p := range o.Done {
			if p.Day.IsZero() {
				continue
			}
			st.ByProgress[c].add(p, o.Delivered)
			if p.ChanceKnown && !o.Promised.IsZero() && !p.Day.After(o.Promised) {
				d := &st.Calibration[min(int(p.Chance*10), 9)]
				d.N++
				d.Stated += p.Chance
				d.OnTime += b2i(!late)
			}
		}
	}
	st.Warnings = Warn(m, outs, s)
	return st
}

// Warn is what model m's at_risk rule, under s, said of outs.
func Warn(m Model, outs []Outcome, s reconcile.Settings) Warnings {
	var w Warnings
	for _, o := range outs {
		first := FirstFlag(o, m, s)
		if first.IsZero() {
			continue
		}
		w.Flagged++
		if o.Late() {
			w.FlaggedLate++
			if o.Promised.Sub(first) >= 14 {
				w.LateWarned14++
			}
		} else {
			w.OnTimeFlagged++
		}
		if first == o.Promise {
			w.AtPromise++
		}
	}
	return w
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Share is n/d, or 0 when d is 0.
func Share(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Lift is how much likelier a flagged deliverable is to end late than any:
// P(late | flagged) / P(late).
func (s Stats) Lift() float64 {
	base := Share(s.Late, s.Deliverables)
	if base == 0 {
		return 0
	}
	return Share(s.Warnings.FlaggedLate, s.Warnings.Flagged) / base
}

func (c *Coverage) add(p Point, delivered connectors.Date) {
	if !p.Enough {
		c.NoDate++
		return
	}
	c.Forecasts++
	c.P50 += b2i(!delivered.After(p.P50))
	c.P85 += b2i(!delivered.After(p.P85))
	c.P95 += b2i(!delivered.After(p.P95))
}

// Held counts the deliverables of outs whose P85 date, stated the day the
// promise was made (or, without a promise, the day work began), held: the
// figure a status comment can quote ("for this team the 85 % date has held
// for 17 of 20 past milestones").
func Held(outs []Outcome) (held, judged int) {
	for _, o := range outs {
		if p := o.At[0]; p.Enough {
			judged++
			held += b2i(!o.Delivered.After(p.P85))
		}
	}
	return held, judged
}
