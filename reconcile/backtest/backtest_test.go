package backtest

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

var (
	full = flag.Bool("full", false, "run the full backtest (BENCHMARKS.md, docs/forecast.md) and check the issue's targets")
	out  = flag.String("out", "", "with -full: write the report's Markdown to this file")
)

// knownMisses are the targets the model does not meet, and why
// (docs/forecast.md, "What it cannot see"). TestFullBacktest fails on any
// other miss; it says so when one of these starts to pass.
var knownMisses = map[string]string{
	"P85 coverage at 25/50/75 % (time), bursts":     "items closed in batches: the week-long blocks still see more spread than there is",
	"P85 coverage at 25/50/75 % (time), holidays":   "a holiday not yet in the window cannot be foreseen",
	"P50 coverage at 25/50/75 % (time), holidays":   "the holiday, once behind the work, still slows the measured pace",
	"P50 coverage at 25/50/75 % (progress), bursts": "a burst both reaches the checkpoint and empties the backlog",
	// 10.7 points in the 40–50 % tenth (112 statements): about two
	// standard errors, and the tenths' largest gap moves by 3 points
	// between runs of 500 that differ only in the connectors' growth
	// estimate; the model leans a little cautious in mid-range.
	"chance calibration, mixed: largest gap in a tenth with ≥ 30": "sampling noise at the line: ±5 points per tenth; a little cautious mid-range",
}

// TestFullBacktest is the run behind BENCHMARKS.md and docs/forecast.md:
//
//	go test ./reconcile/backtest -run TestFullBacktest -full -v -timeout 30m [-out FILE]
func TestFullBacktest(t *testing.T) {
	if !*full {
		t.Skip("the full backtest runs with -full")
	}
	rep := Run(FullConfig())
	md := rep.Markdown()
	t.Log("\n" + md)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tg := range rep.Targets() {
		why, known := knownMisses[tg.Name]
		switch {
		case !tg.Met && !known:
			t.Errorf("MISS %s: %s, want %s", tg.Name, tg.Measured, tg.Want)
		case !tg.Met:
			t.Logf("known miss %s: %s, want %s (%s)", tg.Name, tg.Measured, tg.Want, why)
		case known:
			t.Logf("%s now meets its target (%s): take it off knownMisses", tg.Name, tg.Measured)
		}
	}
}

// TestShortBacktest is the backtest CI affords: few deliverables, so only
// what holds with a wide margin at that size is asserted.
func TestShortBacktest(t *testing.T) {
	cfg := ShortConfig()
	cfg.Worlds = nil
	for _, w := range Worlds() {
		if w.Name == "steady" || w.Name == "concurrent" || w.Name == "mixed" {
			cfg.Worlds = append(cfg.Worlds, w)
		}
	}
	if testing.Short() {
		cfg.Deliverables = 20
	}
	rep := Run(cfg)
	t.Log("\n" + rep.Markdown())
	for _, w := range rep.Worlds {
		old, nw := w.Models[Old], w.Models[New]
		if nw.Deliverables != cfg.Deliverables || old.Deliverables != cfg.Deliverables {
			t.Fatalf("%s: %d/%d deliverables measured, want %d", w.World.Name, old.Deliverables, nw.Deliverables, cfg.Deliverables)
		}
		p85 := cov(nw.Coverage[2], 85)
		switch w.World.Name {
		case "concurrent", "mixed":
			// The old model gives each milestone the whole team: its P85
			// date almost never holds when the team splits its time.
			if before := cov(old.Coverage[2], 85); p85 < before+0.3 {
				t.Errorf("%s: P85 coverage half way %.0f %%, old model %.0f %%: want far above", w.World.Name, 100*p85, 100*before)
			}
			if p85 < 0.6 || p85 > 0.99 {
				t.Errorf("%s: P85 coverage half way %.0f %%, want near 85 %%", w.World.Name, 100*p85)
			}
		case "steady":
			if p85 < 0.6 {
				t.Errorf("steady: P85 coverage half way %.0f %%, want near 85 %%", 100*p85)
			}
		}
	}
}

