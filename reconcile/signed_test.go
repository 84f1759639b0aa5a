package reconcile

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

// legacyStatusMarker is a status marker as slipwatch wrote it before
// markers were signed: no sig=, and the whole Record's JSON.
func legacyStatusMarker(r Record) string {
	old := Record{Schema: Schema, ID: r.ID, Ref: r.Ref, Commitments: r.Commitments, Targets: r.Targets, Declared: r.Declared,
		Delivered: r.Delivered, DeliveredOn: r.DeliveredOn, AtRisk: r.AtRisk, Announced: r.Announced}
	data, _ := json.Marshal(old)
	return "<!-- slipwatch:status id=" + r.ID + " v=1 " + string(data) + " -->"
}

// statusComment is the index of slipwatch's status comment on w's thread.
func (w *world) statusComment() int {
	w.t.Helper()
	for i, c := range w.thread.Comments {
		for _, m := range ParseMarkers(c.Hidden) {
			if m.Kind == MarkerStatus {
				return i
			}
		}
	}
	w.t.Fatal("no status comment")
	return -1
}

// plant writes marker into slipwatch's comment i, as someone allowed to
// edit it would: the comment shows it was edited.
func (w *world) plant(i int, marker string, at time.Time) {
	c := &w.thread.Comments[i]
	c.Body += "\n" + marker
	c.Hidden = c.Body
	c.UpdatedAt = at
}

func slipID() string {
	return hashID(CommitmentID(ref), string(EvSlipped), "2026-12-01", "2026-12-15")
}

// TestPlantedEventMarkerHidesNothing: someone who may edit slipwatch's
// comments plants the marker of the slip about to be announced, unsigned
// or signed with a key of their own; the slip is announced all the same.
// A marker signed with a previous key (being rotated out) does count.
func TestPlantedEventMarkerHidesNothing(t *testing.T) {
	for _, tt := range []struct {
		name    string
		keys    MarkerKeys
		hidden  bool // the planted marker suppresses the slip
		current MarkerKeys
	}{
		{"unsigned", MarkerKeys{}, false, settings().Markers},
		{"another key", NewMarkerKeys([]byte("mallory's own key")), false, settings().Markers},
		{"the previous key, still accepted", settings().Markers, true, NewMarkerKeys([]byte("the new key"), testKey)},
		{"a key since removed", settings().Markers, false, NewMarkerKeys([]byte("the new key"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "2026-12-01", 10, 2)
			w.step(day("2026-11-02"))
			w.plant(w.statusComment(), tt.keys.EventMarker(slipID(), EvSlipped), day("2026-11-03"))
			w.setDue("2026-12-15")
			s := settings()
			s.Markers = tt.current
			rec, actions, _ := Reconcile(w.rec, w.observation(), day("2026-11-04"), s)
			rec, actions, _ = Reconcile(rec, w.observation(), day("2026-11-04").Add(2*time.Hour), s)
			slipped := false
			for _, a := range actions {
				slipped = slipped || a.EventID == slipID()
			}
			if slipped == tt.hidden {
				t.Errorf("slip announced %v, want %v (actions %v)", slipped, !tt.hidden, kindsOf(actions))
			}
			if tt.hidden && rec.Health != Slipped {
				t.Errorf("health %s", rec.Health)
			}
		})
	}
}

