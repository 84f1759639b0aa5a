package reconcile

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwatch/slipwatch/connectors"
)

var modelToday = connectors.Date{Year: 2026, Month: 11, Day: 2}

// lumpy is 42 days of a team closing about 1.4 items a day.
var lumpy = []int{0, 1, 3, 0, 2, 5, 0, 1, 1, 2, 0, 4, 1, 0, 2, 2, 1, 0, 3, 1, 1, 0, 1, 3, 0, 2, 5, 0, 1, 1, 2, 0, 4, 1, 0, 2, 2, 1, 0, 3, 1, 1}

func teamWindow(daily []int) connectors.Throughput {
	return connectors.Throughput{From: modelToday.AddDays(-(len(daily) - 1)), To: modelToday, Daily: daily}
}

// at is noon of the day n days before modelToday.
func daysAgo(n int) time.Time { return modelToday.AddDays(-n).Time(time.UTC).Add(12 * time.Hour) }

// benchInput is a deliverable two weeks after its promise: one of three
// the team works on, ten of its forty planned items done, four added.
func benchInput(s Settings) ForecastInput {
	promiseAt := daysAgo(14).Add(-2 * time.Hour)
	var items []connectors.Item
	for i := range 44 {
		it := connectors.Item{CreatedAt: promiseAt.Add(-time.Hour)}
		if i >= 40 {
			it.CreatedAt = daysAgo(10 - (i - 40))
		}
		if i%4 == 0 && i < 40 {
			it.ClosedAt = daysAgo(13 - i/4)
		}
		items = append(items, it)
	}
	tp := teamWindow(lumpy)
	tp.Active, tp.Assigned, tp.ScopeAdded, tp.ScopePlannedClosed = 3, 50, 12, 60
	return NewForecastInput("x", items, Commitment{Date: modelToday.AddDays(40), At: promiseAt, Scope: 40}, tp, modelToday, s)
}

