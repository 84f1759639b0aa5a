package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// Budget is what the poller needs of a tracker credential's rate-limit
// budget (connectors/budget): what it knows, and how many replicas share
// the credential.
type Budget interface {
	Tracker() connectors.Tracker
	Snapshot() budget.Snapshot
	SetPeers(n int)
}

var _ Budget = (*budget.Budget)(nil)

// pollSchedule is the poll schedule and the statistics it is planned by
// (store/polls.go).
type pollSchedule interface {
	SyncPolls(ctx context.Context, teams []string, now time.Time) (int, int, error)
	DuePolls(ctx context.Context, now time.Time, n int) ([]string, error)
	ColdPolls(ctx context.Context, n int) ([]string, error)
	StartPolls(ctx context.Context, bucket string, now time.Time, p store.Pace, polls []store.PollStart) ([]string, error)
	SchedulePoll(ctx context.Context, key string, at time.Time) error
	PullPolls(ctx context.Context, at map[string]time.Time) error
	PollStats(ctx context.Context) (store.PollStats, error)
	TeamStates(ctx context.Context) (map[string][]byte, error)
	TeamState(ctx context.Context, key string) ([]byte, store.TeamActivity, error)
	PutTeamState(ctx context.Context, key string, data []byte) error
	AddTeamSpend(ctx context.Context, key string, counted int64, wrote time.Time) error
	MarkHooks(ctx context.Context, at map[string]time.Time) error
	Activity(ctx context.Context) (map[string]store.TeamActivity, error)
	Heartbeat(ctx context.Context, owner string, now time.Time, ttl time.Duration) (int, error)
	Leave(ctx context.Context, owner string) error
}

// The scheduler's timings, on the runner's clock.
const (
	defaultPollTick = time.Second
	replanEvery     = 15 * time.Second
	syncEvery       = time.Minute
	heartbeatEvery  = 10 * time.Second
	// heartbeatTTL: a replica silent this long no longer counts towards
	// the shares of the secondary limits.
	heartbeatTTL = 45 * time.Second
	// maxBacklog: with this much work waiting on the stream no poll
	// starts; its cost would land later than the budget assumed.
	maxBacklog = 1000
	// Per tick, at most this many due and cold polls are looked at.
	dueBatch  = 500
	coldBatch = 200
	// coldBurst: polls that may start in a minute with no budget to pace
	// by, at least; first polls otherwise spread over half an interval.
	coldBurst = 20
	// probePolls may start in a minute before the tracker has answered
	// anything: their answers tell the budget. Whatever credit Redis still
	// holds (a restart) does not hold them back, or nothing would ever be
	// heard; one a minute cannot run a token dry.
	probePolls = 1
	// burstShare of what remains may be spent at once (a small
	// organisation's first polls all start together).
	burstShare = 0.1
)

// scheduler is the runner's memory of the poll plan. Only the plan's
// summary and counters live here; the schedule itself is in Redis.
type scheduler struct {
	tick sync.Mutex // one PollOnce at a time

	mu         sync.Mutex
	plans      map[connectors.Tracker]*trackerPlan
	planned    time.Time
	synced     time.Time
	syncedHash uint64
	beat       time.Time
	teams      map[string]bool
	hooks      map[string]time.Time
	logged     map[connectors.Tracker]planLog
	teamPolls  map[connectors.Tracker][]time.Time // team polls this replica completed, the last minute
	summary    []string
	cold       map[connectors.Tracker]int
}

// planLog is what the log last said of a tracker's plan.
type planLog struct {
	stretched int
	factor    float64
	tight     bool
}

func newScheduler() *scheduler {
	return &scheduler{plans: map[connectors.Tracker]*trackerPlan{}, teams: map[string]bool{}, hooks: map[string]time.Time{},
		logged: map[connectors.Tracker]planLog{}, teamPolls: map[connectors.Tracker][]time.Time{}, cold: map[connectors.Tracker]int{}}
}

// PollOnce is one turn of the poller: it keeps the schedule in step with
// the configured teams, plans every team's interval against its
// tracker's budget (every 15 seconds), and starts the polls that are due
// and that the budget can pay for now, first polls last. Any replica may
// run it at any time: the schedule and the pace live in Redis.
func (r *Runner) PollOnce(ctx context.Context) {
	// Wildcard teams are looked up when due (every replica for itself)
	// before the plan, which then sees the teams that joined or left.
	for _, c := range r.conns {
		r.discoverDue(ctx, c)
	}
	s := r.sched
	s.tick.Lock()
	defer s.tick.Unlock()
	now := r.opt.Now()
	r.heartbeat(ctx, now)
	r.flushHooks(ctx)
	teams := r.allTeams()
	r.syncTeams(ctx, teams, now)
	r.replan(ctx, teams, now)
	r.startPolls(ctx, teams, now)
	r.pollTrackRecord(ctx)
}

