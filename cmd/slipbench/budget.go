package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// The budget section's question (issue 22): how many repos one token
// watches at a 5-minute interval when each repo changes in one poll of
// twelve, modelled from the measured costs and checked by a run.
const (
	changeOneIn   = 12
	budgetStep    = 5 * time.Second // the simulated clock's step while work is due
	budgetTrials  = 200             // forecast trials: this run is about requests, not forecasts
	steadyFor     = time.Hour       // simulated time measured after the last first poll
	runMilestones = 2
	runIssues     = 4
)

// budgetResult is the section's figures.
type budgetResult struct {
	// The model, from the API-cost section's per-repo costs.
	Cold, Warm, Changed          float64 // counted requests per repo: first poll, unchanged poll, a changed poll above an unchanged one
	NaiveWarm, NaiveChanged      float64
	ModelRepos, NaiveModelRepos  float64
	ModelColdHours, NaiveColdHrs float64 // a cold start of modelRepos at the full quota

	// The run.
	Repos      int
	Simulated  time.Duration // simulated time run
	ColdDone   time.Duration // when every repo had had its first poll (0: not within the run)
	ColdLeft   int           // repos never polled by the end
	Hours      []hourFigures
	Steady     hourFigures // the last full simulated hour
	AtInterval int         // repos polled every 5 minutes at the end
	Stretched  int         // repos stretched by the budget at the end
	Limits     githubtest.LimitStats
	Budget     budget.Snapshot
	Changes    int // changes the churn made
	Took       time.Duration
}

// hourFigures is one simulated hour of the run.
type hourFigures struct {
	Counted, Requests int
	Polls             int // team polls started
}

