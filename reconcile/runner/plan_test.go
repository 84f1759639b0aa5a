package runner

import (
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
)

// warmTeam is a team polled many times: p of its cycles found changes,
// costing cost each, cycles five minutes long.
func warmTeam(key string, p, cost float64) teamInput {
	return teamInput{key: key, known: true, stats: teamStats{Polls: 50, Last: time.Date(2026, 11, 2, 8, 55, 0, 0, time.UTC).UnixMilli(),
		Cost: cost, P: p, Hours: 5.0 / 60, Every: (5 * time.Minute).Milliseconds()}}
}

func TestPlanStretchesTheQuietFirst(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	base, maxEvery := 5*time.Minute, time.Hour
	teams := []teamInput{
		warmTeam("github:acme/busy", 0.9, 4),
		warmTeam("github:acme/lively", 0.5, 4),
		warmTeam("github:acme/sleepy", 0.05, 4),
		warmTeam("github:acme/dormant", 0.01, 4),
		warmTeam("github:acme/written", 0.01, 4), // quiet, but slipwatch writes there
		warmTeam("github:acme/hooked", 0.9, 4),   // its webhooks flow
		{key: "github:acme/new"},                 // never polled
	}
	teams[4].act.wrote = now.Add(-time.Hour)
	teams[5].act.hook = now.Add(-10 * time.Minute)
	// What each team costs an hour at 5m and at 1h, to size the budgets.
	at := func(k string, d time.Duration) float64 {
		for _, tt := range teams {
			if tt.key == k {
				return teamCost(tt.stats.Cost, tt.stats.rate(base), d)
			}
		}
		return 0
	}
	saving := func(k string) float64 { return at(k, base) - at(k, maxEvery) }
	all5 := 0.0
	for _, k := range []string{"busy", "lively", "sleepy", "dormant", "written"} {
		all5 += at("github:acme/"+k, base)
	}
	hooked := at("github:acme/hooked", maxEvery)
	// The budget is for warm teams 75 % of the whole while one is cold.
	fits := func(demand float64) float64 { return demand / (1 - coldShare) }

	tests := []struct {
		name      string
		perHour   float64
		pollsPerM float64
		tight     bool
		stretched []string
		factor    bool
	}{
		{"the budget covers everyone", fits(all5 + hooked + 1), math.Inf(1), false, nil, false},
		{"short by a little: the quietest go first, saving little each",
			fits(all5 + hooked - at("github:acme/dormant", base) + at("github:acme/dormant", maxEvery) - 0.001), math.Inf(1), false,
			[]string{"github:acme/dormant", "github:acme/sleepy"}, false},
		{"short by more: the lively follow, the written-to still kept",
			fits(all5 + hooked - saving("github:acme/dormant") - saving("github:acme/sleepy") - saving("github:acme/lively") + 0.001), math.Inf(1), false,
			[]string{"github:acme/dormant", "github:acme/lively", "github:acme/sleepy"}, false},
		{"far too short: every team, the written-to last, then all beyond max", 1, math.Inf(1), false,
			[]string{"github:acme/busy", "github:acme/dormant", "github:acme/lively", "github:acme/sleepy", "github:acme/written"}, true},
		{"too many polls a minute for the secondary limits", math.Inf(1), 1/maxEvery.Minutes()*6 + 1.0/base.Minutes() + 0.01, false,
			[]string{"github:acme/busy", "github:acme/dormant", "github:acme/lively", "github:acme/sleepy"}, false},
		{"rate limited lately: every team not written to", math.Inf(1), math.Inf(1), true,
			[]string{"github:acme/busy", "github:acme/dormant", "github:acme/lively", "github:acme/sleepy"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := makePlan(connectors.GitHub, teams, capacity{perHour: tt.perHour, pollsPerM: tt.pollsPerM, tight: tt.tight}, base, maxEvery, now, maxEvery)
			var got []string
			for k, s := range p.state {
				if s == atStretch {
					got = append(got, k)
				}
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.stretched, got); diff != "" {
				t.Errorf("stretched (-want +got):\n%s", diff)
			}
			if p.state["github:acme/hooked"] != atWebhooks || p.state["github:acme/new"] != atCold {
				t.Errorf("states: hooked %s, new %s", p.state["github:acme/hooked"], p.state["github:acme/new"])
			}
			if (p.factor > 1) != tt.factor {
				t.Errorf("factor %.2f, want beyond max %v", p.factor, tt.factor)
			}
			for _, k := range got {
				if d := p.every[k]; d < maxEvery {
					t.Errorf("%s stretched to %s, below max_interval", k, d)
				}
			}
			if !tt.factor && p.demand > tt.perHour*(1-coldShare)+1e-9 && !math.IsInf(tt.perHour, 1) {
				t.Errorf("demand %.2f/h over the budget %.2f/h", p.demand, tt.perHour*(1-coldShare))
			}
		})
	}
}

