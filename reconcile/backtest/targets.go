package backtest

import (
	"fmt"
	"math"
	"strings"
)

// Target is one of issue #20's figures, as measured by a run.
type Target struct {
	Name     string
	Measured string
	Want     string
	Met      bool
}

// Targets judges the run's new model against the figures.
// Coverage is judged at checkpoints by time (the table) and, for
// the median, by progress too (see docs/forecast.md on why the two differ).
func (r Report) Targets() []Target { return r.TargetsOf(New) }

// TargetsOf judges model m against the figures, the same targets
// in the same order as Targets: the old model's are its baseline.
func (r Report) TargetsOf(m Model) []Target {
	var ts []Target
	for _, w := range r.Worlds {
		n := w.Models[m]
		ts = append(ts, band("P85 coverage at 25/50/75 % (time), "+w.World.Name, n.Coverage[1:], 85, 0.80, 0.92))
	}
	for _, w := range r.Worlds {
		n := w.Models[m]
		ts = append(ts, band("P50 coverage at 25/50/75 % (time), "+w.World.Name, n.Coverage[1:], 50, 0.40, 0.65))
	}
	for _, w := range r.Worlds {
		n := w.Models[m]
		ts = append(ts, band("P50 coverage at 25/50/75 % (progress), "+w.World.Name, n.ByProgress[1:], 50, 0.40, 0.65))
	}
	mixed, ok := r.world("mixed")
	if !ok {
		return ts
	}
	n := mixed.Models[m]
	atPromise := cov(n.Coverage[0], 85)
	ts = append(ts, Target{Name: "P85 coverage at the promise, mixed", Measured: pct(atPromise), Want: "≥ 70 %", Met: atPromise >= 0.70})
	worst, worstAt, judged, stated := 0.0, "", false, 0
	for i, d := range n.Calibration {
		stated += d.N
		if d.N < 30 {
			continue
		}
		judged = true
		if gap := math.Abs(100*Share(d.OnTime, d.N) - 100*d.Stated/float64(d.N)); gap > worst {
			worst, worstAt = gap, fmt.Sprintf(" (%d–%d %%)", i*10, i*10+10)
		}
	}
	cal := Target{Name: "chance calibration, mixed: largest gap in a tenth with ≥ 30", Measured: fmt.Sprintf("%.1f points%s", worst, worstAt),
		Want: "≤ 10 points", Met: judged && worst <= 10}
	switch {
	case stated == 0:
		cal.Measured = "no chance stated" // the old model had none
	case !judged:
		cal.Measured = "no tenth with ≥ 30" // too few deliverables to judge
	}
	ts = append(ts, cal)
	lift := n.Lift()
	ts = append(ts, Target{Name: "at_risk lift (late share of flagged ÷ late share), mixed", Measured: fmt.Sprintf("%.2f×", lift), Want: "≥ 1.5×", Met: lift >= 1.5})
	warned := Share(n.Warnings.LateWarned14, n.Late)
	ts = append(ts, Target{Name: "late deliverables warned ≥ 14 days ahead, mixed", Measured: pct(warned), Want: "≥ 60 %", Met: warned >= 0.60})
	return ts
}

func band(name string, cs []Coverage, p int, lo, hi float64) Target {
	var vals []string
	met := true
	for _, c := range cs {
		v := cov(c, p)
		vals = append(vals, fmt.Sprintf("%.0f", 100*v))
		if v < lo || v > hi {
			met = false
		}
	}
	return Target{Name: name, Measured: strings.Join(vals, " / ") + " %", Want: fmt.Sprintf("%.0f–%.0f %%", 100*lo, 100*hi), Met: met}
}

func (r Report) world(name string) (WorldReport, bool) {
	for _, w := range r.Worlds {
		if w.World.Name == name {
			return w, true
		}
	}
	return WorldReport{}, false
}

// TargetsMarkdown renders Targets as a table, PASS or MISS per line.
func (r Report) TargetsMarkdown() string {
	var b strings.Builder
	b.WriteString("| target | measured | want | |\n|---|---:|---|---|\n")
	for _, t := range r.Targets() {
		verdict := "PASS"
		if !t.Met {
			verdict = "MISS"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Measured, t.Want, verdict)
	}
	return b.String()
}
