package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// scenario is what the polls of one scenario cost, over every repository.
type scenario struct {
	Polls       int // polls of every repository measured
	Requests    int
	NotModified int
	Kinds       map[string]github.KindCost
}

// Counted is what GitHub charges against the rate limit: every answer
// but a 304 to a conditional request.
func (s scenario) Counted() int { return s.Requests - s.NotModified }

// perRepo is a total per repository per poll.
func (s scenario) perRepo(n, repos int) float64 {
	if s.Polls == 0 || repos == 0 {
		return 0
	}
	return float64(n) / float64(s.Polls*repos)
}

func (s scenario) share304() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.NotModified) / float64(s.Requests)
}

// without takes out requests made for no repository (GET /user, once
// per process), which are no repository's cost.
func (s scenario) without(c github.Cost) scenario {
	s.Requests -= c.Requests
	s.NotModified -= c.NotModified
	s.Kinds = maps.Clone(s.Kinds)
	for k, v := range c.Kinds {
		o := s.Kinds[k]
		o.Requests -= v.Requests
		o.NotModified -= v.NotModified
		s.Kinds[k] = o
	}
	return s
}

func fromCost(c github.Cost, polls int) scenario {
	return scenario{Polls: polls, Requests: c.Requests, NotModified: c.NotModified, Kinds: c.Kinds}
}

// costResult is the API-cost section's figures: slipwatch's connector
// (with the Redis store as its validator cache) through each scenario,
// and the naive poller in the same world.
type costResult struct {
	Repos, Milestones, Issues int

	Cold    scenario // the first poll: empty Redis, empty memory
	Warm    scenario // the next poll, nothing changed
	Restart scenario // a new process on the same Redis, nothing changed
	// OneIn12 is twelve polls in which each repository changes in one
	// (an issue closes before it): Changed repository polls of Polls×Repos.
	OneIn12 scenario
	Changed int
	// Churn is polls after each of which 1 % of the open issues close,
	// ChurnClosed per poll, landing in ChurnRepos repositories on average.
	Churn                   scenario
	ChurnClosed, ChurnRepos int
	// Identity is what the connector asked for no repository (GET /user),
	// once per process: not a repository's cost.
	Identity int
	// HeapPerRepo is the Go heap the connector holds per repository after
	// a cold start and a warm poll (its indexes and threads): live bytes
	// after a GC, less those left when it is dropped.
	HeapPerRepo float64

	// Naive is the naive poller: a poll costs the same whatever changed.
	Naive      scenario
	NaiveKinds map[string]int

	Took time.Duration
}

