package backtest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// TestFromPast: a team's own past becomes a History the way
// docs/forecast.md says: the work is what was completed, the promise is
// the declared date, else the due date (never a released version's), taken
// as made when the first item was done.
func TestFromPast(t *testing.T) {
	ms := connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: "3"}
	ver := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10"}
	epic := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-1"}
	items := []connectors.Item{
		{ID: "1", CreatedAt: noon(0), ClosedAt: noon(10)},
		{ID: "2", CreatedAt: noon(1), ClosedAt: noon(20)},
		{ID: "3", CreatedAt: noon(15), ClosedAt: noon(25)}, // added after work began
		{ID: "4", CreatedAt: noon(2)},                      // left open: not delivered
	}
	past := connectors.Past{From: day0(-30), Daily: []int{1, 2}, Since: day0(5), Deliverables: []connectors.Deliverable{
		{Ref: ms, DueAt: noon(22), Items: items},
		{Ref: ver, DueDate: day0(26), Description: "Committed: " + day0(21).String(), Items: items},
		{Ref: ver, DueDate: day0(26), Items: items},
		{Ref: epic, Items: []connectors.Item{{ID: "PLAT-9", CreatedAt: noon(0)}}}, // nothing done
		{Ref: epic, DueDate: day0(3), Items: []connectors.Item{{ID: "PLAT-8", CreatedAt: noon(-9), ClosedAt: noon(2)}}},
	}}
	h := FromPast(past, time.UTC)
	done := items[:3]
	want := History{From: day0(-30), Daily: []int{1, 2}, Deliverables: []Deliverable{
		{ID: ms.Key(), Items: done, Promised: day0(22), PromisedAt: noon(10), Scope: 2, Delivered: day0(25), Measure: true},
		{ID: ver.Key(), Items: done, Promised: day0(21), PromisedAt: noon(10), Scope: 2, Delivered: day0(25), Measure: true},
		{ID: ver.Key(), Items: done, Delivered: day0(25), Measure: true},
		// Delivered before the stretch: the team's other work, not judged.
		{ID: epic.Key(), Items: past.Deliverables[4].Items, Promised: day0(3), PromisedAt: noon(2), Scope: 1, Delivered: day0(2)},
	}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestOwn: on a team that closes two items every working day, the
// forecast made when work began holds, and what Own reports adds up.
func TestOwn(t *testing.T) {
	daily := make([]int, 140)
	for i := range daily {
		if i%7 < 5 {
			daily[i] = 2
		}
	}
	var ds []connectors.Deliverable
	for k := range 3 {
		var items []connectors.Item
		start := 60 + 21*k
		for i := range 20 {
			d := start + i/2
			d += 2 * ((d - start) / 5)
			items = append(items, connectors.Item{ID: string(rune('a' + i)), CreatedAt: noon(start - 5), ClosedAt: noon(d)})
		}
		ref := connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: string(rune('1' + k))}
		ds = append(ds, connectors.Deliverable{Ref: ref, DueDate: day0(start + 20), Closed: true, Items: items})
	}
	past := connectors.Past{From: day0(0), Daily: daily, Since: day0(50), Deliverables: ds}
	s := reconcile.Settings{Location: time.UTC, Window: 42, Trials: 500, Confidence: 0.85, MinSamples: 5}
	r := Own("acme/api", FromPast(past, time.UTC), s)
	if r.Deliverables != 3 || r.Promised != 3 || r.Judged != 3 || r.Held != 3 {
		t.Errorf("judged %d (promised %d), P85 held %d of %d; want 3, 3, 3 of 3", r.Deliverables, r.Promised, r.Held, r.Judged)
	}
	if stated, met, n := r.New.Chance(); n == 0 || met != 1 || stated < 0.5 {
		t.Errorf("chance stated %.2f, met %.2f over %d: every promise was met, and likely", stated, met, n)
	}
	if v, ok := r.New.P85(2); !ok || v != 1 {
		t.Errorf("P85 half way: %v %v", v, ok)
	}
}