// allTeams is every configured team's key, by tracker, sorted.
func (r *Runner) allTeams() map[connectors.Tracker][]string {
	out := map[connectors.Tracker][]string{}
	for t, c := range r.conns {
		keys := make([]string, 0, len(c.Teams()))
		for _, team := range c.Teams() {
			keys = append(keys, TeamKey(t, team).String())
		}
		sort.Strings(keys)
		out[t] = keys
	}
	return out
}

// heartbeat tells Redis this replica is alive and each budget how many
// replicas share its credential.
func (r *Runner) heartbeat(ctx context.Context, now time.Time) {
	s := r.sched
	if !s.beat.IsZero() && now.Sub(s.beat) < heartbeatEvery && now.After(s.beat) {
		return
	}
	n, err := r.store.Heartbeat(ctx, r.opt.Owner, now, heartbeatTTL)
	if err != nil {
		r.m.redisErrors.WithLabelValues("lease").Inc()
		return
	}
	s.beat = now
	for _, b := range r.budgets {
		b.SetPeers(n)
	}
}

// heard records a verified webhook delivery from each team: a team whose
// webhooks flow is polled every poll.max_interval.
func (r *Runner) heard(keys []string, at time.Time) {
	s := r.sched
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		s.hooks[k] = at
	}
}

func (r *Runner) flushHooks(ctx context.Context) {
	s := r.sched
	s.mu.Lock()
	hooks := s.hooks
	s.hooks = map[string]time.Time{}
	s.mu.Unlock()
	if err := r.store.MarkHooks(ctx, hooks); err != nil {
		r.m.redisErrors.WithLabelValues("enqueue").Inc()
		r.log.Warn("cannot record webhook deliveries for the poll plan", "err", err)
		s.mu.Lock()
		for k, t := range hooks {
			if s.hooks[k].Before(t) {
				s.hooks[k] = t
			}
		}
		s.mu.Unlock()
	}
}

// syncTeams puts new teams in the schedule (cold) and drops gone ones,
// when the configured list changed and every syncEvery.
func (r *Runner) syncTeams(ctx context.Context, teams map[connectors.Tracker][]string, now time.Time) {
	s := r.sched
	h := fnv.New64a()
	var all []string
	for _, t := range slices.Sorted(maps.Keys(teams)) {
		for _, k := range teams[t] {
			h.Write([]byte(k))
			h.Write([]byte{0})
			all = append(all, k)
		}
	}
	sum := h.Sum64()
	if sum == s.syncedHash && now.Sub(s.synced) < syncEvery && now.After(s.synced) {
		return
	}
	added, removed, err := r.store.SyncPolls(ctx, all, now)
	if err != nil {
		r.m.redisErrors.WithLabelValues("enqueue").Inc()
		r.log.Warn("cannot update the poll schedule", "err", err)
		return
	}
	if added > 0 || removed > 0 {
		r.log.Info("poll schedule updated", "teams", len(all), "added", added, "removed", removed)
	}
	s.mu.Lock()
	s.syncedHash, s.synced = sum, now
	s.teams = make(map[string]bool, len(all))
	for _, k := range all {
		s.teams[k] = true
	}
	s.mu.Unlock()
}

