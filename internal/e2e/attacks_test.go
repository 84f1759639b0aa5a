package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// eventID is how the core names an event (reconcile.hashID); the test
// proves its copy right by finding the same ID on the posted comment.
func eventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

// TestHostileComments: what users write on a thread cannot make slipwatch
// record a date, skip an event, take a forged status record, or ping
// people through a title.
func TestHostileComments(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	d := w.start("daemon")
	s := newScript(t, w, crashSeed(t)+5, d)
	// A title that would ping a team and open an HTML comment.
	s.titles = []string{"v9 @acme/leadership <!-- slipwatch:event id=0123456789abcdef kind=slipped --> {panel}x{panel}"}
	s.step(false)
	m := s.ms[0]
	for range 2 {
		s.step(false)
	}
	promise := m.promise
	ref := connectors.Ref{Tracker: connectors.GitHub, Team: repoName, Kind: connectors.Milestone, ID: fmt.Sprint(m.n)}
	cid := reconcile.CommitmentID(ref)

	reply := func(from int) string { // the newest bot reply after comment index from
		cs := w.gh.Comments(repoName, m.issue)
		for i := len(cs) - 1; i >= from; i-- {
			if cs[i].User == bot && strings.Contains(cs[i].Body, "kind=reply") {
				return cs[i].Body
			}
		}
		return ""
	}
	answer := func(user, body string) string {
		t.Helper()
		from := len(w.gh.Comments(repoName, m.issue))
		w.gh.AddComment(repoName, m.issue, user, body)
		s.exp.add(m.n, reconcile.EvReply, 1)
		d.send(commentHook(m.issue, m.n, body))
		waitFor(t, 20*time.Second, "reply to "+body, func() bool { return reply(from) != "" })
		return reply(from)
	}

	if r := answer(stranger, "/commit "+day(300).Format(time.DateOnly)+" trust me"); !strings.Contains(r, "may not record a commitment") {
		t.Errorf("/commit by a stranger: reply %q", r)
	}
	if r := answer(lead, "/commit 99999-01-01"); !strings.Contains(r, "not YYYY-MM-DD") {
		t.Errorf("/commit 99999-01-01: reply %q", r)
	}
	if r := answer(lead, "/commit 1969-12-31"); !strings.Contains(r, "Not recorded") {
		t.Errorf("/commit 1969-12-31: reply %q", r)
	}
	if line := w.statusLine(m.n, "Promise"); !strings.Contains(line, promise) {
		t.Errorf("after refused commands the promise is %q, want %s", line, promise)
	}

	// A forged event marker for the delivery that is about to happen, and
	// a forged status record promising 2099.
	closed := time.Now().UTC()
	delivered := eventID(cid, string(reconcile.EvDelivered), closed.Format(time.DateOnly))
	forged, _ := json.Marshal(map[string]any{"schema": 1, "id": cid, "ref": ref,
		"commitments": []map[string]any{{"date": "2099-01-01", "source": "declared_command", "by": stranger, "at": closed}},
		"announced":   []string{delivered}})
	w.gh.AddComment(repoName, m.issue, stranger, "Done, closing.\n\n"+reconcile.MarkerKeys{}.EventMarker(delivered, reconcile.EvDelivered)+
		"\n<!-- slipwatch:status id="+cid+" v=1 "+string(forged)+" -->")
	d.send(commentHook(m.issue, m.n, "Done"))
	time.Sleep(500 * time.Millisecond)
	// Redis lost: the record must come from slipwatch's own status comment.
	d.kill()
	w.flushAll()
	d.run()
	w.gh.UpdateMilestone(repoName, m.n, func(g *githubtest.Milestone) { g.State, g.ClosedAt = "closed", closed })
	m.open = false
	s.exp.add(m.n, reconcile.EvDelivered, 1)
	d.send(milestoneHook("closed", m.n))
	waitFor(t, 30*time.Second, "delivered despite the forged marker", func() bool { return w.converged(s.exp, m.n) })
	if ids := w.thread(m.n).events[reconcile.EvDelivered]; len(ids) != 1 || ids[0] != delivered {
		t.Errorf("delivered comments %v; the forged marker named %s (if they differ, eventID no longer matches the core)", ids, delivered)
	}
	if line := w.statusLine(m.n, "Promise"); !strings.Contains(line, promise) || strings.Contains(line, "2099") {
		t.Errorf("the forged status record was taken: Promise line %q, want %s", line, promise)
	}

	// The title: no mention, no HTML comment outside slipwatch's markers.
	for _, c := range w.gh.Comments(repoName, m.issue) {
		if c.User != bot {
			continue
		}
		if strings.Contains(c.Body, "@acme/leadership") {
			t.Errorf("comment pings @acme/leadership:\n%s", c.Body)
		}
		if n := strings.Count(c.Body, "<!--"); n != len(reconcile.ParseMarkers(c.Body)) {
			t.Errorf("comment has %d HTML comments for %d markers:\n%s", n, len(reconcile.ParseMarkers(c.Body)), c.Body)
		}
	}
	f := w.tally(s.exp)
	t.Logf("hostile comments: %v", f)
	if !f.ok() {
		t.Fatalf("hostile comments: %v", f)
	}
}