// buildWorld fills the sandbox: repos × milestones × issues, half the
// milestones done, issues closed over the last ~180 days, and each
// milestone with a tracking issue holding a lead's /commit and
// slipwatch's status comment, as after slipwatch's first weeks. The
// sandbox stamps updated_at with its clock, so the clock is set to when
// each thing happened: old issues must not look recently updated. The
// repositories belong to the organisation acme.
func buildWorld(gh *githubtest.Server, clk *clock, repos, milestones, issues int) []string {
	now := clk.Now()
	defer clk.set(now)
	gh.AddOrg("acme")
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

// measureCost runs slipwatch's connector through the scenarios, and the
// naive poller, against one sandbox on a simulated clock (5 minutes
// between polls).
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
	validators := store.New(rdb, "bench:cost:", store.Options{})
	newConn := func() (*github.Client, error) {
		return github.New(cfg, github.Options{Transport: transport, Now: clk.Now, Validators: validators})
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC() // the second empties sync.Pools (the sandbox's buffers), kept one cycle
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	conn, err := newConn()
	if err != nil {
		return res, err
	}
	// polls runs n polls of every repository, what happens before each
	// first, and returns what they cost.
	polls := func(c *github.Client, n int, before func(i int)) (scenario, error) {
		var m github.Meter
		mctx := github.WithMeter(ctx, &m)
		for i := range n {
			if before != nil {
				before(i)
			}
			clk.advance(5 * time.Minute)
			if err := pollCycle(mctx, c, names); err != nil {
				return scenario{}, err
			}
		}
		return fromCost(m.Cost(), n), nil
	}

	if res.Cold, err = polls(conn, 1, nil); err != nil {
		return res, fmt.Errorf("cold poll: %w", err)
	}
	res.Identity = conn.Costs()[""].Counted()
	res.Cold = res.Cold.without(conn.Costs()[""])
	if res.Warm, err = polls(conn, 1, nil); err != nil {
		return res, fmt.Errorf("warm poll: %w", err)
	}
	held := heap()
	runtime.KeepAlive(conn) // alive through the measure: the GC would take it early
	// What the connector holds is what the heap loses when it is dropped
	// for a new one: the sandbox, the transport and Redis's client live on.
	if conn, err = newConn(); err != nil {
		return res, err
	}
	res.HeapPerRepo = (float64(held) - float64(heap())) / float64(repos)
	if res.Restart, err = polls(conn, 1, nil); err != nil {
		return res, fmt.Errorf("poll after a restart: %w", err)
	}
	res.Restart = res.Restart.without(conn.Costs()[""])

	rng := rand.New(rand.NewPCG(11, 7))
	res.OneIn12, err = polls(conn, 12, func(i int) {
		for r, name := range names {
			if r%12 == i && closeOne(gh, name, rng, clk.Now()) {
				res.Changed++
			}
		}
	})
	if err != nil {
		return res, fmt.Errorf("one change in twelve polls: %w", err)
	}
	const churnPolls = 3
	res.Churn, err = polls(conn, churnPolls, func(int) {
		closed, touched := closeSome(gh, names, repos*milestones*issues/100, rng, clk.Now())
		res.ChurnClosed += closed
		res.ChurnRepos += touched
	})
	if err != nil {
		return res, fmt.Errorf("1 %% churn: %w", err)
	}
	res.ChurnClosed /= churnPolls
	res.ChurnRepos /= churnPolls

	naive, err := newNaivePoller(cfg, transport, clk.Now)
	if err != nil {
		return res, err
	}
	r0, n0, _ := gh.Counts()
	if err := naive.cycle(ctx, names); err != nil {
		return res, fmt.Errorf("naive poll: %w", err)
	}
	r1, n1, _ := gh.Counts()
	res.Naive = scenario{Polls: 1, Requests: r1 - r0, NotModified: n1 - n0}
	res.NaiveKinds = naive.takeKinds()
	res.Took = time.Since(start)
	return res, nil
}

// poller is what a poll cycle uses of a connector (GitHub's or Jira's).
type poller interface {
	List(ctx context.Context, team string) ([]connectors.Ref, error)
	Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error)
}

// pollCycle is what the runner does per poll: list every repo or project,
// observe every deliverable; four at a time, like the daemon's workers.
func pollCycle(ctx context.Context, c poller, names []string) error {
	return eachRepo(names, func(name string) error {
		refs, err := c.List(ctx, name)
		if err != nil {
			return fmt.Errorf("list %s: %w", name, err)
		}
		for _, ref := range refs {
			if _, err := c.Observe(ctx, ref); err != nil {
				return fmt.Errorf("observe %s: %w", ref, err)
			}
		}
		return nil
	})
}

// openWork are a repo's open work issues (no tracking issue).
func openWork(gh *githubtest.Server, name string) []int {
	var out []int
	for _, is := range gh.Issues(name) {
		if is.ClosedAt.IsZero() && len(is.Labels) == 0 {
			out = append(out, is.Number)
		}
	}
	return out
}

// closeOne closes one open work issue of a repo, chosen by rng.
func closeOne(gh *githubtest.Server, name string, rng *rand.Rand, now time.Time) bool {
	open := openWork(gh, name)
	if len(open) == 0 {
		return false
	}
	gh.UpdateIssue(name, open[rng.IntN(len(open))], func(is *githubtest.Issue) { is.ClosedAt = now })
	return true
}