// replan gives every team its interval from its statistics and its
// tracker's budget, brings forward the polls of teams whose interval
// shrank, and updates the metrics, /readyz's lines and the log.
func (r *Runner) replan(ctx context.Context, teams map[connectors.Tracker][]string, now time.Time) {
	s := r.sched
	if !s.planned.IsZero() && now.Sub(s.planned) < replanEvery && now.After(s.planned) {
		return
	}
	raw, err := r.store.TeamStates(ctx)
	if err != nil {
		r.log.Warn("cannot read the poll statistics", "err", err)
		return
	}
	acts, err := r.store.Activity(ctx)
	if err != nil {
		r.log.Warn("cannot read team activity", "err", err)
		return
	}
	plans := map[connectors.Tracker]*trackerPlan{}
	pull := map[string]time.Time{}
	for t, keys := range teams {
		inputs := make([]teamInput, 0, len(keys))
		for _, k := range keys {
			in := teamInput{key: k, act: teamActivityView{wrote: acts[k].Wrote, hook: acts[k].Hook}}
			if data, ok := raw[k]; ok && json.Unmarshal(data, &in.stats) == nil {
				in.known = true
			}
			inputs = append(inputs, in)
		}
		c := capacity{perHour: math.Inf(1), pollsPerM: math.Inf(1)}
		if b := r.budgets[t]; b != nil {
			c = capacityOf(b.Snapshot(), now, r.hotPoints(t, b, now))
		}
		p := makePlan(t, inputs, c, r.opt.PollInterval, r.opt.MaxPollInterval, now, r.opt.MaxPollInterval)
		plans[t] = p
		for _, in := range inputs {
			if !in.known || in.stats.Every <= 0 {
				continue
			}
			if d := p.every[in.key]; d > 0 && d < time.Duration(in.stats.Every)*time.Millisecond {
				pull[in.key] = later(time.UnixMilli(in.stats.Last).Add(d), now)
			}
		}
		for _, st := range pollStates {
			r.m.pollTeams.WithLabelValues(string(t), st).Set(float64(p.counts[st]))
		}
		r.m.pollPlanned.WithLabelValues(string(t), "demand").Set(p.demand)
		r.m.pollPlanned.WithLabelValues(string(t), "capacity").Set(finite(p.cap.perHour))
		r.logPlan(p)
	}
	if err := r.store.PullPolls(ctx, pull); err != nil {
		r.log.Warn("cannot bring polls forward", "err", err)
	}
	s.mu.Lock()
	s.plans, s.planned = plans, now
	s.mu.Unlock()
	r.summarise(plans, now)
}

// finite is f, or -1 for no limit (a gauge cannot say +Inf usefully).
func finite(f float64) float64 {
	if math.IsInf(f, 0) {
		return -1
	}
	return f
}

// hotPoints is the points a poll spends on the busiest endpoint, as this
// replica measured it over the last minute; hotPoints before it has seen
// enough polls.
func (r *Runner) hotPoints(t connectors.Tracker, b Budget, now time.Time) float64 {
	s := r.sched
	s.mu.Lock()
	polls := pruneMinute(s.teamPolls[t], now)
	s.teamPolls[t] = polls
	s.mu.Unlock()
	if len(polls) < 10 {
		return hotPoints
	}
	return max(float64(b.Snapshot().MinutePoints)/float64(len(polls)), 1)
}

func pruneMinute(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > time.Minute {
		i++
	}
	return ts[i:]
}

// logPlan says when a tracker's plan stretches teams, and when it stops,
// once per change rather than per poll: small changes in how many are
// stretched are not news.
func (r *Runner) logPlan(p *trackerPlan) {
	s := r.sched
	n, longest := p.stretched()
	now := planLog{stretched: n, factor: p.factor, tight: p.cap.tight}
	s.mu.Lock()
	prev := s.logged[p.tracker]
	news := (n == 0) != (prev.stretched == 0) || abs(n-prev.stretched) >= max(5, prev.stretched/10) ||
		(p.factor > 1) != (prev.factor > 1) || now.tight != prev.tight
	if news {
		s.logged[p.tracker] = now
	}
	s.mu.Unlock()
	if !news {
		return
	}
	attrs := []any{"tracker", string(p.tracker), "stretched", n, "interval", p.base.String(), "max_interval", p.max.String(),
		"demand_per_hour", math.Round(p.demand), "budget_per_hour", finite(math.Round(p.cap.perHour))}
	switch {
	case p.factor > 1:
		r.log.Warn("poll budget: even poll.max_interval does not fit; every team's interval is stretched", append(attrs, "factor", math.Round(p.factor*100)/100, "longest", longest.String())...)
	case n > 0 && p.cap.tight:
		r.log.Warn("poll budget: rate limited lately; quiet teams are polled less often", append(attrs, "reason", p.cap.why)...)
	case n > 0:
		r.log.Warn("poll budget: the budget cannot cover every team at poll.interval; the least active are polled less often", attrs...)
	default:
		r.log.Info("poll budget: every team is polled at its interval again", attrs...)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// summarise keeps the plan's lines for /readyz's body.
func (r *Runner) summarise(plans map[connectors.Tracker]*trackerPlan, now time.Time) {
	var lines []string
	for _, t := range slices.Sorted(maps.Keys(plans)) {
		p := plans[t]
		if b := r.budgets[t]; b != nil {
			snap := b.Snapshot()
			for _, res := range snap.Resources {
				if res.Limit <= 0 {
					continue
				}
				line := fmt.Sprintf("%s rate limit %s: %d of %d left", t, res.Name, res.Remaining, res.Limit)
				if !res.Reset.IsZero() && res.Reset.After(now) {
					line += ", resets in " + short(res.Reset.Sub(now))
				}
				if res.NearLimit {
					line += " (near its limit)"
				}
				lines = append(lines, line)
			}
			if snap.Limited > 0 {
				lines = append(lines, fmt.Sprintf("%s rate limit: %d limit answers since start, the last %s ago", t, snap.Limited, short(now.Sub(snap.LastLimited))))
			}
		}
		parts := []string{fmt.Sprintf("%d every %s", p.counts[atInterval], short(p.base))}
		if n := p.counts[atWebhooks]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d every %s (webhooks flowing)", n, short(p.max)))
		}
		if n, longest := p.stretched(); n > 0 {
			parts = append(parts, fmt.Sprintf("%d stretched up to %s (rate-limit budget)", n, short(longest)))
		}
		if n := p.counts[atCold]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d waiting for a first poll", n))
		}
		line := fmt.Sprintf("%s polls: %s", t, strings.Join(parts, ", "))
		if !math.IsInf(p.cap.perHour, 1) {
			line += fmt.Sprintf("; %.0f of %.0f requests/h planned", p.demand, p.cap.perHour)
		}
		if p.cap.tight {
			line += "; " + p.cap.why
		}
		lines = append(lines, line)
	}
	r.sched.mu.Lock()
	r.sched.summary = lines
	r.sched.mu.Unlock()
}

