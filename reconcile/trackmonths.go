package reconcile

import (
	"slices"
	"time"
)

// TrackMonths bounds the months TrackRecordByMonth returns per team: two
// years, the newest.
const TrackMonths = 24

// TeamMonth is how a team's promises held in one month of the configured
// zone: the deliveries of the month judged against their first promise,
// as TrackRecord judges them, and the recommitments made in it.
type TeamMonth struct {
	Month         string  `json:"month"`          // "2026-10"
	Delivered     int     `json:"delivered"`      // promises delivered in the month
	OnTime        int     `json:"on_time"`        // of those, by the first promise
	OnTimeShare   float64 `json:"on_time_share"`  // OnTime/Delivered; 0 without deliveries
	SlipDays      int     `json:"slip_days"`      // days late against the first promise, summed over the month's deliveries
	MeanSlipDays  float64 `json:"mean_slip_days"` // SlipDays/Delivered, early ones as 0
	MaxSlipDays   int     `json:"max_slip_days"`
	Recommitments int     `json:"recommitments"` // promises moved in the month
}

// TeamMonths is one team's record month by month.
type TeamMonths struct {
	Tracker string `json:"tracker"`
	Team    string `json:"team"`
	// Months runs oldest first, every month from the first with a
	// delivery or a recommitment to the last (months without either are
	// there, empty, so a chart keeps its time axis), at most TrackMonths.
	Months []TeamMonth `json:"months"`
}

// TrackRecordByMonth is TrackRecord month by month: per team (in
// TrackRecord's order), each delivery in the month of its delivery date
// and each recommitment in the month it was made, in loc (nil: UTC).
func TrackRecordByMonth(records []Record, loc *time.Location) []TeamMonths {
	loc = zone(loc)
	type key struct{ tracker, team string }
	teams := map[key]map[monthKey]*TeamMonth{}
	var order []key
	for _, r := range records {
		first, ok := r.First()
		if !ok {
			continue
		}
		k := key{string(r.Ref.Tracker), r.Ref.Team}
		months := teams[k]
		if months == nil {
			months = map[monthKey]*TeamMonth{}
			teams[k] = months
			order = append(order, k)
		}
		at := func(m monthKey) *TeamMonth {
			tm := months[m]
			if tm == nil {
				tm = &TeamMonth{}
				months[m] = tm
			}
			return tm
		}
		if r.Delivered {
			tm := at(monthKey{r.DeliveredOn.Year, r.DeliveredOn.Month})
			tm.Delivered++
			slip := max(r.DeliveredOn.Sub(first.Date), 0)
			if slip == 0 {
				tm.OnTime++
			}
			tm.SlipDays += slip
			tm.MaxSlipDays = max(tm.MaxSlipDays, slip)
		}
		for _, c := range r.Commitments[1:] {
			t := c.At.In(loc)
			at(monthKey{t.Year(), t.Month()}).Recommitments++
		}
	}
	slices.SortFunc(order, func(a, b key) int {
		if a.tracker+a.team < b.tracker+b.team {
			return -1
		}
		if a.tracker+a.team > b.tracker+b.team {
			return 1
		}
		return 0
	})
	out := make([]TeamMonths, 0, len(order))
	for _, k := range order {
		tm := TeamMonths{Tracker: k.tracker, Team: k.team, Months: []TeamMonth{}}
		months := teams[k]
		var first, last monthKey
		for m := range months {
			if first == (monthKey{}) || m.before(first) {
				first = m
			}
			if last == (monthKey{}) || last.before(m) {
				last = m
			}
		}
		if len(months) > 0 {
			if n := last.index() - first.index() + 1; n > TrackMonths {
				first = monthOf(last.index() - TrackMonths + 1)
			}
			for i := first.index(); i <= last.index(); i++ {
				m := monthOf(i)
				row := TeamMonth{}
				if got := months[m]; got != nil {
					row = *got
				}
				row.Month = time.Date(m.year, m.month, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
				if row.Delivered > 0 {
					row.OnTimeShare = float64(row.OnTime) / float64(row.Delivered)
					row.MeanSlipDays = float64(row.SlipDays) / float64(row.Delivered)
				}
				tm.Months = append(tm.Months, row)
			}
		}
		out = append(out, tm)
	}
	return out
}

// monthKey is a calendar month.
type monthKey struct {
	year  int
	month time.Month
}

func (m monthKey) index() int             { return m.year*12 + int(m.month) - 1 }
func (m monthKey) before(o monthKey) bool { return m.index() < o.index() }
func monthOf(i int) monthKey              { return monthKey{i / 12, time.Month(i%12 + 1)} }
