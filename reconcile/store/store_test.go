package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/internal/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, func(s *redistest.Server) { srv = s }) }

func newStore(t *testing.T, opt Options) *Store {
	t.Helper()
	if srv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	return New(srv.Client(t), srv.Prefix(t), opt)
}

func TestRecordCAS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	key := "github:acme/api/milestone/7"
	if _, _, err := s.GetRecord(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRecord on nothing: %v, want ErrNotFound", err)
	}
	v1, err := s.PutRecord(ctx, key, []byte(`{"a":1}`), 0)
	if err != nil || v1 != 1 {
		t.Fatalf("first put: %d, %v", v1, err)
	}
	// A second writer that also read "absent" loses.
	if _, err := s.PutRecord(ctx, key, []byte(`{"a":2}`), 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale put: %v, want ErrConflict", err)
	}
	v2, err := s.PutRecord(ctx, key, []byte(`{"a":3}`), v1)
	if err != nil || v2 != 2 {
		t.Fatalf("put at v1: %d, %v", v2, err)
	}
	if _, err := s.PutRecord(ctx, key, []byte(`{"a":4}`), v1); !errors.Is(err, ErrConflict) {
		t.Fatalf("put at old v1: %v, want ErrConflict", err)
	}
	data, v, err := s.GetRecord(ctx, key)
	if err != nil || v != 2 || string(data) != `{"a":3}` {
		t.Fatalf("GetRecord = %s, %d, %v", data, v, err)
	}
	if _, err := s.PutRecord(ctx, "jira:PLAT/version/10042", []byte(`{}`), 0); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListRecords(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("ListRecords = %v, %v", all, err)
	}
	// In key order, whatever the shards; a key listed but gone is left out.
	keys, err := s.RecordKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{key, "jira:PLAT/version/10042"}; !slices.Equal(keys, want) {
		t.Errorf("RecordKeys = %v, want %v", keys, want)
	}
	got, err := s.GetRecords(ctx, []string{"jira:PLAT/version/10042", "github:acme/api/milestone/404", key})
	if err != nil || len(got) != 2 || got[0].Key != "jira:PLAT/version/10042" || got[1].Key != key || string(got[1].Data) != `{"a":3}` || got[1].Version != 2 {
		t.Errorf("GetRecords = %+v, %v", got, err)
	}
}

func TestClaimRaceOneWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	states := map[ClaimState]int{}
	for i := range 50 {
		wg.Go(func() {
			c, err := s.Claim(ctx, "ev1", "owner"+string(rune('A'+i%26))+string(rune('0'+i/26)), time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			states[c.State]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if states[Claimed] != 1 || states[HeldByOther] != 49 {
		t.Fatalf("claims = %v, want exactly one winner", states)
	}
}

func TestLedgerProtocol(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	c, err := s.Claim(ctx, "ev", "A", time.Minute)
	if err != nil || c.State != Claimed {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if err := s.Confirm(ctx, "ev", "B", LedgerEntry{CommentID: "x"}); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("B confirmed A's claim: %v", err)
	}
	e := LedgerEntry{Tracker: "github", Thread: "acme/api#9", CommentID: "123", URL: "https://x", PostedAt: time.Unix(1700000000, 0).UTC()}
	if err := s.Confirm(ctx, "ev", "A", e); err != nil {
		t.Fatal(err)
	}
	c, err = s.Claim(ctx, "ev", "B", time.Minute)
	if err != nil || c.State != AlreadyPosted {
		t.Fatalf("claim after confirm: %+v %v", c, err)
	}
	if diff := cmp.Diff(e, c.Entry); diff != "" {
		t.Errorf("entry (-want +got):\n%s", diff)
	}
	got, ok, err := s.Lookup(ctx, "ev")
	if err != nil || !ok || got.CommentID != "123" {
		t.Fatalf("Lookup = %+v %v %v", got, ok, err)
	}
	// A claim whose poster crashed expires; then the event can be claimed
	// again (the core has already checked the thread's markers).
	if c, _ := s.Claim(ctx, "ev2", "A", 50*time.Millisecond); c.State != Claimed {
		t.Fatal("claim ev2")
	}
	time.Sleep(120 * time.Millisecond)
	if c, _ := s.Claim(ctx, "ev2", "B", time.Minute); c.State != Claimed {
		t.Fatalf("expired claim not reclaimable: %+v", c)
	}
	if err := s.Release(ctx, "ev2", "A"); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Claim(ctx, "ev2", "C", time.Minute); c.State != HeldByOther {
		t.Fatalf("A released B's claim: %+v", c)
	}
}

func TestLeases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	ok, err := s.AcquireLease(ctx, "poll:github:acme/api", "A", time.Minute)
	if err != nil || !ok {
		t.Fatalf("A acquire: %v %v", ok, err)
	}
	if ok, _ := s.AcquireLease(ctx, "poll:github:acme/api", "B", time.Minute); ok {
		t.Fatal("B acquired A's lease")
	}
	if ok, _ := s.RenewLease(ctx, "poll:github:acme/api", "B", time.Minute); ok {
		t.Fatal("B renewed A's lease")
	}
	if err := s.ReleaseLease(ctx, "poll:github:acme/api", "B"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.AcquireLease(ctx, "poll:github:acme/api", "B", time.Minute); ok {
		t.Fatal("B's release freed A's lease")
	}
	if ok, _ := s.RenewLease(ctx, "poll:github:acme/api", "A", time.Minute); !ok {
		t.Fatal("A cannot renew its lease")
	}
	_ = s.ReleaseLease(ctx, "poll:github:acme/api", "A")
	if ok, _ := s.AcquireLease(ctx, "poll:github:acme/api", "B", 50*time.Millisecond); !ok {
		t.Fatal("B cannot take a released lease")
	}
	time.Sleep(120 * time.Millisecond)
	if ok, _ := s.AcquireLease(ctx, "poll:github:acme/api", "C", time.Minute); !ok {
		t.Fatal("an expired lease was not free")
	}
}

// queued reads every key on the stream (and acks it).
func queued(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	for {
		msgs, err := s.Read(ctx, "reader", 100, 10*time.Millisecond)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(msgs) == 0 {
			return keys
		}
		for _, m := range msgs {
			keys = append(keys, m.Key)
			_ = s.Ack(ctx, m.ID)
		}
	}
}

func TestAccept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A TTL far longer than the steps take, however loaded the machine;
	// the expiry has its own store below.
	s := newStore(t, Options{deliveryTTL: time.Minute})
	ms7 := []string{"github:acme/api/milestone/7"}
	const body1, body2 = "sha256:1111", "sha256:2222"
	steps := []struct {
		name         string
		d            Delivery
		keys         []string
		want         bool
		wantOnStream []string
	}{
		{name: "first delivery", d: Delivery{Source: "github", ID: "d1", Digest: body1}, keys: ms7, want: true, wantOnStream: ms7},
		{name: "redelivery", d: Delivery{Source: "github", ID: "d1", Digest: body1}, keys: ms7, want: false},
		{name: "the same body under another ID", d: Delivery{Source: "github", ID: "d1-replayed", Digest: body1}, keys: ms7, want: false},
		{name: "the same ID with another body", d: Delivery{Source: "github", ID: "d1", Digest: body2}, keys: ms7, want: false},
		{name: "same ID and body from another tracker", d: Delivery{Source: "jira", ID: "d1", Digest: body1}, keys: []string{"jira:PLAT/version/1"}, want: true,
			wantOnStream: []string{"jira:PLAT/version/1"}},
		{name: "several keys", d: Delivery{Source: "github", ID: "d2", Digest: body2}, keys: []string{"a", "b"}, want: true, wantOnStream: []string{"a", "b"}},
		{name: "no keys still remembers the delivery", d: Delivery{Source: "github", ID: "ping"}, want: true},
		{name: "redelivered ping", d: Delivery{Source: "github", ID: "ping"}, want: false},
		{name: "named by its digest only", d: Delivery{Source: "jira", ID: "sha256:3333", Digest: "sha256:3333"}, keys: ms7, want: true, wantOnStream: ms7},
		{name: "that body again", d: Delivery{Source: "jira", Digest: "sha256:3333"}, keys: ms7, want: false},
		{name: "no names: no dedupe", d: Delivery{Source: "jira"}, keys: ms7, want: true, wantOnStream: ms7},
		{name: "no names again", d: Delivery{Source: "jira"}, keys: ms7, want: true, wantOnStream: ms7},
	}
	for _, st := range steps {
		got, err := s.Accept(ctx, st.d, st.keys)
		if err != nil || got != st.want {
			t.Fatalf("%s: Accept = %v, %v; want %v", st.name, got, err, st.want)
		}
		if diff := cmp.Diff(st.wantOnStream, queued(t, s)); diff != "" {
			t.Fatalf("%s: stream (-want +got):\n%s", st.name, diff)
		}
	}
}

// After the delivery TTL, the same delivery is taken again: its ID and its
// body both expire.
func TestAcceptForgetsAfterTheTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{deliveryTTL: 200 * time.Millisecond})
	d := Delivery{Source: "github", ID: "d1", Digest: "sha256:1111"}
	if ok, err := s.Accept(ctx, d, []string{"k"}); err != nil || !ok {
		t.Fatalf("first Accept = %v, %v", ok, err)
	}
	time.Sleep(300 * time.Millisecond) // past the TTL whatever the load: Redis expires on access
	d.ID = "d1-replayed"
	if ok, err := s.Accept(ctx, d, []string{"k"}); err != nil || !ok {
		t.Fatalf("the same body after the TTL: Accept = %v, %v; want queued", ok, err)
	}
}

