package reconcile

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// The forecast model (docs/forecast.md). Its constants were chosen with
// the backtest in reconcile/backtest; change one only with the backtest's
// tables in hand (go test ./reconcile/backtest -run TestFullBacktest -full).
const (
	// DefaultRiskBelow is Settings.RiskBelow's default: at_risk when the
	// chance of meeting the promise is below it. Lower flags fewer
	// deliverables that end on time; higher warns earlier.
	DefaultRiskBelow = 0.15

	// riskClear is the hysteresis of at_risk: once warned, a deliverable
	// is back on track only when its chance is this much above RiskBelow,
	// so a chance that wobbles around the line does not flap.
	riskClear = 0.1

	// shareWeight is how many of the team's closes the prior share (the
	// team's deliverable work split evenly among the deliverables in
	// progress) is worth against what the deliverable has really been
	// getting.
	shareWeight = 10
	// shareDrift is how much a share moves, relative to it, as other
	// deliverables start and finish, beyond what counting closes says:
	// taken in full for a deliverable with a small share, not at all for
	// one that has the team to itself.
	shareDrift = 0.3
	// growthWeight is how many planned items finished the team's usual
	// growth is worth against the deliverable's own.
	growthWeight = 20
	// teamGrowthWeight is the same for the team's measure against
	// defaultGrowth, so a handful of items does not set the team's habit.
	teamGrowthWeight = 10
	// defaultGrowth is the items added per planned item finished when the
	// team's habit is unknown: a little growth is the rule, not none.
	defaultGrowth = 0.1
	// minPaceScale bounds how slow one trial's pace can be drawn, as a
	// share of the measured pace (a normal draw has no floor).
	minPaceScale = 0.2

	// A trial walks the future in blocks of blockDays consecutive days of
	// the window (wrapping around at its end), drawn at random: a week
	// keeps its weekend and a burst the quiet days around it.
	blockDays = 7
	// The pace's uncertainty is measured on sums of paceBlockDays
	// consecutive days: long enough that a burst and the quiet days
	// before it cancel out, short enough that the window holds three.
	paceBlockDays = 14
)

// ForecastInput is everything the forecast of one deliverable reads. Build
// it with NewForecastInput, which is what the daemon and the backtest both
// do, so the backtest measures what the daemon runs.
type ForecastInput struct {
	Seed     string          // the commitment ID
	Today    connectors.Date // the forecast counts days after it
	Promised connectors.Date // the promise the chance is about; zero: none

	Open        int // items still open
	PlannedOpen int // of those, the ones already there at the promise
	// Added is the items added since the promise (net), PlannedClosed the
	// items finished since the promise that were there when it was made.
	Added, PlannedClosed int

	// Own is the deliverable's items completed since it started (within
	// the window); Team the team's over the same time, in items.
	Own  int
	Team float64
	// Active is the team's deliverables in progress, this one included.
	Active int
	// Assigned is the share of the team's closes that went to a
	// deliverable (1 when unknown).
	Assigned float64
	// TeamAdded and TeamPlannedClosed are the team's scope growth
	// (connectors.Throughput.ScopeAdded, ScopePlannedClosed).
	TeamAdded, TeamPlannedClosed int

	Daily []int // the team's completed items per day, the window only
}

