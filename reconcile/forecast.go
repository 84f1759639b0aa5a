package reconcile

import (
	"encoding/binary"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/slipwatch/slipwatch/connectors"
)

// maxForecastDays caps one trial: a team that completes nothing for ten
// years has no forecast worth printing.
const maxForecastDays = 3650

// forecaster holds the scratch space of one forecast, so the trial loop
// allocates nothing.
type forecaster struct {
	days []int32
}

// Forecast runs a bootstrap Monte Carlo: each trial draws daily completion
// counts (zero days included) from the window until remaining items are
// done; the percentiles of the trial lengths are the P50/P85/P95 dates
// after today. The PRNG is seeded from seed and the inputs, so equal input
// gives equal dates.
func ForecastCompletion(seed string, remaining int, tp connectors.Throughput, today connectors.Date, s Settings) Forecast {
	var f forecaster
	return f.run(seed, remaining, tp, today, s)
}

func (f *forecaster) run(seed string, remaining int, tp connectors.Throughput, today connectors.Date, s Settings) Forecast {
	daily := tp.Daily
	if s.Window > 0 && len(daily) > s.Window {
		daily = daily[len(daily)-s.Window:]
	}
	total := 0
	for _, c := range daily {
		total += c
	}
	out := Forecast{Samples: total, Remaining: remaining, Input: forecastInput(seed, remaining, daily, today, s)}
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
	h := fnv.New64a()
	_, _ = h.Write([]byte(out.Input))
	sum := h.Sum64()
	rng := rand.New(rand.NewPCG(sum, sum^0x9e3779b97f4a7c15))
	n := uint64(len(daily))
	for i := range days {
		left, d := remaining, int32(0)
		for left > 0 && d < maxForecastDays {
			left -= daily[rng.Uint64N(n)]
			d++
		}
		days[i] = d
	}
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

// forecastInput identifies a forecast's inputs: the same input string
// means the same forecast, which lets Reconcile reuse the previous one.
func forecastInput(seed string, remaining int, daily []int, today connectors.Date, s Settings) string {
	h := fnv.New64a()
	var b [8]byte
	for _, c := range daily {
		binary.LittleEndian.PutUint64(b[:], uint64(c))
		_, _ = h.Write(b[:])
	}
	return seed + "|" + strconv.Itoa(remaining) + "|" + today.String() + "|" + strconv.Itoa(s.Trials) + "|" +
		strconv.FormatFloat(s.Confidence, 'g', -1, 64) + "|" + strconv.Itoa(s.MinSamples) + "|" + strconv.FormatUint(h.Sum64(), 16)
}
