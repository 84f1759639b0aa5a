package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/internal/redistest"
)

// TestClusterEveryOperation runs every store operation against a real
// three-master cluster through a client Dial built from cluster addrs. A
// script or MULTI whose keys hash to different slots fails there with
// CROSSSLOT, so each operation passing here keeps its keys on one slot.
func TestClusterEveryOperation(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	rdb, err := Dial(config.Redis{Mode: config.RedisCluster, Addrs: cl.Addrs()[:1], DialTimeout: config.Duration(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("Dial in cluster mode gave a %T", rdb)
	}
	ctx := context.Background()

	// Passing would prove nothing if this cluster let a cross-slot script
	// through.
	if err := rdb.Eval(ctx, "return redis.call('MGET', KEYS[1], KEYS[2])", []string{"a", "b"}).Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("cross-slot script: %v, want CROSSSLOT", err)
	}

	s := New(rdb, config.DefaultRedisPrefix, Options{ReclaimIdle: 20 * time.Millisecond, deliveryTTL: time.Minute})
	now := time.Now()
	posted := LedgerEntry{Tracker: "github", Thread: "acme/api#9", CommentID: "123", URL: "https://github.com/acme/api/issues/9#issuecomment-123", PostedAt: now.UTC().Truncate(time.Second)}
	var first []Message // handed to a consumer that then dies

	steps := []struct {
		name string
		do   func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"PutRecord, CAS and conflict", func() error {
			for i := range 20 {
				if _, err := s.PutRecord(ctx, fmt.Sprintf("github:acme/api/milestone/%d", i), []byte(`{"v":1}`), 0); err != nil {
					return err
				}
			}
			if _, err := s.PutRecord(ctx, "github:acme/api/milestone/0", []byte(`{"v":2}`), 1); err != nil {
				return err
			}
			if _, err := s.PutRecord(ctx, "github:acme/api/milestone/0", []byte(`{"v":3}`), 1); !errors.Is(err, ErrConflict) {
				return fmt.Errorf("stale put: %v, want ErrConflict", err)
			}
			return nil
		}},
		{"GetRecord", func() error {
			data, v, err := s.GetRecord(ctx, "github:acme/api/milestone/0")
			if err == nil && (v != 2 || string(data) != `{"v":2}`) {
				err = fmt.Errorf("got %s at v%d", data, v)
			}
			return err
		}},
		{"ListRecords", func() error {
			recs, err := s.ListRecords(ctx)
			if err == nil && len(recs) != 20 {
				err = fmt.Errorf("listed %d records, want 20", len(recs))
			}
			return err
		}},
		{"Claim, Confirm, Claim again", func() error {
			if c, err := s.Claim(ctx, "ev-1", "A", time.Minute); err != nil || c.State != Claimed {
				return fmt.Errorf("claim: %+v %v", c, err)
			}
			if c, err := s.Claim(ctx, "ev-1", "B", time.Minute); err != nil || c.State != HeldByOther {
				return fmt.Errorf("second claim: %+v %v", c, err)
			}
			if err := s.Confirm(ctx, "ev-1", "A", posted); err != nil {
				return err
			}
			c, err := s.Claim(ctx, "ev-1", "B", time.Minute)
			if err != nil || c.State != AlreadyPosted || c.Entry != posted {
				return fmt.Errorf("claim after confirm: %+v %v", c, err)
			}
			return nil
		}},
		{"Release", func() error {
			if _, err := s.Claim(ctx, "ev-2", "A", time.Minute); err != nil {
				return err
			}
			if err := s.Release(ctx, "ev-2", "A"); err != nil {
				return err
			}
			if c, err := s.Claim(ctx, "ev-2", "B", time.Minute); err != nil || c.State != Claimed {
				return fmt.Errorf("claim after release: %+v %v", c, err)
			}
			return nil
		}},
		{"Lookup", func() error {
			e, ok, err := s.Lookup(ctx, "ev-1")
			if err == nil && (!ok || e != posted) {
				err = fmt.Errorf("lookup: %+v %v", e, ok)
			}
			return err
		}},
		{"PutValidator, GetValidator", func() error {
			v := httpx.Validator{ETag: `W/"e"`, Body: []byte("[]")}
			if err := s.PutValidator(ctx, "https://api.github.com/repos/acme/api/milestones", v); err != nil {
				return err
			}
			got, ok, err := s.GetValidator(ctx, "https://api.github.com/repos/acme/api/milestones")
			if err == nil && (!ok || !cmp.Equal(v, got)) {
				err = fmt.Errorf("validator: %+v %v", got, ok)
			}
			return err
		}},
		{"Accept", func() error {
			if ok, err := s.Accept(ctx, Delivery{Source: "github", ID: "d-1", Digest: "sha256:d-1"}, []string{"x"}); err != nil || !ok {
				return fmt.Errorf("first delivery: %v %v", ok, err)
			}
			if again, err := s.Accept(ctx, Delivery{Source: "github", ID: "d-1", Digest: "sha256:d-1"}, []string{"x"}); err != nil || again {
				return fmt.Errorf("redelivery: %v %v", again, err)
			}
			got, err := s.Read(ctx, "acceptor", 10, 100*time.Millisecond)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Key != "x" {
				return fmt.Errorf("read %v, want the accepted key once", got)
			}
			return s.Ack(ctx, got[0].ID)
		}},
		{"Enqueue, Read", func() error {
			for _, k := range []string{"a", "b", "c"} {
				if err := s.Enqueue(ctx, k); err != nil {
					return err
				}
			}
			var err error
			first, err = s.Read(ctx, "dead", 3, 100*time.Millisecond)
			if err == nil && len(first) != 3 {
				err = fmt.Errorf("read %v", first)
			}
			return err
		}},
		{"Read reclaims a dead consumer's entries", func() error {
			time.Sleep(50 * time.Millisecond)
			got, err := s.Read(ctx, "live", 3, 100*time.Millisecond)
			if err != nil {
				return err
			}
			if len(got) != 3 || got[0].ID != first[0].ID || got[0].Deliveries != 2 {
				return fmt.Errorf("reclaimed %v, want %v again with 2 deliveries", got, first)
			}
			first = got
			return nil
		}},
		{"Ack", func() error { return s.Ack(ctx, first[0].ID, first[1].ID) }},
		{"Park", func() error {
			if err := s.Park(ctx, first[2], "poison"); err != nil {
				return err
			}
			p, err := s.ParkedKeys(ctx)
			if err == nil && (len(p) != 1 || p[0].Key != "c" || p[0].Deliveries != 2) {
				err = fmt.Errorf("parked %+v", p)
			}
			return err
		}},
		{"Defer, PromoteDue", func() error {
			if err := s.Defer(ctx, "later", now.Add(-time.Second)); err != nil {
				return err
			}
			if err := s.Defer(ctx, "much-later", now.Add(time.Hour)); err != nil {
				return err
			}
			n, err := s.PromoteDue(ctx, now, 10)
			if err == nil && n != 1 {
				err = fmt.Errorf("promoted %d, want 1", n)
			}
			return err
		}},
		{"Read (blocking) the promoted key", func() error {
			got, err := s.Read(ctx, "live", 10, 100*time.Millisecond)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Key != "later" {
				return fmt.Errorf("read %v, want the promoted key", got)
			}
			return s.Ack(ctx, got[0].ID)
		}},
		{"QueueStats", func() error {
			st, err := s.QueueStats(ctx)
			if err == nil && st != (QueueStats{Delayed: 1, Parked: 1}) {
				err = fmt.Errorf("stats %+v", st)
			}
			return err
		}},
		{"AcquireLease, RenewLease, ReleaseLease", func() error {
			if ok, err := s.AcquireLease(ctx, "poll:github:acme/api", "A", time.Minute); err != nil || !ok {
				return fmt.Errorf("acquire: %v %v", ok, err)
			}
			if ok, err := s.RenewLease(ctx, "poll:github:acme/api", "B", time.Minute); err != nil || ok {
				return fmt.Errorf("B renewed A's lease: %v %v", ok, err)
			}
			if ok, err := s.RenewLease(ctx, "poll:github:acme/api", "A", time.Minute); err != nil || !ok {
				return fmt.Errorf("renew: %v %v", ok, err)
			}
			if err := s.ReleaseLease(ctx, "poll:github:acme/api", "A"); err != nil {
				return err
			}
			if ok, err := s.AcquireLease(ctx, "poll:github:acme/api", "B", time.Minute); err != nil || !ok {
				return fmt.Errorf("acquire after release: %v %v", ok, err)
			}
			return nil
		}},
		{"SyncPolls, StartPolls, SchedulePoll, team state and activity, Heartbeat", func() error {
			if _, _, err := s.SyncPolls(ctx, []string{"github:acme/api", "jira:PLAT"}, now); err != nil {
				return err
			}
			started, err := s.StartPolls(ctx, "github", now, Pace{Rate: -1}, []PollStart{{Key: "github:acme/api", Cost: 10, Every: time.Minute}})
			if err != nil || len(started) != 1 {
				return fmt.Errorf("started %v: %v", started, err)
			}
			if err := s.SchedulePoll(ctx, "github:acme/api", now.Add(time.Hour)); err != nil {
				return err
			}
			if err := s.PullPolls(ctx, map[string]time.Time{"github:acme/api": now}); err != nil {
				return err
			}
			if err := s.PutTeamState(ctx, "github:acme/api", []byte(`{}`)); err != nil {
				return err
			}
			if err := s.AddTeamSpend(ctx, "github:acme/api", 3, now); err != nil {
				return err
			}
			if err := s.MarkHooks(ctx, map[string]time.Time{"jira:PLAT": now}); err != nil {
				return err
			}
			if _, _, err := s.TeamState(ctx, "github:acme/api"); err != nil {
				return err
			}
			if _, err := s.TeamStates(ctx); err != nil {
				return err
			}
			if _, err := s.Activity(ctx); err != nil {
				return err
			}
			if _, err := s.PollStats(ctx); err != nil {
				return err
			}
			if _, err := s.Heartbeat(ctx, "A", now, time.Minute); err != nil {
				return err
			}
			got, err := s.Read(ctx, "live", 10, 100*time.Millisecond)
			if err != nil || len(got) != 1 || got[0].Key != "github:acme/api" {
				return fmt.Errorf("read %v, %v: want the started poll", got, err)
			}
			if _, _, err := s.SyncPolls(ctx, []string{"github:acme/api"}, now); err != nil {
				return err
			}
			return s.Ack(ctx, got[0].ID)
		}},
		{"SwapToken, GetToken", func() error {
			if ok, err := s.SwapToken(ctx, "jira", "", "rt-1"); err != nil || !ok {
				return fmt.Errorf("swap: %v %v", ok, err)
			}
			if ok, err := s.SwapToken(ctx, "jira", "", "rt-2"); err != nil || ok {
				return fmt.Errorf("stale swap: %v %v", ok, err)
			}
			tok, err := s.GetToken(ctx, "jira")
			if err == nil && tok != "rt-1" {
				err = fmt.Errorf("token %q", tok)
			}
			return err
		}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s on a cluster: %v", st.name, err)
		}
	}

	// The keys really are spread over the masters, or the test exercised
	// one node only.
	var used atomic.Int32 // ForEachMaster runs fn concurrently
	err = rdb.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		if n > 0 {
			used.Add(1)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if used.Load() != 3 {
		t.Fatalf("keys on %d of 3 masters; the test did not exercise the cross-node layout", used.Load())
	}
}