// NewForecastInput builds the forecast's input from what the trackers
// show: the deliverable's items, its current promise (zero Commitment:
// none), the team's throughput and today.
func NewForecastInput(seed string, items []connectors.Item, promise Commitment, tp connectors.Throughput, today connectors.Date, s Settings) ForecastInput {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	daily := windowOf(tp.Daily, s.Window)
	in := ForecastInput{Seed: seed, Today: today, Promised: promise.Date, Daily: daily,
		TeamAdded: max(tp.ScopeAdded, 0), TeamPlannedClosed: max(tp.ScopePlannedClosed, 0)}
	end := tp.To
	if end.IsZero() {
		end = today
	}
	first := end.AddDays(-(len(daily) - 1)) // the window's first day

	// When the deliverable started: its promise, or its first completed
	// item if that came earlier.
	var start time.Time
	if !promise.At.IsZero() {
		start = promise.At
	}
	ownInWindow := false
	created := 0
	for _, it := range items {
		if !promise.At.IsZero() && it.CreatedAt.After(promise.At) {
			created++
		}
		if !it.Done() {
			in.Open++
			if promise.At.IsZero() || !it.CreatedAt.After(promise.At) {
				in.PlannedOpen++
			}
			continue
		}
		if start.IsZero() || it.ClosedAt.Before(start) {
			start = it.ClosedAt
		}
		if d := connectors.DateOf(it.ClosedAt, loc); !d.Before(first) && !d.After(end) {
			ownInWindow = true
		}
		if !promise.At.IsZero() && it.ClosedAt.After(promise.At) && !it.CreatedAt.After(promise.At) {
			in.PlannedClosed++
		}
	}
	if !promise.At.IsZero() {
		in.Added = created
		if promise.Scope > 0 {
			// The count reconcile judges scope_grew by: it also sees items
			// moved in from elsewhere, whose creation predates the promise.
			in.Added = len(items) - promise.Scope
		}
		in.Added = max(in.Added, 0)
	}

	// The deliverable's share: its closes against the team's since it
	// started, the start day counted from the start's time of day on.
	if !start.IsZero() && len(daily) > 0 {
		sd := connectors.DateOf(start, loc)
		frac := 1.0
		if sd.Before(first) {
			sd = first
		} else {
			day0 := sd.Time(loc)
			frac = 1 - float64(start.Sub(day0))/float64(day0.AddDate(0, 0, 1).Sub(day0))
		}
		for i := max(sd.Sub(first), 0); i < len(daily); i++ {
			w := 1.0
			if i == sd.Sub(first) {
				w = frac
			}
			in.Team += w * float64(daily[i])
		}
		for _, it := range items {
			if it.Done() && !it.ClosedAt.Before(start) {
				if d := connectors.DateOf(it.ClosedAt, loc); !d.Before(sd) && !d.After(end) {
					in.Own++
				}
			}
		}
	}
	in.Active = max(tp.Active, 0)
	if !ownInWindow {
		in.Active++ // the connector counted only deliverables with closes
	}
	in.Active = max(in.Active, 1)
	in.Assigned = 1
	total := 0
	for _, c := range daily {
		total += c
	}
	if tp.Assigned > 0 && total > 0 {
		in.Assigned = min(float64(tp.Assigned)/float64(total), 1)
	}
	return in
}

// Forecaster holds the scratch space of forecasts, so a reused one
// allocates only each forecast's Input string. The zero value is ready.
type Forecaster struct {
	hist   [maxForecastDays + 1]int32 // trials by length in days
	prefix []int32                    // per day of the window, the running sums of the block from it
	pcg    rand.PCG
	rng    *rand.Rand // reads pcg
}

// ForecastDeliverable runs the forecast of in (see Forecaster.Forecast).
func ForecastDeliverable(in ForecastInput, s Settings) Forecast {
	var f Forecaster
	return f.Forecast(in, s)
}