// short writes d to the minute ("5m", "1h", "1h30m"), to the second
// below a minute.
func short(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// readyLines are the plan's lines for /readyz, from memory.
func (r *Runner) readyLines() []string {
	r.sched.mu.Lock()
	defer r.sched.mu.Unlock()
	return slices.Clone(r.sched.summary)
}

// startPolls starts the due polls, then first polls, that each tracker's
// pace can pay for.
func (r *Runner) startPolls(ctx context.Context, teams map[connectors.Tracker][]string, now time.Time) {
	if qs, err := r.store.QueueStats(ctx); err == nil && qs.Length > maxBacklog {
		return
	}
	due, err := r.store.DuePolls(ctx, now, dueBatch)
	if err != nil {
		r.m.redisErrors.WithLabelValues("promote").Inc()
		return
	}
	cold, err := r.store.ColdPolls(ctx, coldBatch)
	if err != nil {
		r.m.redisErrors.WithLabelValues("promote").Inc()
		return
	}
	r.sched.mu.Lock()
	plans := r.sched.plans
	r.sched.mu.Unlock()
	byTracker := map[connectors.Tracker][]string{}
	for _, k := range append(due, cold...) {
		if key, err := ParseKey(k); err == nil && key.Kind == KeyTeam {
			byTracker[key.Tracker] = append(byTracker[key.Tracker], k)
		}
	}
	for t, keys := range byTracker {
		p := plans[t]
		if p == nil {
			p = makePlan(t, nil, capacity{perHour: math.Inf(1), pollsPerM: math.Inf(1)}, r.opt.PollInterval, r.opt.MaxPollInterval, now, r.opt.MaxPollInterval)
		}
		polls := make([]store.PollStart, 0, len(keys))
		dearest := 0.0
		for _, k := range keys {
			cost := p.expected(k, now)
			every := p.interval(k)
			if _, ok := p.last[k]; !ok {
				every = r.opt.PollInterval
			}
			dearest = max(dearest, cost)
			polls = append(polls, store.PollStart{Key: k, Cost: cost, Every: every})
		}
		pace := r.paceOf(t, p, len(teams[t]), dearest, now)
		started, err := r.store.StartPolls(ctx, string(t), now, pace, polls)
		if err != nil {
			r.m.redisErrors.WithLabelValues("enqueue").Inc()
			r.log.Warn("cannot start polls", "tracker", string(t), "err", err)
			continue
		}
		r.m.polls.WithLabelValues(string(t)).Add(float64(len(started)))
	}
}

// paceOf is how fast a tracker's polls may start. With a primary budget
// to read, the credit flows at what remains (less the reserve and a
// margin) spread over the time to its reset: polls never draw the quota
// down faster than it refills, and a cold start is paced by its measured
// cost per team. With none, polls start as they fall due, first polls
// spread over half an interval.
//
// The burst (the most credit there can be) holds the dearest poll waiting,
// so none waits for ever, but never more than what remains: a poll is
// never let through cheaper than it is expected to cost.
func (r *Runner) paceOf(t connectors.Tracker, p *trackerPlan, teams int, dearest float64, now time.Time) store.Pace {
	spread := max(coldBurst, int(math.Ceil(2*float64(teams)/max(r.opt.PollInterval.Minutes(), 1))))
	perMinute := spread
	if !math.IsInf(p.cap.pollsPerM, 1) {
		perMinute = max(int(p.cap.pollsPerM), 1)
	}
	b := r.budgets[t]
	if b == nil {
		return store.Pace{Rate: -1, PerMinute: spread}
	}
	snap := b.Snapshot()
	res, ok := snap.Core()
	switch {
	case !ok && snap.Answers == 0:
		// Nothing heard yet: a probe, whose answers tell the budget.
		return store.Pace{Rate: -1, PerMinute: min(perMinute, probePolls)}
	case !ok || (res.Limit <= 0 && res.FillPerHour <= 0):
		// The tracker sends no budget (GHES with limits off, Jira Cloud
		// for API tokens): Retry-After and Jira's near-limit say when to
		// slow down.
		if p.cap.tight {
			perMinute = max(1, perMinute/2)
		}
		return store.Pace{Rate: -1, PerMinute: perMinute}
	case res.FillPerHour > 0:
		rate := res.FillPerHour * primaryHeadroom / 3600
		return store.Pace{Rate: rate, Burst: max(rate*60, p.coldCost, dearest), PerMinute: perMinute}
	}
	reserve := reserveOf(res.Limit)
	margin := res.Limit / 50
	remaining, left := res.Remaining, res.Reset.Sub(now)
	if left <= 0 {
		// The window has reset since the last answer.
		remaining, left = res.Limit, time.Hour
	}
	avail := float64(remaining - reserve - margin)
	if avail <= 0 {
		return store.Pace{Rate: 0, Burst: 0, PerMinute: perMinute}
	}
	rate := avail / max(left.Seconds(), 1)
	return store.Pace{Rate: rate, Burst: min(max(rate*60, p.coldCost, dearest, avail*burstShare), avail), PerMinute: perMinute}
}

// polled records a team's completed poll, which started at start and
// spent sp: its statistics (the cycle it closes), its next poll an
// interval (±10 %) on, and what the listing itself spent.
func (r *Runner) polled(ctx context.Context, k Key, start time.Time, sp *budget.Spend) {
	key := k.String()
	s := r.sched
	s.mu.Lock()
	known := s.teams[key]
	p := s.plans[k.Tracker]
	s.teamPolls[k.Tracker] = append(pruneMinute(s.teamPolls[k.Tracker], start), start)
	s.mu.Unlock()
	if !known {
		r.spent(ctx, key, sp)
		return
	}
	data, act, err := r.store.TeamState(ctx, key)
	if err != nil {
		r.log.Warn("cannot read a team's poll statistics", "team", key, "err", err)
		return
	}
	var st teamStats
	if data != nil {
		_ = json.Unmarshal(data, &st)
	}
	st.completed(start, act.Spent)
	every := p.interval(key)
	if every <= 0 {
		every = r.opt.PollInterval
	}
	st.Every = every.Milliseconds()
	if data, err = json.Marshal(st); err == nil {
		err = r.store.PutTeamState(ctx, key, data)
	}
	if err != nil {
		r.log.Warn("cannot save a team's poll statistics", "team", key, "err", err)
	}
	// ±10 % keeps teams that were polled together from staying in step.
	next := start.Add(every - every/10 + rand.N(every/5+1))
	if err := r.store.SchedulePoll(ctx, key, next); err != nil {
		r.m.redisErrors.WithLabelValues("defer").Inc()
		r.log.Warn("cannot schedule a team's next poll", "team", key, "err", err)
	}
	r.m.pollInterval.WithLabelValues(string(k.Tracker)).Observe(every.Seconds())
	r.spent(ctx, key, sp)
}

// spent adds what a unit of work for team spent to the team's account.
func (r *Runner) spent(ctx context.Context, team string, sp *budget.Spend) {
	if sp == nil || (sp.Counted() == 0 && sp.Writes() == 0) {
		return
	}
	var wrote time.Time
	if sp.Writes() > 0 {
		wrote = r.opt.Now()
	}
	if err := r.store.AddTeamSpend(ctx, team, sp.Counted(), wrote); err != nil {
		r.log.Debug("cannot record a team's spend", "team", team, "err", err)
	}
}
