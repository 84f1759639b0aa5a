package reconcile

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
