package reconcile

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOutsidersRationed: anyone who can comment can ask for the status a
// thousand times. Those who may not commit are answered once per thread
// per hour, the newest request; those who may commit, always.
func TestOutsidersRationed(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	start := day("2026-11-03")
	for i := range 300 {
		verb := []string{"/slipwatch status", "/slipwatch help", "/commit 2027-01-01"}[i%3]
		w.comment(fmt.Sprint("visitor", i), false, verb, start.Add(time.Duration(i)*time.Second))
	}
	newest := w.thread.Comments[len(w.thread.Comments)-1].ID
	if got := w.step(start.Add(10 * time.Minute)); !cmp.Equal(got, []EventKind{"status", EvReply}) {
		t.Fatalf("300 requests from strangers: %v, want the status and one reply", got)
	}
	replies := w.said(EvReply)
	if len(replies) != 1 {
		t.Fatalf("%d replies", len(replies))
	}
	_, actions, _ := Reconcile(w.rec, w.observation(), start.Add(11*time.Minute), settings())
	if len(actions) != 0 {
		t.Errorf("the next pass acts: %v", kindsOf(actions))
	}
	if w.rec.Outsider == nil || w.rec.Outsider.Reply != hashID(w.rec.ID, string(EvReply), newest, "commit", "2027-01-01") {
		t.Errorf("answered %+v, want the newest request, %s", w.rec.Outsider, newest)
	}

	// Within the hour another stranger asks: no answer; the lead asks:
	// answered at once.
	w.comment("visitor-late", false, "/slipwatch status", start.Add(30*time.Minute))
	w.comment("jane", true, "/slipwatch status", start.Add(31*time.Minute))
	if got := w.step(start.Add(32 * time.Minute)); !cmp.Equal(got, []EventKind{EvReply}) {
		t.Errorf("within the hour: %v, want only the lead's answer", got)
	}
	// An hour after the last answer, the request still waiting is
	// answered once; the old flood stays unanswered.
	if got := w.step(start.Add(71 * time.Minute)); !cmp.Equal(got, []EventKind{EvReply}) {
		t.Errorf("an hour on: %v, want the late request answered", got)
	}
	if got := w.step(start.Add(3 * time.Hour)); len(got) != 0 {
		t.Errorf("hours on: %v, want no more answers to the old flood", got)
	}
	if n := len(w.said(EvReply)); n != 3 {
		t.Errorf("%d answers in all, want 3", n)
	}

	// Redis is lost with a request waiting: the thread's latest answer
	// stands in for the record of the last one, also on the passes after.
	w.comment("visitor-later", false, "/slipwatch help", start.Add(3*time.Hour+time.Minute))
	w.step(start.Add(3*time.Hour + 2*time.Minute)) // answered: the hour since the last answer is over
	w.comment("visitor-last", false, "/slipwatch help", start.Add(3*time.Hour+3*time.Minute))
	w.rec = Record{}
	for i := range 3 {
		if got := w.step(start.Add(3*time.Hour + time.Duration(4+i)*time.Minute)); slices.Contains(got, EvReply) {
			t.Errorf("pass %d after a lost Redis answered a request within the hour: %v", i, got)
		}
	}
}