// A delivery's dedupe keys are two at most, small whatever the body's
// size, and expire with the delivery TTL.
func TestAcceptDedupeKeysAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	digest := "sha256:" + strings.Repeat("ab", 32)
	for i := range 50 {
		if _, err := s.Accept(ctx, Delivery{Source: "github", ID: "72d3162e-cc78-11e3-81ab-" + strconv.Itoa(i), Digest: digest}, nil); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.rdb.Keys(ctx, s.prefix+"{q}:delivery:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("dedupe keys %v, want the first ID's and the digest's", keys)
	}
	for _, k := range keys {
		size, err := s.rdb.MemoryUsage(ctx, k).Result()
		if err != nil || size > 256 {
			t.Errorf("%s takes %d bytes (%v), want at most 256", k, size, err)
		}
		ttl, err := s.rdb.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > DedupeWindow {
			t.Errorf("%s expires in %v (%v), want within %v", k, ttl, err, DedupeWindow)
		}
	}
}

// A delivery whose keys could not be queued is not marked seen: the
// tracker's redelivery is the only copy left.
func TestAcceptFailureLetsRedeliveryIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	// A stream key of the wrong type makes XADD fail inside the script.
	if err := s.rdb.Set(ctx, s.streamKey(), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Accept(ctx, Delivery{Source: "github", ID: "d1", Digest: "sha256:d1"}, []string{"k"}); err == nil || ok {
		t.Fatalf("Accept onto a broken stream = %v, %v; want an error", ok, err)
	}
	if err := s.rdb.Del(ctx, s.streamKey()).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Accept(ctx, Delivery{Source: "github", ID: "d1", Digest: "sha256:d1"}, []string{"k"}); err != nil || !ok {
		t.Fatalf("redelivery after the failure = %v, %v; want queued", ok, err)
	}
	if diff := cmp.Diff([]string{"k"}, queued(t, s)); diff != "" {
		t.Fatalf("stream (-want +got):\n%s", diff)
	}
}

// Many concurrent deliveries, each sent twice at once: each is queued
// exactly once and nobody waits forever. The script cache is flushed
// first, so the deliveries that meet NOSCRIPT must recover too.
func TestAcceptConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	if err := s.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 300
	var wg sync.WaitGroup
	var firsts atomic.Int64
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strconv.Itoa(i % n)
			ok, err := s.Accept(ctx, Delivery{Source: "github", ID: id, Digest: "sha256:" + id}, []string{"k" + id})
			if err != nil {
				t.Errorf("delivery %s: %v", id, err)
			}
			if ok {
				firsts.Add(1)
			}
		}()
	}
	wg.Wait()
	if firsts.Load() != n {
		t.Errorf("%d deliveries reported queued, want %d (one of each pair)", firsts.Load(), n)
	}
	got := queued(t, s)
	seen := map[string]int{}
	for _, k := range got {
		seen[k]++
	}
	for i := range n {
		if c := seen["k"+strconv.Itoa(i)]; c != 1 {
			t.Errorf("key k%d on the stream %d times, want once", i, c)
		}
	}
}

