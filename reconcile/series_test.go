package reconcile

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

// workItem is created on day created and closed on day closed ("" open).
func workItem(id, created, closed string) connectors.Item {
	it := connectors.Item{ID: id, CreatedAt: day(created)}
	if closed != "" {
		it.ClosedAt = day(closed)
	}
	return it
}

func TestObserveSeries(t *testing.T) {
	t.Parallel()
	items := []connectors.Item{
		workItem("1", "2026-10-01", "2026-10-02"),
		workItem("2", "2026-10-01", "2026-10-04"),
		workItem("3", "2026-10-03", ""),
		workItem("4", "2026-10-04", ""),
	}
	seen := Series{From: date("2026-10-01"), Done: []int{0, 1, 1}, Total: []int{5, 5, 5}} // a pass saw 5 items then
	tests := []struct {
		name        string
		prev        Series
		items       []connectors.Item
		end         string
		done, total int
		want        Series
	}{{
		name:  "new record: derived from the items",
		items: items, end: "2026-10-05", done: 2, total: 4,
		want: Series{From: date("2026-10-01"), Done: []int{0, 1, 1, 2, 2}, Total: []int{2, 2, 3, 4, 4}},
	}, {
		name: "same day, same counts: unchanged",
		prev: seen, items: items, end: "2026-10-03", done: 1, total: 5,
		want: seen,
	}, {
		name: "same day, new counts: the day takes them",
		prev: seen, items: items, end: "2026-10-03", done: 2, total: 5,
		want: Series{From: date("2026-10-01"), Done: []int{0, 1, 2}, Total: []int{5, 5, 5}},
	}, {
		// Days a pass saw keep what it saw (5 items, one since moved out);
		// the day between is derived, the last day is as observed.
		name: "days missed: filled from the items",
		prev: seen, items: items, end: "2026-10-05", done: 2, total: 4,
		want: Series{From: date("2026-10-01"), Done: []int{0, 1, 1, 2, 2}, Total: []int{5, 5, 5, 4, 4}},
	}, {
		name: "delivered earlier than the last day drawn: cut there",
		prev: seen, items: items, end: "2026-10-02", done: 1, total: 4,
		want: Series{From: date("2026-10-01"), Done: []int{0, 1}, Total: []int{5, 4}},
	}, {
		name:  "no items: one day",
		end:   "2026-10-05",
		want:  Series{From: date("2026-10-05"), Done: []int{0}, Total: []int{0}},
		items: nil,
	}, {
		name:  "damaged arrays: derived again",
		prev:  Series{From: date("2026-10-01"), Done: []int{0, 1}, Total: []int{5}},
		items: items, end: "2026-10-02", done: 1, total: 2,
		want: Series{From: date("2026-10-01"), Done: []int{0, 1}, Total: []int{2, 2}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before, _ := json.Marshal(tt.prev)
			got := observeSeries(tt.prev, tt.items, date(tt.end), tt.done, tt.total, time.UTC)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
			if after, _ := json.Marshal(tt.prev); string(after) != string(before) {
				t.Errorf("the previous series was written into: %s, was %s", after, before)
			}
		})
	}
}

// TestSeriesBounded: a deliverable open for two years keeps the last
// SeriesDays days, and a year without a pass still ends in SeriesDays.
func TestSeriesBounded(t *testing.T) {
	t.Parallel()
	items := []connectors.Item{workItem("1", "2024-10-01", "2025-01-01"), workItem("2", "2024-10-01", "")}
	end := date("2026-10-01")
	s := observeSeries(Series{}, items, end, 1, 2, time.UTC)
	if s.Len() != SeriesDays || s.Last() != end || s.From != end.AddDays(-(SeriesDays-1)) {
		t.Fatalf("from %s, %d days, last %s", s.From, s.Len(), s.Last())
	}
	if s.Done[0] != 1 || s.Total[0] != 2 {
		t.Errorf("first day kept %d/%d, want the history before it counted: 1/2", s.Done[0], s.Total[0])
	}
	later := end.AddDays(365)
	s = observeSeries(s, items, later, 1, 2, time.UTC)
	if s.Len() != SeriesDays || s.Last() != later {
		t.Fatalf("a year on: %d days up to %s", s.Len(), s.Last())
	}
	s = observeSeries(s, items, later.AddDays(1), 2, 2, time.UTC)
	if s.Len() != SeriesDays || s.Done[SeriesDays-1] != 2 || s.Done[SeriesDays-2] != 1 {
		t.Errorf("a day on: %d days, last two done %v", s.Len(), s.Done[SeriesDays-2:])
	}
}

// TestSeriesThroughReconcile follows a deliverable for a week of passes,
// then loses Redis: the record rebuilt from the status marker regains the
// burn-up from the items, while the marker itself stays as compact as
// before the series existed.
func TestSeriesThroughReconcile(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "2026-10-30", 6, 1)
	w.thread.URL = "https://github.com/acme/api/issues/100"
	w.comment("lead", true, "/commit 2026-10-30", day("2026-10-05"))
	for i := range 7 {
		now := day("2026-10-05").AddDate(0, 0, i)
		if i > 0 {
			w.d.Items[i-1].ClosedAt = now.Add(-2 * time.Hour)
		}
		w.step(now)
	}
	s := w.rec.Series
	// The items exist from Oct 1; the first pass derived Oct 1 to 4.
	want := Series{From: date("2026-10-01"), Done: []int{0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6}, Total: []int{6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("burn-up after a week (-want +got):\n%s", diff)
	}
	if w.rec.ThreadURL != w.thread.URL {
		t.Errorf("thread URL %q, want %q", w.rec.ThreadURL, w.thread.URL)
	}

	marker := settings().Markers.StatusMarker(w.rec)
	bare := w.rec
	bare.Series, bare.ThreadURL = Series{}, ""
	if marker != settings().Markers.StatusMarker(bare) || strings.Contains(marker, "series") {
		t.Errorf("the status marker carries the series:\n%s", marker)
	}

	// Redis is flushed: the next pass starts from nothing but the thread.
	restored, actions, _ := Reconcile(Record{}, w.observation(), day("2026-10-11").Add(time.Hour), settings())
	if diff := cmp.Diff(want, restored.Series); diff != "" {
		t.Errorf("burn-up rebuilt after losing Redis (-want +got):\n%s", diff)
	}
	if len(restored.Commitments) != 1 || len(actions) != 0 {
		t.Errorf("restored %d commitments with %d actions", len(restored.Commitments), len(actions))
	}
}
