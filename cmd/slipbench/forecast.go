package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/reconcile/backtest"
)

// measureBacktest runs the forecast backtest (reconcile/backtest) of cfg:
// simulated teams, the product's forecast called once a simulated day as
// the daemon calls it, the model before issue #20 beside it. It has no
// I/O to cancel, so a ctx that ends first abandons the run.
func measureBacktest(ctx context.Context, cfg backtest.Config) (backtest.Report, error) {
	done := make(chan backtest.Report, 1)
	go func() { done <- backtest.Run(cfg) }()
	select {
	case rep := <-done:
		return rep, nil
	case <-ctx.Done():
		return backtest.Report{}, fmt.Errorf("forecast backtest: %w", ctx.Err())
	}
}

// backtestSection is the backtest's targets, new model against the old
// in the same run, and its tables.
func backtestSection(rep backtest.Report) section {
	cfg := rep.Config
	worlds := make([]string, 0, len(rep.Worlds))
	for _, w := range rep.Worlds {
		worlds = append(worlds, w.World.Name)
	}
	s := section{
		Title: "Forecast backtest",
		Intro: fmt.Sprintf("`reconcile/backtest`: simulated teams in %d worlds (%s), %d deliverables per world, %s trials per forecast, seed %d; "+
			"the product's forecast (`NewForecastInput`, `Forecaster.Forecast`, `IsAtRisk`) called once a simulated day as the daemon calls it, "+
			"the team-level facts counted as the connectors count them. Baseline: the model before issue #20 (the whole team's pace, no growth, "+
			"the window's mean taken as exact; at risk when the P85 is after the promise) in the same run. Targets are issue #20's; "+
			"coverage is judged at 25/50/75 %% of the time each deliverable really took, as the issue's table. Took %s.",
			len(rep.Worlds), strings.Join(worlds, ", "), cfg.Deliverables, commas(int64(cfg.Trials)), cfg.Seed, rep.Took.Round(100*time.Millisecond)),
		Notes: []string{"Each MISS and its reason is in docs/forecast.md (\"What it cannot see\"); `go test ./reconcile/backtest -run TestFullBacktest -full -v` reruns this table alone."},
		Extra: rep.Tables(),
	}
	old := rep.TargetsOf(backtest.Old)
	for i, t := range rep.Targets() {
		r := row{Measure: t.Name, Value: t.Measured, Target: t.Want, Verdict: verdict(t.Met)}
		if i < len(old) && old[i].Name == t.Name {
			r.Baseline = old[i].Measured
		}
		s.Rows = append(s.Rows, r)
	}
	return s
}