// Forecast runs the Monte Carlo forecast of in: each trial draws a pace
// for the team around the measured one (the window's mean is only an
// estimate), gives the deliverable its share of it, and counts the days
// the team's resampled daily closes take to finish the open items plus
// those the scope is expected to gain, less the team's items done but not
// yet closed (catchUp). The PRNG is seeded from the inputs,
// so equal input gives equal dates.
func (f *Forecaster) Forecast(in ForecastInput, s Settings) Forecast {
	daily := in.Daily
	total := 0
	for _, c := range daily {
		total += c
	}
	var buf [256]byte
	key := in.AppendKey(buf[:0], s)
	share, growth := in.share(), in.growth()
	out := Forecast{Samples: total, Remaining: in.Open, Input: string(key), Promised: in.Promised,
		Share: round3(share), Concurrent: in.Active - 1, Added: in.Added, Growth: round3(growth)}
	if len(daily) > 0 {
		out.Pace = round3(float64(total) / float64(len(daily)))
	}
	if in.Open <= 0 {
		out.Enough = true
		out.P50, out.P85, out.P95 = in.Today, in.Today, in.Today
		if !in.Promised.IsZero() {
			out.ChanceKnown, out.Chance = true, 1
		}
		return out
	}
	if total < max(s.MinSamples, 1) || len(daily) == 0 {
		return out
	}
	trials := max(s.Trials, 1)
	// The seed leaves the promise out, so moving the promise moves the
	// chance along the same trials and never the dates.
	unpromised := in
	unpromised.Promised = connectors.Date{}
	sum := fnv64a(unpromised.AppendKey(buf[:0], s))
	f.pcg.Seed(sum, sum^0x9e3779b97f4a7c15)
	if f.rng == nil {
		f.rng = rand.New(&f.pcg)
	}
	work := float64(in.Open) + growth*float64(in.PlannedOpen)
	l := min(blockDays, len(daily))
	f.fillPool(daily, l)
	f.hist = [maxForecastDays + 1]int32{}
	// Items already done but not yet closed need no more work; the
	// deliverable still waits for the next close.
	need := work / share
	need = max(need-catchUp(daily), min(need, 1))
	f.trials(trials, need, in.spread(daily, total, work), len(daily), l)

	// Walk the lengths in order: the percentiles, and the share of trials
	// done by the promise.
	ahead := -1
	if !in.Promised.IsZero() {
		ahead = in.Promised.Sub(in.Today)
	}
	qs := [3]float64{0.5, s.Confidence, 0.95}
	var at [3]int
	q, seen, byPromise := 0, 0, 0
	for d, n := range f.hist {
		before := seen // the trials done before day d
		seen += int(n)
		if d <= ahead {
			byPromise = seen
		}
		// The median is the day whose share of futures done by it is the
		// nearest to half: when many futures end on one day, the day
		// before may be the fairer even bet. P85 and P95 are the first
		// days done in at least that share: they are margins, and do not
		// round down.
		if q == 0 && 2*seen >= trials {
			at[0] = d
			if d > 0 && trials-2*before < 2*seen-trials {
				at[0] = d - 1
			}
			q++
		}
		for q > 0 && q < len(qs) && seen >= max(int(qs[q]*float64(trials)+0.999999), 1) {
			at[q] = d
			q++
		}
	}
	for ; q < len(qs); q++ {
		at[q] = maxForecastDays
	}
	out.Enough = true
	out.P50, out.P85, out.P95 = in.Today.AddDays(at[0]), in.Today.AddDays(at[1]), in.Today.AddDays(at[2])
	if !in.Promised.IsZero() {
		out.ChanceKnown, out.Chance = true, float64(byPromise)/float64(trials)
	}
	return out
}

// spread is the relative standard deviation of the pace one trial draws:
// the uncertainty of the team's mean pace, of the deliverable's share of
// it and of the growth still to come, and how much the team's pace itself
// moved in the window.
func (in ForecastInput) spread(daily []int, total int, work float64) float64 {
	se, moved := paceSE(daily, total, min(paceBlockDays, len(daily)))
	cv := in.shareCV()
	drift := shareDrift * (1 - in.prior())
	gv := in.growthSD() * float64(in.PlannedOpen) / work
	return math.Sqrt(se*se + cv*cv + drift*drift + gv*gv + moved)
}

// share is the deliverable's expected share of the team's pace: the prior
// (the team's deliverable work split among the k deliverables in
// progress), worth shareWeight closes, updated by what it has really been
// getting since it started.
func (in ForecastInput) share() float64 {
	prior := in.prior()
	team := max(in.Team, float64(in.Own))
	s := (float64(in.Own) + shareWeight*prior) / (team + shareWeight)
	return min(max(s, 0.01), 1)
}

