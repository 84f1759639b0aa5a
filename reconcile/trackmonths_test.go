package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

func TestTrackRecordByMonth(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	promise := func(d string, at time.Time) Commitment { return Commitment{Date: date(d), At: at} }
	team := func(name string) connectors.Ref {
		return connectors.Ref{Tracker: connectors.GitHub, Team: name, Kind: connectors.Milestone, ID: "1"}
	}
	sep := time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	records := []Record{
		// On time in September.
		{Ref: team("acme/api"), Commitments: []Commitment{promise("2026-09-20", sep)}, Delivered: true, DeliveredOn: date("2026-09-18")},
		// Delivered in October 10 days after its first promise; recommitted
		// late on 31 October UTC, which is 1 November in Berlin.
		{Ref: team("acme/api"), Commitments: []Commitment{promise("2026-10-20", sep), promise("2026-11-05", time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC))},
			Delivered: true, DeliveredOn: date("2026-10-30")},
		// Late by 4 days, in November.
		{Ref: team("acme/api"), Commitments: []Commitment{promise("2026-11-01", sep)}, Delivered: true, DeliveredOn: date("2026-11-05")},
		// Open, recommitted in September.
		{Ref: team("acme/web"), Commitments: []Commitment{promise("2026-12-01", sep), promise("2026-12-15", sep.AddDate(0, 0, 3))}},
		// Never promised: not counted.
		{Ref: team("acme/ops"), Delivered: true, DeliveredOn: date("2026-09-01")},
	}
	got := TrackRecordByMonth(records, berlin)
	want := []TeamMonths{
		{Tracker: "github", Team: "acme/api", Months: []TeamMonth{
			{Month: "2026-09", Delivered: 1, OnTime: 1, OnTimeShare: 1},
			{Month: "2026-10", Delivered: 1, SlipDays: 10, MeanSlipDays: 10, MaxSlipDays: 10},
			{Month: "2026-11", Delivered: 1, SlipDays: 4, MeanSlipDays: 4, MaxSlipDays: 4, Recommitments: 1},
		}},
		{Tracker: "github", Team: "acme/web", Months: []TeamMonth{{Month: "2026-09", Recommitments: 1}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestTrackRecordByMonthSpan: months without news stay on the axis, and
// a long history keeps the newest TrackMonths.
func TestTrackRecordByMonthSpan(t *testing.T) {
	t.Parallel()
	ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "1"}
	at := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	records := []Record{
		{Ref: ref, Commitments: []Commitment{{Date: date("2023-01-10"), At: at}}, Delivered: true, DeliveredOn: date("2023-01-10")},
		{Ref: ref, Commitments: []Commitment{{Date: date("2023-03-10"), At: at}}, Delivered: true, DeliveredOn: date("2023-03-10")},
	}
	got := TrackRecordByMonth(records, nil)
	if len(got) != 1 || len(got[0].Months) != 3 || got[0].Months[1] != (TeamMonth{Month: "2023-02"}) {
		t.Fatalf("Jan–Mar with an empty February: %+v", got)
	}
	records = append(records, Record{Ref: ref, Commitments: []Commitment{{Date: date("2026-06-01"), At: at}}, Delivered: true, DeliveredOn: date("2026-06-01")})
	got = TrackRecordByMonth(records, nil)
	months := got[0].Months
	if len(months) != TrackMonths || months[0].Month != "2024-07" || months[len(months)-1].Month != "2026-06" {
		t.Errorf("%d months from %s to %s, want %d up to 2026-06", len(months), months[0].Month, months[len(months)-1].Month, TrackMonths)
	}
}
