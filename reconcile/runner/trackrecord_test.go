package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// TestTrackRecordMonthly: the track-record comment is posted once a month
// on its thread, whatever the replicas racing for it, a restart with an
// empty Redis, or a failed post; the next month gets its own.
func TestTrackRecordMonthly(t *testing.T) {
	needRedis(t)
	t.Parallel()
	const thread = "acme/api#1"
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	f.addThread(thread)
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	rdb, prefix := srv.Client(t), srv.Prefix(t)
	ctx := context.Background()
	replica := func(owner string) *Runner {
		r, _ := newRunner(t, rdb, prefix, f, clk, owner)
		r.opt.TrackRecord = thread
		return r
	}
	a, b := replica("A"), replica("B")
	_, st := newRunner(t, rdb, prefix, f, clk, "drain")
	key := TrackRecordKey(thread).String()
	// Before any deliverable is known, a comment would say nothing.
	if err := a.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	if th, _ := f.ReadThread(ctx, thread); len(th.Comments) != 0 {
		t.Fatalf("a track record with no promises was posted: %q", th.Comments[0].Body)
	}
	a.PollOnce(ctx)
	drain(t, a, st) // the milestone's record, so the comment has a figure
	if recs, err := a.records(ctx); err != nil || len(recs) != 1 {
		t.Fatalf("records before: %v %v (comments %v)", recs, err, f.kinds("7"))
	}

	months := func() []string {
		th, _ := f.ReadThread(ctx, thread)
		var out []string
		for _, c := range th.Comments {
			if i := strings.Index(c.Body, "Track record, "); i >= 0 {
				out = append(out, c.Body[i+len("Track record, "):strings.IndexByte(c.Body[i:], '*')+i])
			}
		}
		return out
	}

	// Two replicas at once: one comment.
	var wg sync.WaitGroup
	for _, r := range []*Runner{a, b, a, b} {
		wg.Go(func() {
			if err := r.Process(ctx, key); err != nil && !errors.Is(err, errBusy) {
				t.Errorf("Process: %v", err)
			}
		})
	}
	wg.Wait()
	if got := months(); len(got) != 1 || got[0] != "November 2026" {
		t.Fatalf("after two replicas raced: %q, want one November comment", got)
	}
	th, _ := f.ReadThread(ctx, thread)
	if body := th.Comments[0].Body; !strings.Contains(body, "acme/api:** 1 promise, 0 delivered") {
		t.Errorf("the comment lacks the team's figures:\n%s", body)
	}

	// Later in the month, and after Redis is lost: nothing more.
	clk.Add(10 * 24 * time.Hour)
	keys, _ := rdb.Keys(ctx, prefix+"*").Result()
	rdb.Del(ctx, keys...)
	c := replica("C")
	if err := c.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	c.PollOnce(ctx) // the records again, as the daemon's next poll makes them
	drain(t, c, st)
	if !c.trackRecordSeen() {
		t.Error("the replica does not remember this month's comment: it would read the thread every poll")
	}
	if got := months(); len(got) != 1 {
		t.Fatalf("after a restart with an empty Redis: %q", got)
	}

	// December: one more, through a failed post and its retry.
	clk.Add(20 * 24 * time.Hour) // 2026-12-02
	if c.trackRecordSeen() {
		t.Fatal("November's comment still counts in December")
	}
	f.mu.Lock()
	f.failNext["Post"] = 1
	f.mu.Unlock()
	if err := c.Process(ctx, key); err == nil {
		t.Fatal("a failed post reported success")
	}
	// The failed post holds its claim until it expires; then it is
	// judged again from the thread.
	clk.Add(time.Minute)
	keys, _ = rdb.Keys(ctx, prefix+"*ledger*").Result()
	if len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
	if err := c.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := months(); len(got) != 2 || got[1] != "December 2026" {
		t.Fatalf("December: %q, want November then December once each", got)
	}
	if err := a.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := months(); len(got) != 2 {
		t.Fatalf("a second December pass posted again: %q", got)
	}

	// A thread that is not there is an error to retry, not a crash.
	c.opt.TrackRecord = "acme/api#404"
	if err := c.Process(ctx, TrackRecordKey("acme/api#404").String()); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("missing thread: %v, want not found", err)
	}
}