// measureBudget models the figure from the API-cost section's costs and
// checks it with the real poller (runner, budget, connector, Redis) over
// a sandbox GitHub of repos repos enforcing GitHub's primary and
// secondary limits, on a simulated clock: from a cold start until every
// repo has had its first poll and for an hour after (at most maxSim).
func measureBudget(ctx context.Context, rdb redis.UniversalClient, c costResult, repos int, maxSim time.Duration) (budgetResult, error) {
	began := time.Now()
	res := budgetResult{Repos: repos}
	if c.Repos > 0 {
		// The scale model's figures (scale.go), from the API-cost
		// section's scenarios: a naive poll costs the same whatever changed.
		per := func(sc scenario) float64 { return sc.perRepo(sc.Counted(), c.Repos) }
		res.Cold, res.Warm = per(c.Cold), per(c.Warm)
		if c.Changed > 0 {
			res.Changed = float64(c.OneIn12.Counted())/float64(c.Changed) - res.Warm
		}
		res.NaiveWarm = per(c.Naive)
		res.ModelRepos = reposPerToken(per(c.OneIn12))
		res.NaiveModelRepos = reposPerToken(per(c.Naive))
		res.ModelColdHours = modelRepos * res.Cold / quotaPerHour
		res.NaiveColdHrs = modelRepos * per(c.Naive) / quotaPerHour
	}

	clk := &clock{now: time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC)}
	start := clk.Now()
	gh := githubtest.New(clk.Now)
	defer gh.Close()
	names := budgetWorld(gh, clk, repos)
	gh.SetRateLimit(quotaPerHour, start.Add(time.Hour))
	gh.EnforceLimits(githubtest.GitHubLimits())

	st := store.New(rdb, "bench:budget:", store.Options{})
	gb := budget.New(budget.Options{Tracker: connectors.GitHub, Secondary: new(budget.GitHubSecondary()), Now: clk.Now, MaxWait: -1})
	transport := loopback(16)
	defer transport.CloseIdleConnections()
	cfg := githubConfig(gh, names)
	cfg.CreateTrackingIssue = false // the polls' budget, not comments'
	conn, err := github.New(cfg, github.Options{Validators: st, Transport: gb.Transport(transport), Now: clk.Now})
	if err != nil {
		return res, err
	}
	settings := benchSettings()
	settings.Trials = budgetTrials
	reg := prometheus.NewRegistry()
	r, err := runner.New([]runner.Connector{conn}, st, settings, runner.Options{
		Owner: "slipbench-budget", Workers: 8, Now: clk.Now, PollInterval: pollInterval, MaxPollInterval: config.DefaultPollMaxInterval,
		Budgets: []runner.Budget{gb}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: runner.NewMetrics(reg),
	})
	if err != nil {
		return res, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx, 5*time.Second) }()
	defer func() { stop(); <-done }()

	rng := rand.New(rand.NewPCG(22, 12))
	nextChurn := start.Add(pollInterval)
	hourStart := start
	var hour hourFigures
	r0, n0, _ := gh.Counts()
	polls0 := counter(reg, "slipwatch_polls_total")
	var sr, sn int // the sandbox's counts when the cold start ended
	var sp float64 // polls started by then
	for {
		now := clk.Now()
		if now.Sub(start) >= maxSim || (res.ColdDone > 0 && now.Sub(start) >= res.ColdDone+steadyFor) {
			break
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if !now.Before(nextChurn) {
			res.Changes += churn(gh, names, rng, now)
			nextChurn = nextChurn.Add(pollInterval)
		}
		r.PollOnce(ctx)
		if _, err := st.PromoteDue(ctx, now, 100000); err != nil {
			return res, err
		}
		if err := settle(ctx, st); err != nil {
			return res, fmt.Errorf("at %s simulated: %w", now.Sub(start), err)
		}
		if res.ColdDone == 0 {
			if ps, err := st.PollStats(ctx); err == nil && ps.Cold == 0 && allPolled(reg) {
				res.ColdDone = now.Sub(start)
				sr, sn, _ = gh.Counts()
				sp = counter(reg, "slipwatch_polls_total")
			}
		}
		clk.advance(budgetStep)
		if clk.Now().Sub(hourStart) >= time.Hour {
			r1, n1, _ := gh.Counts()
			p1 := counter(reg, "slipwatch_polls_total")
			hour = hourFigures{Counted: (r1 - n1) - (r0 - n0), Requests: r1 - r0, Polls: int(p1 - polls0)}
			res.Hours = append(res.Hours, hour)
			r0, n0, polls0 = r1, n1, p1
			hourStart = hourStart.Add(time.Hour)
		}
	}
	res.Simulated = clk.Now().Sub(start)
	if res.ColdDone > 0 && res.Simulated >= res.ColdDone+steadyFor {
		r1, n1, _ := gh.Counts()
		res.Steady = hourFigures{Counted: (r1 - n1) - (sr - sn), Requests: r1 - sr, Polls: int(counter(reg, "slipwatch_polls_total") - sp)}
	}
	if ps, err := st.PollStats(ctx); err == nil {
		res.ColdLeft = int(ps.Cold)
	}
	res.AtInterval = int(gaugeValue(reg, "slipwatch_poll_teams", "state", "interval"))
	res.Stretched = int(gaugeValue(reg, "slipwatch_poll_teams", "state", "stretched"))
	res.Limits = gh.LimitStats()
	res.Budget = gb.Snapshot()
	res.Took = time.Since(began)
	return res, nil
}

// budgetWorld fills the sandbox with repos small enough that thousands fit
// in memory: runMilestones milestones of runIssues issues each, a third
// of them closed in the forecast window.
func budgetWorld(gh *githubtest.Server, clk *clock, repos int) []string {
	now := clk.Now()
	defer clk.set(now)
	names := make([]string, 0, repos)
	for r := range repos {
		name := fmt.Sprintf("acme/repo-%04d", r)
		names = append(names, name)
		gh.AddRepo(name)
		clk.set(now.Add(-90 * 24 * time.Hour))
		for m := range runMilestones {
			n := gh.AddMilestone(name, githubtest.Milestone{Title: fmt.Sprintf("v%d", m+1), DueOn: now.Add(time.Duration(30*(m+1)) * 24 * time.Hour)})
			for i := range runIssues {
				is := githubtest.Issue{Title: fmt.Sprintf("task %d.%d", m, i), Milestone: n, CreatedAt: now.Add(-80 * 24 * time.Hour)}
				at := is.CreatedAt
				if i%3 == 0 {
					is.ClosedAt = now.Add(-time.Duration(1+(r+i)%40) * 24 * time.Hour)
					at = is.ClosedAt
				}
				clk.set(at)
				gh.AddIssue(name, is)
			}
		}
	}
	return names
}

