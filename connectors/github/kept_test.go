package github

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSecondsKeepTimes: an item's created and closed times come out of
// the index as GitHub gave them, and a time that 32-bit seconds cannot
// hold is kept as the nearest they can, never as unset: a closed issue
// must not pass for an open one.
func TestSecondsKeepTimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in, want time.Time
	}{
		{"unset", time.Time{}, time.Time{}},
		{"GitHub's first days", time.Date(2008, 2, 8, 18, 3, 4, 0, time.UTC), time.Date(2008, 2, 8, 18, 3, 4, 0, time.UTC)},
		{"now", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		{"with an offset", time.Date(2026, 3, 2, 11, 30, 0, 0, time.FixedZone("CET", 3600)), time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)},
		{"the last second held", time.Unix(math.MaxUint32, 0), time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC)},
		{"after 2106", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC)},
		{"before 1970", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := secondsOf(tt.in).time()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("secondsOf(%v).time() (-want +got):\n%s", tt.in, diff)
			}
			if got.Location() != time.UTC {
				t.Errorf("secondsOf(%v).time() is in %v, want UTC as GitHub gives it", tt.in, got.Location())
			}
		})
	}
}
