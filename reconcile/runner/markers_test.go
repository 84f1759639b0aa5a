package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// eventID is the core's ID of an event: the first 8 bytes of the SHA-256
// of its parts joined by NUL, in hex.
func eventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

// rejected is slipwatch_markers_rejected_total{reason} as scraped.
func rejected(t *testing.T, r *Runner, reason string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.m.markersRejected)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// statusComment is slipwatch's status comment on the tracking issue.
func (c *conversation) statusComment() (issue int, id int64, body string) {
	c.t.Helper()
	issue, mine := c.thread()
	for _, cm := range mine {
		for _, m := range reconcile.ParseMarkers(cm.Body) {
			if m.Kind == reconcile.MarkerStatus {
				return issue, cm.ID, cm.Body
			}
		}
	}
	c.t.Fatal("no status comment")
	return 0, 0, ""
}

// TestPlantedMarkerHidesNoSlip: someone with write access edits one of
// slipwatch's event comments (which slipwatch never rewrites) and plants
// the marker of the slip about to happen, unsigned and with a signature
// of their own making. The slip is announced once all the same, and the
// planted markers are counted.
func TestPlantedMarkerHidesNoSlip(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	r, c := newConversation(t, srv.Prefix(t), "A", gh, clk, 0)
	ctx := context.Background()
	r.PollOnce(ctx)
	drain(t, r, c.st)

	ref := connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: strconv.Itoa(ms)}
	slip := eventID(reconcile.CommitmentID(ref), string(reconcile.EvSlipped), "2026-12-01", "2026-12-15")
	_, mine := c.thread()
	var event githubtest.Comment
	for _, cm := range mine {
		for _, m := range reconcile.ParseMarkers(cm.Body) {
			if m.EventKind == reconcile.EvCommitted {
				event = cm
			}
		}
	}
	clk.Add(time.Hour)
	gh.EditComment("acme/api", event.ID, event.Body+"\n"+reconcile.MarkerKeys{}.EventMarker(slip, reconcile.EvSlipped)+
		"\n"+reconcile.NewMarkerKeys([]byte("mallory's guess at the key")).EventMarker(slip, reconcile.EvSlipped), time.Time{})

	gh.UpdateMilestone("acme/api", ms, func(m *githubtest.Milestone) { m.DueOn = time.Date(2026, 12, 15, 8, 0, 0, 0, time.UTC) })
	key := ref.Key()
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)
	clk.Add(2 * time.Hour) // the new date has stood for slip.settle
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)

	_, mine = c.thread()
	slipped := 0
	for _, cm := range mine {
		if cm.ID == event.ID {
			continue // the comment the markers were planted in
		}
		for _, m := range testMarkers.Verified(cm.Body) {
			if m.ID == slip {
				slipped++
			}
		}
	}
	if slipped != 1 {
		t.Errorf("the slip was announced %d times, want once", slipped)
	}
	t.Logf("slip announced %d times; markers rejected: unsigned %v, bad_signature %v, stale %v", slipped,
		rejected(t, r, reconcile.RejectUnsigned), rejected(t, r, reconcile.RejectBadSignature), rejected(t, r, reconcile.RejectStale))
	if n := rejected(t, r, reconcile.RejectUnsigned); n < 1 {
		t.Errorf("slipwatch_markers_rejected_total{reason=unsigned} = %v, want the planted marker counted", n)
	}
	if n := rejected(t, r, reconcile.RejectBadSignature); n < 1 {
		t.Errorf("slipwatch_markers_rejected_total{reason=bad_signature} = %v, want the forged marker counted", n)
	}
}

