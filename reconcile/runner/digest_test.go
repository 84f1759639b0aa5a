package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// digests are the bodies of slipwatch's digest comments on thread, oldest
// first.
func (f *fakeTracker) digests(thread string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.threads["thread:"+thread].Comments {
		for _, m := range reconcile.ParseMarkers(c.Hidden) {
			if c.BySelf && m.EventKind == reconcile.EvDigest {
				out = append(out, c.Body)
			}
		}
	}
	return out
}

// TestDigestWeekly: the digest is posted once a week on the track-record
// thread, whatever the replicas racing for it or a restart with an empty
// Redis; the key is scheduled for the next Monday 09:00 and the queue
// posts it then, telling what changed in between; a replica that knows
// only the monthly track record (an older version, in a rolling upgrade)
// works the shared key without parking it, and the digest follows.
func TestDigestWeekly(t *testing.T) {
	needRedis(t)
	t.Parallel()
	const thread = "acme/api#1"
	const week = 7 * 24 * time.Hour
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	f.addThread(thread)
	clk := &clock{now: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)} // a Monday
	rdb, prefix := srv.Client(t), srv.Prefix(t)
	ctx := context.Background()
	replica := func(owner string, every time.Duration) *Runner {
		r, _ := newRunner(t, rdb, prefix, f, clk, owner)
		r.opt.TrackRecord, r.opt.DigestEvery = thread, every
		return r
	}
	a, b := replica("A", week), replica("B", week)
	_, st := newRunner(t, rdb, prefix, f, clk, "drain")
	key := TrackRecordKey(thread).String()

	// Before any deliverable is known, a digest would say nothing.
	if err := a.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := f.digests(thread); len(got) != 0 {
		t.Fatalf("a digest with no promises was posted: %q", got)
	}
	if a.digestSeen() {
		t.Error("a digest waiting for promises counts as seen: the next poll would not ask again")
	}
	a.PollOnce(ctx)
	drain(t, a, st)

	// Two replicas at once: one digest, one track record.
	var wg sync.WaitGroup
	for _, r := range []*Runner{a, b, a, b} {
		wg.Go(func() {
			if err := r.Process(ctx, key); err != nil && !errors.Is(err, errBusy) {
				t.Errorf("Process: %v", err)
			}
		})
	}
	wg.Wait()
	drain(t, a, st) // a busy replica's retry
	got := f.digests(thread)
	if len(got) != 1 || !strings.Contains(got[0], "Weekly delivery digest, 2026-11-02") || !strings.Contains(got[0], "| acme/api milestone v7 | 2026-12-01 |") {
		t.Fatalf("after two replicas raced: %q, want one digest of 2026-11-02 listing v7", got)
	}
	if n := f.markerCounts(); len(f.digests(thread)) != 1 || countKind(n, reconcile.EvTrackRecord) != 1 {
		t.Fatalf("markers: %v", n)
	}
	if !a.digestSeen() {
		t.Error("the replica does not remember this week's digest: it would read the thread every poll")
	}
	// The poll's own ask, half an interval later, finds both posted and
	// schedules the key for the next period.
	clk.Add(a.opt.PollInterval / 2)
	drain(t, a, st)
	if got := f.digests(thread); len(got) != 1 {
		t.Fatalf("the poll's ask posted again: %d digests", len(got))
	}
	next := time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC)
	if at, err := rdb.ZScore(ctx, prefix+"{q}:delayed", key).Result(); err != nil || int64(at) != next.UnixMilli() {
		t.Errorf("the thread's key is scheduled at %v (%v), want the next Monday 09:00", time.UnixMilli(int64(at)).UTC(), err)
	}

	// The milestone slips on Wednesday; the slip is announced on its thread.
	clk.Add(2 * 24 * time.Hour)
	f.setDue("7", "2026-12-15")
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, a, st)
	clk.Add(2 * time.Hour)
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, a, st)

	// Monday 09:00: the schedule, not a poll, brings the week's digest.
	clk.now = next
	drain(t, a, st)
	got = f.digests(thread)
	if len(got) != 2 || !strings.Contains(got[1], "Weekly delivery digest, 2026-11-09") ||
		!strings.Contains(got[1], "**Slipped:** acme/api milestone v7: due 2026-12-15, was 2026-12-01; 14 days after the promised 2026-12-01.") {
		t.Fatalf("at Monday 09:00: %d digests, the last:\n%s", len(got), got[len(got)-1])
	}

	// Later in the week, and after Redis is lost: nothing more.
	clk.Add(3 * 24 * time.Hour)
	keys, _ := rdb.Keys(ctx, prefix+"*").Result()
	rdb.Del(ctx, keys...)
	c := replica("C", week)
	if err := c.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	c.PollOnce(ctx)
	drain(t, c, st)
	if got := f.digests(thread); len(got) != 2 {
		t.Fatalf("after a restart with an empty Redis: %d digests", len(got))
	}

	// The next Monday, a replica of the version before the digest takes
	// the key first: it posts only what it knows, and parks nothing.
	clk.now = next.Add(week)
	old := replica("old", 0)
	if err := old.Process(ctx, key); err != nil {
		t.Fatalf("the older replica failed the shared key: %v", err)
	}
	if got := f.digests(thread); len(got) != 2 {
		t.Fatalf("a replica without digests posted one: %d", len(got))
	}
	d := replica("D", week)
	d.PollOnce(ctx) // asks: this replica has not seen this week's digest
	clk.Add(a.opt.PollInterval / 2)
	drain(t, d, st)
	if got := f.digests(thread); len(got) != 3 || !strings.Contains(got[2], "digest, 2026-11-16") {
		t.Fatalf("the week after the older replica: %d digests", len(got))
	}
	if s, _ := st.QueueStats(ctx); s.Parked != 0 {
		t.Errorf("%d keys parked", s.Parked)
	}
	// slipwatch_comments_posted_total{kind="digest"}, summed over the
	// replicas as a dashboard does, counts each digest once.
	posted := 0.0
	for _, r := range []*Runner{a, b, c, old, d} {
		var m dto.Metric
		if err := r.m.posted.WithLabelValues(string(reconcile.EvDigest)).Write(&m); err != nil {
			t.Fatal(err)
		}
		posted += m.GetCounter().GetValue()
	}
	if posted != 3 {
		t.Errorf("digests counted %v times, want 3", posted)
	}

	// A dry run decides and posts nothing.
	clk.now = next.Add(2 * week)
	dry := replica("dry", week)
	dry.opt.DryRun = true
	if err := dry.Process(ctx, key); err != nil || len(f.digests(thread)) != 3 {
		t.Errorf("dry run: %v, %d digests", err, len(f.digests(thread)))
	}
}

