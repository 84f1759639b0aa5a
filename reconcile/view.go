package reconcile

import (
	"fmt"
	"slices"
	"sort"

	"github.com/slipwatch/slipwatch/connectors"
)

// View is a record as `slipwatch check`, the HTTP API and report show it.
type View struct {
	ID        string           `json:"id"`
	Key       string           `json:"key"`
	Tracker   string           `json:"tracker"`
	Team      string           `json:"team"`
	Title     string           `json:"title"`
	URL       string           `json:"url,omitempty"`
	Committed *connectors.Date `json:"committed"`
	FirstDate *connectors.Date `json:"first_committed"`
	Target    *connectors.Date `json:"target"`
	Forecast  Forecast         `json:"forecast"`
	// Chance and Why are the forecast in words, as the status comment
	// says them: "62% likely by the promised 2026-12-01" and the inputs
	// that explain it; "" when there is nothing to say (no promise, no
	// forecast, delivered).
	Chance      string           `json:"chance"`
	Why         string           `json:"why"`
	Done        int              `json:"done"`
	Total       int              `json:"total"`
	Health      Health           `json:"health"`
	Delivered   *connectors.Date `json:"delivered,omitempty"`
	Commitments []Commitment     `json:"commitments"`
	Targets     []TargetChange   `json:"targets"`

	// Historical: delivered before slipwatch first saw it; its health is
	// judged against the tracker's due date, not a promise (history.go).
	Historical bool `json:"historical,omitempty"`
}

// ViewOf is r's view.
func ViewOf(r Record) View {
	v := View{ID: r.ID, Key: r.Ref.Key(), Tracker: string(r.Ref.Tracker), Team: r.Ref.Team, Title: r.Title, URL: r.URL,
		Forecast: r.Forecast, Done: r.Done, Total: r.Total, Health: r.Health, Historical: r.Historical,
		Commitments: slices.Clone(r.Commitments), Targets: slices.Clone(r.Targets)}
	if v.Commitments == nil {
		v.Commitments = []Commitment{}
	}
	if v.Targets == nil {
		v.Targets = []TargetChange{}
	}
	if c, ok := r.Commitment(); ok {
		v.Committed = &c.Date
	}
	if c, ok := r.First(); ok {
		v.FirstDate = &c.Date
	}
	if t, ok := r.Target(); ok {
		v.Target = &t
	}
	if r.Delivered {
		d := r.DeliveredOn
		v.Delivered = &d
	} else {
		if r.Health != Overdue {
			v.Chance = chanceText(r.Forecast)
		}
		v.Why = inputsText(r.Forecast, r.Ref.Kind)
	}
	return v
}

// Label names the deliverable in a table: "acme/api milestone v2.0",
// "PLAT version 2.0", or a Jira issue (an epic) by its key, "PLAT-12
// Checkout v2", which is how people there know it.
func (v View) Label() string {
	ref, err := connectors.ParseKey(v.Key)
	switch {
	case err != nil:
		return v.Team + " " + v.Title
	case ref.Kind == connectors.Issue:
		return ref.ID + " " + v.Title
	}
	return v.Team + " " + string(ref.Kind) + " " + v.Title
}

// CommittedText is the commitment or "-".
func (v View) CommittedText() string { return dateText(v.Committed) }

// FirstCommittedText is the first commitment or "-".
func (v View) FirstCommittedText() string { return dateText(v.FirstDate) }

// DeliveredText is the delivery date or "-".
func (v View) DeliveredText() string { return dateText(v.Delivered) }

// TargetText is the due date or "-".
func (v View) TargetText() string { return dateText(v.Target) }

// ForecastText is the P85 date, "done" or "not enough history".
func (v View) ForecastText() string {
	switch {
	case v.Delivered != nil:
		return "delivered " + v.Delivered.String()
	case v.Forecast.Enough && v.Forecast.Remaining == 0:
		return "done"
	case v.Forecast.Enough:
		return v.Forecast.P85.String()
	}
	return "not enough history"
}

// ChanceText is the chance of meeting the promise as a table shows it:
// "62%", "not enough history", or "-" (no promise, delivered, overdue).
func (v View) ChanceText() string {
	f := v.Forecast
	switch {
	case v.Chance == "":
		return "-"
	case f.Enough && f.ChanceKnown && f.Remaining > 0:
		return percentText(f.Chance)
	}
	return v.Chance
}

// ProgressText is "n/m".
func (v View) ProgressText() string { return fmt.Sprintf("%d/%d", v.Done, v.Total) }

func dateText(d *connectors.Date) string {
	if d == nil {
		return "-"
	}
	return d.String()
}

// TeamRecord is a team's say/do record.
type TeamRecord struct {
	Tracker          string  `json:"tracker"`
	Team             string  `json:"team"`
	Commitments      int     `json:"commitments"`
	Delivered        int     `json:"delivered"`
	OnTime           int     `json:"on_time"`
	OnTimeShare      float64 `json:"on_time_share"` // against the first commitment
	MedianSlipDays   float64 `json:"median_slip_days"`
	MeanSlipDays     float64 `json:"mean_slip_days"`
	Recommitments    int     `json:"recommitments"`
	RecommitsPerItem float64 `json:"recommitments_per_deliverable"`
	OpenAtRisk       int     `json:"open_at_risk"` // open commitments at risk, slipped or overdue
}

// TrackRecord computes each team's record. Delivered deliverables are
// judged against their first commitment: a recommitment does not reset
// the clock. Slip days average over every delivery, early ones as 0.
// Only records with a commitment count: one delivered before slipwatch
// first saw it has one only when its description declared it (a due date
// seen after the fact is no promise; history.go).
func TrackRecord(records []Record) []TeamRecord {
	type acc struct {
		tr    TeamRecord
		slips []int
	}
	teams := map[string]*acc{}
	for _, r := range records {
		first, ok := r.First()
		if !ok {
			continue
		}
		k := string(r.Ref.Tracker) + ":" + r.Ref.Team
		a := teams[k]
		if a == nil {
			a = &acc{tr: TeamRecord{Tracker: string(r.Ref.Tracker), Team: r.Ref.Team}}
			teams[k] = a
		}
		a.tr.Commitments++
		a.tr.Recommitments += len(r.Commitments) - 1
		switch {
		case r.Delivered:
			a.tr.Delivered++
			slip := max(r.DeliveredOn.Sub(first.Date), 0)
			if slip == 0 {
				a.tr.OnTime++
			}
			a.slips = append(a.slips, slip)
		case r.Health == AtRisk || r.Health == Slipped || r.Health == Overdue:
			a.tr.OpenAtRisk++
		}
	}
	out := make([]TeamRecord, 0, len(teams))
	for _, a := range teams {
		tr := a.tr
		if tr.Delivered > 0 {
			tr.OnTimeShare = float64(tr.OnTime) / float64(tr.Delivered)
			sort.Ints(a.slips)
			sum := 0
			for _, s := range a.slips {
				sum += s
			}
			tr.MeanSlipDays = float64(sum) / float64(len(a.slips))
			n := len(a.slips)
			if n%2 == 1 {
				tr.MedianSlipDays = float64(a.slips[n/2])
			} else {
				tr.MedianSlipDays = float64(a.slips[n/2-1]+a.slips[n/2]) / 2
			}
		}
		tr.RecommitsPerItem = float64(tr.Recommitments) / float64(tr.Commitments)
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Tracker+out[i].Team < out[j].Tracker+out[j].Team
	})
	return out
}
