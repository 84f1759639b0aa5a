package runner

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
)

// How the poller plans its polls against the budget. Nothing configures
// these; docs/operations.md ("The rate-limit budget") explains them.
const (
	// primaryHeadroom is the share of a primary quota (after the reserve
	// people keep) the plan fills; the rest absorbs what the estimates
	// miss.
	primaryHeadroom = 0.95
	// coldShare is the part of the budget kept for first polls while
	// teams wait for theirs: warm teams are stretched to leave it.
	coldShare = 0.25
	// hotPoints is the points a poll is assumed to spend on the busiest
	// endpoint until this replica has measured it.
	hotPoints = 1.5
	// defaultColdCost and defaultWarmCost are what a first poll and a
	// poll that finds changes are assumed to cost until one is measured
	// (BENCHMARKS.md measures both).
	defaultColdCost = 50.0
	defaultWarmCost = 3.0
	// wroteWithin: a team slipwatch wrote to this recently is one where it
	// must write; it is stretched last.
	wroteWithin = 24 * time.Hour
	// tightFor: after a limit answer, or while Jira says it is near its
	// limit, every team not protected is stretched, whatever the budget
	// says, for this long.
	tightFor = 10 * time.Minute
	// ewma weighs a new observation of a team's costs and changes.
	ewma = 0.2
	// maxFactor bounds how far past max_interval every team is
	// stretched when even that does not fit (a credential with nothing
	// left to spend).
	maxFactor = 24.0
	// priorChange is the chance of a change per poll assumed of a team
	// not yet seen twice.
	priorChange = 0.5
)

// teamStats is one team's poll history ({q}:teams), written by whoever
// completes the team's poll. A poll cycle is everything counted against
// the budget for the team between two poll starts: the listing, the
// observations it leads to, webhook work and writes.
type teamStats struct {
	Polls int     `json:"n"`           // completed polls
	Last  int64   `json:"t,omitempty"` // start of the last completed poll (ms)
	Mark  int64   `json:"m,omitempty"` // the team's spend counter then
	Cold  int64   `json:"k,omitempty"` // counted requests of its first cycle, once known
	Cost  float64 `json:"c,omitempty"` // EWMA of a cycle's cost, over cycles that spent
	P     float64 `json:"p,omitempty"` // EWMA of "the cycle spent" (1 or 0)
	Hours float64 `json:"h,omitempty"` // EWMA of a cycle's length in hours
	Every int64   `json:"e,omitempty"` // the interval its next poll was scheduled with (ms)
}

// completed folds a poll that started at start, with the team's spend
// counter at spent, into s.
func (s *teamStats) completed(start time.Time, spent int64) {
	if s.Polls > 0 && spent >= s.Mark && start.UnixMilli() > s.Last {
		cycle := spent - s.Mark
		hours := float64(start.UnixMilli()-s.Last) / float64(time.Hour/time.Millisecond)
		if s.Polls == 1 {
			s.Cold = cycle
		} else {
			changed := 0.0
			if cycle > 0 {
				changed = 1
				s.Cost = blend(s.Cost, float64(cycle), s.Cost == 0)
			}
			s.P = blend(s.P, changed, s.Polls == 2)
			s.Hours = blend(s.Hours, hours, s.Polls == 2)
		}
	}
	s.Polls++
	s.Last = start.UnixMilli()
	s.Mark = spent
}

func blend(old, v float64, first bool) float64 {
	if first {
		return v
	}
	return old + ewma*(v-old)
}

// rate is the team's changes per hour as the plan estimates them.
func (s teamStats) rate(base time.Duration) float64 {
	p, hours := s.P, s.Hours
	if s.Polls < 3 || hours <= 0 {
		p, hours = priorChange, base.Hours()
	}
	p = min(p, 0.95)
	return -math.Log(1-p) / hours
}

// teamCost is a team's expected counted requests per hour when polled
// every d: a cycle that finds a change costs cost, and one does with the
// chance a change came in d.
func teamCost(cost, rate float64, d time.Duration) float64 {
	h := d.Hours()
	if h <= 0 {
		return 0
	}
	return cost * (1 - math.Exp(-rate*h)) / h
}