func TestNewForecastInput(t *testing.T) {
	promiseAt := daysAgo(10)
	planned := func(n int, closedDaysAgo ...int) []connectors.Item {
		var items []connectors.Item
		for i := range n {
			it := connectors.Item{CreatedAt: promiseAt.Add(-24 * time.Hour)}
			if i < len(closedDaysAgo) {
				it.ClosedAt = daysAgo(closedDaysAgo[i])
			}
			items = append(items, it)
		}
		return items
	}
	added := func(items []connectors.Item, n int, closed bool) []connectors.Item {
		for range n {
			it := connectors.Item{CreatedAt: daysAgo(5)}
			if closed {
				it.ClosedAt = daysAgo(2)
			}
			items = append(items, it)
		}
		return items
	}
	daily := make([]int, 42)
	for i := range daily {
		daily[i] = 2
	}
	tp := teamWindow(daily)
	tests := []struct {
		name    string
		items   []connectors.Item
		promise Commitment
		tp      func(connectors.Throughput) connectors.Throughput
		want    ForecastInput
	}{
		{
			name:  "no promise: share from the first close, all open items planned",
			items: planned(10, 4, 3),
			want: ForecastInput{Open: 8, PlannedOpen: 8, Own: 2,
				Team:   2*0.5 + 2*4, // the first close's day from noon on, then four whole days
				Active: 1, Assigned: 1},
		},
		{
			name:    "promise: scope added and closed since, by the count at the promise",
			items:   added(added(planned(10, 20, 8, 7, 6), 3, true), 2, false),
			promise: Commitment{Date: modelToday.AddDays(20), At: promiseAt, Scope: 10},
			// The close 20 days ago is before the promise: the start.
			want: ForecastInput{Promised: modelToday.AddDays(20), Open: 8, PlannedOpen: 6, Added: 5, PlannedClosed: 3, Own: 7,
				Team: 2*0.5 + 2*20, Active: 1, Assigned: 1},
		},
		{
			name:    "items removed since the promise are no growth",
			items:   planned(8, 3),
			promise: Commitment{Date: modelToday.AddDays(20), At: promiseAt, Scope: 10},
			want: ForecastInput{Promised: modelToday.AddDays(20), Open: 7, PlannedOpen: 7, PlannedClosed: 1, Own: 1,
				Team: 2*0.5 + 2*10, Active: 1, Assigned: 1},
		},
		{
			name:    "no count at the promise: added by creation time",
			items:   added(planned(4), 2, false),
			promise: Commitment{Date: modelToday.AddDays(20), At: promiseAt},
			want: ForecastInput{Promised: modelToday.AddDays(20), Open: 6, PlannedOpen: 4, Added: 2,
				Team: 2*0.5 + 2*10, Active: 1, Assigned: 1},
		},
		{
			name:    "team facts: active counts this one only once it has a close in the window",
			items:   planned(5),
			promise: Commitment{Date: modelToday.AddDays(20), At: promiseAt, Scope: 5},
			tp: func(t connectors.Throughput) connectors.Throughput {
				t.Active, t.Assigned, t.ScopeAdded, t.ScopePlannedClosed = 2, 63, 7, 30
				return t
			},
			want: ForecastInput{Promised: modelToday.AddDays(20), Open: 5, PlannedOpen: 5, Team: 2*0.5 + 2*10,
				Active: 3, Assigned: 0.75, TeamAdded: 7, TeamPlannedClosed: 30},
		},
		{
			name:  "a close in the window: already among the active",
			items: planned(5, 1),
			tp: func(t connectors.Throughput) connectors.Throughput {
				t.Active = 2
				return t
			},
			want: ForecastInput{Open: 4, PlannedOpen: 4, Own: 1, Team: 2*0.5 + 2, Active: 2, Assigned: 1},
		},
		{
			name: "a start before the window counts from the window's first day",
			items: []connectors.Item{{CreatedAt: daysAgo(80), ClosedAt: daysAgo(60)}, {CreatedAt: daysAgo(80), ClosedAt: daysAgo(1)},
				{CreatedAt: daysAgo(80)}, {CreatedAt: daysAgo(80)}, {CreatedAt: daysAgo(80)}},
			promise: Commitment{Date: modelToday.AddDays(20), At: daysAgo(70), Scope: 5},
			want: ForecastInput{Promised: modelToday.AddDays(20), Open: 3, PlannedOpen: 3, PlannedClosed: 2, Own: 1,
				Team: 2 * 42, Active: 1, Assigned: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpi := tp
			if tt.tp != nil {
				tpi = tt.tp(tp)
			}
			got := NewForecastInput("id", tt.items, tt.promise, tpi, modelToday, settings())
			tt.want.Seed, tt.want.Today, tt.want.Daily = "id", modelToday, daily
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestForecastPinnedModel: forecasts are stored with their Input and
// reused, so the same inputs must keep giving the same forecast; a change
// to the model must change this test knowingly (and its backtest tables).
func TestForecastPinnedModel(t *testing.T) {
	s := settings()
	f := ForecastDeliverable(benchInput(s), s)
	want := Forecast{Enough: true, Samples: 60, Remaining: 34, P50: date("2027-01-07"), P85: date("2027-02-08"), P95: date("2027-03-16"),
		Input:    "v2|x|2026-11-02|2026-12-12|34|30|4|10|10|3|12|60|2000|5|19|0.8333333333333334|0.85|891ff9af0244b9e5",
		Promised: date("2026-12-12"), ChanceKnown: true, Chance: 0.024, Share: 0.441, Concurrent: 2, Added: 4, Growth: 0.257, Pace: 1.429}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func date(s string) connectors.Date {
	d, err := connectors.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestForecastDeterministicKeyed(t *testing.T) {
	s := settings()
	in := benchInput(s)
	a, b := ForecastDeliverable(in, s), ForecastDeliverable(in, s)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same input, different forecasts:\n%s", diff)
	}
	var f Forecaster
	f.Forecast(ForecastInput{Seed: "other", Today: modelToday, Open: 100, Daily: []int{9, 0, 0, 1}, Active: 1, Assigned: 1}, s)
	if diff := cmp.Diff(a, f.Forecast(in, s)); diff != "" {
		t.Errorf("a reused Forecaster remembers the last forecast:\n%s", diff)
	}
	// Every input is in the key, or Reconcile would reuse a stale forecast.
	changes := map[string]func(*ForecastInput){
		"seed": func(in *ForecastInput) { in.Seed = "y" }, "today": func(in *ForecastInput) { in.Today = in.Today.AddDays(1) },
		"promised": func(in *ForecastInput) { in.Promised = in.Promised.AddDays(1) }, "open": func(in *ForecastInput) { in.Open++ },
		"planned open": func(in *ForecastInput) { in.PlannedOpen++ }, "added": func(in *ForecastInput) { in.Added++ },
		"planned closed": func(in *ForecastInput) { in.PlannedClosed++ }, "own": func(in *ForecastInput) { in.Own++ },
		"team": func(in *ForecastInput) { in.Team += 0.5 }, "active": func(in *ForecastInput) { in.Active++ },
		"assigned": func(in *ForecastInput) { in.Assigned = 0.5 }, "team added": func(in *ForecastInput) { in.TeamAdded++ },
		"team planned closed": func(in *ForecastInput) { in.TeamPlannedClosed++ },
		"daily":               func(in *ForecastInput) { in.Daily = append([]int{1}, in.Daily[1:]...) },
	}
	for name, change := range changes {
		c := in
		change(&c)
		if string(c.AppendKey(nil, s)) == a.Input {
			t.Errorf("changing %s leaves the key %q", name, a.Input)
		}
	}
	// Records saved before issue #20 hold keys like
	// "x|30|2026-11-02|2000|0.85|5|38f1211d424cd3c7": the prefix keeps
	// them from ever matching, so those forecasts are made again.
	if !strings.HasPrefix(a.Input, "v2|") {
		t.Errorf("the model's key %q lacks its v2| prefix", a.Input)
	}
}

func TestForecastEdges(t *testing.T) {
	s := settings()
	promised := modelToday.AddDays(10)
	t.Run("not enough history: no date, no chance", func(t *testing.T) {
		f := ForecastDeliverable(ForecastInput{Seed: "a", Today: modelToday, Promised: promised, Open: 3, Daily: []int{1, 0, 2, 0, 1}, Active: 1, Assigned: 1}, s)
		if f.Enough || f.ChanceKnown || !f.P85.IsZero() || f.Samples != 4 {
			t.Errorf("%+v", f)
		}
	})
	t.Run("nothing open: done today, certain", func(t *testing.T) {
		f := ForecastDeliverable(ForecastInput{Seed: "a", Today: modelToday, Promised: promised, Daily: lumpy}, s)
		if !f.Enough || f.P50 != modelToday || f.P95 != modelToday || !f.ChanceKnown || f.Chance != 1 {
			t.Errorf("%+v", f)
		}
	})
	t.Run("no promise: dates, no chance", func(t *testing.T) {
		f := ForecastDeliverable(ForecastInput{Seed: "a", Today: modelToday, Open: 5, PlannedOpen: 5, Daily: lumpy, Active: 1, Assigned: 1}, s)
		if !f.Enough || f.ChanceKnown || !f.P50.After(modelToday) {
			t.Errorf("%+v", f)
		}
	})
	t.Run("promise passed: no chance left", func(t *testing.T) {
		f := ForecastDeliverable(ForecastInput{Seed: "a", Today: modelToday, Promised: modelToday.AddDays(-1), Open: 5, Daily: lumpy, Active: 1, Assigned: 1}, s)
		if !f.ChanceKnown || f.Chance != 0 {
			t.Errorf("%+v", f)
		}
	})
	t.Run("zero values and a silent window stay finite", func(t *testing.T) {
		for _, in := range []ForecastInput{
			{Open: 5, Daily: []int{0, 0, 0, 0, 0, 0, 9}},
			{Open: 1, Daily: []int{5}, Active: 0, Assigned: 0, Team: 0},
			{Open: 50000, PlannedOpen: 50000, Daily: []int{5, 0, 0}, Added: 1 << 30},
		} {
			f := ForecastDeliverable(in, s)
			for _, v := range []float64{f.Chance, f.Share, f.Growth, f.Pace} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%+v gives %+v", in, f)
				}
			}
			if f.Enough && f.P95.Sub(in.Today) > maxForecastDays {
				t.Errorf("%+v beyond the cap: %s", in, f.P95)
			}
		}
	})
}

// TestForecastModelParts: each part of the model moves the forecast the
// way docs/forecast.md says.
func TestForecastModelParts(t *testing.T) {
	s := settings()
	s.Trials = 4000
	base := ForecastInput{Seed: "a", Today: modelToday, Open: 30, PlannedOpen: 30, Daily: lumpy, Active: 1, Assigned: 1}
	p50 := func(change func(*ForecastInput)) int {
		in := base
		change(&in)
		return ForecastDeliverable(in, s).P50.Sub(modelToday)
	}
	alone := p50(func(*ForecastInput) {})
	if got := p50(func(in *ForecastInput) { in.Active = 3 }); got < 2*alone {
		t.Errorf("one of three deliverables: P50 in %d days, alone %d; want about three times", got, alone)
	}
	if got := p50(func(in *ForecastInput) { in.Active, in.Own, in.Team = 3, 40, 40 }); got > alone*5/4 {
		t.Errorf("one of three that got every close since it started: P50 in %d days, alone %d", got, alone)
	}
	if got := p50(func(in *ForecastInput) { in.Assigned = 0.5 }); got < alone*3/2 {
		t.Errorf("half the team's work outside deliverables: P50 in %d days, alone %d", got, alone)
	}
	grown := p50(func(in *ForecastInput) { in.Added, in.PlannedClosed = 20, 20 })
	if grown < alone*5/4 {
		t.Errorf("scope grew one item per planned item finished: P50 in %d days, without %d", grown, alone)
	}
	if got := p50(func(in *ForecastInput) { in.Added, in.PlannedClosed, in.PlannedOpen = 20, 20, 0 }); got > alone*11/10 {
		t.Errorf("growth with the planned scope used up: P50 in %d days, want near %d", got, alone)
	}
	// Work done but not yet closed: a team that closes in batches, four
	// quiet days after its last one, has them in the next batch. The same
	// days turned round (so the pace and its spread are the same) to end
	// on a batch, or a team that closes every weekday on a quiet Sunday,
	// have nothing waiting.
	rotate := func(daily []int, by int) []int { return append(append([]int(nil), daily[by:]...), daily[:by]...) }
	var batches, weekdays []int
	for gap := 2; len(batches) < 42; gap = 2 + (gap+1)%5 {
		// a batch of three items a day after gap quiet days
		batches = append(batches, make([]int, gap)...)
		batches = append(batches, 3*(gap+1))
	}
	batches = batches[len(batches)-42:] // ends on a batch
	for i := range 42 {
		weekdays = append(weekdays, map[bool]int{true: 2 + i%3, false: 0}[i%7 < 5])
	}
	p50of := func(daily []int) int {
		in := base
		in.Daily = daily
		return ForecastDeliverable(in, s).P50.Sub(modelToday)
	}
	if quiet, justClosed := p50of(rotate(batches, 4)), p50of(batches); quiet > justClosed-3 {
		t.Errorf("batches, four quiet days since the last: P50 in %d days, right after a batch %d; want days earlier", quiet, justClosed)
	}
	if sunday, friday := p50of(rotate(weekdays, 6)), p50of(rotate(weekdays, 4)); sunday < friday-1 {
		t.Errorf("closes every weekday: P50 in %d days on a Sunday, %d on a Friday; a weekend holds no closes", sunday, friday)
	}
	// The pace's uncertainty widens the range, not the middle.
	in := base
	steady := ForecastDeliverable(in, s)
	in.Daily = []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 3, 3, 2, 0, 0, 3, 2, 3, 4, 2, 0, 0, 1, 2, 2, 2, 1, 0, 0, 2, 1, 1, 1, 1, 0, 0}
	shaky := ForecastDeliverable(in, s)
	if shaky.P95.Sub(shaky.P50) <= steady.P95.Sub(steady.P50) {
		t.Errorf("a window with a silent fortnight: P50–P95 %d days, steady %d", shaky.P95.Sub(shaky.P50), steady.P95.Sub(steady.P50))
	}
}

func TestChanceMatchesDates(t *testing.T) {
	s := settings()
	in := benchInput(s)
	f := ForecastDeliverable(in, s)
	chance := func(d connectors.Date) float64 {
		c := in
		c.Promised = d
		return ForecastDeliverable(c, s).Chance
	}
	if c := chance(f.P50); c < 0.5 || chance(f.P50.AddDays(-1)) >= 0.5 {
		t.Errorf("chance by P50 %s: %v, by the day before: %v", f.P50, c, chance(f.P50.AddDays(-1)))
	}
	if c := chance(f.P85); c < 0.85 || chance(f.P85.AddDays(-1)) >= 0.85 {
		t.Errorf("chance by P85 %s: %v", f.P85, c)
	}
	prev := -1.0
	for d := modelToday; d.Before(f.P95.AddDays(5)); d = d.AddDays(3) {
		c := chance(d)
		if c < prev {
			t.Fatalf("chance falls from %v to %v as the promise moves out to %s", prev, c, d)
		}
		prev = c
	}
}

func TestIsAtRisk(t *testing.T) {
	known := func(c float64) Forecast { return Forecast{Enough: true, ChanceKnown: true, Chance: c} }
	tests := []struct {
		name  string
		was   bool
		f     Forecast
		below float64
		want  bool
	}{
		{"below the line", false, known(0.1), 0, true},
		{"on the line", false, known(DefaultRiskBelow), 0, false},
		{"was at risk, not clear yet", true, known(DefaultRiskBelow + riskClear/2), 0, true},
		{"was at risk, clear", true, known(DefaultRiskBelow + riskClear + 0.01), 0, false},
		{"configured line", false, known(0.4), 0.5, true},
		{"no chance: no warning", true, Forecast{Enough: true}, 0, false},
		{"not enough history: no warning", true, Forecast{ChanceKnown: true}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := settings()
			s.RiskBelow = tt.below
			if got := IsAtRisk(tt.was, tt.f, s); got != tt.want {
				t.Errorf("IsAtRisk(%v, chance %v) = %v, want %v", tt.was, tt.f.Chance, got, tt.want)
			}
		})
	}
}

// TestForecastAllocations: the trial loop allocates nothing, and a reused
// Forecaster allocates only each forecast's Input string.
func TestForecastAllocations(t *testing.T) {
	s := settings()
	in := benchInput(s)
	var f Forecaster
	f.Forecast(in, s)
	if n := testing.AllocsPerRun(20, func() { f.trials(1000, 80, 0.3, len(in.Daily), blockDays) }); n != 0 {
		t.Errorf("trial loop: %v allocations per run, want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() { f.Forecast(in, s) }); n > 1 {
		t.Errorf("forecast: %v allocations per run, want at most 1 (its Input)", n)
	}
}

// BenchmarkForecast10k is the product's forecast of one deliverable,
// 10 000 trials, on a reused Forecaster.
func BenchmarkForecast10k(b *testing.B) {
	s := settings()
	s.Trials = 10000
	in := benchInput(s)
	var f Forecaster
	b.ReportAllocs()
	for b.Loop() {
		f.Forecast(in, s)
	}
}

// TestForecastOldRecordDecodes: records written before the chance decode
// with no chance and no explanation, not an error.
func TestForecastOldRecordDecodes(t *testing.T) {
	old := `{"schema":1,"id":"ab","ref":{"tracker":"github","team":"acme/api","kind":"milestone","id":"7"},"title":"v2",` +
		`"declared":null,"done":1,"total":3,"delivered_on":null,` +
		`"forecast":{"enough":true,"samples":40,"remaining":2,"p50":"2026-11-20","p85":"2026-11-25","p95":"2026-11-30","input":"ab|2|2026-11-02|10000|0.85|5|1f"},"health":"on_track"}`
	var r Record
	if err := json.Unmarshal([]byte(old), &r); err != nil {
		t.Fatal(err)
	}
	want := Forecast{Enough: true, Samples: 40, Remaining: 2, P50: date("2026-11-20"), P85: date("2026-11-25"), P95: date("2026-11-30"), Input: "ab|2|2026-11-02|10000|0.85|5|1f"}
	if diff := cmp.Diff(want, r.Forecast); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
