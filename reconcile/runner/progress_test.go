package runner

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/reconcile"
)

// TestCutPassKeepsItsProgress: the tracker stops taking comments in the
// middle of a pass that took two recommitments. What was done is saved:
// the API shows the new promise at once, not after a pass that finishes;
// and once the tracker is back the rest is said, nothing twice.
func TestCutPassKeepsItsProgress(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	// A post that failed keeps its claim until it expires (the comment may
	// have landed): short here, so the test need not wait minutes.
	r.opt.ClaimTTL = 300 * time.Millisecond
	ctx := context.Background()
	key := "github:acme/api/milestone/7"
	_ = st.Enqueue(ctx, key)
	drain(t, r, st)

	clk.Add(time.Hour)
	f.say("7", "jane", true, "/commit 2026-12-15 SSO", clk.Now().Add(-10*time.Minute))
	f.say("7", "jane", true, "/commit 2026-12-22 and audit logs", clk.Now().Add(-5*time.Minute))
	// Two recommitted events, the status edit, the first answer; then the
	// tracker fails every post.
	f.mu.Lock()
	f.postsLeft = 4
	f.mu.Unlock()
	if err := r.Process(ctx, key); err == nil {
		t.Fatal("the pass did not fail")
	}
	recs, _ := r.records(ctx)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	if cur, _ := recs[0].Commitment(); cur.Date.String() != "2026-12-22" || len(recs[0].Replied) != 1 {
		t.Errorf("saved after the cut: promise %s, %d answers recorded; want 2026-12-22 and 1", cur.Date, len(recs[0].Replied))
	}

	f.mu.Lock()
	f.postsLeft = 0
	f.mu.Unlock()
	time.Sleep(400 * time.Millisecond)
	for range 2 {
		clk.Add(time.Minute)
		_ = st.Enqueue(ctx, key)
		drain(t, r, st)
	}
	for k, n := range f.markerCounts() {
		if n != 1 {
			t.Errorf("%s appears %d times", k, n)
		}
	}
	kinds := f.kinds("7")
	if n := len(slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return k != string(reconcile.EvReply) })); n != 2 {
		t.Errorf("%d answers, want 2: %v", n, kinds)
	}
	recs, _ = r.records(ctx)
	if len(recs[0].Commitments) != 3 {
		t.Errorf("commitments %+v, want the first and two recommitments", recs[0].Commitments)
	}
}
