package reconcile

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/slipwatch/slipwatch/connectors"
)

// maxForecastDays caps one trial: a team that completes nothing for ten
// years has no forecast worth printing.
const maxForecastDays = 3650

// forecaster holds the scratch space of one forecast, so the trial loop
// allocates nothing; reused, a forecast allocates only its Input string.
type forecaster struct {
	days []int32
	pcg  rand.PCG
	rng  *rand.Rand // reads pcg
}

// ForecastCompletion runs a bootstrap Monte Carlo: each trial draws daily
// completion counts (zero days included) from the window until remaining
// items are done; the percentiles of the trial lengths are the P50/P85/P95
// dates after today. The PRNG is seeded from seed and the inputs, so equal
// input gives equal dates.
//
// It is the model before issue #20: the whole team's pace for one
// deliverable, no growth, the window's mean taken as exact. The backtest
// keeps it as its baseline; the product's forecast is Forecaster.Forecast
// (model.go).
func ForecastCompletion(seed string, remaining int, tp connectors.Throughput, today connectors.Date, s Settings) Forecast {
	var f forecaster
	return f.run(seed, remaining, tp, today, s)
}

func (f *forecaster) run(seed string, remaining int, tp connectors.Throughput, today connectors.Date, s Settings) Forecast {
	daily := windowOf(tp.Daily, s.Window)
	total := 0
	for _, c := range daily {
		total += c
	}
	var buf [160]byte
	input := appendForecastInput(buf[:0], seed, remaining, daily, today, s)
	out := Forecast{Samples: total, Remaining: remaining, Input: string(input)}
	if remaining <= 0 {
		out.Enough = true
		out.P50, out.P85, out.P95 = today, today, today
		return out
	}
	if total < max(s.MinSamples, 1) || len(daily) == 0 {
		return out
	}
	trials := max(s.Trials, 1)
	if cap(f.days) < trials {
		f.days = make([]int32, trials)
	}
	days := f.days[:trials]
	sum := fnv64a(input)
	f.pcg.Seed(sum, sum^0x9e3779b97f4a7c15)
	if f.rng == nil {
		f.rng = rand.New(&f.pcg)
	}
	f.trials(days, remaining, daily)
	slices.Sort(days)
	pick := func(q float64) connectors.Date {
		i := int(q*float64(trials)+0.999999) - 1
		i = min(max(i, 0), trials-1)
		return today.AddDays(int(days[i]))
	}
	out.Enough = true
	out.P50, out.P85, out.P95 = pick(0.5), pick(s.Confidence), pick(0.95)
	return out
}

// trials fills days with the length of one simulated future each.
func (f *forecaster) trials(days []int32, remaining int, daily []int) {
	n, rng := uint64(len(daily)), f.rng
	for i := range days {
		left, d := remaining, int32(0)
		for left > 0 && d < maxForecastDays {
			left -= daily[rng.Uint64N(n)]
			d++
		}
		days[i] = d
	}
}

// appendForecastInput identifies a forecast's inputs: the same text means
// the same forecast, which lets Reconcile reuse the previous one. It is
// seed|remaining|today|trials|confidence|min_samples|fnv64a(daily).
func appendForecastInput(b []byte, seed string, remaining int, daily []int, today connectors.Date, s Settings) []byte {
	h := uint64(fnvOffset)
	var w [8]byte
	for _, c := range daily {
		binary.LittleEndian.PutUint64(w[:], uint64(c))
		h = fnvAdd(h, w[:])
	}
	b = append(b, seed...)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(remaining), 10)
	b = append(b, '|')
	if today.IsZero() || today.Year < 0 || today.Year > 9999 || today.Month < 1 || today.Month > 99 || today.Day < 0 || today.Day > 99 {
		b = append(b, today.String()...)
	} else {
		b = appendDate(b, today)
	}
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(s.Trials), 10)
	b = append(b, '|')
	b = strconv.AppendFloat(b, s.Confidence, 'g', -1, 64)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(s.MinSamples), 10)
	b = append(b, '|')
	return strconv.AppendUint(b, h, 16)
}

// FNV-1a, 64 bit (hash/fnv's New64a, without its allocation).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, p []byte) uint64 {
	for _, c := range p {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fnv64a(p []byte) uint64 { return fnvAdd(fnvOffset, p) }