// prior is the share a deliverable gets before it shows its own: the
// team's closes that go to deliverables, split evenly among those in
// progress.
func (in ForecastInput) prior() float64 {
	a := in.Assigned
	if a <= 0 {
		a = 1
	}
	return min(a, 1) / float64(max(in.Active, 1))
}

// shareCV is the relative spread of the share: the standard deviation of
// the Beta distribution share() is the mean of, over that mean.
func (in ForecastInput) shareCV() float64 {
	prior := in.prior()
	team := max(in.Team, float64(in.Own))
	a := float64(in.Own) + shareWeight*prior
	b := team - float64(in.Own) + shareWeight*(1-prior)
	if a <= 0 {
		return 0
	}
	return math.Sqrt(b / (a * (a + b + 1)))
}

// growth is the items the deliverable is expected to gain per planned
// item still open: its own measure since the promise, pulled toward the
// team's habit.
func (in ForecastInput) growth() float64 {
	team := (float64(in.TeamAdded) + teamGrowthWeight*defaultGrowth) / (float64(in.TeamPlannedClosed) + teamGrowthWeight)
	return (float64(in.Added) + growthWeight*team) / (float64(in.PlannedClosed) + growthWeight)
}

// growthSD is the uncertainty of growth(): the items added per planned
// item finished are counted like a Poisson rate over the planned items
// (own and the prior's weight) it was measured on.
func (in ForecastInput) growthSD() float64 {
	return math.Sqrt(in.growth() / (float64(in.PlannedClosed) + growthWeight))
}

// paceSE is the standard error of the window's mean daily count, relative
// to the mean: how far the team's real pace may be from the measured one.
// It is measured on sums of l consecutive days, so bursts (lumpy days,
// steady weeks) do not pass for uncertainty and a slow fortnight does.
//
// moved is how much the team's pace itself moved within the window,
// relative to it (a variance). A pace that moves makes the variance of
// l-day sums grow as l², while closing in bursts adds to it the same for
// any l and a steady pace makes it grow as l: twice the variance of
// half-length sums, subtracted, leaves the movement alone.
func paceSE(daily []int, total, l int) (se, moved float64) {
	n := len(daily)
	if n < 2 || total == 0 {
		return 0, 0
	}
	l = min(l, n)
	mean := float64(total) / float64(n)
	v, h := sumVar(daily, mean, l), sumVar(daily, mean, l/2)
	meanL := mean * float64(l)
	return math.Sqrt(v/float64(l)/float64(n)) / mean, max(2*(v-2*h), 0) / (meanL * meanL)
}

// sumVar is the variance of the sums of l consecutive days of the window,
// wrapping around at its end, about l times mean.
func sumVar(daily []int, mean float64, l int) float64 {
	n := len(daily)
	if l < 1 {
		return 0
	}
	ss, run := 0.0, 0
	for j := range l {
		run += daily[j%n]
	}
	for i := range n {
		d := float64(run) - mean*float64(l)
		ss += d * d
		run += daily[(i+l)%n] - daily[i]
	}
	return ss / float64(n)
}

// catchUp is the team's items done but not yet closed, by what the window
// shows: a team that closes in batches brings, on a day it closes, more
// items the longer it has been quiet before, and today's quiet spell holds
// that many. It is the slope of a close day's count over the quiet days
// before it (least squares), times the quiet days that end the window: a
// team that closes every working day has no slope (Monday brings no more
// than Tuesday), and a holiday, followed by an ordinary day, flattens it.
func catchUp(daily []int) float64 {
	n := len(daily)
	quiet := 0
	for quiet < n && daily[n-1-quiet] == 0 {
		quiet++
	}
	if quiet == 0 || quiet == n {
		return 0
	}
	var k, sx, sy, sxx, sxy float64
	run, seen := 0, false // the quiet days before day i; seen: a close before them
	for _, c := range daily {
		if c == 0 {
			run++
			continue
		}
		if seen {
			x, y := float64(run), float64(c)
			k++
			sx += x
			sy += y
			sxx += x * x
			sxy += x * y
		}
		seen, run = true, 0
	}
	den := k*sxx - sx*sx
	if k < 3 || den <= 0 {
		return 0
	}
	return max((k*sxy-sx*sy)/den, 0) * float64(quiet)
}