// Why a team has the interval it has (the state label of
// slipwatch_poll_teams).
const (
	atInterval = "interval"  // poll.interval
	atWebhooks = "webhooks"  // poll.max_interval: its webhooks are flowing
	atStretch  = "stretched" // longer than poll.interval: the budget
	atCold     = "cold"      // waiting for its first poll
)

var pollStates = []string{atInterval, atWebhooks, atStretch, atCold}

// teamInput is what the plan knows of one team.
type teamInput struct {
	key   string
	stats teamStats
	known bool // has stats
	act   teamActivityView
}

type teamActivityView struct {
	wrote, hook time.Time
}

// capacity is what one tracker's credential allows, as the plan reads it.
type capacity struct {
	perHour   float64 // counted requests; +Inf: no primary budget to plan by
	pollsPerM float64 // polls per minute the secondary limits allow; +Inf: none
	tight     bool    // a limit answer lately, or Jira near its limit
	why       string  // for the log and /readyz when tight
}

// trackerPlan is the poll plan of one tracker's teams.
type trackerPlan struct {
	tracker  connectors.Tracker
	at       time.Time
	base     time.Duration
	max      time.Duration
	every    map[string]time.Duration
	state    map[string]string
	rates    map[string]float64 // changes per hour
	costs    map[string]float64 // counted requests of a changed cycle
	last     map[string]time.Time
	counts   map[string]int
	cap      capacity
	demand   float64 // counted requests per hour the plan expects
	factor   float64 // > 1: even max_interval does not fit, every interval multiplied
	coldCost float64
	warmCost float64
}

// interval is the team's interval under the plan; base for a team the
// plan does not know.
func (p *trackerPlan) interval(team string) time.Duration {
	if p == nil {
		return 0
	}
	if d, ok := p.every[team]; ok {
		return d
	}
	return time.Duration(float64(p.base) * max(p.factor, 1))
}

// stretched is the teams polled less often than poll.interval for the
// budget, and the longest interval among them.
func (p *trackerPlan) stretched() (int, time.Duration) {
	n, longest := 0, time.Duration(0)
	for k, s := range p.state {
		if s == atStretch {
			n++
			longest = max(longest, p.every[k])
		}
	}
	return n, longest
}

// expected is what starting team's poll now should cost: a changed
// cycle's cost times the chance it changed since its last poll.
func (p *trackerPlan) expected(team string, now time.Time) float64 {
	last, ok := p.last[team]
	if !ok || last.IsZero() {
		return p.coldCost
	}
	cost, ok := p.costs[team]
	if !ok || cost <= 0 {
		cost = p.warmCost
	}
	h := now.Sub(last).Hours()
	return cost * (1 - math.Exp(-p.rates[team]*max(h, 0)))
}

