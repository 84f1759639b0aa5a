package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// cycleCost is what one poll cycle sent to the sandbox GitHub.
type cycleCost struct {
	Requests, NotModified int
}

// Counted is what GitHub charges against the rate limit: every answer
// but a 304 to a conditional request.
func (c cycleCost) Counted() int { return c.Requests - c.NotModified }

func (c cycleCost) share304() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.NotModified) / float64(c.Requests)
}

// costResult is the API-cost section's figures.
type costResult struct {
	Repos, Milestones, Issues int
	Changed, ChangedRepos     int // issues closed before the third cycle, repos they fell in
	// Slipwatch: the connector with the Redis store as its validator cache.
	// Naive: the same connector without validators (every read counted).
	// Stateless: a fresh connector per cycle without validators — a poller
	// with no memory at all.
	Slip, Naive, Stateless [3]cycleCost // cold, warm, 1 % changed
	Took                   time.Duration
}

var cycleNames = [3]string{"cold", "warm (nothing changed)", "1 % of issues changed"}

// buildWorld fills the sandbox: repos × milestones × issues, half the
// milestones done, issues closed over the last ~180 days, and each
// milestone with a tracking issue holding a lead's /commit and
// slipwatch's status comment, as after slipwatch's first weeks. The
// sandbox stamps updated_at with its clock, so the clock is set to when
// each thing happened: old issues must not look recently updated.
func buildWorld(gh *githubtest.Server, clk *clock, repos, milestones, issues int) []string {
	now := clk.Now()
	defer clk.set(now)
	var names []string
	for r := range repos {
		full := fmt.Sprintf("acme/svc-%02d", r)
		names = append(names, full)
		gh.SetPermission(full, "lead", "write")
		for m := range milestones {
			ms := githubtest.Milestone{Title: fmt.Sprintf("v%d.%d", r, m), DueOn: now.Add(time.Duration(m-milestones/2) * 14 * 24 * time.Hour)}
			done := m < milestones/2
			if done {
				ms.State, ms.ClosedAt = "closed", now.Add(-time.Duration(milestones/2-m)*14*24*time.Hour)
			}
			clk.set(now.Add(-120 * 24 * time.Hour))
			n := gh.AddMilestone(full, ms)
			for i := range issues {
				is := githubtest.Issue{Title: fmt.Sprintf("task %d.%d", m, i), Milestone: n, CreatedAt: now.Add(-time.Duration(200+m*3+i) * 24 * time.Hour)}
				at := is.CreatedAt
				if done || i < issues/3 {
					is.ClosedAt = now.Add(-time.Duration((m*issues+i)*180/(milestones*issues)) * 24 * time.Hour).Add(-time.Hour)
					at = is.ClosedAt
				}
				clk.set(at)
				gh.AddIssue(full, is)
			}
			clk.set(now.Add(-100 * 24 * time.Hour))
			tr := gh.AddIssue(full, githubtest.Issue{Title: connectors.ThreadTitle(ms.Title), Milestone: n, Labels: []string{config.DefaultGitHubTrackingLabel},
				CreatedAt: clk.Now(), User: gh.Self})
			clk.set(now.Add(-90 * 24 * time.Hour))
			gh.AddComment(full, tr, "lead", "/commit 2026-12-01 as agreed")
			clk.set(now.Add(-89 * 24 * time.Hour))
			gh.AddComment(full, tr, gh.Self, "Status\n\n<!-- slipwatch:status id=x v=1 {} -->")
		}
	}
	return names
}

func githubConfig(gh *githubtest.Server, repos []string) *config.GitHub {
	return &config.GitHub{BaseURL: gh.URL, Token: "slipbench-token", WebhookSecret: "slipbench-secret", Repos: repos,
		TrackingLabel: config.DefaultGitHubTrackingLabel, CreateTrackingIssue: true}
}

