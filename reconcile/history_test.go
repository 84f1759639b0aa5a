package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwatch/slipwatch/connectors"
)

// closeAll closes the world's deliverable and every item in it on date.
func (w *world) closeAll(date string) {
	w.d.Closed, w.d.ClosedAt = true, day(date)
	for i := range w.d.Items {
		w.d.Items[i].ClosedAt = day(date)
	}
}

// TestFirstSeenDeliveredIsQuiet: a deliverable already delivered when
// slipwatch first sees it (a version released months ago, a closed
// milestone, a done epic) gets no comment, no status and so no thread; its
// record lists it as delivered, and only a declared date is a promise.
func TestFirstSeenDeliveredIsQuiet(t *testing.T) {
	t.Parallel()
	now := day("2026-11-02")
	tests := []struct {
		name        string
		description string
		baseline    string
		thread      bool // a thread with people's comments (a Jira epic is its own thread)
		due         string
		closed      string
		wantHealth  Health
		wantPromise string // "" none
	}{
		{name: "closed milestone, no thread", due: "2026-06-01", closed: "2026-06-03", wantHealth: DeliveredLate},
		{name: "released on its date", due: "2026-06-01", closed: "2026-06-01", wantHealth: DeliveredOnTime},
		{name: "no due date", closed: "2026-06-03", wantHealth: NoDate},
		{name: "done epic with comments and a command", thread: true, due: "2026-06-01", closed: "2026-05-20", wantHealth: DeliveredOnTime},
		{name: "declared in the description", description: "Committed: 2026-05-15", due: "2026-06-01", closed: "2026-05-20",
			wantHealth: DeliveredLate, wantPromise: "2026-05-15"},
		{name: "declared_only, nothing declared", baseline: "declared_only", due: "2026-06-01", closed: "2026-05-20", wantHealth: DeliveredOnTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tt.due, 4, 2)
			w.d.Description = tt.description
			w.closeAll(tt.closed)
			s := settings()
			if tt.baseline != "" {
				s.Baseline = tt.baseline
			}
			obs := Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Throughput: w.tp}}
			if tt.thread {
				w.comment("jane", true, "Shipping this week.", day("2026-05-18"))
				w.comment("jane", true, "/slipwatch status", day("2026-05-19"))
				w.comment("jane", true, "/commit 2026-05-30", day("2026-05-19"))
				th := w.thread
				obs.Snapshot.Thread = &th
			}
			rec, actions, _ := Reconcile(Record{}, obs, now, s)
			if len(actions) != 0 {
				t.Fatalf("first sight of a delivered deliverable: %v, want nothing said", kindsOf(actions))
			}
			if !rec.Historical || !rec.Delivered || rec.DeliveredOn.String() != tt.closed || rec.Health != tt.wantHealth {
				t.Errorf("record historical=%v delivered=%v on %s health %s; want historical, delivered on %s, %s",
					rec.Historical, rec.Delivered, rec.DeliveredOn, rec.Health, tt.closed, tt.wantHealth)
			}
			if rec.Done != 4 || rec.Total != 4 {
				t.Errorf("progress %d/%d, want 4/4", rec.Done, rec.Total)
			}
			promise := ""
			if c, ok := rec.Commitment(); ok {
				promise = c.Date.String()
			}
			if promise != tt.wantPromise {
				t.Errorf("promise %q, want %q: a due date seen after delivery is no promise, a declared one is", promise, tt.wantPromise)
			}
			// Level-triggered: later passes (a restart, a poll a month on)
			// stay quiet too.
			for _, at := range []time.Time{now.Add(time.Minute), now.AddDate(0, 1, 0)} {
				again, more, _ := Reconcile(rec, obs, at, s)
				if len(more) != 0 || !again.Historical {
					t.Errorf("pass at %s: %v, historical=%v; want quiet", at, kindsOf(more), again.Historical)
				}
				rec = again
			}
			// Redis lost: nothing on the thread says otherwise, so it is
			// historical again, not news.
			if again, more, _ := Reconcile(Record{}, obs, now.AddDate(0, 1, 0), s); len(more) != 0 || !again.Historical {
				t.Errorf("after losing the record: %v, historical=%v; want quiet", kindsOf(more), again.Historical)
			}
		})
	}
}

