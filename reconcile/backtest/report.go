package backtest

import (
	"fmt"
	"strings"
)

var checkpointNames = [NumCheckpoints]string{"at the promise", "25 % of the way", "50 %", "75 %"}

// Markdown renders the report's tables: coverage of the dates, the
// calibration of the chance and the warnings, old model beside new.
func (r Report) Markdown() string {
	var b strings.Builder
	cfg := r.Config
	fmt.Fprintf(&b, "Simulated teams, %d deliverables per world, %d trials per forecast, seed %d; the forecast called once a simulated day as the daemon calls it. Took %s.\n\n",
		cfg.Deliverables, cfg.Trials, cfg.Seed, r.Took.Round(1e8))

	b.WriteString("**Targets** (issue #20), new model:\n\n")
	b.WriteString(r.TargetsMarkdown())
	b.WriteString("\n")
	b.WriteString(r.Tables())
	return b.String()
}

// Tables renders the report's tables without its introduction and
// targets: coverage, warnings and calibration, old model beside new.
func (r Report) Tables() string {
	var b strings.Builder
	b.WriteString("**P85 coverage** (share of deliverables finished by their P85 date; target 80–92 % at 25–75 %, ≥ 70 % at the promise in the mixed world), old → new:\n\n")
	b.WriteString("| world | late | " + strings.Join(checkpointNames[:], " | ") + " |\n|---|---:|---:|---:|---:|---:|\n")
	for _, w := range r.Worlds {
		fmt.Fprintf(&b, "| %s | %s |", w.World.Name, pct(Share(w.Models[New].Late, w.Models[New].Deliverables)))
		for c := range NumCheckpoints {
			fmt.Fprintf(&b, " %s → **%s** |", pct(cov(w.Models[Old].Coverage[c], 85)), pct(cov(w.Models[New].Coverage[c], 85)))
		}
		b.WriteString("\n")
	}

	b.WriteString("\n**P85 coverage by progress** (checkpoints when 25/50/75 % of the items were done), old → new:\n\n")
	b.WriteString("| world | " + strings.Join(checkpointNames[:], " | ") + " |\n|---|---:|---:|---:|---:|\n")
	for _, w := range r.Worlds {
		fmt.Fprintf(&b, "| %s |", w.World.Name)
		for c := range NumCheckpoints {
			fmt.Fprintf(&b, " %s → **%s** |", pct(cov(w.Models[Old].ByProgress[c], 85)), pct(cov(w.Models[New].ByProgress[c], 85)))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n**P50 / P95 coverage by progress**, new (old):\n\n")
	b.WriteString("| world | " + strings.Join(checkpointNames[:], " | ") + " |\n|---|---:|---:|---:|---:|\n")
	for _, w := range r.Worlds {
		fmt.Fprintf(&b, "| %s |", w.World.Name)
		for c := range NumCheckpoints {
			n, o := w.Models[New].ByProgress[c], w.Models[Old].ByProgress[c]
			fmt.Fprintf(&b, " %s / %s (%s / %s) |", pct(cov(n, 50)), pct(cov(n, 95)), pct(cov(o, 50)), pct(cov(o, 95)))
		}
		b.WriteString("\n")
	}

	b.WriteString("\n**P50 and P95 coverage**, new model (target for P50: 40–65 % at 25–75 %), old in brackets:\n\n")
	b.WriteString("| world | " + strings.Join(checkpointNames[:], " | ") + " |\n|---|---:|---:|---:|---:|\n")
	for _, w := range r.Worlds {
		fmt.Fprintf(&b, "| %s |", w.World.Name)
		for c := range NumCheckpoints {
			n, o := w.Models[New].Coverage[c], w.Models[Old].Coverage[c]
			fmt.Fprintf(&b, " %s / %s (%s / %s) |", pct(cov(n, 50)), pct(cov(n, 95)), pct(cov(o, 50)), pct(cov(o, 95)))
		}
		b.WriteString("\n")
	}

	b.WriteString("\n**Warnings** (at_risk), old → new: late = share of deliverables that finished late; flags right = share of flagged ones that ended late (lift = that ÷ late); warned ≥ 14 d = share of late ones flagged 14 days or more before the promise; on time flagged = share of on-time ones ever flagged; at the promise = share of flags first raised the day the promise was made:\n\n")
	b.WriteString("| world | late | flags right | lift | warned ≥ 14 d | on time flagged | at the promise |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, w := range r.Worlds {
		o, n := w.Models[Old], w.Models[New]
		fmt.Fprintf(&b, "| %s | %s | %s → **%s** | %.2f → **%.2f** | %s → **%s** | %s → **%s** | %s → **%s** |\n", w.World.Name,
			pct(Share(n.Late, n.Deliverables)),
			pct(Share(o.Warnings.FlaggedLate, o.Warnings.Flagged)), pct(Share(n.Warnings.FlaggedLate, n.Warnings.Flagged)),
			o.Lift(), n.Lift(),
			pct(Share(o.Warnings.LateWarned14, o.Late)), pct(Share(n.Warnings.LateWarned14, n.Late)),
			pct(Share(o.Warnings.OnTimeFlagged, o.Deliverables-o.Late)), pct(Share(n.Warnings.OnTimeFlagged, n.Deliverables-n.Late)),
			pct(Share(o.Warnings.AtPromise, o.Warnings.Flagged)), pct(Share(n.Warnings.AtPromise, n.Warnings.Flagged)))
	}

	b.WriteString("\n**forecast.risk_below**, new model: flags right (lift) · warned ≥ 14 d · on time flagged, per value:\n\n")
	b.WriteString("| world |")
	for _, rb := range RiskBelows() {
		fmt.Fprintf(&b, " %.2f |", rb)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(RiskBelows())) + "\n")
	for _, w := range r.Worlds {
		n := w.Models[New]
		fmt.Fprintf(&b, "| %s |", w.World.Name)
		for _, t := range w.Thresholds {
			right := Share(t.FlaggedLate, t.Flagged)
			lift := 0.0
			if late := Share(n.Late, n.Deliverables); late > 0 {
				lift = right / late
			}
			fmt.Fprintf(&b, " %s (%.2f) · %s · %s |", pct(right), lift, pct(Share(t.LateWarned14, n.Late)), pct(Share(t.OnTimeFlagged, n.Deliverables-n.Late)))
		}
		b.WriteString("\n")
	}

	b.WriteString("\n**Calibration of the chance** (new model; stated at the promise and at 25/50/75 % of the way while the promise is ahead): mean stated chance → share on time, with the count, per tenth. Target in the mixed world: within ±10 points wherever the count is ≥ 30.\n\n")
	b.WriteString("| world |")
	for d := range 10 {
		fmt.Fprintf(&b, " %d–%d %% |", d*10, d*10+10)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", 10) + "\n")
	for _, w := range r.Worlds {
		fmt.Fprintf(&b, "| %s |", w.World.Name)
		for _, d := range w.Models[New].Calibration {
			if d.N == 0 {
				b.WriteString(" — |")
				continue
			}
			fmt.Fprintf(&b, " %.0f→%.0f (%d) |", 100*d.Stated/float64(d.N), 100*Share(d.OnTime, d.N), d.N)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func cov(c Coverage, p int) float64 {
	switch p {
	case 50:
		return Share(c.P50, c.Forecasts)
	case 85:
		return Share(c.P85, c.Forecasts)
	}
	return Share(c.P95, c.Forecasts)
}

func pct(v float64) string { return fmt.Sprintf("%.0f %%", 100*v) }