// measureCost runs the three cycles for the three pollers against one
// sandbox, in step, so they see the same world.
func measureCost(ctx context.Context, rdb redis.UniversalClient, repos, milestones, issues int) (costResult, error) {
	start := time.Now()
	res := costResult{Repos: repos, Milestones: milestones, Issues: issues}
	clk := &clock{now: time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC)}
	gh := githubtest.New(clk.Now)
	defer gh.Close()
	names := buildWorld(gh, clk, repos, milestones, issues)
	cfg := githubConfig(gh, names)

	transport := loopback(8)
	defer transport.CloseIdleConnections()
	newConn := func(v bool) (*github.Client, error) {
		o := github.Options{Transport: transport, Now: clk.Now}
		if v {
			o.Validators = store.New(rdb, "bench:cost:", store.Options{})
		}
		return github.New(cfg, o)
	}
	slip, err := newConn(true)
	if err != nil {
		return res, err
	}
	naive, err := newConn(false)
	if err != nil {
		return res, err
	}
	measure := func(c *github.Client) (cycleCost, error) {
		r0, n0, _ := gh.Counts()
		if err := pollCycle(ctx, c, names); err != nil {
			return cycleCost{}, err
		}
		r1, n1, _ := gh.Counts()
		return cycleCost{Requests: r1 - r0, NotModified: n1 - n0}, nil
	}
	for i := range 3 {
		if i == 2 {
			res.Changed, res.ChangedRepos = closeSome(gh, names, repos*milestones*issues/100, clk.Now())
		}
		if i > 0 {
			clk.advance(5 * time.Minute)
		}
		if res.Slip[i], err = measure(slip); err != nil {
			return res, fmt.Errorf("slipwatch %s cycle: %w", cycleNames[i], err)
		}
		if res.Naive[i], err = measure(naive); err != nil {
			return res, fmt.Errorf("naive %s cycle: %w", cycleNames[i], err)
		}
		fresh, err := newConn(false)
		if err != nil {
			return res, err
		}
		if res.Stateless[i], err = measure(fresh); err != nil {
			return res, fmt.Errorf("stateless %s cycle: %w", cycleNames[i], err)
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

// pollCycle is what the runner does per poll: list every repo, observe
// every milestone; four at a time, like the daemon's four workers.
func pollCycle(ctx context.Context, c *github.Client, names []string) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	sem := make(chan struct{}, 4)
	for _, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			refs, err := c.List(ctx, name)
			if err != nil {
				errs <- fmt.Errorf("list %s: %w", name, err)
				return
			}
			for _, ref := range refs {
				if _, err := c.Observe(ctx, ref); err != nil {
					errs <- fmt.Errorf("observe %s: %w", ref, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// closeSome closes n open work issues chosen at random (fixed seed) across
// the repos and says how many repos they touched.
func closeSome(gh *githubtest.Server, names []string, n int, now time.Time) (closed, repos int) {
	rng := rand.New(rand.NewPCG(11, 7))
	type pick struct {
		repo string
		num  int
	}
	var open []pick
	for _, name := range names {
		for _, is := range gh.Issues(name) {
			if is.ClosedAt.IsZero() && len(is.Labels) == 0 {
				open = append(open, pick{name, is.Number})
			}
		}
	}
	rng.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
	touched := map[string]bool{}
	for _, p := range open[:min(n, len(open))] {
		gh.UpdateIssue(p.repo, p.num, func(is *githubtest.Issue) { is.ClosedAt = now })
		touched[p.repo] = true
		closed++
	}
	return closed, len(touched)
}

func costSection(r costResult) section {
	s := section{
		Title: "API cost per poll cycle",
		Intro: fmt.Sprintf("%d repos × %d milestones × %d issues on the sandbox GitHub (`connectors/github/githubtest`: real payload shapes, "+
			"ETags, 304s, Link paging), a cycle being what the daemon does per poll: List every repo, Observe every milestone. "+
			"**slipwatch** = `connectors/github` with `Options{Validators: <the Redis store>}`; **naive** = the same connector with "+
			"`Validators: nil` (same memory, no conditional requests); **stateless** = a fresh connector each cycle without validators "+
			"(a poller that remembers nothing). *Counted* = every answer but a 304, what GitHub charges to the token. "+
			"The third cycle follows %s closed issues (1 %%) in %d of the %d repos.",
			r.Repos, r.Milestones, r.Issues, commas(int64(r.Changed)), r.ChangedRepos, r.Repos),
	}
	for i, name := range cycleNames {
		sl, nv, st := r.Slip[i], r.Naive[i], r.Stateless[i]
		s.Rows = append(s.Rows,
			row{Measure: name + ": requests sent", Value: commas(int64(sl.Requests)), Baseline: commas(int64(nv.Requests)) + " naive / " + commas(int64(st.Requests)) + " stateless",
				Ratio: ratio(float64(sl.Requests), float64(nv.Requests)) + " / " + ratio(float64(sl.Requests), float64(st.Requests))},
		)
		counted := row{Measure: name + ": counted requests", Value: commas(int64(sl.Counted())), Baseline: commas(int64(nv.Counted())) + " naive / " + commas(int64(st.Counted())) + " stateless",
			Ratio: ratio(float64(sl.Counted()), float64(nv.Counted())) + " / " + ratio(float64(sl.Counted()), float64(st.Counted()))}
		switch i {
		case 1:
			counted.Target = "≤ 1/20 of naive; floor 0"
			counted.Verdict = verdict(sl.Counted()*20 <= nv.Counted() && sl.Counted() == 0)
			s.Rows = append(s.Rows, counted, row{Measure: "warm: share answered 304", Value: fmt.Sprintf("%.1f %%", 100*sl.share304()),
				Baseline: fmt.Sprintf("%.1f %% naive", 100*nv.share304()), Target: "≥ 95 %", Verdict: verdict(sl.share304() >= 0.95)})
		case 2:
			counted.Target = fmt.Sprintf("floor ≥ %d (one list per changed repo)", r.ChangedRepos)
			s.Rows = append(s.Rows, counted)
		default:
			s.Rows = append(s.Rows, counted)
		}
	}
	s.Rows = append(s.Rows, row{Measure: "warm: requests per repo", Value: num(float64(r.Slip[1].Requests) / float64(r.Repos)),
		Baseline: num(float64(r.Naive[1].Requests)/float64(r.Repos)) + " naive", Ratio: ratio(float64(r.Slip[1].Requests), float64(r.Naive[1].Requests))})
	s.Notes = append(s.Notes, fmt.Sprintf("Sandbox and cycles took %s (simulated clock: 5 minutes between cycles).", r.Took.Round(100*time.Millisecond)))
	return s
}
