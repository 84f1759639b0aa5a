package backtest

import (
	"runtime"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/reconcile"
)

// Config is one run of the simulated backtest.
type Config struct {
	Deliverables int     // measured per world
	PerTeam      int     // measured deliverables per simulated team
	Trials       int     // Monte Carlo trials per forecast
	Seed         uint64  // the worlds' seed: the same seed, the same run
	Worlds       []World // nil: Worlds()
	Workers      int     // 0: GOMAXPROCS
	RiskBelow    float64 // 0: reconcile.DefaultRiskBelow
}

// FullConfig is the run behind BENCHMARKS.md and docs/forecast.md.
func FullConfig() Config { return Config{Deliverables: 500, PerTeam: 5, Trials: 2000, Seed: 20} }

// ShortConfig is the run CI affords under -race: fewer deliverables and
// trials, the same worlds and model.
func ShortConfig() Config { return Config{Deliverables: 60, PerTeam: 5, Trials: 300, Seed: 20} }

// Settings are the product's settings the backtest runs under: the config
// defaults, with cfg's trials.
func (cfg Config) Settings() reconcile.Settings {
	return reconcile.Settings{Location: time.UTC, Window: reconcile.DefaultWindowDays, Trials: cfg.Trials,
		Confidence: reconcile.DefaultConfidence, MinSamples: reconcile.DefaultMinSamples, RiskBelow: cfg.RiskBelow}
}

// Report is the result of a run.
type Report struct {
	Config Config
	Worlds []WorldReport
	Took   time.Duration
}

// WorldReport is one world's figures, per model.
type WorldReport struct {
	World  World
	Models [NumModels]Stats
	// Thresholds are the new model's warnings under other values of
	// forecast.risk_below, RiskBelows()[i] giving Thresholds[i].
	Thresholds []Warnings
}

// RiskBelows are the values of forecast.risk_below the report compares.
func RiskBelows() []float64 { return []float64{0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5} }

// Run simulates every world's teams, replays their histories and measures
// both models. Teams run in parallel; the result does not depend on how.
func Run(cfg Config) Report {
	began := time.Now()
	worlds := cfg.Worlds
	if worlds == nil {
		worlds = Worlds()
	}
	per := max(cfg.PerTeam, 1)
	teams := (cfg.Deliverables + per - 1) / per
	type job struct{ w, t int }
	results := make([][][NumModels][]Outcome, len(worlds))
	jobs := make(chan job)
	var wg sync.WaitGroup
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s := cfg.Settings()
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				quota := min(per, cfg.Deliverables-j.t*per)
				h := simulate(worlds[j.w], cfg.Seed^nameHash(worlds[j.w].Name), j.t, quota)
				results[j.w][j.t] = Replay(h, s)
			}
		})
	}
	for w := range worlds {
		results[w] = make([][NumModels][]Outcome, teams)
	}
	for w := range worlds {
		for t := range teams {
			jobs <- job{w, t}
		}
	}
	close(jobs)
	wg.Wait()
	rep := Report{Config: cfg}
	for w, world := range worlds {
		wr := WorldReport{World: world}
		for m := range wr.Models {
			var all []Outcome
			for _, r := range results[w] {
				all = append(all, r[m]...)
			}
			wr.Models[m] = Measure(Model(m), all, s)
			if Model(m) == New {
				for _, rb := range RiskBelows() {
					ts := s
					ts.RiskBelow = rb
					wr.Thresholds = append(wr.Thresholds, Warn(New, all, ts))
				}
			}
		}
		rep.Worlds = append(rep.Worlds, wr)
	}
	rep.Took = time.Since(began)
	return rep
}

// nameHash seeds a world by its name, so a world's teams are the same
// whatever other worlds run with it.
func nameHash(name string) uint64 { return fnv(name) }
