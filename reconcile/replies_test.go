package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
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

// TestCutPassAnswersAnEditedCommand: a /commit made by editing an old
// comment (someone else's, on Jira) is recorded at the edit, by the
// editor. A pass cut after its news but before that answer saved the
// commitment; the resumed pass must know the command took it, and answer
// "Recorded" as the whole pass would have, not "Already committed", and
// take nothing twice.
func TestCutPassAnswersAnEditedCommand(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	w.thread.Comments = append(w.thread.Comments, connectors.Comment{ID: "j2", Author: "mallory", EditedBy: "jane",
		Body: "/commit 2026-12-20 agreed", CreatedAt: day("2026-11-03"), UpdatedAt: day("2026-11-05"), AuthorCanCommit: true})
	at := day("2026-11-05").Add(time.Hour)
	prev := w.rec
	next, actions, _ := Reconcile(prev, w.observation(), at, settings())
	if diff := cmp.Diff([]EventKind{EvRecommitted, EvStatus, EvReply}, kindsOf(actions)); diff != "" {
		t.Fatalf("the pass (-want +got):\n%s", diff)
	}
	whole := actions[2].Body

	// Cut before the answer: the news is out, the record saved with it.
	w.land(actions[:2], at)
	cp, ok := Progress(prev, next, actions, []bool{true, true, false})
	if !ok {
		t.Fatal("nothing to save after the news")
	}
	w.rec = cp
	if got := w.step(at.Add(time.Minute)); !cmp.Equal(got, []EventKind{EvReply}) {
		t.Fatalf("resumed pass: %v, want the answer alone", got)
	}
	answers := w.said(EvReply)
	if len(answers) != 1 || answers[0][:strings.Index(answers[0], "\n\n<!--")] != whole {
		t.Errorf("answer after the cut:\n%v\nwant the whole pass's:\n%s", answers, whole)
	}
	if !strings.Contains(whole, "Recorded") || !strings.Contains(whole, "by jane") {
		t.Errorf("the whole pass's answer:\n%s\nwant Recorded, by the editor", whole)
	}
	want := []string{
		"2026-12-01 baseline_first_seen by slipwatch at 11-02 09:00",
		"2026-12-20 declared_command by jane at 11-05 09:00",
	}
	if diff := cmp.Diff(want, w.promises()); diff != "" {
		t.Errorf("commitments (-want +got):\n%s", diff)
	}
}

// TestEditedOutsiderRequestIsNew: rationing counts a request from when its
// text was written, as commands are: an old comment edited into
// "/slipwatch help" after the last answer is a request waiting, answered
// once the hour is over, while the requests answered before stay so.
func TestEditedOutsiderRequestIsNew(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	start := day("2026-11-03")
	w.comment("mallory", false, "Nice work.", start)
	w.comment("visitor", false, "/slipwatch status", start.Add(time.Hour))
	if got := w.step(start.Add(65 * time.Minute)); countKind(got, EvReply) != 1 {
		t.Fatalf("a stranger's request: %v, want it answered", got)
	}
	edited := &w.thread.Comments[slices.IndexFunc(w.thread.Comments, func(c connectors.Comment) bool { return c.Body == "Nice work." })]
	edited.Body, edited.UpdatedAt = "/slipwatch help", start.Add(90*time.Minute)
	if got := w.step(start.Add(95 * time.Minute)); countKind(got, EvReply) != 0 {
		t.Errorf("within the hour: %v, want no answer", got)
	}
	_, actions, _ := Reconcile(w.rec, w.observation(), start.Add(3*time.Hour), settings())
	var to []string
	for _, a := range actions {
		if a.Kind == Reply {
			to = append(to, a.ReplyTo)
		}
	}
	if !cmp.Equal(to, []string{edited.ID}) {
		t.Errorf("hours on, answers to %v; want the edited request (%s) answered", to, edited.ID)
	}
}
