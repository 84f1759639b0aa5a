package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/internal/apispec"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// manyTeams is the fake tracker with several repos, each the same one
// milestone.
type manyTeams struct {
	*fakeTracker
	teams []string
}

func (m *manyTeams) Teams() []string { return m.teams }

func (m *manyTeams) List(ctx context.Context, team string) ([]connectors.Ref, error) {
	m.mu.Lock()
	m.lists++
	m.mu.Unlock()
	return nil, nil
}

func newManyTeams(n int) *manyTeams {
	m := &manyTeams{fakeTracker: newFake()}
	for i := range n {
		m.teams = append(m.teams, fmt.Sprintf("acme/r%02d", i))
	}
	return m
}

// fakeBudget is a budget whose snapshot a test sets.
type fakeBudget struct {
	mu    sync.Mutex
	snap  budget.Snapshot
	peers []int
}

func (b *fakeBudget) Tracker() connectors.Tracker { return connectors.GitHub }
func (b *fakeBudget) Snapshot() budget.Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.snap
}
func (b *fakeBudget) SetPeers(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.peers = append(b.peers, n)
}

func (b *fakeBudget) set(s budget.Snapshot) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.snap = s
}

type scheduleEnv struct {
	rdb    redis.UniversalClient
	prefix string
	r      *Runner
	st     *store.Store
	clk    *clock
	reg    *prometheus.Registry
	log    *bytes.Buffer
}