// TestPlantedHistoryIsNotRestored: someone with write access replaces the
// record in slipwatch's status comment with a history promising 2099, and
// Redis is then lost. The record is not rebuilt from the planted marker,
// and the status comment is rewritten in place (not a second one), signed.
func TestPlantedHistoryIsNotRestored(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, _ := sandbox(t, clk)
	prefix := srv.Prefix(t)
	r, c := newConversation(t, prefix, "A", gh, clk, 0)
	ctx := context.Background()
	r.PollOnce(ctx)
	drain(t, r, c.st)

	recs, _ := r.records(ctx)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	poisoned := recs[0]
	poisoned.Commitments = append(poisoned.Commitments, reconcile.Commitment{Date: connectors.Date{Year: 2099, Month: 1, Day: 1},
		Source: reconcile.DeclaredCommand, By: "mallory", At: clk.Now()})
	issue, id, body := c.statusComment()
	text, _, _ := strings.Cut(body, "\n\n<!-- slipwatch:")
	clk.Add(time.Hour)
	gh.EditComment("acme/api", id, text+"\n\n"+reconcile.MarkerKeys{}.StatusMarker(poisoned), time.Time{})

	rdb := srv.Client(t)
	keys, _ := rdb.Keys(ctx, prefix+"*").Result()
	rdb.Del(ctx, keys...)
	r2, c2 := newConversation(t, prefix, "B", gh, clk, 0)
	r2.PollOnce(ctx)
	drain(t, r2, c2.st)

	recs, _ = r2.records(ctx)
	if len(recs) != 1 {
		t.Fatalf("%d records after the flush", len(recs))
	}
	for _, cm := range recs[0].Commitments {
		if cm.Date.Year == 2099 {
			t.Fatalf("the record was rebuilt from the planted marker: %+v", recs[0].Commitments)
		}
	}
	statuses := 0
	for _, cm := range gh.Comments("acme/api", issue) {
		for _, m := range reconcile.ParseMarkers(cm.Body) {
			if m.Kind == reconcile.MarkerStatus {
				statuses++
				if cm.ID != id || len(testMarkers.Verified(cm.Body)) == 0 {
					t.Errorf("status comment %d: want comment %d rewritten with a signed marker:\n%s", cm.ID, id, cm.Body)
				}
			}
		}
	}
	if statuses != 1 {
		t.Errorf("%d status comments, want 1", statuses)
	}
}

// TestMarkersKeyRotation: markers.key is rotated (the old key moved to
// markers.previous_keys) and Redis is lost in the same restart, then the
// old key is dropped and Redis is lost again. At each step the lead's
// promise is rebuilt from the status comment, nothing already said is
// said again, and the status comment is re-signed in place with the
// current key, so dropping the old key later loses nothing.
func TestMarkersKeyRotation(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	prefix := srv.Prefix(t)
	ctx := context.Background()
	oldKey, newKey := []byte("markers-key-2025-rotated-out"), []byte("markers-key-2026-current-one")
	r, c := newConversationKeys(t, prefix, "A", gh, clk, 0, reconcile.NewMarkerKeys(oldKey))
	r.PollOnce(ctx)
	drain(t, r, c.st)
	issue, _ := c.thread()
	clk.Add(time.Hour)
	gh.AddComment("acme/api", issue, "lead-jane", "/commit 2026-12-20 the scope agreed with leadership")
	key := connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: strconv.Itoa(ms)}.Key()
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)
	_, statusID, _ := c.statusComment()
	_, said := c.thread()

	flush := func() {
		rdb := srv.Client(t)
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		rdb.Del(ctx, keys...)
	}
	for _, step := range []struct {
		name string
		keys reconcile.MarkerKeys
	}{
		{"rotated: new key signs, old key still accepted", reconcile.NewMarkerKeys(newKey, oldKey)},
		{"old key dropped", reconcile.NewMarkerKeys(newKey)},
	} {
		flush()
		clk.Add(time.Hour)
		r, c = newConversationKeys(t, prefix, step.name, gh, clk, 0, step.keys)
		r.PollOnce(ctx)
		drain(t, r, c.st)

		recs, _ := r.records(ctx)
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", step.name, len(recs))
		}
		promise, ok := recs[0].Commitment()
		if !ok || promise.Date.String() != "2026-12-20" || promise.By != "lead-jane" {
			t.Errorf("%s: promise %+v (%v), want lead-jane's 2026-12-20 rebuilt from the thread", step.name, promise, ok)
		}
		_, mine := c.thread()
		if len(mine) != len(said) {
			t.Errorf("%s: slipwatch has %d comments on the thread, had %d: something was said again:\n%s",
				step.name, len(mine), len(said), strings.Join(bodies(mine), "\n---\n"))
		}
		_, id, body := c.statusComment()
		if id != statusID {
			t.Errorf("%s: status comment %d, want %d edited in place", step.name, id, statusID)
		}
		if len(reconcile.NewMarkerKeys(newKey).Verified(body)) == 0 {
			t.Errorf("%s: status comment not signed with the current key:\n%s", step.name, body)
		}
	}
}
