package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/internal/redistest"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

var srv *redistest.Server

// testMarkers sign the markers of the runner's tests.
var testMarkers = reconcile.NewMarkerKeys([]byte("runner-test-markers-key-0001"))

func TestMain(m *testing.M) { redistest.Main(m, func(s *redistest.Server) { srv = s }) }

// fakeTracker is a tracker in memory: one repo's milestones and their
// threads. It records every comment written and can fail on demand.
type fakeTracker struct {
	mu        sync.Mutex
	tracker   connectors.Tracker // GitHub unless set
	kind      connectors.Kind    // of the deliverables addMilestone adds; Milestone unless set
	team      string
	ds        map[string]*connectors.Deliverable
	threads   map[string]*connectors.Thread
	tp        connectors.Throughput
	posts     int
	edits     int
	lists     int            // List calls: polls of the team
	failNext  map[string]int // method → failures to inject
	postsLeft int            // when above 0, Posts that succeed before every Post fails
	failErr   error
	nextID    int
}

var _ Connector = (*fakeTracker)(nil)

func newFake() *fakeTracker {
	daily := make([]int, 42)
	for i := range daily {
		daily[i] = 2
	}
	return &fakeTracker{team: "acme/api", ds: map[string]*connectors.Deliverable{}, threads: map[string]*connectors.Thread{},
		tp: connectors.Throughput{Daily: daily}, failNext: map[string]int{}, failErr: errors.New("500 Internal Server Error")}
}

func (f *fakeTracker) addMilestone(id, due string) connectors.Ref {
	f.mu.Lock()
	defer f.mu.Unlock()
	ref := connectors.Ref{Tracker: f.Tracker(), Team: f.team, Kind: connectors.Milestone, ID: id}
	if f.kind != "" {
		ref.Kind = f.kind
	}
	d, _ := connectors.ParseDate(due)
	items := make([]connectors.Item, 10)
	for i := range items {
		items[i] = connectors.Item{ID: fmt.Sprint(i)}
	}
	f.ds[id] = &connectors.Deliverable{Ref: ref, Title: "v" + id, DueDate: d, Items: items}
	return ref
}

func (f *fakeTracker) setDue(id, due string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ds[id].DueDate, _ = connectors.ParseDate(due)
}

func (f *fakeTracker) fail(method string) error {
	if f.failNext[method] > 0 {
		f.failNext[method]--
		return f.failErr
	}
	return nil
}

func (f *fakeTracker) Tracker() connectors.Tracker {
	if f.tracker != "" {
		return f.tracker
	}
	return connectors.GitHub
}
func (f *fakeTracker) Teams() []string { return []string{f.team} }
func (f *fakeTracker) Self(context.Context) (string, error) {
	return "slipwatch[bot]", nil
}

func (f *fakeTracker) List(_ context.Context, team string) ([]connectors.Ref, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if err := f.fail("List"); err != nil {
		return nil, err
	}
	var refs []connectors.Ref
	for _, d := range f.ds {
		refs = append(refs, d.Ref)
	}
	return refs, nil
}

func (f *fakeTracker) PinThread(connectors.Ref, string) {}

func (f *fakeTracker) Observe(_ context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("Observe"); err != nil {
		return connectors.Snapshot{}, err
	}
	d, ok := f.ds[ref.ID]
	if !ok {
		return connectors.Snapshot{}, fmt.Errorf("milestone %s: %w", ref.ID, connectors.ErrNotFound)
	}
	snap := connectors.Snapshot{Deliverable: *d, Throughput: f.tp}
	if th, ok := f.threads[ref.ID]; ok {
		c := *th
		c.Comments = append([]connectors.Comment(nil), th.Comments...)
		snap.Thread = &c
	}
	return snap, nil
}

