package backtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// World is a kind of team the backtest simulates (docs/forecast.md).
type World struct {
	Name       string
	Drift      bool // the pace drifts ±30 % over a quarter
	Bursts     bool // done items are closed in bursts (triage days), not as they are done
	Growth     bool // scope grows 10–50 % while the work runs
	Holidays   bool // a 1–2 week holiday inside each deliverable
	Concurrent bool // the team works on 2–4 deliverables at once
	Mixed      bool // every team draws its own traits: the realistic world
}

// Worlds are the worlds of the backtest, in the order of its tables.
func Worlds() []World {
	return []World{
		{Name: "steady"},
		{Name: "drift", Drift: true},
		{Name: "bursts", Bursts: true},
		{Name: "scope growth", Growth: true},
		{Name: "holidays", Holidays: true},
		{Name: "concurrent", Concurrent: true},
		{Name: "mixed", Mixed: true},
	}
}

// Simulation constants. A team closes Poisson(λ) items a working day, λ
// drawn per team; weekends and holidays run at a twentieth of that.
const (
	epochDays   = 20094 // 2025-01-06, a Monday, in connectors.Date.Days
	warmupDays  = 70    // history before the first measured promise
	maxSimDays  = 3000
	offFactor   = 0.05 // weekends and holidays
	driftTheta  = 1.0 / 90
	driftSigma  = 0.037 // with driftTheta: the log pace wanders ±0.25 (≈ ±30 %) over a quarter
	burstChance = 0.25  // of a working day being a triage day, with bursts
)

// team is one simulated team.
type team struct {
	rng       *rand.Rand
	name      string
	lambda    float64 // items per working day
	k         int     // deliverables at once
	unplanned float64 // share of closes outside any deliverable
	drift     bool
	logPace   float64
	bursts    bool
	pending   int
	growth    float64 // the team's usual scope growth per planned item; 0: none
	holidays  bool    // one inside each deliverable
	teamHols  bool    // now and then, whatever the deliverables
	holFrom   int     // the next (or current) holiday: days [holFrom, holTo)
	holTo     int

	daily []int
	live  []*simDeliverable
	all   []*simDeliverable
	quota int // measured deliverables still to start
}

type simDeliverable struct {
	d       Deliverable
	weight  float64
	growth  float64
	open    []int // indexes of open items
	planned int   // items at the promise
}

func day(t int) connectors.Date { return connectors.DateFromDays(epochDays + t) }

func at(t int, hour float64) time.Time {
	return day(t).Time(time.UTC).Add(time.Duration(hour * float64(time.Hour)))
}

// simulate runs one team of world w until quota measured deliverables
// are delivered, and returns its history.
func simulate(w World, seed uint64, index, quota int) History {
	rng := rand.New(rand.NewPCG(seed, uint64(index)))
	tm := &team{rng: rng, name: fmt.Sprintf("%s/%d", w.Name, index), lambda: 1.5 + 4.5*rng.Float64(), k: 1, quota: quota}
	switch {
	case w.Concurrent:
		tm.k = 2 + rng.IntN(3)
	case w.Mixed:
		tm.k = pick(rng, []float64{0.25, 0.35, 0.25, 0.15}) + 1
	}
	tm.drift = w.Drift || w.Mixed && rng.Float64() < 0.6
	tm.bursts = w.Bursts || w.Mixed && rng.Float64() < 0.3
	if w.Growth || w.Mixed && rng.Float64() < 0.6 {
		tm.growth = 0.15 + 0.3*rng.Float64()
	}
	tm.holidays = w.Holidays
	if w.Mixed {
		tm.unplanned = 0.25 * rng.Float64()
		tm.teamHols = true
		tm.holFrom = 20 + rng.IntN(150)
		tm.holTo = tm.holFrom + 7 + rng.IntN(8)
	}
	if tm.drift {
		tm.logPace = 0.25 * rng.NormFloat64()
	}
	for range tm.k {
		tm.start(0)
	}
	for t := 1; t < maxSimDays; t++ {
		tm.work(t)
		if tm.quota == 0 && !tm.measuring() {
			break
		}
	}
	h := History{From: day(0), Daily: tm.daily}
	for _, d := range tm.all {
		h.Deliverables = append(h.Deliverables, d.d)
	}
	return h
}

func (tm *team) measuring() bool {
	for _, d := range tm.live {
		if d.d.Measure {
			return true
		}
	}
	return false
}

func (tm *team) onHoliday(t int) bool { return t >= tm.holFrom && t < tm.holTo }

