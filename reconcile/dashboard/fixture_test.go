package dashboard

import (
	"fmt"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// now is the fixture's today: Tuesday 20 October 2026, 10:00 UTC.
var now = time.Date(2026, 10, 20, 10, 0, 0, 0, time.UTC)

func d(s string) connectors.Date {
	v, err := connectors.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}

func at(s string) time.Time { return d(s).Time(time.UTC).Add(9 * time.Hour) }

// records is a small portfolio: two GitHub repos and a Jira project, one
// deliverable of each health.
func records() []reconcile.Record {
	gh := func(team, id string) connectors.Ref {
		return connectors.Ref{Tracker: connectors.GitHub, Team: team, Kind: connectors.Milestone, ID: id}
	}
	series := func(from string, done, total []int) reconcile.Series {
		return reconcile.Series{From: d(from), Done: done, Total: total}
	}
	billing := reconcile.Record{
		Ref: gh("acme/api", "2"), Title: "v2.0 Billing", URL: "https://github.com/acme/api/milestone/2",
		Thread: "acme/api#12", ThreadURL: "https://github.com/acme/api/issues/12",
		Commitments: []reconcile.Commitment{
			{Date: d("2026-10-16"), Source: reconcile.DeclaredDescription, By: "description", At: at("2026-09-07")},
			{Date: d("2026-10-30"), Source: reconcile.DeclaredCommand, By: "lead-jane", At: at("2026-09-25"), Reason: "payment provider delayed"},
		},
		Targets: []reconcile.TargetChange{{Date: d("2026-10-16"), At: at("2026-09-07")}, {Date: d("2026-10-30"), At: at("2026-09-24")}},
		Done:    30, Total: 45, Health: reconcile.AtRisk,
		Forecast: reconcile.Forecast{Enough: true, Samples: 30, Remaining: 15, P50: d("2026-10-29"), P85: d("2026-11-03"), P95: d("2026-11-06"),
			Promised: d("2026-10-30"), ChanceKnown: true, Chance: 0.62, Share: 0.5, Concurrent: 2, Pace: 2.1},
		Series: series("2026-10-14", []int{22, 24, 25, 26, 27, 29, 30}, []int{45, 45, 45, 45, 45, 45, 45}),
	}
	search := reconcile.Record{
		Ref: gh("acme/api", "1"), Title: "v1.8 Search", URL: "https://github.com/acme/api/milestone/1", Thread: "acme/api#11",
		Commitments: []reconcile.Commitment{{Date: d("2026-09-25"), Source: reconcile.BaselineFirstSeen, By: "slipwatch", At: at("2026-09-07")}},
		Targets:     []reconcile.TargetChange{{Date: d("2026-09-25"), At: at("2026-09-07")}, {Date: d("2026-09-23"), At: at("2026-09-15")}},
		Done:        9, Total: 9, Delivered: true, DeliveredOn: d("2026-09-18"), Health: reconcile.DeliveredOnTime,
		Series: series("2026-09-15", []int{5, 7, 8, 9}, []int{9, 9, 9, 9}),
	}
	mobile := reconcile.Record{
		Ref: gh("acme/web", "3"), Title: "v2.1 Mobile", URL: "https://github.com/acme/web/milestone/3",
		Commitments: []reconcile.Commitment{{Date: d("2026-10-16"), Source: reconcile.BaselineFirstSeen, By: "slipwatch", At: at("2026-09-07")}},
		Targets:     []reconcile.TargetChange{{Date: d("2026-10-16"), At: at("2026-09-07")}, {Date: d("2026-11-06"), At: at("2026-10-10")}},
		Done:        10, Total: 19, Health: reconcile.Slipped,
		Forecast: reconcile.Forecast{Enough: true, Remaining: 9, P50: d("2026-11-04"), P85: d("2026-11-12"), P95: d("2026-11-18")},
	}
	late := reconcile.Record{
		Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10042"}, Title: "2.0",
		URL:         "https://acme.atlassian.net/projects/PLAT/versions/10042",
		Commitments: []reconcile.Commitment{{Date: d("2026-10-01"), Source: reconcile.DeclaredCommand, By: "5b10ac8d", At: at("2026-08-01")}},
		Targets:     []reconcile.TargetChange{{Date: d("2026-10-01"), At: at("2026-08-01")}},
		Done:        20, Total: 24, Health: reconcile.Overdue,
	}
	undated := reconcile.Record{
		Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-7"}, Title: "Checkout v3",
		Targets: []reconcile.TargetChange{{At: at("2026-10-01")}}, Health: reconcile.NoDate,
	}
	auth := reconcile.Record{
		Ref: gh("acme/api", "4"), Title: "v1.6 Auth", Delivered: true, DeliveredOn: d("2026-08-20"), Health: reconcile.DeliveredLate,
		Commitments: []reconcile.Commitment{
			{Date: d("2026-08-10"), Source: reconcile.BaselineFirstSeen, By: "slipwatch", At: at("2026-07-01")},
			{Date: d("2026-08-21"), Source: reconcile.DeclaredCommand, By: "lead-jane", At: at("2026-08-03"), Reason: "SSO vendor"},
		},
		Targets: []reconcile.TargetChange{{Date: d("2026-08-10"), At: at("2026-07-01")}},
		Done:    12, Total: 12,
	}
	export := reconcile.Record{
		Ref: gh("acme/api", "5"), Title: "v1.7 Export", Delivered: true, DeliveredOn: d("2026-07-28"), Health: reconcile.DeliveredOnTime,
		Commitments: []reconcile.Commitment{{Date: d("2026-07-31"), Source: reconcile.BaselineFirstSeen, By: "slipwatch", At: at("2026-07-01")}},
		Targets:     []reconcile.TargetChange{{Date: d("2026-07-31"), At: at("2026-07-01")}},
		Done:        7, Total: 7,
	}
	out := []reconcile.Record{billing, search, mobile, late, undated, auth, export}
	for i := range out {
		out[i].Schema, out[i].ID = reconcile.Schema, reconcile.CommitmentID(out[i].Ref)
	}
	return out
}

// many is n commitments across teams, as a large organisation has them.
func many(n int) []reconcile.Record {
	base := records()[0]
	out := make([]reconcile.Record, n)
	healths := []reconcile.Health{reconcile.OnTrack, reconcile.AtRisk, reconcile.Slipped, reconcile.Overdue, reconcile.DeliveredOnTime}
	for i := range out {
		r := base
		r.Ref = connectors.Ref{Tracker: connectors.GitHub, Team: fmt.Sprintf("acme/svc-%03d", i/20), Kind: connectors.Milestone, ID: strconv.Itoa(i%20 + 1)}
		r.ID = reconcile.CommitmentID(r.Ref)
		r.Title = fmt.Sprintf("v%d.%d", i/20, i%20)
		r.URL = "https://github.com/" + r.Ref.Team + "/milestone/" + r.Ref.ID
		r.Health = healths[i%len(healths)]
		r.Done = i % 45
		out[i] = r
	}
	return out
}

func newHandler(recs []reconcile.Record) *handler {
	return New(Records(recs), Options{Now: func() time.Time { return now }}).(*handler)
}
