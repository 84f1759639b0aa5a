package reconcile

import (
	"testing"

	"github.com/slipwatch/slipwatch/connectors"
)

func TestViewLabel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ key, team, title, want string }{
		{"github:acme/api/milestone/3", "acme/api", "v2.0", "acme/api milestone v2.0"},
		{"jira:PLAT/version/10010", "PLAT", "2.0", "PLAT version 2.0"},
		{"jira:PLAT/issue/PLAT-12", "PLAT", "Checkout v2", "PLAT-12 Checkout v2"},
	} {
		if got := (View{Key: tt.key, Team: tt.team, Title: tt.title}).Label(); got != tt.want {
			t.Errorf("Label(%s) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestViewChance: the API and check say the chance and what explains it
// in the status comment's words, and nothing where it would mislead.
func TestViewChance(t *testing.T) {
	t.Parallel()
	base := goldenRecord("v2.0")
	tests := []struct {
		name              string
		change            func(*Record)
		chance, why, cell string
	}{
		{"open", func(*Record) {}, "97% likely by the promised 2026-12-01",
			"this milestone gets 40% of the team's 1.8 items a day; 2 other milestones are in progress; no items added since the promise", "97%"},
		{"unlikely", atRiskFn, "12% likely by the promised 2026-12-01",
			"this milestone gets 40% of the team's 1.8 items a day; 2 other milestones are in progress; 3 items added since the promise", "12%"},
		{"not enough history", func(r *Record) { r.Forecast = Forecast{Samples: 2, Remaining: 6, Promised: d1201} },
			"not enough history", "", "not enough history"},
		{"no promise", func(r *Record) {
			r.Commitments, r.Forecast.Promised, r.Forecast.ChanceKnown = nil, connectors.Date{}, false
		},
			"", "this milestone gets 40% of the team's 1.8 items a day; 2 other milestones are in progress", "-"},
		{"overdue", func(r *Record) { r.Health = Overdue }, "",
			"this milestone gets 40% of the team's 1.8 items a day; 2 other milestones are in progress; no items added since the promise", "-"},
		{"delivered", func(r *Record) { r.Delivered, r.DeliveredOn = true, d1201 }, "", "", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.change(&r)
			v := ViewOf(r)
			if v.Chance != tt.chance || v.Why != tt.why || v.ChanceText() != tt.cell {
				t.Errorf("chance %q, why %q, cell %q;\nwant %q, %q, %q", v.Chance, v.Why, v.ChanceText(), tt.chance, tt.why, tt.cell)
			}
		})
	}
}