// work plays day t: the team's closes, the scope they bring, deliveries,
// and new deliverables promised at the end of the day.
func (tm *team) work(t int) {
	rng := tm.rng
	for len(tm.daily) <= t {
		tm.daily = append(tm.daily, 0)
	}
	if tm.teamHols && t >= tm.holTo {
		tm.holFrom = t + 45 + rng.IntN(105)
		tm.holTo = tm.holFrom + 7 + rng.IntN(8)
	}
	off := t%7 >= 5 || tm.onHoliday(t)
	rate := tm.lambda
	if off {
		rate *= offFactor
	}
	if tm.drift {
		tm.logPace += -driftTheta*tm.logPace + driftSigma*rng.NormFloat64()
		rate *= math.Exp(tm.logPace)
	}
	n := poisson(rng, rate)
	if tm.bursts {
		tm.pending += n
		n = 0
		if !off && rng.Float64() < burstChance {
			n, tm.pending = tm.pending, 0
		}
	}
	for range n {
		tm.daily[t]++
		if rng.Float64() < tm.unplanned {
			continue
		}
		if d := tm.choose(); d != nil {
			tm.close(d, t)
		}
	}
	live := tm.live[:0]
	for _, d := range tm.live {
		if len(d.open) == 0 {
			d.d.Delivered = day(t)
			continue
		}
		live = append(live, d)
	}
	tm.live = live
	for len(tm.live) < tm.k {
		tm.start(t)
	}
}

// choose is the deliverable the next close goes to, by priority among
// those with open items.
func (tm *team) choose() *simDeliverable {
	sum := 0.0
	for _, d := range tm.live {
		if len(d.open) > 0 {
			sum += d.weight
		}
	}
	if sum == 0 {
		return nil
	}
	x := tm.rng.Float64() * sum
	for _, d := range tm.live {
		if len(d.open) == 0 {
			continue
		}
		if x -= d.weight; x < 0 {
			return d
		}
	}
	for i := len(tm.live) - 1; ; i-- {
		if len(tm.live[i].open) > 0 {
			return tm.live[i]
		}
	}
}

// close completes one open item of d on day t; a planned item may bring
// new ones (scope growth).
func (tm *team) close(d *simDeliverable, t int) {
	rng := tm.rng
	j := rng.IntN(len(d.open))
	idx := d.open[j]
	d.open[j] = d.open[len(d.open)-1]
	d.open = d.open[:len(d.open)-1]
	d.d.Items[idx].ClosedAt = at(t, 15)
	if idx >= d.planned || d.growth <= 0 {
		return
	}
	// Two items at a time on average, so growth comes in lumps.
	if rng.Float64() < d.growth/2 {
		for range 1 + rng.IntN(3) {
			d.open = append(d.open, len(d.d.Items))
			d.d.Items = append(d.d.Items, connectors.Item{ID: fmt.Sprint(len(d.d.Items)), CreatedAt: at(t, 16)})
		}
	}
}

// start makes a new deliverable at the end of day t and promises a date
// the way teams do: the planned items at the team's recent pace, split
// among the deliverables in progress, with an optimism or a margin of its
// own.
func (tm *team) start(t int) {
	rng := tm.rng
	weight := 1.0
	if tm.k > 1 {
		weight = 0.5 + 1.5*rng.Float64()
	}
	sum := weight
	for _, d := range tm.live {
		sum += d.weight
	}
	share := weight / sum
	calPace := tm.lambda * (5 + 2*offFactor) / 7 * (1 - tm.unplanned)
	n0 := max(5, int(math.Round((21+49*rng.Float64())*calPace*share)))
	recent, days := 0, 0
	for i := max(0, t-41); i <= t && i < len(tm.daily); i++ {
		recent += tm.daily[i]
		days++
	}
	pace := calPace
	if t >= 28 && recent > 0 {
		pace = float64(recent) / float64(days) * (1 - tm.unplanned)
	}
	// Teams know their habits: half their usual growth goes in the plan.
	est := float64(n0) * (1 + tm.growth/2) / (pace * share)
	promised := t + max(7, int(math.Ceil(est*math.Exp(0.2+0.35*rng.NormFloat64()))))
	d := &simDeliverable{weight: weight, planned: n0}
	if tm.growth > 0 {
		d.growth = max(0.05, tm.growth+0.2*(rng.Float64()-0.5))
	}
	d.d = Deliverable{ID: fmt.Sprintf("%s/%d", tm.name, len(tm.all)), Promised: day(promised), PromisedAt: at(t, 23), Scope: n0}
	for i := range n0 {
		d.d.Items = append(d.d.Items, connectors.Item{ID: fmt.Sprint(i), CreatedAt: at(t, 9)})
		d.open = append(d.open, i)
	}
	if t >= warmupDays && tm.quota > 0 {
		d.d.Measure = true
		tm.quota--
	}
	if tm.holidays && !tm.onHoliday(t+1) {
		tm.holFrom = t + 1 + rng.IntN(max(1, int(est)))
		tm.holTo = tm.holFrom + 7 + rng.IntN(8)
	}
	tm.live = append(tm.live, d)
	tm.all = append(tm.all, d)
}

func pick(rng *rand.Rand, weights []float64) int {
	x := rng.Float64()
	for i, w := range weights {
		if x -= w; x < 0 {
			return i
		}
	}
	return len(weights) - 1
}

// poisson draws a Poisson(mean) count (Knuth; the means here are small).
func poisson(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	limit, p, n := math.Exp(-mean), rng.Float64(), 0
	for p > limit {
		p *= rng.Float64()
		n++
	}
	return n
}