// TestSeenBeforeDeliversAsToday: whatever slipwatch already knew of a
// deliverable (its record in Redis, its status marker after Redis was
// lost, or only its event comments after a crash before the status), a
// close is news: "Delivered" once, with the status comment.
func TestSeenBeforeDeliversAsToday(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		lose func(w *world) // what is left of slipwatch's knowledge
	}{
		{"record in Redis", func(w *world) {}},
		{"restored from the status marker", func(w *world) { w.rec = Record{} }},
		{"only event comments on the thread", func(w *world) {
			w.rec = Record{}
			kept := w.thread.Comments[:0]
			for _, c := range w.thread.Comments {
				if len(ParseMarkers(c.Hidden)) > 0 && ParseMarkers(c.Hidden)[0].Kind == MarkerStatus {
					continue
				}
				kept = append(kept, c)
			}
			w.thread.Comments = kept
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "2026-12-01", 4, 2)
			if got := w.step(day("2026-11-02")); !cmp.Equal(got, []EventKind{EvCommitted, "status"}) {
				t.Fatalf("first sight, open: %v", got)
			}
			tt.lose(w)
			w.closeAll("2026-11-20")
			got := w.step(day("2026-11-20"))
			if countKind(got, EvDelivered) != 1 || countKind(got, EvCommitted) != 0 {
				t.Errorf("closed after slipwatch saw it: %v, want delivered once, no second commitment", got)
			}
			if w.rec.Historical || w.rec.Health != DeliveredOnTime {
				t.Errorf("historical=%v health %s; want a live delivery on time", w.rec.Historical, w.rec.Health)
			}
			if tr := TrackRecord([]Record{w.rec}); len(tr) != 1 || tr[0].Delivered != 1 || tr[0].OnTime != 1 {
				t.Errorf("track record %+v, want 1 delivered on time", tr)
			}
		})
	}
}

// TestReopenedHistoricalIsLive: a historical deliverable reopened is live
// from then on, as if first seen open: its due date is the baseline, its
// story is told on its thread, and its next close is "Delivered". The
// track record counts it from the reopening on.
func TestReopenedHistoricalIsLive(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "2026-12-01", 4, 2)
	w.closeAll("2026-10-20")
	if got := w.step(day("2026-11-02")); len(got) != 0 || !w.rec.Historical {
		t.Fatalf("first sight, closed: %v historical=%v; want quiet", got, w.rec.Historical)
	}
	// Reopened with one more item to do.
	w.d.Closed, w.d.ClosedAt = false, time.Time{}
	w.d.Items = append(w.d.Items, connectors.Item{ID: "5", CreatedAt: day("2026-11-05")})
	got := w.step(day("2026-11-05"))
	if diff := cmp.Diff([]EventKind{EvCommitted, "status"}, got); diff != "" {
		t.Errorf("reopened (-want +got):\n%s", diff)
	}
	c, ok := w.rec.Commitment()
	if w.rec.Historical || w.rec.Delivered || !ok || c.Date.String() != "2026-12-01" || c.Source != BaselineFirstSeen {
		t.Errorf("after reopening: historical=%v delivered=%v promise %+v; want live, promised its due date", w.rec.Historical, w.rec.Delivered, c)
	}
	w.closeAll("2026-11-25")
	if got := w.step(day("2026-11-25")); countKind(got, EvDelivered) != 1 {
		t.Errorf("closed again: %v, want delivered", got)
	}
	if w.rec.Historical {
		t.Error("closed again after watching it: must stay live")
	}
	if tr := TrackRecord([]Record{w.rec}); len(tr) != 1 || tr[0].Commitments != 1 || tr[0].OnTime != 1 {
		t.Errorf("track record %+v, want the reopened promise delivered on time", tr)
	}
}

// TestReopenedDeclaredHistoricalAnnouncesItsPromise: the promise declared
// on a historical deliverable was never announced; reopened, it is.
func TestReopenedDeclaredHistoricalAnnouncesItsPromise(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "2026-12-01", 4, 2)
	w.d.Description = "Committed: 2026-11-28"
	w.closeAll("2026-10-20")
	if got := w.step(day("2026-11-02")); len(got) != 0 {
		t.Fatalf("first sight, closed: %v; want quiet", got)
	}
	w.d.Closed, w.d.ClosedAt = false, time.Time{}
	w.d.Items[0].ClosedAt = time.Time{}
	got := w.step(day("2026-11-05"))
	// The due date stood after the promise since slipwatch first saw it:
	// the slip is news too, as on any deliverable found open that way.
	if diff := cmp.Diff([]EventKind{EvCommitted, EvSlipped, "status"}, got); diff != "" {
		t.Errorf("reopened (-want +got):\n%s", diff)
	}
	if c, _ := w.rec.Commitment(); c.Date.String() != "2026-11-28" || len(w.rec.Commitments) != 1 {
		t.Errorf("commitments %+v, want the declared 2026-11-28 only", w.rec.Commitments)
	}
}