// TestPlantedStatusMarkerRestoresNothing: Redis is lost and the status
// comment's marker was replaced by one promising 2099, unsigned or with
// another key. The record is not rebuilt from it; the status comment is
// rewritten in place, signed.
func TestPlantedStatusMarkerRestoresNothing(t *testing.T) {
	for name, keys := range map[string]MarkerKeys{"unsigned": {}, "another key": NewMarkerKeys([]byte("mallory's own key"))} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, "2026-12-01", 10, 2)
			w.step(day("2026-11-02"))
			poisoned := w.rec
			poisoned.Commitments = append(poisoned.Commitments, Commitment{Date: connectors.Date{Year: 2099, Month: 1, Day: 1},
				Source: DeclaredCommand, By: "mallory", At: day("2026-11-02")})
			i := w.statusComment()
			statusID := w.thread.Comments[i].ID
			body, _, _ := strings.Cut(w.thread.Comments[i].Body, "\n\n<!-- slipwatch:")
			w.thread.Comments[i].Body = body + "\n\n" + keys.StatusMarker(poisoned)
			w.thread.Comments[i].Hidden, w.thread.Comments[i].UpdatedAt = w.thread.Comments[i].Body, day("2026-11-03")

			w.rec = Record{}
			s := settings()
			rec, actions, _ := Reconcile(w.rec, w.observation(), day("2026-11-03").Add(time.Hour), s)
			for _, c := range rec.Commitments {
				if c.Date.Year == 2099 {
					t.Fatalf("the record was rebuilt from the planted marker: %+v", rec.Commitments)
				}
			}
			var edit *Action
			for i := range actions {
				if actions[i].Kind == UpsertStatus {
					edit = &actions[i]
				}
			}
			if edit == nil || edit.CommentID != statusID || len(s.Markers.Verified(edit.Marker)) != 1 {
				t.Errorf("status action %+v: want the same comment rewritten with a signed marker", edit)
			}
		})
	}
}

// TestUpgradeResignsTheStatusComment: the markers on a thread were written
// by a version that did not sign them. With the record in Redis, the
// first pass rewrites the status comment in place with a signed marker and
// posts nothing else; the next is quiet; a Redis lost afterwards restores
// from the signed marker.
func TestUpgradeResignsTheStatusComment(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	i := w.statusComment()
	statusID := w.thread.Comments[i].ID
	body, _, _ := strings.Cut(w.thread.Comments[i].Body, "\n\n<!-- slipwatch:")
	w.thread.Comments[i].Body = body + "\n\n" + legacyStatusMarker(w.rec)
	w.thread.Comments[i].Hidden = w.thread.Comments[i].Body
	for j, c := range w.thread.Comments {
		if j != i {
			ev, _, _ := strings.Cut(c.Body, " sig=")
			w.thread.Comments[j].Body = ev + " -->"
			w.thread.Comments[j].Hidden = w.thread.Comments[j].Body
		}
	}
	if got := len(settings().Markers.Rejected(&w.thread)); got != 2 {
		t.Fatalf("%d markers rejected on the legacy thread, want 2 (the event's and the status's)", got)
	}

	_, actions, _ := Reconcile(w.rec, w.observation(), day("2026-11-02").Add(time.Hour), settings())
	if len(actions) != 1 || actions[0].Kind != UpsertStatus || actions[0].CommentID != statusID {
		t.Fatalf("first pass after the upgrade: %+v; want one edit of comment %s", kindsOf(actions), statusID)
	}
	if got := w.step(day("2026-11-02").Add(time.Hour)); !cmp.Equal(got, []EventKind{"status"}) {
		t.Fatalf("actions %v", got)
	}
	if got := w.step(day("2026-11-02").Add(2 * time.Hour)); len(got) != 0 {
		t.Errorf("after the re-signing: %v", got)
	}
	w.rec = Record{}
	w.step(day("2026-11-02").Add(3 * time.Hour))
	if c, ok := w.rec.Commitment(); !ok || c.Date.String() != "2026-12-01" {
		t.Errorf("restored commitment %+v after the re-signing", c)
	}
}

// TestSignedStatusMarkerOfAnotherThread: a genuine status marker copied
// from another thread (a deliverable whose thread moved, or an edit) does
// not rebuild this thread's record.
func TestSignedStatusMarkerOfAnotherThread(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	elsewhere := w.rec
	elsewhere.Thread = "acme/api#1"
	elsewhere.Commitments = append(elsewhere.Commitments, Commitment{Date: connectors.Date{Year: 2027, Month: 3, Day: 1}, Source: DeclaredCommand, By: "jane", At: day("2026-11-02")})
	i := w.statusComment()
	body, _, _ := strings.Cut(w.thread.Comments[i].Body, "\n\n<!-- slipwatch:")
	w.thread.Comments[i].Body = body + "\n\n" + settings().Markers.StatusMarker(elsewhere)
	w.thread.Comments[i].Hidden = w.thread.Comments[i].Body
	rec, _, _ := Reconcile(Record{}, w.observation(), day("2026-11-03"), settings())
	if c, _ := rec.Commitment(); c.Date.Year == 2027 {
		t.Errorf("restored from another thread's marker: %+v", rec.Commitments)
	}
}

