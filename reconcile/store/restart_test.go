package store

import (
	"context"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
)

// TestRestartKeepsConfirmed: Redis is killed (SIGKILL, as a crash) and
// restarted mid-work. With append-only persistence nothing the store
// confirmed is lost, work handed out but not acked is still pending, and
// the same Store, on a client from Dial, carries on without being rebuilt.
func TestRestartKeepsConfirmed(t *testing.T) {
	// Not parallel: it restarts the shared server.
	if srv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	ctx := context.Background()
	rdb, err := Dial(config.Redis{URL: "redis://" + srv.Addr + "/0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, srv.Prefix(t), Options{ReclaimIdle: 20 * time.Millisecond})

	// The guarantee rests on the AOF, fsynced before each reply.
	cfg, err := rdb.ConfigGet(ctx, "append*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if cfg["appendonly"] != "yes" || cfg["appendfsync"] != "always" {
		t.Fatalf("the test server persists with %v; the restart would prove nothing", cfg)
	}

	posted := LedgerEntry{Tracker: "jira", Thread: "PLAT-9", CommentID: "42", PostedAt: time.Unix(1700000000, 0).UTC()}
	if c, err := s.Claim(ctx, "ev", "A", time.Minute); err != nil || c.State != Claimed {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if err := s.Confirm(ctx, "ev", "A", posted); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRecord(ctx, "jira:PLAT/version/1", []byte("r1"), 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.SwapToken(ctx, "jira", "", "rt-1"); err != nil || !ok {
		t.Fatalf("swap: %v %v", ok, err)
	}
	if err := s.Enqueue(ctx, "jira:PLAT/version/1"); err != nil {
		t.Fatal(err)
	}
	held, err := s.Read(ctx, "crashing-worker", 1, 100*time.Millisecond)
	if err != nil || len(held) != 1 {
		t.Fatalf("read: %v %v", held, err)
	}

	srv.Kill()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}

	var e LedgerEntry
	var ok bool
	for range 20 { // the pool finds its connections dead on first use
		if e, ok, err = s.Lookup(ctx, "ev"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || !ok || e != posted {
		t.Fatalf("ledger after restart: %+v %v %v", e, ok, err)
	}
	if c, err := s.Claim(ctx, "ev", "B", time.Minute); err != nil || c.State != AlreadyPosted {
		t.Fatalf("the confirmed event can be claimed again: %+v %v", c, err)
	}
	if data, v, err := s.GetRecord(ctx, "jira:PLAT/version/1"); err != nil || string(data) != "r1" || v != 1 {
		t.Fatalf("record after restart: %s v%d %v", data, v, err)
	}
	if recs, err := s.ListRecords(ctx); err != nil || len(recs) != 1 {
		t.Fatalf("record index after restart: %v %v", recs, err)
	}
	if tok, err := s.GetToken(ctx, "jira"); err != nil || tok != "rt-1" {
		t.Fatalf("token after restart: %q %v", tok, err)
	}
	// The crashed worker's entry is still pending and goes to a live one.
	time.Sleep(50 * time.Millisecond)
	got, err := s.Read(ctx, "live", 1, 100*time.Millisecond)
	if err != nil || len(got) != 1 || got[0].ID != held[0].ID || got[0].Deliveries != 2 {
		t.Fatalf("pending entry after restart: %v %v, want %v redelivered", got, err, held)
	}
	if err := s.Ack(ctx, got[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRecord(ctx, "jira:PLAT/version/1", []byte("r2"), 1); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
}