func countKind(markers map[string]int, k reconcile.EventKind) int {
	n := 0
	for m, c := range markers {
		if strings.HasSuffix(m, ":"+string(k)) {
			n += c
		}
	}
	return n
}

// TestDigestOnJiraThread: a leadership thread on Jira gets the digest in
// wiki markup, its table included.
func TestDigestOnJiraThread(t *testing.T) {
	needRedis(t)
	t.Parallel()
	const thread = "PLAT-100"
	f := newFake()
	f.tracker, f.team, f.kind = connectors.Jira, "PLAT", connectors.Version
	f.addMilestone("10042", "2026-12-01")
	f.addThread(thread)
	clk := &clock{now: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	r.opt.TrackRecord, r.opt.DigestEvery = thread, 7*24*time.Hour
	ctx := context.Background()
	r.PollOnce(ctx)
	drain(t, r, st)
	if err := r.Process(ctx, TrackRecordKey(thread).String()); err != nil {
		t.Fatal(err)
	}
	got := f.digests(thread)
	if len(got) != 1 || !strings.HasPrefix(got[0], "*📋 Weekly delivery digest, 2026\\-11\\-02*") ||
		!strings.Contains(got[0], "||Deliverable||Promise||") || !strings.Contains(got[0], "|PLAT version v10042|2026\\-12\\-01|") {
		t.Fatalf("digest on Jira: %q", got)
	}
}
