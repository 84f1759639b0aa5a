package reconcile

// The forecast's defaults (with DefaultRiskBelow), chosen with the
// backtest: config's forecast.* defaults are these, and the backtest runs
// under them.
const (
	DefaultWindowDays = 42   // forecast.window, in days
	DefaultConfidence = 0.85 // forecast.confidence
	DefaultMinSamples = 5    // forecast.min_samples
)

// maxForecastDays caps one trial: a team that completes nothing for ten
// years has no forecast worth printing.
const maxForecastDays = 3650

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