func (f *fakeTracker) EnsureThread(_ context.Context, d connectors.Deliverable) (*connectors.Thread, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	th, ok := f.threads[d.Ref.ID]
	if !ok {
		th = &connectors.Thread{ID: "acme/api#" + d.Ref.ID + "00"}
		f.threads[d.Ref.ID] = th
	}
	c := *th
	c.Comments = append([]connectors.Comment(nil), th.Comments...)
	return &c, nil
}

func (f *fakeTracker) Post(_ context.Context, th *connectors.Thread, body, marker string) (connectors.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("Post"); err != nil {
		return connectors.Comment{}, err
	}
	if f.postsLeft > 0 {
		if f.postsLeft == 1 {
			return connectors.Comment{}, f.failErr
		}
		f.postsLeft--
	}
	for _, t := range f.threads {
		if t.ID == th.ID {
			f.nextID++
			c := connectors.Comment{ID: fmt.Sprint(f.nextID), Author: "slipwatch[bot]", Body: body + "\n\n" + marker, BySelf: true, CreatedAt: time.Now()}
			c.Hidden = c.Body
			t.Comments = append(t.Comments, c)
			f.posts++
			return c, nil
		}
	}
	return connectors.Comment{}, fmt.Errorf("thread %s: %w", th.ID, connectors.ErrNotFound)
}

func (f *fakeTracker) Edit(_ context.Context, th *connectors.Thread, id, body, marker string) (connectors.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.threads {
		for i := range t.Comments {
			if t.Comments[i].ID == id {
				t.Comments[i].Body = body + "\n\n" + marker
				t.Comments[i].Hidden = t.Comments[i].Body
				f.edits++
				return t.Comments[i], nil
			}
		}
	}
	return connectors.Comment{}, fmt.Errorf("comment %s: %w", id, connectors.ErrNotFound)
}

// say adds a comment by author on milestone id's thread.
func (f *fakeTracker) say(id, author string, canCommit bool, body string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	th := f.threads[id]
	th.Comments = append(th.Comments, connectors.Comment{ID: fmt.Sprint(f.nextID), Author: author, Body: body,
		CreatedAt: at, UpdatedAt: at, AuthorCanCommit: canCommit})
}

// addThread adds a thread that is no deliverable's (the track-record
// thread).
func (f *fakeTracker) addThread(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.threads["thread:"+id] = &connectors.Thread{ID: id}
}

func (f *fakeTracker) ReadThread(_ context.Context, id string) (*connectors.Thread, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail("ReadThread"); err != nil {
		return nil, err
	}
	th, ok := f.threads["thread:"+id]
	if !ok {
		return nil, fmt.Errorf("thread %s: %w", id, connectors.ErrNotFound)
	}
	c := *th
	c.Comments = append([]connectors.Comment(nil), th.Comments...)
	return &c, nil
}

// ParseWebhook takes "X-Fake-Signature: ok" as a valid signature and the
// body as a milestone ID.
func (f *fakeTracker) ParseWebhook(r *http.Request) (connectors.WebhookEvent, error) {
	if r.Header.Get("X-Fake-Signature") != "ok" {
		return connectors.WebhookEvent{}, &httpx.WebhookError{Status: http.StatusUnauthorized, Reason: "signature does not match"}
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<10))
	ref := connectors.Ref{Tracker: connectors.GitHub, Team: f.team, Kind: connectors.Milestone, ID: strings.TrimSpace(string(b))}
	return connectors.WebhookEvent{Delivery: r.Header.Get("X-Delivery"), Event: "milestone", Refs: []connectors.Ref{ref}}, nil
}

func (f *fakeTracker) postCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts
}

// markerCounts counts event markers per event ID over all threads.
func (f *fakeTracker) markerCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := map[string]int{}
	for _, th := range f.threads {
		for _, c := range th.Comments {
			for _, m := range reconcile.ParseMarkers(c.Hidden) {
				n[m.Kind+":"+m.ID+":"+string(m.EventKind)]++
			}
		}
	}
	return n
}

