package reconcile

import (
	"testing"

	"github.com/slipwatch/slipwatch/connectors"
)

// TestForecastPinned: forecasts are stored with their Input and reused,
// so the same inputs must keep giving the same dates and Input across
// releases. The values were produced by the first implementation
// (hash/fnv, fmt).
func TestForecastPinned(t *testing.T) {
	tests := []struct {
		seed          string
		remaining     int
		daily         []int
		p50, p85, p95 string
		enough        bool
		input         string
	}{
		{"x", 30, []int{0, 1, 3, 0, 2, 5, 0, 1, 1, 2, 0, 4, 1, 0}, "2026-11-23", "2026-11-29", "2026-12-02", true, "x|30|2026-11-02|2000|0.85|5|38f1211d424cd3c7"},
		{"b44d2f53b3f78064", 7, []int{1, 0, 0, 2, 0, 1}, "", "", "", false, "b44d2f53b3f78064|7|2026-11-02|2000|0.85|5|c3ee033f4e747d07"},
		{"y", 200, []int{0, 0, 0, 0, 9}, "2027-02-25", "2027-03-20", "2027-04-03", true, "y|200|2026-11-02|2000|0.85|5|19b20f4c3d81632c"},
		{"z", 0, []int{1}, "2026-11-02", "2026-11-02", "2026-11-02", true, "z|0|2026-11-02|2000|0.85|5|89cd31291d2aefa4"},
	}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			f := ForecastCompletion(tt.seed, tt.remaining, connectors.Throughput{Daily: tt.daily}, connectors.Date{Year: 2026, Month: 11, Day: 2}, settings())
			if f.P50.String() != tt.p50 || f.P85.String() != tt.p85 || f.P95.String() != tt.p95 || f.Enough != tt.enough || f.Input != tt.input {
				t.Errorf("got %s %s %s %v %q, want %s %s %s %v %q", f.P50, f.P85, f.P95, f.Enough, f.Input, tt.p50, tt.p85, tt.p95, tt.enough, tt.input)
			}
		})
	}
}

// TestForecastTrialLoopAllocatesNothing: the budget is no
// allocation per trial; a reused forecaster allocates only the Input
// string per forecast.
func TestForecastTrialLoopAllocatesNothing(t *testing.T) {
	s := settings()
	s.Trials = 1000
	tp := connectors.Throughput{Daily: []int{0, 1, 3, 0, 2, 5, 0, 1}}
	today := connectors.Date{Year: 2026, Month: 11, Day: 2}
	var f forecaster
	f.run("x", 40, tp, today, s)
	if n := testing.AllocsPerRun(20, func() { f.trials(f.days[:s.Trials], 40, tp.Daily) }); n != 0 {
		t.Errorf("trial loop: %v allocations per run, want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() { f.run("x", 40, tp, today, s) }); n > 1 {
		t.Errorf("forecast: %v allocations per run, want at most 1 (its Input)", n)
	}
}

// BenchmarkForecast10kTrials is the trial loop alone, 10 000 trials.
func BenchmarkForecast10kTrials(b *testing.B) {
	s := settings()
	s.Trials = 10000
	tp := connectors.Throughput{Daily: []int{0, 1, 3, 0, 2, 5, 0, 1, 1, 2, 0, 4, 1, 0, 2, 2, 1, 0, 3, 1, 1}}
	var f forecaster
	f.run("x", 40, tp, connectors.Date{Year: 2026, Month: 11, Day: 2}, s)
	b.ReportAllocs()
	for b.Loop() {
		f.trials(f.days[:s.Trials], 40, tp.Daily)
	}
}
