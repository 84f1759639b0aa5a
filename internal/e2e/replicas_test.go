package e2e

import (
	"testing"
	"time"
)

// TestTwoReplicasRace runs two daemons on one Redis and gives every change
// to both at once: no comment is posted twice, no milestone gets two
// tracking issues, and the repository is polled once per interval in all.
func TestTwoReplicasRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	start := time.Now()
	a, b := w.start("replica-a"), w.start("replica-b")
	s := newScript(t, w, crashSeed(t)+1, a, b)
	s.fanout = true
	for range 40 {
		s.step(false)
	}
	// Idle until two poll intervals have passed: the polls must go on,
	// and stay one per interval between the two.
	time.Sleep(time.Until(start.Add(21 * time.Second)))
	f := w.tally(s.exp)
	elapsed := time.Since(start)
	polls := a.metric("slipwatch_polls_total") + b.metric("slipwatch_polls_total")
	// The poll lease lasts 9/10 of the 10 s interval: at most one poll
	// per 9 s between the two replicas.
	most := float64(int(elapsed/(9*time.Second)) + 1)
	t.Logf("two replicas: %d events %v: %v; %0.f polls in %s (at most %0.f allowed)", 40, s.steps, f, polls, elapsed.Round(time.Second), most)
	if !f.ok() {
		t.Fatalf("two replicas: %v", f)
	}
	if polls > most || polls < 2 {
		t.Errorf("%0.f polls in %s from two replicas, want 2..%0.f: the poll lease does not hold", polls, elapsed, most)
	}
}