// TestRunDeterministic: the same seed gives the same figures, however many
// workers share the teams.
func TestRunDeterministic(t *testing.T) {
	cfg := Config{Deliverables: 6, PerTeam: 3, Trials: 100, Seed: 7, Worlds: []World{{Name: "mixed", Mixed: true}}}
	cfg.Workers = 1
	a := Run(cfg)
	cfg.Workers = 3
	b := Run(cfg)
	if diff := cmp.Diff(a.Worlds, b.Worlds); diff != "" {
		t.Errorf("1 worker vs 3 (-1 +3):\n%s", diff)
	}
	cfg.Seed = 8
	if c := Run(cfg); cmp.Equal(a.Worlds, c.Worlds) {
		t.Error("another seed gave the same figures: the seed is not used")
	}
}

func day0(n int) connectors.Date { return connectors.Date{Year: 2026, Month: 3, Day: 2}.AddDays(n) }

func noon(n int) time.Time { return day0(n).Time(time.UTC).Add(12 * time.Hour) }

// TestThroughputFacts pins what Replay hands the forecast as the
// connector's Throughput, the contract the connectors fill in the daemon.
func TestThroughputFacts(t *testing.T) {
	h := History{
		From:  day0(0),
		Daily: []int{5, 0, 1, 2, 3, 4, 0, 0, 2, 1},
		Deliverables: []Deliverable{
			{ // under way: first close day 2; an item added day 4, after it
				ID: "a", Delivered: day0(20),
				Items: []connectors.Item{
					{CreatedAt: noon(0), ClosedAt: noon(2)},
					{CreatedAt: noon(0), ClosedAt: noon(5)},
					{CreatedAt: noon(4), ClosedAt: noon(8)},
					{CreatedAt: noon(0)},
				},
			},
			{ // delivered on day 5
				ID: "b", Delivered: day0(5),
				Items: []connectors.Item{{CreatedAt: noon(0), ClosedAt: noon(3)}, {CreatedAt: noon(1), ClosedAt: noon(5)}},
			},
			{ // nothing completed yet: not in progress
				ID: "c", Delivered: day0(30), Items: []connectors.Item{{CreatedAt: noon(0), ClosedAt: noon(12)}},
			},
		},
	}
	s := reconcile.Settings{Location: time.UTC, Window: 4}
	tests := []struct {
		day  int
		want connectors.Throughput
	}{
		// Window days 2..5: a's closes on 2 and 5, b's on 3 and 5 (b is
		// delivered at the end of day 5); a's item added on day 4 counts
		// once it is completed.
		{5, connectors.Throughput{From: day0(2), To: day0(5), Daily: []int{1, 2, 3, 4}, Active: 1, Assigned: 4, ScopePlannedClosed: 4}},
		// Days 6..9: a's added item closed on day 8. a began before the
		// window, and the item was created before it too: a connector
		// cannot tell whether it was planned, and neither does the
		// backtest (connectors.CountFacts).
		{9, connectors.Throughput{From: day0(6), To: day0(9), Daily: []int{0, 0, 2, 1}, Active: 1, Assigned: 1}},
		// Days 4..7: one completion each of a and b, both begun before
		// the window with items created before it; b is delivered on day
		// 5, so only a is in progress.
		{7, connectors.Throughput{From: day0(4), To: day0(7), Daily: []int{3, 4, 0, 0}, Active: 1, Assigned: 2}},
		// Before the history: an empty window.
		{-10, connectors.Throughput{From: day0(-13), To: day0(-10), Daily: []int{0, 0, 0, 0}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, h.throughput(day0(tt.day), s)); diff != "" {
			t.Errorf("day %d (-want +got):\n%s", tt.day, diff)
		}
	}
}

// TestReplayJudges: a deliverable promised for a date it cannot make is
// warned at once by the new rule, its checkpoints fall where they should,
// and the forecast sees the items as they stood each day.
func TestReplayJudges(t *testing.T) {
	daily := make([]int, 120)
	for i := range daily {
		if i%7 < 5 {
			daily[i] = 2
		}
	}
	var items []connectors.Item
	for i := range 20 {
		// Two items a working day from day 60 on: 14 days of work.
		d := 60 + i/2
		d += 2 * ((d - 60) / 5) // skip weekends
		items = append(items, connectors.Item{CreatedAt: noon(50), ClosedAt: noon(d)})
	}
	delivered := connectors.DateOf(items[len(items)-1].ClosedAt, time.UTC)
	h := History{From: day0(0), Daily: daily, Deliverables: []Deliverable{{
		ID: "x", Items: items, Promised: day0(62), PromisedAt: noon(59), Scope: 20, Delivered: delivered, Measure: true,
	}}}
	s := reconcile.Settings{Location: time.UTC, Window: 42, Trials: 500, Confidence: 0.85, MinSamples: 5}
	outs := Replay(h, s)
	o := outs[New][0]
	if !o.Late() || o.Promise != day0(59) || o.Delivered != delivered {
		t.Fatalf("outcome %+v", o)
	}
	if first := FirstFlag(o, New, s); first != day0(59) {
		t.Errorf("new rule first warned on %s, want the day of the promise %s", first, day0(59))
	}
	if got := len(o.Daily); got != 4 {
		t.Errorf("%d daily forecasts judged for at_risk, want 4 (days 59 to 62)", got)
	}
	span := delivered.Sub(day0(59))
	for c, share := range checkpointShares {
		if want := day0(59).AddDays(int(share * float64(span))); o.At[c].Day != want {
			t.Errorf("checkpoint %d on %s, want %s", c, o.At[c].Day, want)
		}
	}
	if o.Done[2].Day.IsZero() || o.Done[2].Day.After(o.At[3].Day) {
		t.Errorf("half the items were done by %s; the progress checkpoint is %s", o.At[2].Day, o.Done[2].Day)
	}
	if !o.At[1].Enough || !o.At[1].P85.After(o.At[1].Day) {
		t.Errorf("a quarter of the way: %+v", o.At[1])
	}
	// The promise was missed; the forecast made that day held.
	if held, judged := Held(outs[New]); judged != 1 || held != 1 {
		t.Errorf("Held = %d of %d, want 1 of 1: the promise-day P85 %s, delivered %s", held, judged, o.At[0].P85, o.Delivered)
	}
	if outs[Old][0].ID != "x" {
		t.Errorf("the old model was not judged: %+v", outs[Old])
	}
}

func TestSimulateWorlds(t *testing.T) {
	for _, w := range Worlds() {
		t.Run(w.Name, func(t *testing.T) {
			h := simulate(w, 1, 0, 3)
			measured, added, maxActive := 0, 0, 0
			for _, d := range h.Deliverables {
				if d.Measure {
					measured++
					if d.Delivered.IsZero() || !d.Delivered.After(d.Promised.AddDays(-1000)) {
						t.Errorf("%s: not delivered: %+v", d.ID, d.Delivered)
					}
				}
				added += len(d.Items) - d.Scope
			}
			for t0 := 100; t0 < len(h.Daily); t0 += 10 {
				maxActive = max(maxActive, h.throughput(day(t0), reconcile.Settings{Location: time.UTC, Window: 42}).Active)
			}
			if measured != 3 {
				t.Errorf("%d deliverables measured, want 3", measured)
			}
			if w.Growth && added == 0 {
				t.Error("scope growth world: no item added")
			}
			if !w.Growth && !w.Mixed && added != 0 {
				t.Errorf("%d items added in a world without growth", added)
			}
			if w.Concurrent && maxActive < 2 {
				t.Errorf("concurrent world: at most %d deliverables in progress", maxActive)
			}
		})
	}
}

func TestMarkdownNamesEveryWorld(t *testing.T) {
	rep := Run(Config{Deliverables: 2, PerTeam: 2, Trials: 50, Seed: 3})
	md := rep.Markdown()
	for _, w := range Worlds() {
		if strings.Count(md, "| "+w.Name+" |") < 5 {
			t.Errorf("world %q missing from some tables:\n%s", w.Name, md)
		}
	}
	if !strings.Contains(md, "| target | measured | want |") {
		t.Errorf("no targets table:\n%s", md)
	}
}
