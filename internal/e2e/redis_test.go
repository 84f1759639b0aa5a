package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/reconcile"
)

// outage is how long Redis stays away. Issue 12 asks for 30 s; nothing in
// slipwatch depends on the length (no timer fires at 30 s; workers back off
// 1 s, 2 s, 4 s … while it lasts), so a shorter outage shows the same
// behaviour at a fraction of the CI time. After a long outage recovery
// waits for the worker's current backoff, up to twice the outage.
const outage = 8 * time.Second

// TestRedisRestartAndOutage: Redis restarts, then stays away for a while.
// Webhooks get 503 with Retry-After, readiness fails, liveness holds,
// the daemon does not exit; afterwards it picks up what changed meanwhile
// by itself, and posts it once.
func TestRedisRestartAndOutage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	d := w.start("daemon")
	s := newScript(t, w, crashSeed(t)+3, d)
	for range 4 {
		s.step(false)
	}

	// A restart: the data is on disk (append-only file).
	w.redis.Kill()
	if err := w.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.step(false)
	}

	// An outage.
	m := s.open()[0]
	w.redis.Kill()
	down := time.Now()
	code, body := d.send(milestoneHook("edited", m.n))
	if code != http.StatusServiceUnavailable {
		t.Errorf("webhook during the outage: %d %q, want 503", code, body)
	}
	if took := time.Since(down); took > 10*time.Second {
		t.Errorf("webhook answered after %s, beyond GitHub's 10 s", took)
	}
	if got := d.get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", got)
	}
	if got := d.get("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz during the outage: %d, want 200 (the process is fine)", got)
	}
	// Someone recommits meanwhile; its webhook is refused.
	date := day(200).Format(time.DateOnly)
	w.gh.AddComment(repoName, m.issue, lead, "/commit "+date+" during the outage")
	s.exp.add(m.n, reconcile.EvReply, 1)
	s.exp.add(m.n, reconcile.EvRecommitted, 1)
	m.promise = date
	if code, _ := d.send(commentHook(m.issue, m.n, "/commit")); code != http.StatusServiceUnavailable {
		t.Errorf("comment webhook during the outage: %d, want 503", code)
	}
	time.Sleep(time.Until(down.Add(outage)))
	if !d.alive() {
		t.Fatal("the daemon exited during the Redis outage")
	}
	if err := w.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	// No operator action and no redelivery: polling finds the change.
	waitFor(t, 45*time.Second, "recovery after the outage", func() bool { return w.converged(s.exp, m.n) })
	t.Logf("Redis outage of %s: recovered %s after Redis came back", outage, time.Since(up).Round(100*time.Millisecond))
	waitFor(t, 10*time.Second, "ready again", func() bool { return d.get("/readyz") == http.StatusOK })
	for range 3 {
		s.step(false)
	}
	f := w.tally(s.exp)
	t.Logf("Redis restart and outage: %v %v", s.steps, f)
	if !f.ok() {
		t.Fatalf("Redis restart and outage: %v", f)
	}
}