// fillPool lays out the window's blocks: for each day of the window, the
// running sums of the l days from it on (wrapping around at the end).
func (f *Forecaster) fillPool(daily []int, l int) {
	n := len(daily)
	if cap(f.prefix) < n*l {
		f.prefix = make([]int32, n*l)
	}
	p := f.prefix[:n*l]
	for i := range n {
		run := int32(0)
		for j := range l {
			run += int32(daily[(i+j)%n])
			p[i*l+j] = run
		}
	}
}

// trials counts in f.hist the length of n simulated futures: need team
// items at the measured pace, scaled per trial by 1 + Z·spread, walked in
// blocks of l consecutive days of the window drawn at random.
func (f *Forecaster) trials(n int, need, spread float64, days, l int) {
	rng, p := f.rng, f.prefix[:days*l]
	last := int32(l)
	for range n {
		scale := max(1+rng.NormFloat64()*spread, minPaceScale)
		left := int32(min(math.Ceil(need/scale), math.MaxInt32/2))
		d := int32(0)
		for {
			b := int(rng.Uint64N(uint64(days))) * l
			blk := p[b : b+l : b+l]
			if blk[last-1] >= left {
				j := int32(0)
				for blk[j] < left {
					j++
				}
				d += j + 1
				break
			}
			left -= blk[last-1]
			d += last
			if d >= maxForecastDays {
				d = maxForecastDays
				break
			}
		}
		f.hist[min(d, maxForecastDays)]++
	}
}

// AppendKey appends the text that identifies the forecast of in under s:
// the same text means the same forecast, which lets Reconcile reuse the
// previous one. Its "v2|" prefix keeps it from matching the keys that
// records saved before issue #20's model hold.
func (in ForecastInput) AppendKey(b []byte, s Settings) []byte {
	h := uint64(fnvOffset)
	var w [8]byte
	for _, c := range in.Daily {
		binary.LittleEndian.PutUint64(w[:], uint64(c))
		h = fnvAdd(h, w[:])
	}
	b = append(b, "v2|"...)
	b = append(b, in.Seed...)
	b = append(b, '|')
	b = appendKeyDate(b, in.Today)
	b = append(b, '|')
	b = appendKeyDate(b, in.Promised)
	for _, n := range [...]int{in.Open, in.PlannedOpen, in.Added, in.PlannedClosed, in.Own, in.Active, in.TeamAdded, in.TeamPlannedClosed, s.Trials, s.MinSamples} {
		b = append(b, '|')
		b = strconv.AppendInt(b, int64(n), 10)
	}
	b = append(b, '|')
	b = strconv.AppendFloat(b, in.Team, 'g', -1, 64)
	b = append(b, '|')
	b = strconv.AppendFloat(b, in.Assigned, 'g', -1, 64)
	b = append(b, '|')
	b = strconv.AppendFloat(b, s.Confidence, 'g', -1, 64)
	b = append(b, '|')
	return strconv.AppendUint(b, h, 16)
}

func appendKeyDate(b []byte, d connectors.Date) []byte {
	if d.IsZero() || d.Year < 0 || d.Year > 9999 || d.Month < 1 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return append(b, d.String()...)
	}
	return appendDate(b, d)
}

// IsAtRisk is the at_risk rule: a deliverable is at risk when the chance of
// meeting its promise is below s.RiskBelow (zero: DefaultRiskBelow), and
// stays so until the chance is riskClear above it. No chance (no promise,
// not enough history) is no warning.
func IsAtRisk(was bool, f Forecast, s Settings) bool {
	below := s.RiskBelow
	if below == 0 {
		below = DefaultRiskBelow
	}
	if !f.Enough || !f.ChanceKnown {
		return false
	}
	if was {
		return f.Chance < below+riskClear
	}
	return f.Chance < below
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