func (f *fakeTracker) kinds(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	th := f.threads[id]
	if th == nil {
		return nil
	}
	for _, c := range th.Comments {
		for _, m := range reconcile.ParseMarkers(c.Hidden) {
			k := string(m.EventKind)
			if m.Kind == reconcile.MarkerStatus {
				k = "status"
			}
			out = append(out, k)
		}
	}
	return out
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newRunner(t *testing.T, rdb redis.UniversalClient, prefix string, f *fakeTracker, clk *clock, owner string) (*Runner, *store.Store) {
	t.Helper()
	st := store.New(rdb, prefix, store.Options{ReclaimIdle: 200 * time.Millisecond})
	r, err := New([]Connector{f}, st, reconcile.Settings{Location: time.UTC, Baseline: "first_seen", Window: 42, Trials: 500, Confidence: 0.85, MinSamples: 5, Settle: time.Hour, Markers: testMarkers},
		Options{Owner: owner, Workers: 2, Now: clk.Now, readBlock: 50 * time.Millisecond, promoteEvery: 20 * time.Millisecond,
			backoffBase: 10 * time.Millisecond, backoffMax: 50 * time.Millisecond, PollInterval: time.Hour, MaxDeliveries: 3})
	if err != nil {
		t.Fatal(err)
	}
	return r, st
}

func needRedis(t *testing.T) {
	if srv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
}

// drain works the queue until nothing is left to do at r's clock: the
// stream is empty and nothing scheduled is due. Retries and busy keys come
// back within seconds of the clock; the core's own wake-ups (a settle's
// end, the next midnight) wait until a test moves the clock there.
func drain(t *testing.T, r *Runner, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	for range 200 {
		promoted, err := st.PromoteDue(ctx, r.opt.Now().Add(5*time.Second), 100)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := st.Read(ctx, r.opt.Owner, 10, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			r.handle(ctx, m)
		}
		s, _ := st.QueueStats(ctx)
		if promoted == 0 && len(msgs) == 0 && s.Length == 0 && s.Pending == 0 {
			return
		}
	}
	t.Fatal("queue did not drain")
}

func TestSlipEndToEnd(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	ctx := context.Background()

	r.PollOnce(ctx)
	drain(t, r, st)
	if got := f.kinds("7"); strings.Join(got, ",") != "committed,status" {
		t.Fatalf("first cycle comments = %v", got)
	}
	f.setDue("7", "2026-12-15")
	clk.Add(2 * time.Hour)
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, r, st)
	clk.Add(2 * time.Hour) // the new date has stood for the settle hour
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, r, st)
	if got := f.kinds("7"); strings.Join(got, ",") != "committed,status,slipped" {
		t.Fatalf("after the slip comments = %v", got)
	}
	posts := f.postCount()
	for range 3 {
		_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
		drain(t, r, st)
	}
	if f.postCount() != posts {
		t.Fatalf("quiet cycles posted %d more comments", f.postCount()-posts)
	}
	rec, _ := r.records(ctx)
	if len(rec) != 1 || rec[0].Health != reconcile.Slipped {
		t.Fatalf("stored records = %+v", rec)
	}
}

// TestFlushedRedisNoDuplicates: the markers on the thread are the record;
// losing Redis must not repeat a single comment.
func TestFlushedRedisNoDuplicates(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	rdb := srv.Client(t)
	prefix := srv.Prefix(t)
	r, st := newRunner(t, rdb, prefix, f, clk, "A")
	ctx := context.Background()
	r.PollOnce(ctx)
	drain(t, r, st)
	posts := f.postCount()
	keys, _ := rdb.Keys(ctx, prefix+"*").Result()
	rdb.Del(ctx, keys...)
	r2, st2 := newRunner(t, rdb, prefix, f, clk, "B")
	r2.PollOnce(ctx)
	drain(t, r2, st2)
	if f.postCount() != posts {
		t.Fatalf("after losing Redis, %d comments were posted again", f.postCount()-posts)
	}
}