// With Redis gone every caller gets an error (the webhook answers
// 503 and the tracker redelivers); none hangs.
func TestAcceptRedisDown(t *testing.T) {
	t.Parallel()
	if srv == nil {
		t.Skip("no redis-server")
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, "down:", Options{})
	var wg sync.WaitGroup
	var errs atomic.Int64
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := s.Accept(context.Background(), Delivery{Source: "github", ID: strconv.Itoa(i)}, []string{"k"}); err != nil && !ok {
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	if errs.Load() != 20 {
		t.Fatalf("%d of 20 callers got an error with Redis down", errs.Load())
	}
}

func TestQueueReclaimAndPark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{ReclaimIdle: 50 * time.Millisecond})
	if err := s.Enqueue(ctx, "github:acme/api/milestone/7"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx, "dead-replica", 1, 100*time.Millisecond)
	if err != nil || len(got) != 1 || got[0].Deliveries != 1 {
		t.Fatalf("first read: %+v %v", got, err)
	}
	// dead-replica never acks; after ReclaimIdle a live one gets it.
	time.Sleep(100 * time.Millisecond)
	again, err := s.Read(ctx, "live", 1, 100*time.Millisecond)
	if err != nil || len(again) != 1 || again[0].ID != got[0].ID || again[0].Deliveries != 2 {
		t.Fatalf("reclaim: %+v %v", again, err)
	}
	if err := s.Park(ctx, again[0], "poison"); err != nil {
		t.Fatal(err)
	}
	parked, err := s.ParkedKeys(ctx)
	if err != nil || len(parked) != 1 || parked[0].Key != "github:acme/api/milestone/7" || parked[0].Deliveries != 2 {
		t.Fatalf("parked: %+v %v", parked, err)
	}
	time.Sleep(100 * time.Millisecond)
	if rest, _ := s.Read(ctx, "live", 1, 50*time.Millisecond); len(rest) != 0 {
		t.Fatalf("parked entry handed out again: %+v", rest)
	}
	st, err := s.QueueStats(ctx)
	if err != nil || st.Parked != 1 || st.Pending != 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestQueueDeferPromoteAck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	now := time.Now()
	_ = s.Defer(ctx, "k1", now.Add(time.Hour))
	_ = s.Defer(ctx, "k1", now.Add(-time.Second)) // earlier time wins
	_ = s.Defer(ctx, "k1", now.Add(2*time.Hour))  // later one does not push it back
	_ = s.Defer(ctx, "k2", now.Add(time.Hour))
	for _, c := range []struct {
		by   time.Time
		want int64
	}{{now.Add(-2 * time.Second), 0}, {now, 1}, {now.Add(time.Hour), 2}} {
		if n, err := s.DueBy(ctx, c.by); err != nil || n != c.want {
			t.Errorf("DueBy(now%+v) = %d, %v; want %d", c.by.Sub(now), n, err, c.want)
		}
	}
	n, err := s.PromoteDue(ctx, now, 10)
	if err != nil || n != 1 {
		t.Fatalf("promote: %d %v", n, err)
	}
	got, err := s.Read(ctx, "c", 10, 100*time.Millisecond)
	if err != nil || len(got) != 1 || got[0].Key != "k1" {
		t.Fatalf("read: %+v %v", got, err)
	}
	if err := s.Ack(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	st, _ := s.QueueStats(ctx)
	if st.Length != 0 || st.Pending != 0 || st.Delayed != 1 {
		t.Fatalf("stats after ack: %+v", st)
	}
}

func TestQueueHealsAfterFlush(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	_ = s.Enqueue(ctx, "a")
	if _, err := s.Read(ctx, "c", 1, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Another test's keys live on this server too, so drop just ours.
	keys, _ := s.rdb.Keys(ctx, s.prefix+"*").Result()
	s.rdb.Del(ctx, keys...)
	_ = s.Enqueue(ctx, "b")
	got, err := s.Read(ctx, "c", 1, 50*time.Millisecond)
	if err != nil || len(got) != 1 || got[0].Key != "b" {
		t.Fatalf("after the stream vanished: %+v %v", got, err)
	}
}

func TestValidators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{validatorMaxBody: 10})
	url := "https://api.github.com/repos/acme/api/milestones?state=all"
	if _, ok, err := s.GetValidator(ctx, url); ok || err != nil {
		t.Fatalf("miss: %v %v", ok, err)
	}
	v := httpx.Validator{ETag: `W/"abc"`, Header: map[string][]string{"Link": {"<x>; rel=\"next\""}}, Body: []byte("[1,2]")}
	if err := s.PutValidator(ctx, url, v); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.GetValidator(ctx, url)
	if err != nil || !ok {
		t.Fatalf("hit: %v %v", ok, err)
	}
	if diff := cmp.Diff(v, got); diff != "" {
		t.Errorf("validator (-want +got):\n%s", diff)
	}
	big := httpx.Validator{ETag: `"b"`, Body: []byte("more than ten bytes")}
	_ = s.PutValidator(ctx, url+"&page=2", big)
	if _, ok, _ := s.GetValidator(ctx, url+"&page=2"); ok {
		t.Error("a body over the limit was cached")
	}
}