// closeSome closes n open work issues chosen by rng across the repos and
// says how many repos they touched.
func closeSome(gh *githubtest.Server, names []string, n int, rng *rand.Rand, now time.Time) (closed, repos int) {
	type pick struct {
		repo string
		num  int
	}
	var open []pick
	for _, name := range names {
		for _, n := range openWork(gh, name) {
			open = append(open, pick{name, n})
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

// kinds prints a scenario's counted requests by kind per repo per poll.
func (s scenario) kinds(repos int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Kinds)) {
		if c := s.Kinds[k].Counted(); c > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", k, num(s.perRepo(c, repos))))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func naiveKinds(k map[string]int, repos int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(k)) {
		parts = append(parts, fmt.Sprintf("%s %s", name, num(float64(k[name])/float64(repos))))
	}
	return strings.Join(parts, ", ")
}

func costSection(r costResult) section {
	naive := r.Naive.perRepo(r.Naive.Counted(), r.Repos)
	s := section{
		Title: "API cost per poll",
		Intro: fmt.Sprintf("%d repos × %d milestones × %d issues, closes spread over 180 days (the forecast window is 42), on the sandbox GitHub "+
			"(`connectors/github/githubtest`: real payload shapes, ETags, 304s, Link paging). A poll is what the daemon does per interval: "+
			"List every repo, Observe every milestone, 5 simulated minutes apart. **slipwatch** = `connectors/github` with the Redis store "+
			"as its validator cache, measured with `github.WithMeter`; **naive** = a poller without cache or memory that reads, every poll, "+
			"each repo's milestones, every milestone's issues, every tracking issue's comments and the window's closed issues "+
			"(`cmd/slipbench/naive.go`): what every poll costs it, whatever changed. *Counted* = every answer but a 304, what GitHub "+
			"charges to the credential. Issue 22's figures before this design: 46 counted per repo cold, 6.6 per changed repo.",
			r.Repos, r.Milestones, r.Issues),
	}
	per := func(sc scenario) float64 { return sc.perRepo(sc.Counted(), r.Repos) }
	sent := func(sc scenario) float64 { return sc.perRepo(sc.Requests, r.Repos) }
	changed := 0.0
	if r.Changed > 0 {
		changed = float64(r.OneIn12.Counted()) / float64(r.Changed)
	}
	s.Rows = append(s.Rows,
		row{Measure: "cold start: counted requests per repo", Value: num(per(r.Cold)), Baseline: num(naive) + " naive",
			Ratio: ratio(per(r.Cold), naive), Target: "≤ 10", Verdict: verdict(per(r.Cold) <= 10)},
		row{Measure: "cold start: by kind, per repo", Value: r.Cold.kinds(r.Repos), Baseline: naiveKinds(r.NaiveKinds, r.Repos)},
		row{Measure: "warm, nothing changed: counted requests per repo", Value: num(per(r.Warm)), Baseline: num(naive) + " naive",
			Ratio: ratio(per(r.Warm), naive), Target: "0", Verdict: verdict(r.Warm.Counted() == 0)},
		row{Measure: "warm, nothing changed: requests sent per repo, share 304", Value: fmt.Sprintf("%s, %.0f %%", num(sent(r.Warm)), 100*r.Warm.share304()),
			Baseline: num(sent(r.Naive)) + ", 0 % naive"},
		row{Measure: "restart (new process, same Redis), nothing changed: counted per repo", Value: num(per(r.Restart)), Baseline: num(per(r.Cold)) + " cold",
			Ratio: ratio(per(r.Restart), per(r.Cold))},
		row{Measure: "restart: requests sent per repo (304s: the index is rebuilt from Redis's validators)", Value: num(sent(r.Restart)), Baseline: num(sent(r.Cold)) + " cold"},
		row{Measure: "warm, a changed repo (one issue closed): counted requests per repo", Value: num(changed), Baseline: num(naive) + " naive",
			Ratio: ratio(changed, naive), Target: "≤ 2", Verdict: verdict(changed <= 2 && r.Changed > 0)},
		row{Measure: "warm, each repo changes in one poll of twelve: counted per repo per poll", Value: num(per(r.OneIn12)), Baseline: num(naive) + " naive",
			Ratio: ratio(per(r.OneIn12), naive)},
		row{Measure: "one poll of twelve: by kind, per repo per poll", Value: r.OneIn12.kinds(r.Repos)},
		row{Measure: fmt.Sprintf("issues change in every poll (1 %%: %s closed per poll, in %d of %d repos): counted per repo per poll",
			commas(int64(r.ChurnClosed)), r.ChurnRepos, r.Repos), Value: num(per(r.Churn)), Baseline: num(naive) + " naive", Ratio: ratio(per(r.Churn), naive)},
		row{Measure: "issues change in every poll: by kind, per repo per poll", Value: r.Churn.kinds(r.Repos)},
		row{Measure: "connector memory per repo after a cold start and a warm poll (index and threads: live heap freed when it is dropped)", Value: fmt.Sprintf("%.0f KiB", r.HeapPerRepo/1024)},
	)
	s.Notes = append(s.Notes,
		fmt.Sprintf("Once per process, not per repo: %d counted request(s) for no repository (`GET /user`, who slipwatch is).", r.Identity),
		"The cold start's permission look-up is the one `/commit` author per repo; a command is judged once per text of its comment, so later polls ask again only for a new or edited one.",
		fmt.Sprintf("Sandbox and polls took %s.", r.Took.Round(100*time.Millisecond)))
	return s
}