func TestTwoReplicasNoDuplicates(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	for i := range 10 {
		f.addMilestone(fmt.Sprint(i+1), "2026-12-01")
	}
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	prefix := srv.Prefix(t)
	ra, _ := newRunner(t, srv.Client(t), prefix, f, clk, "A")
	rb, st := newRunner(t, srv.Client(t), prefix, f, clk, "B")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = ra.Run(ctx, time.Second) })
	wg.Go(func() { _ = rb.Run(ctx, time.Second) })
	// Both replicas poll; the lease lets one of them list the team.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s, _ := st.QueueStats(context.Background())
		if f.postCount() >= 20 && s.Length == 0 && s.Pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 10 {
		_ = st.Enqueue(context.Background(), fmt.Sprintf("github:acme/api/milestone/%d", i+1))
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	for k, n := range f.markerCounts() {
		if n != 1 {
			t.Errorf("%s appears %d times", k, n)
		}
	}
	if n := f.postCount(); n != 20 {
		t.Errorf("posts = %d, want 20 (a status and a committed per milestone)", n)
	}
}

func TestFailuresRetryThenPark(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	ctx := context.Background()
	f.failNext["Observe"] = 2 // two 500s, then the tracker recovers
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, r, st)
	if got := f.kinds("7"); len(got) != 2 {
		t.Fatalf("after recovering: %v", got)
	}
	f.failNext["Observe"] = 100
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, r, st)
	parked, _ := st.ParkedKeys(ctx)
	if len(parked) != 1 || parked[0].Key != "github:acme/api/milestone/7" {
		t.Fatalf("parked = %+v", parked)
	}
	// A post that fails must not be posted twice once the tracker is back.
	f.failNext["Observe"] = 0
	f.setDue("7", "2026-12-20")
	clk.Add(2 * time.Hour)
	f.failNext["Post"] = 1
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, r, st)
	clk.Add(3 * time.Minute) // the failed post's claim expires
	_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
	drain(t, r, st)
	for k, n := range f.markerCounts() {
		if n != 1 {
			t.Errorf("%s appears %d times", k, n)
		}
	}
}

func TestWebhookIntake(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	f.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Now()}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	h := r.Handler(nil)
	post := func(sig, delivery, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader(body))
		req.Header.Set("X-Fake-Signature", sig)
		req.Header.Set("X-Delivery", delivery)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	if w := post("bad", "d1", "7"); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "signature") {
		t.Errorf("bad signature: %d %q", w.Code, w.Body.String())
	}
	if w := post("ok", "d1", "7"); w.Code != http.StatusAccepted {
		t.Errorf("valid: %d %q", w.Code, w.Body.String())
	}
	if w := post("ok", "d1", "7"); w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), "duplicate") {
		t.Errorf("replay: %d %q", w.Code, w.Body.String())
	}
	s, _ := st.QueueStats(context.Background())
	if s.Length != 1 {
		t.Errorf("queued %d entries, want 1 (the replay must not enqueue)", s.Length)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/jira", strings.NewReader("x"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusNotFound {
		t.Errorf("unconfigured tracker: %d", w.Code)
	}
}

func TestWebhookRedisDown503(t *testing.T) {
	t.Parallel()
	f := newFake()
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer dead.Close()
	clk := &clock{now: time.Now()}
	r, _ := newRunner(t, dead, "x:", f, clk, "A")
	h := r.Handler(nil)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader("7"))
	req.Header.Set("X-Fake-Signature", "ok")
	req.Header.Set("X-Delivery", "d1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("redis down: %d %q", w.Code, w.Body.String())
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "redis unreachable") {
		t.Errorf("readyz with redis down: %d %q", w.Code, w.Body.String())
	}
}

func TestShutdownWithinGrace(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	clk := &clock{now: time.Now()}
	r, _ := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx, 2*time.Second); close(done) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