// TestTrackRecordLeavesOutUnknownPromises: of what slipwatch found already
// delivered, only a declared promise counts; the due date it saw after the
// fact is no promise anyone made.
func TestTrackRecordLeavesOutUnknownPromises(t *testing.T) {
	t.Parallel()
	s := settings()
	now := day("2026-11-02")
	observe := func(desc, due, closed string) Record {
		w := newWorld(t, due, 3, 2)
		w.d.Description = desc
		if closed != "" {
			w.closeAll(closed)
		}
		rec, _, _ := Reconcile(Record{}, Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Throughput: w.tp}}, now, s)
		return rec
	}
	records := []Record{
		observe("", "2026-06-01", "2026-06-20"),                      // historical, late against its due date: not counted
		observe("", "2026-07-01", "2026-07-01"),                      // historical, on its due date: not counted
		observe("Committed: 2026-08-01", "2026-08-10", "2026-08-11"), // historical, declared: counted, 10 days late
		observe("", "2026-12-01", ""),                                // open: counted, not delivered
	}
	got := TrackRecord(records)
	want := []TeamRecord{{Tracker: "github", Team: "acme/api", Commitments: 2, Delivered: 1, OnTime: 0, MedianSlipDays: 10, MeanSlipDays: 10}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(TeamRecord{}, "RecommitsPerItem")); diff != "" {
		t.Errorf("track record (-want +got):\n%s", diff)
	}
	views := make([]bool, 0, len(records))
	for _, r := range records {
		views = append(views, ViewOf(r).Historical)
	}
	if diff := cmp.Diff([]bool{true, true, true, false}, views); diff != "" {
		t.Errorf("views' historical flags (-want +got):\n%s", diff)
	}
}

// TestPlantedMarkerKeepsTheDeliverableHistorical: whether slipwatch saw a
// deliverable before is read from its own markers, so only those its keys
// vouch for count. Someone who may edit slipwatch's comments and plants a
// marker (unsigned, or signed with a key of their own) on the thread of a
// deliverable delivered before slipwatch first saw it must not make it
// tell its months-old story; a marker slipwatch signed does say it
// watched it.
func TestPlantedMarkerKeepsTheDeliverableHistorical(t *testing.T) {
	t.Parallel()
	mallory := NewMarkerKeys([]byte("mallory's own key"))
	promised := Record{Schema: Schema, ID: CommitmentID(ref), Ref: ref, Thread: "acme/api#100",
		Commitments: []Commitment{{Date: date("2026-06-01"), Source: BaselineFirstSeen, By: "slipwatch", At: day("2026-05-01")}}}
	elsewhere := promised
	elsewhere.Thread = "acme/api#7"
	eventID := hashID(CommitmentID(ref), string(EvCommitted), "2026-06-01")
	tests := []struct {
		name       string
		marker     string
		historical bool
	}{
		{"unsigned event marker", MarkerKeys{}.EventMarker(eventID, EvCommitted), true},
		{"event marker under another key", mallory.EventMarker(eventID, EvCommitted), true},
		{"unsigned status marker", MarkerKeys{}.StatusMarker(promised), true},
		{"status marker under another key", mallory.StatusMarker(promised), true},
		{"slipwatch's event marker", settings().Markers.EventMarker(eventID, EvCommitted), false},
		{"slipwatch's status marker", settings().Markers.StatusMarker(promised), false},
		// Copied from another thread it restores nothing (its history
		// may be another thread's), but slipwatch signed it: it knew
		// the deliverable, so the close is news as for any it watched.
		{"slipwatch's status marker naming another thread", settings().Markers.StatusMarker(elsewhere), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "2026-06-01", 4, 2)
			w.closeAll("2026-06-03")
			// A comment of slipwatch's on the thread, edited since.
			w.thread.Comments = append(w.thread.Comments, connectors.Comment{ID: "s1", Author: "slipwatch[bot]", BySelf: true,
				Body: "Hello.\n\n" + tt.marker, Hidden: "Hello.\n\n" + tt.marker, CreatedAt: day("2026-05-01"), UpdatedAt: day("2026-10-30")})
			rec, actions, _ := Reconcile(Record{}, w.observation(), day("2026-11-02"), settings())
			if rec.Historical != tt.historical {
				t.Errorf("historical=%v, want %v", rec.Historical, tt.historical)
			}
			if delivered := countKind(kindsOf(actions), EvDelivered); tt.historical && len(actions) != 0 || !tt.historical && delivered != 1 {
				t.Errorf("actions %v; want none for a historical deliverable, else delivered once", kindsOf(actions))
			}
		})
	}
}