func newScheduleEnv(t *testing.T, prefix string, conn Connector, clk *clock, owner string, budgets ...Budget) scheduleEnv {
	t.Helper()
	rdb := srv.Client(t)
	st := store.New(rdb, prefix, store.Options{ReclaimIdle: 200 * time.Millisecond})
	reg := prometheus.NewRegistry()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil))
	r, err := New([]Connector{conn}, st, reconcile.Settings{Location: time.UTC, Baseline: "first_seen", Window: 42, Trials: 200, Confidence: 0.85, MinSamples: 5},
		Options{Owner: owner, Workers: 2, Now: clk.Now, readBlock: 50 * time.Millisecond, promoteEvery: 20 * time.Millisecond,
			backoffBase: 10 * time.Millisecond, backoffMax: 50 * time.Millisecond, PollInterval: 5 * time.Minute, MaxPollInterval: time.Hour,
			MaxDeliveries: 3, Budgets: budgets, Metrics: NewMetrics(reg), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return scheduleEnv{rdb: rdb, prefix: prefix, r: r, st: st, clk: clk, reg: reg, log: &buf}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (e scheduleEnv) logText() string {
	return e.log.String()
}

// step is one second of the daemon on the test's clock: a poller turn,
// then the queue worked until nothing is left at this instant.
func (e scheduleEnv) step(t *testing.T, d time.Duration) {
	t.Helper()
	e.r.PollOnce(context.Background())
	drain(t, e.r, e.st)
	e.clk.Add(d)
}

func (e scheduleEnv) teamStats(t *testing.T, key string) teamStats {
	t.Helper()
	data, _, err := e.st.TeamState(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var s teamStats
	if data != nil {
		_ = json.Unmarshal(data, &s)
	}
	return s
}

// nextPoll is when key's next poll is due.
func (e scheduleEnv) nextPoll(t *testing.T, key string) time.Time {
	t.Helper()
	ms, err := e.rdb.ZScore(context.Background(), e.prefix+"{q}:polls", key).Result()
	if err != nil {
		t.Fatalf("%s is not scheduled: %v", key, err)
	}
	return time.UnixMilli(int64(ms))
}

// TestColdStartPacedByTheBudget is an organisation's first start on a
// token with little left: the first polls wait for the budget instead of
// running it dry, GitHub (the sandbox, enforcing its primary and
// secondary limits) never answers with a limit, and every repo has had
// its first poll once the quota resets and the pace allows.
func TestColdStartPacedByTheBudget(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh := apispec.GitHubSandbox(t, clk.Now)
	var repos []string
	for i := range 60 {
		name := fmt.Sprintf("acme/svc-%02d", i)
		repos = append(repos, name)
		gh.AddRepo(name)
		for m := range 2 {
			n := gh.AddMilestone(name, githubtest.Milestone{Title: fmt.Sprintf("v%d", m), DueOn: clk.Now().Add(30 * 24 * time.Hour)})
			for i := range 3 {
				gh.AddIssue(name, githubtest.Issue{Title: fmt.Sprintf("task %d", i), Milestone: n, CreatedAt: clk.Now().Add(-60 * 24 * time.Hour)})
			}
		}
	}
	reset := clk.Now().Add(20 * time.Minute)
	gh.SetRateLimit(260, reset)
	gh.EnforceLimits(githubtest.GitHubLimits())

	prefix := srv.Prefix(t)
	st := store.New(srv.Client(t), prefix, store.Options{})
	gb := budget.New(budget.Options{Tracker: connectors.GitHub, Secondary: new(budget.GitHubSecondary()), Now: clk.Now, MaxWait: -1})
	cfg := &config.GitHub{BaseURL: gh.URL, Token: "t", WebhookSecret: "s", Repos: repos, TrackingLabel: "slipwatch", CreateTrackingIssue: false}
	conn, err := github.New(cfg, github.Options{Validators: st, Transport: gb.Transport(http.DefaultTransport), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := newScheduleEnv(t, prefix, conn, clk, "A", gb)

	polledBy := map[string]time.Time{}
	for clk.Now().Before(reset.Add(time.Hour)) && len(polledBy) < len(repos) {
		e.step(t, 10*time.Second)
		for _, r := range repos {
			k := TeamKey(connectors.GitHub, r).String()
			if _, ok := polledBy[k]; !ok && e.teamStats(t, k).Polls > 0 {
				polledBy[k] = clk.Now()
			}
		}
	}
	if ls := gh.LimitStats(); ls.PrimaryAnswers+ls.SecondaryAnswers > 0 {
		t.Fatalf("GitHub answered %d primary and %d secondary limit answers; the budget must prevent every one", ls.PrimaryAnswers, ls.SecondaryAnswers)
	}
	if len(polledBy) != len(repos) {
		t.Fatalf("%d of %d repos polled an hour after the reset", len(polledBy), len(repos))
	}
	before := 0
	for _, at := range polledBy {
		if at.Before(reset) {
			before++
		}
	}
	last := time.Time{}
	for _, at := range polledBy {
		last = later(last, at)
	}
	req, notMod, _ := gh.Counts()
	t.Logf("%d of %d first polls before the reset, the last %s after it; %d requests, %d of them 304", before, len(repos), last.Sub(reset), req, notMod)
	if before == 0 || before == len(repos) {
		t.Errorf("%d of %d first polls before the reset: want some (what 260 requests allow), not all", before, len(repos))
	}
	if s := gb.Snapshot(); s.Limited != 0 {
		t.Errorf("the budget saw %d limit answers", s.Limited)
	}
	// What a first poll cost was measured and is what the next cold start
	// is paced by.
	e.clk.Add(6 * time.Minute)
	e.step(t, time.Second)
	e.clk.Add(replanEvery)
	e.r.PollOnce(context.Background())
	if p := e.r.sched.plans[connectors.GitHub]; p == nil || p.coldCost == defaultColdCost || p.coldCost <= 0 {
		t.Errorf("cold cost %v: still the default, not measured", p)
	} else {
		t.Logf("measured cold cost %.1f counted requests per repo", p.coldCost)
	}
}

// TestWebhooksBackOffAndReturn: a repo whose webhooks flow is polled every
// poll.max_interval; when they stop for that long, its next poll is
// brought back to poll.interval.
func TestWebhooksBackOffAndReturn(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	e := newScheduleEnv(t, srv.Prefix(t), f, clk, "A")
	key := "github:acme/api"
	e.step(t, time.Second)
	if n := e.teamStats(t, key).Polls; n != 1 {
		t.Fatalf("first poll: %d polls recorded", n)
	}
	if next := e.nextPoll(t, key); next.Sub(clk.Now()) > 6*time.Minute {
		t.Fatalf("next poll in %s, want about poll.interval", next.Sub(clk.Now()))
	}

	// A verified delivery: the next poll (still at its 5 minutes) then
	// schedules the one after an hour on.
	h := e.r.Handler(nil)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader("7"))
	req.Header.Set("X-Fake-Signature", "ok")
	req.Header.Set("X-Delivery", "d-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("webhook: %d", rec.Code)
	}
	clk.Add(6 * time.Minute)
	e.step(t, time.Second)
	if st := e.teamStats(t, key); st.Polls != 2 || time.Duration(st.Every)*time.Millisecond != time.Hour {
		t.Fatalf("after the delivery: polls %d every %s, want the second poll scheduling an hour", st.Polls, time.Duration(st.Every)*time.Millisecond)
	}
	if next := e.nextPoll(t, key); next.Sub(clk.Now()) < 50*time.Minute {
		t.Errorf("next poll in %s, want about an hour", next.Sub(clk.Now()))
	}
	if got := gauge(t, e.reg, "slipwatch_poll_teams", "state", atWebhooks); got != 1 {
		t.Errorf("slipwatch_poll_teams{state=webhooks} = %v, want 1", got)
	}
	if body := get(t, e.r.Handler(e.reg), "/readyz"); !strings.Contains(body, "github polls: 0 every 5m, 1 every 1h (webhooks flowing)") {
		t.Errorf("/readyz says:\n%s", body)
	}

	// No delivery for an hour: the plan puts it back to five minutes and
	// its next poll comes forward.
	clk.Add(61 * time.Minute)
	e.r.PollOnce(context.Background())
	if got := gauge(t, e.reg, "slipwatch_poll_teams", "state", atInterval); got != 1 {
		t.Errorf("slipwatch_poll_teams{state=interval} = %v, want 1 once the webhooks stopped", got)
	}
	drain(t, e.r, e.st)
	e.step(t, time.Second)
	if st := e.teamStats(t, key); time.Duration(st.Every)*time.Millisecond != 5*time.Minute {
		t.Errorf("after the webhooks stopped: every %s, want 5m", time.Duration(st.Every)*time.Millisecond)
	}
}

// TestBudgetStretchesQuietReposOnce: with a budget too small for every
// repo at five minutes, the quiet repos are stretched, the log says so
// once, /readyz and the metrics show it; when the budget is back, so are
// the intervals.
func TestBudgetStretchesQuietReposOnce(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	m := newManyTeams(6)
	fb := &fakeBudget{}
	sec := budget.GitHubSecondary()
	full := budget.Snapshot{Tracker: connectors.GitHub, Answers: 1, Secondary: &sec, Headroom: 0.8,
		Resources: []budget.Resource{{Name: "core", Limit: 5000, Remaining: 4000, Reset: clk.Now().Add(time.Hour), Seen: clk.Now()}}}
	fb.set(full)
	e := newScheduleEnv(t, srv.Prefix(t), m, clk, "A", fb)
	ctx := context.Background()
	// Six repos polled an hour: two busy (a change every cycle costing
	// 40), four quiet.
	for i, k := range m.teams {
		key := TeamKey(connectors.GitHub, k).String()
		st := warmTeam(key, 0.02, 40).stats
		if i < 2 {
			st.P = 0.95
		}
		st.Last = clk.Now().Add(-time.Minute).UnixMilli()
		data, _ := json.Marshal(st)
		_ = e.st.PutTeamState(ctx, key, data)
	}
	e.r.PollOnce(ctx)
	if got := gauge(t, e.reg, "slipwatch_poll_teams", "state", atStretch); got != 0 {
		t.Fatalf("stretched %v with a full budget", got)
	}

	// A tiny quota: 300 an hour.
	small := full
	small.Resources = []budget.Resource{{Name: "core", Limit: 300, Remaining: 250, Reset: clk.Now().Add(30 * time.Minute), Seen: clk.Now()}}
	fb.set(small)
	for range 3 {
		clk.Add(replanEvery)
		e.r.PollOnce(ctx)
	}
	plan := e.r.sched.plans[connectors.GitHub]
	for i, k := range m.teams {
		key := TeamKey(connectors.GitHub, k).String()
		want := atStretch
		if i < 2 {
			// The busy ones are stretched only after every quiet one.
			want = plan.state[key]
		}
		if got := plan.state[key]; got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
	if got := gauge(t, e.reg, "slipwatch_poll_teams", "state", atStretch); got < 4 {
		t.Errorf("slipwatch_poll_teams{state=stretched} = %v, want the four quiet repos at least", got)
	}
	if n := strings.Count(e.logText(), "poll budget: the budget cannot cover every team"); n != 1 {
		t.Errorf("the stretch was logged %d times over three plans, want once:\n%s", n, e.logText())
	}
	body := get(t, e.r.Handler(e.reg), "/readyz")
	for _, want := range []string{"ready\n", "github rate limit core: 250 of 300 left, resets in 29m", "stretched up to 1h (rate-limit budget)", "requests/h planned"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz lacks %q:\n%s", want, body)
		}
	}
	metrics := get(t, e.r.Handler(e.reg), "/metrics")
	for _, want := range []string{
		`slipwatch_ratelimit_remaining{resource="core",tracker="github"} 250`,
		`slipwatch_ratelimit_limit{resource="core",tracker="github"} 300`,
		`slipwatch_ratelimit_held_total{limit="content_hour",tracker="github"} 0`,
		`slipwatch_ratelimit_limited_total{tracker="github"} 0`,
		`slipwatch_poll_planned_requests_per_hour{kind="capacity",tracker="github"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The quota is back: every repo at its interval, logged once.
	fb.set(full)
	clk.Add(replanEvery)
	e.r.PollOnce(ctx)
	if got := gauge(t, e.reg, "slipwatch_poll_teams", "state", atStretch); got != 0 {
		t.Errorf("stretched %v after the budget came back", got)
	}
	if !strings.Contains(e.logText(), "every team is polled at its interval again") {
		t.Errorf("the end of the stretch was not logged:\n%s", e.logText())
	}
}

// TestReplicasShareOneBudget: two replicas starting polls against one
// pace start no more between them than one would, and each learns that
// it shares the credential.
func TestReplicasShareOneBudget(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	m := newManyTeams(40)
	fa, fb := &fakeBudget{}, &fakeBudget{}
	// 2,000 left for an hour, less reserve and margin: 1,800 an hour, half
	// a request a second; a first poll is assumed to cost 50.
	snap := budget.Snapshot{Tracker: connectors.GitHub, Answers: 1,
		Resources: []budget.Resource{{Name: "core", Limit: 5000, Remaining: 2000, Reset: clk.Now().Add(time.Hour), Seen: clk.Now()}}}
	fa.set(snap)
	fb.set(snap)
	prefix := srv.Prefix(t)
	a := newScheduleEnv(t, prefix, m, clk, "A", fa)
	b := newScheduleEnv(t, prefix, m, clk, "B", fb)
	ctx := context.Background()
	for range 60 { // ten minutes, both replicas turning every ten seconds
		a.r.PollOnce(ctx)
		b.r.PollOnce(ctx)
		drain(t, a.r, a.st)
		clk.Add(10 * time.Second)
	}
	first := 0
	for _, k := range m.teams {
		if a.teamStats(t, TeamKey(connectors.GitHub, k).String()).Polls > 0 {
			first++
		}
	}
	// One pace: a burst of a tenth of what remains (180: three first
	// polls at 50), then 0.5 a second for 600 seconds (300: six more),
	// less what the warm polls cost. A pace each would allow twice that.
	if first < 7 || first > 10 {
		t.Errorf("two replicas started %d first polls in ten minutes; one pace allows about 9, two 18", first)
	}
	fa.mu.Lock()
	peers := fa.peers[len(fa.peers)-1]
	fa.mu.Unlock()
	if peers != 2 {
		t.Errorf("replica A believes %d replicas share the token, want 2", peers)
	}
}

// TestProbeAfterARestart: a replica that starts where the shared credit
// in Redis is spent, and has heard nothing from the tracker yet, still
// starts a poll (whose answers would tell its budget), one a minute:
// neither stuck nor a burst on a token it knows nothing of.
func TestProbeAfterARestart(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	m := newManyTeams(10)
	prefix := srv.Prefix(t)
	e := newScheduleEnv(t, prefix, m, clk, "A", &fakeBudget{})
	ctx := context.Background()
	if err := e.rdb.HSet(ctx, prefix+"{q}:credit", "github", "0", "github:at", clk.Now().UnixMilli()).Err(); err != nil {
		t.Fatal(err)
	}
	polled := func() int {
		n := 0
		for _, k := range m.teams {
			if e.teamStats(t, TeamKey(connectors.GitHub, k).String()).Polls > 0 {
				n++
			}
		}
		return n
	}
	for range 5 {
		e.step(t, time.Second)
	}
	if got := polled(); got != 1 {
		t.Fatalf("%d polls in the first five seconds with nothing heard, want 1 (a probe)", got)
	}
	clk.Add(time.Minute)
	for range 5 {
		e.step(t, time.Second)
	}
	if got := polled(); got != 2 {
		t.Errorf("%d polls after a minute and five seconds, want 2 (a probe a minute)", got)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
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

func get(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Body.String()
}