// makePlan gives every team its interval. A team whose webhooks are
// flowing is polled every max; the others every base, unless the budget
// cannot cover them: then teams are stretched to max one by one, the
// least active first and those slipwatch writes to last, until the
// expected demand fits (with coldShare kept for first polls while any
// wait). If even every team at max does not fit, every interval is
// multiplied by what is missing.
func makePlan(tracker connectors.Tracker, teams []teamInput, c capacity, base, maxEvery time.Duration, now time.Time, hookFresh time.Duration) *trackerPlan {
	p := &trackerPlan{tracker: tracker, at: now, base: base, max: maxEvery, cap: c, factor: 1,
		every: map[string]time.Duration{}, state: map[string]string{}, rates: map[string]float64{}, costs: map[string]float64{},
		last: map[string]time.Time{}, counts: map[string]int{}}
	var colds, costs []float64
	for _, t := range teams {
		if t.stats.Cold > 0 {
			colds = append(colds, float64(t.stats.Cold))
		}
		if t.stats.Cost > 0 {
			costs = append(costs, t.stats.Cost)
		}
	}
	p.coldCost, p.warmCost = defaultColdCost, defaultWarmCost
	if len(colds) > 0 {
		p.coldCost = mean(colds)
	}
	if len(costs) > 0 {
		p.warmCost = median(costs)
	}

	type cand struct {
		key       string
		rate      float64
		cost      float64
		protected bool
	}
	var cands []cand
	cold := 0
	for _, t := range teams {
		if !t.known || t.stats.Polls == 0 {
			p.state[t.key] = atCold
			cold++
			continue
		}
		p.last[t.key] = time.UnixMilli(t.stats.Last)
		rate := t.stats.rate(base)
		cost := t.stats.Cost
		if cost <= 0 {
			cost = p.warmCost
		}
		p.rates[t.key], p.costs[t.key] = rate, cost
		if !t.act.hook.IsZero() && now.Sub(t.act.hook) <= hookFresh {
			p.every[t.key], p.state[t.key] = maxEvery, atWebhooks
			continue
		}
		p.every[t.key], p.state[t.key] = base, atInterval
		cands = append(cands, cand{key: t.key, rate: rate, cost: cost, protected: !t.act.wrote.IsZero() && now.Sub(t.act.wrote) <= wroteWithin})
	}
	demand, polls := 0.0, 0.0
	for k, d := range p.every {
		demand += teamCost(p.costs[k], p.rates[k], d)
		polls += time.Minute.Minutes() / d.Minutes()
	}
	budget := c.perHour
	if cold > 0 {
		budget *= 1 - coldShare
	}
	over := func() bool { return demand > budget || polls > c.pollsPerM }
	if (over() || c.tight) && maxEvery > base {
		slices.SortFunc(cands, func(a, b cand) int {
			if a.protected != b.protected {
				if a.protected {
					return 1
				}
				return -1
			}
			return cmp.Or(cmp.Compare(a.rate, b.rate), cmp.Compare(a.key, b.key))
		})
		for _, t := range cands {
			if !over() && !(c.tight && !t.protected) {
				break
			}
			demand += teamCost(t.cost, t.rate, maxEvery) - teamCost(t.cost, t.rate, base)
			polls += 1/maxEvery.Minutes() - 1/base.Minutes()
			p.every[t.key], p.state[t.key] = maxEvery, atStretch
		}
	}
	if over() {
		// Even max_interval for all does not fit: stretch every team
		// alike by what is missing, rather than run dry.
		p.factor = min(max(demand/max(budget, 1), polls/c.pollsPerM), maxFactor)
		for k, d := range p.every {
			p.every[k] = time.Duration(float64(d) * p.factor)
			if p.state[k] == atInterval {
				p.state[k] = atStretch
			}
		}
		demand /= p.factor
	}
	p.demand = demand
	for _, s := range p.state {
		p.counts[s]++
	}
	return p
}

// capacityOf reads a credential's snapshot: what an hour may spend (after
// the reserve and the headroom) and how many polls a minute the
// secondary limits allow, given hot, the points a poll spends on the
// busiest endpoint.
func capacityOf(s budget.Snapshot, now time.Time, hot float64) capacity {
	c := capacity{perHour: math.Inf(1), pollsPerM: math.Inf(1)}
	if r, ok := s.Core(); ok {
		switch {
		case r.FillPerHour > 0:
			c.perHour = r.FillPerHour * primaryHeadroom
		case r.Limit > 0 && !r.Reset.IsZero():
			// GitHub's windows are an hour long.
			c.perHour = float64(r.Limit-reserveOf(r.Limit)) * primaryHeadroom
		}
		if r.NearLimit && now.Sub(r.Seen) <= tightFor {
			c.tight, c.why = true, "the tracker says it is near its rate limit"
		}
	}
	if !s.LastLimited.IsZero() && now.Sub(s.LastLimited) <= tightFor {
		c.tight, c.why = true, "the tracker answered with its rate limit lately"
	}
	if sec := s.Secondary; sec != nil {
		c.pollsPerM = float64(sec.PointsPerMinute) * s.Headroom / max(hot, 1)
	}
	return c
}

// reserveOf is the part of a primary quota left to the people and tools
// sharing the credential (the GitHub connector holds requests there too).
func reserveOf(limit int) int { return max(100, limit/50) }

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