// A validator asking for a shorter life (a URL that names a day) gets it;
// one asking for longer than the store's own does not.
func TestValidatorTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{validatorTTL: 7 * 24 * time.Hour})
	for _, tc := range []struct {
		name     string
		ttl      time.Duration
		min, max time.Duration
	}{
		{"store default", 0, 7*24*time.Hour - time.Minute, 7 * 24 * time.Hour},
		{"shorter", 48 * time.Hour, 48*time.Hour - time.Minute, 48 * time.Hour},
		{"longer is capped", 30 * 24 * time.Hour, 7*24*time.Hour - time.Minute, 7 * 24 * time.Hour},
	} {
		url := "https://api.github.com/repos/acme/api/issues/comments?since=x&" + tc.name
		if err := s.PutValidator(ctx, url, httpx.Validator{ETag: `"e"`, Body: []byte("[]"), TTL: tc.ttl}); err != nil {
			t.Fatal(err)
		}
		got, err := s.rdb.PTTL(ctx, s.validatorKey(url)).Result()
		if err != nil || got < tc.min || got > tc.max {
			t.Errorf("%s: key lives %v (%v), want between %v and %v", tc.name, got, err, tc.min, tc.max)
		}
	}
}

func TestTokenSwap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	if tok, _ := s.GetToken(ctx, "jira"); tok != "" {
		t.Fatal("token before any")
	}
	if ok, _ := s.SwapToken(ctx, "jira", "", "r1"); !ok {
		t.Fatal("first swap")
	}
	var wg sync.WaitGroup
	var wins sync.Map
	for i := range 10 {
		wg.Go(func() {
			if ok, _ := s.SwapToken(ctx, "jira", "r1", "r2-"+string(rune('a'+i))); ok {
				wins.Store(i, true)
			}
		})
	}
	wg.Wait()
	n := 0
	wins.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d concurrent refreshers won, want 1", n)
	}
}

// TestObserveTimesTheListedOps: every operation the store times reaches
// Options.Observe under a name Ops lists, so the daemon's Redis latency
// metric has each series from the start and none appears unannounced.
func TestObserveTimesTheListedOps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	s := newStore(t, Options{Observe: func(op string, _ error, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d < 0 {
			t.Errorf("%s took %v", op, d)
		}
		seen[op]++
	}})
	now := time.Now()
	steps := []func() error{
		func() error { return s.Ping(ctx) },
		func() error {
			_, err := s.Accept(ctx, Delivery{Source: "github", ID: "d-1", Digest: "sha256=00"}, []string{"github:acme/api/milestone/1"})
			return err
		},
		func() error { return s.Enqueue(ctx, "github:acme/api/milestone/2") },
		func() error {
			msgs, err := s.Read(ctx, "c1", 10, time.Millisecond)
			if err == nil && len(msgs) > 0 {
				err = s.Ack(ctx, msgs[0].ID)
			}
			return err
		},
		func() error { return s.Defer(ctx, "github:acme/api/milestone/3", now.Add(-time.Second)) },
		func() error { _, err := s.PromoteDue(ctx, now, 10); return err },
		func() error { _, err := s.AcquireLease(ctx, "l", "me", time.Minute); return err },
		func() error { return s.PutValidator(ctx, "https://api.github.com/x", httpx.Validator{ETag: `"e"`}) },
		func() error { _, _, err := s.GetValidator(ctx, "https://api.github.com/x"); return err },
		func() error { _, err := s.PutRecord(ctx, "github:acme/api/milestone/4", []byte(`{}`), 0); return err },
		func() error { _, _, err := s.GetRecord(ctx, "github:acme/api/milestone/4"); return err },
		func() error {
			if _, err := s.Claim(ctx, "ev-1", "me", time.Minute); err != nil {
				return err
			}
			return s.Confirm(ctx, "ev-1", "me", LedgerEntry{Tracker: "github", Thread: "acme/api#1", CommentID: "9", PostedAt: now})
		},
		func() error { _, _, err := s.SyncPolls(ctx, []string{"github:acme/api"}, now); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	listed := map[string]bool{}
	for _, op := range Ops() {
		listed[op] = true
	}
	for op := range seen {
		if !listed[op] {
			t.Errorf("Observe was told of %q, which Ops does not list", op)
		}
	}
	for op := range listed {
		if seen[op] == 0 {
			t.Errorf("Ops lists %q, which no step timed", op)
		}
	}
}
