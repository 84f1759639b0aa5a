package backtest

import (
	"math/rand/v2"
	"slices"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// oldModel is the forecast slipwatch had before issue #20, kept as the
// backtest's baseline: a bootstrap Monte Carlo that draws single days of
// the whole team's window until the deliverable's open items are done
// (no share of the team, no growth, the window's mean taken as exact).
// The product no longer runs it.
//
// A zero oldModel is ready; reused, it keeps its scratch space.
type oldModel struct{ days []int32 }

func (m *oldModel) forecast(seed string, remaining int, tp connectors.Throughput, s reconcile.Settings, today connectors.Date) reconcile.Forecast {
	daily := tp.Daily
	if s.Window > 0 && len(daily) > s.Window {
		daily = daily[len(daily)-s.Window:]
	}
	total := 0
	for _, c := range daily {
		total += c
	}
	out := reconcile.Forecast{Samples: total, Remaining: remaining}
	if remaining <= 0 {
		out.Enough = true
		out.P50, out.P85, out.P95 = today, today, today
		return out
	}
	if total < max(s.MinSamples, 1) || len(daily) == 0 {
		return out
	}
	trials := max(s.Trials, 1)
	if cap(m.days) < trials {
		m.days = make([]int32, trials)
	}
	days := m.days[:trials]
	h := fnv(seed, uint64(remaining), uint64(today.Days()), uint64(total))
	rng := rand.New(rand.NewPCG(h, h^0x9e3779b97f4a7c15))
	n := uint64(len(daily))
	for i := range days {
		left, d := remaining, int32(0)
		for left > 0 && d < oldMaxDays {
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

// oldMaxDays caps one trial of the old model, as the product's cap did.
const oldMaxDays = 3650

// fnv seeds a forecast from its inputs (FNV-1a over the seed and values),
// so the same input gives the same dates.
func fnv(seed string, vals ...uint64) uint64 {
	h := uint64(14695981039346656037)
	add := func(c byte) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	for i := 0; i < len(seed); i++ {
		add(seed[i])
	}
	for _, v := range vals {
		for range 8 {
			add(byte(v))
			v >>= 8
		}
	}
	return h
}