func TestTeamStatsLearnCostsAndChanges(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var s teamStats
	spent := int64(0)
	// A cold first cycle of 12, then a change every other poll costing 3.
	s.completed(start, spent)
	spent += 12
	for i := 1; i <= 40; i++ {
		s.completed(start.Add(time.Duration(i)*5*time.Minute), spent)
		if i%2 == 0 {
			spent += 3
		}
	}
	if s.Cold != 12 || s.Cost != 3 || s.Polls != 41 {
		t.Errorf("cold %d cost %.2f polls %d; want 12, 3, 41", s.Cold, s.Cost, s.Polls)
	}
	if math.Abs(s.P-0.5) > 0.15 || math.Abs(s.Hours-5.0/60) > 1e-9 {
		t.Errorf("P %.2f hours %.4f; want about 0.5 and 1/12", s.P, s.Hours)
	}
	// About 12 × ln 2 ≈ 8.3 changes an hour would give one per cycle half the time.
	if r := s.rate(5 * time.Minute); r < 5 || r > 12 {
		t.Errorf("rate %.1f changes/h", r)
	}
}

func TestCapacityOf(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	sec := budget.GitHubSecondary()
	tests := []struct {
		name string
		snap budget.Snapshot
		want capacity
	}{
		{"GitHub: the hourly quota less the reserve, and 900 points a minute", budget.Snapshot{Secondary: &sec, Headroom: 0.8,
			Resources: []budget.Resource{{Name: "core", Limit: 5000, Remaining: 4000, Reset: now.Add(time.Hour)}}},
			capacity{perHour: 4900 * primaryHeadroom, pollsPerM: 900 * 0.8 / 2}},
		{"Jira Data Center's token bucket", budget.Snapshot{Resources: []budget.Resource{{Name: "rest", Limit: 100, FillPerHour: 36000}}},
			capacity{perHour: 36000 * primaryHeadroom, pollsPerM: math.Inf(1)}},
		{"Jira Cloud near its limit", budget.Snapshot{Resources: []budget.Resource{{Name: "rest", Limit: 350, NearLimit: true, Seen: now}}},
			capacity{perHour: math.Inf(1), pollsPerM: math.Inf(1), tight: true, why: "the tracker says it is near its rate limit"}},
		{"a limit answer lately", budget.Snapshot{LastLimited: now.Add(-time.Minute), Limited: 1},
			capacity{perHour: math.Inf(1), pollsPerM: math.Inf(1), tight: true, why: "the tracker answered with its rate limit lately"}},
		{"nothing known", budget.Snapshot{}, capacity{perHour: math.Inf(1), pollsPerM: math.Inf(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := capacityOf(tt.snap, now, 2)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(capacity{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func ExampleteamCost() {
	// A repo changing once an hour costs a changed cycle's 2 requests
	// about once an hour, polled every 5 minutes or every hour.
	for _, d := range []time.Duration{5 * time.Minute, time.Hour} {
		fmt.Printf("%s: %.2f/h\n", d, teamCost(2, 1, d))
	}
	// Output:
	// 5m0s: 1.92/h
	// 1h0m0s: 1.26/h
}