func TestRejectedReasons(t *testing.T) {
	k := settings().Markers
	created := day("2026-11-02")
	ev := k.EventMarker("ab", EvSlipped)
	unsigned := MarkerKeys{}.EventMarker("cd", EvSlipped)
	other := NewMarkerKeys([]byte("another key")).EventMarker("ef", EvSlipped)
	th := &connectors.Thread{Comments: []connectors.Comment{
		{ID: "1", BySelf: true, Hidden: ev + unsigned + other, CreatedAt: created, UpdatedAt: created},
		{ID: "2", BySelf: true, Hidden: ev + unsigned + other, CreatedAt: created, UpdatedAt: created.Add(time.Hour)},
		{ID: "3", Hidden: unsigned, CreatedAt: created, UpdatedAt: created.Add(time.Hour)}, // someone else's: never believed, not counted
	}}
	want := []RejectedMarker{
		{Comment: "1", Kind: MarkerEvent, ID: "cd", Reason: RejectStale},
		{Comment: "1", Kind: MarkerEvent, ID: "ef", Reason: RejectStale},
		{Comment: "2", Kind: MarkerEvent, ID: "cd", Reason: RejectUnsigned},
		{Comment: "2", Kind: MarkerEvent, ID: "ef", Reason: RejectBadSignature},
	}
	if diff := cmp.Diff(want, k.Rejected(th)); diff != "" {
		t.Errorf("rejected (-want +got):\n%s", diff)
	}
}

// TestMarkerSignatureCoversEveryField: a signed marker changed in any
// field no longer verifies.
func TestMarkerSignatureCoversEveryField(t *testing.T) {
	k := settings().Markers
	ev := k.EventMarker("0123456789abcdef", EvSlipped)
	st := k.StatusMarker(Record{Schema: Schema, ID: "ab", Commitments: []Commitment{{Date: connectors.Date{Year: 2026, Month: 12, Day: 1}}}})
	for name, text := range map[string]string{
		"event id":    strings.Replace(ev, "id=0123", "id=1123", 1),
		"event kind":  strings.Replace(ev, "kind=slipped", "kind=overdue", 1),
		"kind moved":  strings.Replace(strings.Replace(ev, "slipwatch:event", "slipwatch:status", 1), " kind=slipped", "", 1),
		"status json": strings.Replace(st, "2026-12-01", "2099-12-01", 1),
	} {
		if len(k.Verified(text)) != 0 {
			t.Errorf("%s changed, still verified: %s", name, text)
		}
	}
	if len(k.Verified(ev+st)) != 2 {
		t.Error("the markers as signed do not verify")
	}
}

// TestSignedStatusMarkerReadByEarlierVersions: during a rolling upgrade,
// and after a rollback, a version that predates signing must still find
// the status comment and read its record, or it would stop editing it.
// Its grammar had no sig= for status markers and it decoded the JSON into
// a Record, skipping members it does not know.
func TestSignedStatusMarkerReadByEarlierVersions(t *testing.T) {
	earlier := regexp.MustCompile(`<!-- slipwatch:(status|event) id=([0-9a-f]{1,64})(?: kind=([a-z_]{1,32}))?(?: v=([0-9]{1,4}) (\{[^\n]*?\}))? -->`)
	r := fullRecord()
	m := earlier.FindStringSubmatch(settings().Markers.StatusMarker(r))
	if m == nil || m[1] != MarkerStatus || m[2] != r.ID {
		t.Fatalf("an earlier version does not find the signed status marker: %q", settings().Markers.StatusMarker(r))
	}
	var got Record
	if err := json.Unmarshal([]byte(m[5]), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(statusRecord(r), got); diff != "" {
		t.Errorf("an earlier version reads another record (-want +got):\n%s", diff)
	}
}
