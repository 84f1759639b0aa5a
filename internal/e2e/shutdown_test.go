package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// TestSIGTERMWithWorkInFlight: SIGTERM while comments are being posted
// lets the work finish within server.shutdown_grace and exits 0; the next
// start posts nothing twice.
func TestSIGTERMWithWorkInFlight(t *testing.T) {
	t.Parallel()
	const grace = 4 * time.Second
	w := newWorld(t, options{grace: "4s", reclaim: "5s"})
	d := w.start("daemon")
	s := newScript(t, w, crashSeed(t)+4, d)
	for range 3 {
		s.step(false)
	}
	m := s.open()[0]
	// Each write takes a second: the reply and the event are in flight.
	w.gh.Inject(githubtest.Fault{Method: http.MethodPost, PathPrefix: "/repos/" + repoName + "/issues/", Delay: time.Second, Times: 2})
	date := day(222).Format(time.DateOnly)
	w.gh.AddComment(repoName, m.issue, lead, "/commit "+date)
	s.exp.add(m.n, reconcile.EvReply, 1)
	s.exp.add(m.n, reconcile.EvRecommitted, 1)
	m.promise = date
	if code, _ := d.send(commentHook(m.issue, m.n, "/commit")); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	time.Sleep(300 * time.Millisecond)
	code, took := d.terminate(grace + 3*time.Second)
	t.Logf("SIGTERM with work in flight: exit %d after %s (grace %s)", code, took.Round(10*time.Millisecond), grace)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if took > grace+time.Second {
		t.Errorf("exit took %s, beyond the %s grace", took, grace)
	}
	d.run()
	d.send(commentHook(m.issue, m.n, "/commit"))
	waitFor(t, 30*time.Second, "converged after the restart", func() bool { return w.converged(s.exp, m.n) })
	f := w.tally(s.exp)
	t.Logf("SIGTERM: %v", f)
	if !f.ok() {
		t.Fatalf("SIGTERM: %v", f)
	}
}
