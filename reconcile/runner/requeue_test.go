package runner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/reconcile"
)

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited %s for %s", d, what)
}

// running starts r's loops and stops them when the test ends.
func running(t *testing.T, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx, time.Second) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func (f *fakeTracker) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func count(kinds []string, k reconcile.EventKind) int {
	n := 0
	for _, x := range kinds {
		if x == string(k) {
			n++
		}
	}
	return n
}

// TestSlipAnnouncedAtSettleEnd: with webhooks and an hourly poll, a moved
// due date is announced when it has stood for slip.settle, not at the next
// poll: the pass that saw it scheduled the deliverable for the settle's
// end, and the runner's own loops (promote, workers) take it from there.
func TestSlipAnnouncedAtSettleEnd(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	running(t, r)
	// The clock stands still while nobody moves it: wait for the first
	// pass to be done, not merely its comments (a trigger for a key in
	// work is deferred a second, which never comes on a frozen clock).
	waitFor(t, 10*time.Second, "the first poll's pass", func() bool {
		s, _ := st.QueueStats(context.Background())
		return strings.Join(f.kinds("7"), ",") == "committed,status" && s.Length == 0 && s.Pending == 0 && s.Delayed == 1
	})
	polls := f.listCount()

	// The due date moves; the tracker's webhook says so ten minutes later.
	f.setDue("7", "2026-12-15")
	clk.Add(10 * time.Minute)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader("7"))
	req.Header.Set("X-Fake-Signature", "ok")
	req.Header.Set("X-Delivery", "moved")
	w := httptest.NewRecorder()
	r.Handler(nil).ServeHTTP(w, req)
	if w.Code != http.StatusAccepted {
		t.Fatalf("webhook: %d %q", w.Code, w.Body.String())
	}
	waitFor(t, 10*time.Second, "the pass that sees the new date", func() bool {
		recs, _ := r.records(context.Background())
		if len(recs) != 1 {
			return false
		}
		d, _ := recs[0].Target()
		return d.String() == "2026-12-15"
	})
	time.Sleep(200 * time.Millisecond) // promote and workers run on: nothing may come of it yet
	if n := count(f.kinds("7"), reconcile.EvSlipped); n != 0 {
		t.Fatalf("slipped announced while the new date settles: %v", f.kinds("7"))
	}

	// Just before the settle's end nothing happens; just after, the slip.
	clk.Add(time.Hour - time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := count(f.kinds("7"), reconcile.EvSlipped); n != 0 {
		t.Fatalf("slipped announced a second before the settle's end: %v", f.kinds("7"))
	}
	clk.Add(2 * time.Second)
	waitFor(t, 10*time.Second, "the slip at the settle's end", func() bool {
		return count(f.kinds("7"), reconcile.EvSlipped) > 0
	})
	time.Sleep(300 * time.Millisecond) // room for a duplicate, should there be one
	if n := count(f.kinds("7"), reconcile.EvSlipped); n != 1 {
		t.Errorf("slipped posted %d times, want once: %v", n, f.kinds("7"))
	}
	if got := f.listCount(); got != polls {
		t.Errorf("the team was listed %d more times: the slip must come from the schedule, not a poll", got-polls)
	}
}

// TestOverdueAtLocalMidnight: the day after the promise starts at local
// midnight (Europe/Berlin here, an hour before UTC's), and the deliverable
// is looked at then without a poll or a webhook.
func TestOverdueAtLocalMidnight(t *testing.T) {
	needRedis(t)
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	f := newFake()
	f.addMilestone("7", "2026-11-02")
	// 21:00 in Berlin on the promised day.
	clk := &clock{now: time.Date(2026, 11, 2, 20, 0, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	r.settings.Location = berlin
	running(t, r)
	waitFor(t, 10*time.Second, "the first poll's pass", func() bool {
		k := f.kinds("7")
		s, _ := st.QueueStats(context.Background())
		return slices.Contains(k, string(reconcile.EvCommitted)) && slices.Contains(k, string(reconcile.EvStatus)) &&
			s.Length == 0 && s.Pending == 0 && s.Delayed == 1
	})
	polls := f.listCount()

	clk.Add(3*time.Hour - time.Second) // 23:59:59 in Berlin
	time.Sleep(200 * time.Millisecond)
	if slices.Contains(f.kinds("7"), string(reconcile.EvOverdue)) {
		t.Fatalf("overdue before midnight: %v", f.kinds("7"))
	}
	clk.Add(2 * time.Second) // 00:00:01 on Nov 3 in Berlin, 23:00:01 UTC
	waitFor(t, 10*time.Second, "overdue after local midnight", func() bool {
		return slices.Contains(f.kinds("7"), string(reconcile.EvOverdue))
	})
	if got := f.listCount(); got != polls {
		t.Errorf("the team was listed %d more times: overdue must come from the schedule, not a poll", got-polls)
	}
	// The comment is posted before the pass saves the record.
	waitFor(t, 10*time.Second, "the record saved overdue", func() bool {
		recs, _ := r.records(context.Background())
		return len(recs) == 1 && recs[0].Health == reconcile.Overdue
	})
}

// TestRequeueScheduling: a reconciled key is scheduled at the core's next
// instant, never sooner than a second from now (a key must not spin on a
// clock that disagrees), and a dry run or a one-off check schedules
// nothing.
func TestRequeueScheduling(t *testing.T) {
	needRedis(t)
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	due := func(st interface {
		PromoteDue(context.Context, time.Time, int) (int, error)
	}, at time.Time) int {
		n, err := st.PromoteDue(ctx, at, 100)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("next in the past", func(t *testing.T) {
		r, st := newRunner(t, srv.Client(t), srv.Prefix(t), newFake(), &clock{now: now}, "A")
		if err := r.requeue(ctx, "github:acme/api/milestone/7", now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := due(st, now.Add(minRequeue-time.Millisecond)); n != 0 {
			t.Errorf("promoted %d keys before minRequeue", n)
		}
		if n := due(st, now.Add(minRequeue)); n != 1 {
			t.Errorf("promoted %d keys at now+minRequeue, want 1", n)
		}
	})
	t.Run("the next local midnight of an open promise", func(t *testing.T) {
		f := newFake()
		f.addMilestone("7", "2026-12-01")
		r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, &clock{now: now}, "A")
		if err := r.Process(ctx, "github:acme/api/milestone/7"); err != nil {
			t.Fatal(err)
		}
		midnight := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		if n := due(st, midnight.Add(-time.Millisecond)); n != 0 {
			t.Errorf("promoted %d keys before midnight", n)
		}
		if n := due(st, midnight); n != 1 {
			t.Errorf("promoted %d keys at midnight, want 1", n)
		}
	})
	t.Run("dry run and check", func(t *testing.T) {
		f := newFake()
		f.addMilestone("7", "2026-12-01")
		r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, &clock{now: now}, "A")
		r.Check(ctx, true)
		r.opt.DryRun = true
		if err := r.Process(ctx, "github:acme/api/milestone/7"); err != nil {
			t.Fatal(err)
		}
		if s, _ := st.QueueStats(ctx); s.Delayed != 0 {
			t.Errorf("%d keys scheduled by a check and a dry run, want none", s.Delayed)
		}
		if f.postCount() == 0 {
			t.Error("check --apply posted nothing: the test proves nothing")
		}
	})
}
