package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// busyPass is a world about to reconcile a pass with every kind of action:
// two recommitments by the lead, the slip they leave, the status comment,
// and the answers to the lead and to a stranger.
func busyPass(t *testing.T) (*world, time.Time) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	w.setDue("2026-12-31")
	w.step(day("2026-11-04"))
	w.comment("jane", true, "/commit 2026-12-20 SSO", day("2026-11-04").Add(time.Hour))
	w.comment("jane", true, "/commit 2026-12-22 and audit logs", day("2026-11-04").Add(90*time.Minute))
	w.comment("mallory", false, "/slipwatch status", day("2026-11-04").Add(100*time.Minute))
	return w, day("2026-11-04").Add(2 * time.Hour)
}

// saidOnce is every marker ID on the thread, failing on one said twice.
func (w *world) saidOnce() map[string]string {
	w.t.Helper()
	ids := map[string]string{}
	for _, c := range w.thread.Comments {
		for _, m := range ParseMarkers(c.Hidden) {
			if m.Kind != MarkerEvent {
				continue
			}
			if _, dup := ids[m.ID]; dup {
				w.t.Errorf("%s %s said twice", m.EventKind, m.ID)
			}
			ids[m.ID] = strings.TrimSpace(strings.Split(c.Body, "\n\n<!--")[0])
		}
	}
	return ids
}

// TestProgressResumes: a pass cut after any number of its actions, with
// the record Progress says to save, resumes at the next one: every
// comment is said once, with the words the whole pass would have used,
// and the record ends as if the pass had not been cut.
func TestProgressResumes(t *testing.T) {
	whole, at := busyPass(t)
	_, actions, _ := Reconcile(whole.rec, whole.observation(), at, settings())
	want := []EventKind{EvRecommitted, EvRecommitted, EvSlipped, "status", EvReply, EvReply, EvReply}
	if diff := cmp.Diff(want, kindsOf(actions)); diff != "" {
		t.Fatalf("the pass (-want +got):\n%s", diff)
	}
	whole.step(at)
	wantSaid, wantRec := whole.saidOnce(), whole.rec

	for cut := range len(actions) + 1 {
		t.Run(fmt.Sprint("cut after ", cut), func(t *testing.T) {
			w, at := busyPass(t)
			prev := w.rec
			next, actions, _ := Reconcile(prev, w.observation(), at, settings())
			done := make([]bool, len(actions))
			for i := range cut {
				done[i] = true
			}
			w.land(actions[:cut], at)
			if cp, ok := Progress(prev, next, actions, done); ok {
				w.rec = cp
			}
			for i := range 3 {
				w.step(at.Add(time.Duration(i+1) * time.Minute))
			}
			if diff := cmp.Diff(wantSaid, w.saidOnce()); diff != "" {
				t.Errorf("comments (-whole pass +cut and resumed):\n%s", diff)
			}
			if diff := cmp.Diff(wantRec.Commitments, w.rec.Commitments); diff != "" {
				t.Errorf("commitments (-whole pass +cut and resumed):\n%s", diff)
			}
		})
	}
}

// TestProgressKeepsWhatIsDone: the record saved after each action names
// what was said and no more, and keeps the thread.
func TestProgressKeepsWhatIsDone(t *testing.T) {
	w, at := busyPass(t)
	prev := w.rec
	next, actions, _ := Reconcile(prev, w.observation(), at, settings())
	done := []bool{true, false, false, false, false, false, false}
	cp, ok := Progress(prev, next, actions, done)
	if !ok || !slices.Contains(cp.Announced, actions[0].EventID) || slices.Contains(cp.Announced, actions[1].EventID) ||
		len(cp.Commitments) != len(prev.Commitments) || cp.Thread != next.Thread {
		t.Errorf("after the first event: %+v", cp)
	}
	done = []bool{true, true, true, true, true, false, false}
	cp, _ = Progress(prev, next, actions, done)
	if len(cp.Commitments) != len(next.Commitments) || !slices.Contains(cp.Replied, actions[4].EventID) ||
		slices.Contains(cp.Replied, actions[5].EventID) || cp.StatusHash != next.StatusHash {
		t.Errorf("after the first reply: commitments %d of %d, replied %v", len(cp.Commitments), len(next.Commitments), cp.Replied)
	}
	if _, ok := Progress(Record{}, next, actions, []bool{true}); ok {
		t.Error("a first pass saves a half record before its news is out")
	}
}