// churn changes one repo in changeOneIn: an open issue closes and a new
// one opens in the same milestone, so the repos keep their size.
func churn(gh *githubtest.Server, names []string, rng *rand.Rand, now time.Time) int {
	n := 0
	for _, name := range names {
		if rng.IntN(changeOneIn) != 0 {
			continue
		}
		for _, is := range gh.Issues(name) {
			if is.ClosedAt.IsZero() && !is.PR {
				gh.UpdateIssue(name, is.Number, func(i *githubtest.Issue) { i.ClosedAt = now })
				gh.AddIssue(name, githubtest.Issue{Title: "follow-up", Milestone: is.Milestone, CreatedAt: now})
				n++
				break
			}
		}
	}
	return n
}

// settle waits until the queue holds nothing: every key started at this
// simulated instant has been worked (deferred ones wait in the schedule).
// Work that waits on the simulated clock itself (a connector retrying
// after a limit answer, a lease that expires in simulated time) cannot
// finish while the clock stands still: when the queue has not moved for
// stuckFor of real time the clock goes on, and the run's figures say what
// that cost.
func settle(ctx context.Context, st *store.Store) error {
	const stuckFor = 5 * time.Second
	last, since := int64(-1), time.Now()
	for {
		qs, err := st.QueueStats(ctx)
		if err != nil {
			return err
		}
		if qs.Length == 0 {
			return nil
		}
		if qs.Length != last {
			last, since = qs.Length, time.Now()
		} else if time.Since(since) > stuckFor {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// allPolled: no team is still waiting for its first poll in the plan.
func allPolled(reg *prometheus.Registry) bool {
	return gaugeValue(reg, "slipwatch_poll_teams", "state", "cold") == 0
}

func gaugeValue(reg *prometheus.Registry, name, label, value string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func counter(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func budgetSection(b budgetResult) section {
	s := section{
		Title: "Rate-limit budget: repos per token",
		Intro: fmt.Sprintf("How many repos one token (%s counted requests an hour) watches at a 5-minute interval when each repo changes in one poll of %d. "+
			"**Model**: from the API-cost section's per-repo costs (first poll; unchanged poll; a changed poll above an unchanged one): "+
			"repos = %s ÷ (12 × (unchanged + changed ÷ %d)); the baseline is the naive poller's costs. "+
			"**Run**: the real poller (runner with its schedule and pace, `connectors/budget`, the GitHub connector, Redis) over %s sandbox repos "+
			"(%d milestones × %d issues each) on a simulated clock, the sandbox enforcing GitHub's primary limit (5,000 an hour) and its secondary limits "+
			"(100 in flight, 900 points a minute per endpoint, 80 and 500 content-generating requests a minute and an hour) and answering 403 past any; "+
			"one repo in %d changes each 5 simulated minutes (an issue closes, another opens); from a cold start until every repo has had its first poll, "+
			"then one hour more (at most the simulated time shown). Tracking issues off: this measures polling, not comments.",
			commas(quotaPerHour), changeOneIn, commas(quotaPerHour), changeOneIn, commas(int64(b.Repos)), runMilestones, runIssues, changeOneIn),
	}
	if b.ModelRepos > 0 {
		s.Rows = append(s.Rows,
			row{Measure: "per repo, counted requests: first poll / unchanged poll / a change", Value: fmt.Sprintf("%s / %s / %s", num(b.Cold), num(b.Warm), num(b.Changed)),
				Baseline: fmt.Sprintf("— / %s / %s naive", num(b.NaiveWarm), num(b.NaiveChanged))},
			row{Measure: fmt.Sprintf("model: repos per token at 5 min, a change in 1 poll of %d", changeOneIn), Value: num(b.ModelRepos),
				Baseline: num(b.NaiveModelRepos) + " naive", Ratio: ratio(b.ModelRepos, b.NaiveModelRepos), Target: "≥ 2,000", Verdict: verdict(b.ModelRepos >= modelRepos)},
			row{Measure: fmt.Sprintf("model: a cold start of %s repos, hours of the token", commas(modelRepos)), Value: num(b.ModelColdHours),
				Baseline: num(b.NaiveColdHrs) + " naive", Ratio: ratio(b.ModelColdHours, b.NaiveColdHrs)},
		)
	}
	cold := "not within the run"
	if b.ColdDone > 0 {
		cold = b.ColdDone.Round(time.Minute).String()
	}
	answers := b.Limits.PrimaryAnswers + b.Limits.SecondaryAnswers
	s.Rows = append(s.Rows,
		row{Measure: "run: limit answers from the sandbox (primary + secondary)", Value: fmt.Sprintf("%d (%d + %d)", answers, b.Limits.PrimaryAnswers, b.Limits.SecondaryAnswers),
			Target: "0", Verdict: verdict(answers == 0 && b.Budget.Limited == 0)},
		row{Measure: fmt.Sprintf("run: cold start of %s repos, simulated time until each had its first poll", commas(int64(b.Repos))), Value: cold,
			Baseline: fmt.Sprintf("%s h at the full quota (model)", num(float64(b.Repos)*b.Cold/quotaPerHour))},
		row{Measure: "run: steady state (the hour after the cold start): counted requests", Value: commas(int64(b.Steady.Counted)), Baseline: commas(quotaPerHour) + " quota",
			Ratio: ratio(float64(b.Steady.Counted), quotaPerHour)},
		row{Measure: "run: steady state: team polls started, per repo per hour", Value: num(float64(b.Steady.Polls) / float64(b.Repos)), Baseline: "12 at 5 min"},
		row{Measure: "run: repos at the 5-minute interval at the end (of " + commas(int64(b.Repos)) + ")", Value: commas(int64(b.AtInterval)),
			Baseline: commas(int64(b.Stretched)) + " stretched", Target: fmt.Sprintf("all %s", commas(int64(b.Repos))), Verdict: verdict(b.AtInterval == b.Repos && b.ColdLeft == 0)},
		row{Measure: "run: most requests in flight at once (sandbox)", Value: commas(int64(b.Limits.MaxConcurrent)), Baseline: "100 limit"},
		row{Measure: "run: most points a minute on one endpoint (sandbox)", Value: commas(int64(b.Limits.MaxEndpointPoints)), Baseline: "900 limit",
			Ratio: ratio(float64(b.Limits.MaxEndpointPoints), 900)},
		row{Measure: "run: requests slipwatch held back for its share of a secondary limit", Value: commas(heldTotal(b.Budget))},
	)
	var perHour []string
	for i, h := range b.Hours {
		perHour = append(perHour, fmt.Sprintf("h%d %s", i+1, commas(int64(h.Counted))))
	}
	s.Notes = append(s.Notes,
		fmt.Sprintf("Counted requests per simulated hour: %v. Changes made by the churn: %s. Simulated %s in %s of real time.",
			perHour, commas(int64(b.Changes)), b.Simulated.Round(time.Minute), b.Took.Round(time.Second)),
		"The run's repos are smaller than the API-cost section's (so that thousands fit in memory): their polls cost less than the model's, which prices the larger repos.",
		"A repo stretched by the budget is polled every poll.max_interval (1h) instead of every 5 minutes; the least active are stretched first (docs/operations.md, \"The rate-limit budget\").",
	)
	return s
}

func heldTotal(s budget.Snapshot) int64 {
	n := int64(0)
	for _, v := range s.Held {
		n += v
	}
	return n
}
