package store

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/internal/redistest"
)

// Benchmarks run against a redis-server of their own on loopback TCP,
// persisting as production would (AOF, fsync every second; the tests'
// server fsyncs every write, which would measure the disk):
//
//	go test -run '^$' -bench . -benchtime 2s ./reconcile/store/
//
// clients=16 is 16 goroutines sharing one Store, as 16 workers would; the
// go-redis pool gives each its own connection. Each reports ops/s, one op
// being one iteration of what the benchmark's name says.

func benchStore(b *testing.B, srv *redistest.Server) *Store {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 32})
	b.Cleanup(func() { _ = rdb.Close() })
	return New(rdb, srv.Prefix(b), Options{})
}

// runClients spreads b.N iterations over clients goroutines; op gets the
// goroutine's number and the iteration's.
func runClients(b *testing.B, clients int, op func(ctx context.Context, g, i int) error) {
	b.Helper()
	ctx := context.Background()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		fail atomic.Value
	)
	b.ResetTimer()
	for g := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(ctx, g, i); err != nil {
					fail.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkStore(b *testing.B) {
	srv := redistest.StartFor(b, "--appendonly", "yes", "--appendfsync", "everysec")
	posted := LedgerEntry{Tracker: "github", Thread: "acme/api#42", CommentID: "1001",
		URL: "https://github.com/acme/api/issues/42#issuecomment-1001", PostedAt: time.Now().UTC()}
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("Enqueue/clients=%d", clients), func(b *testing.B) {
			s := benchStore(b, srv)
			runClients(b, clients, func(ctx context.Context, _, i int) error {
				return s.Enqueue(ctx, "github:acme/api/milestone/"+strconv.Itoa(i))
			})
		})
		// One webhook delivery's intake: dedupe and queue its key.
		b.Run(fmt.Sprintf("Accept/clients=%d", clients), func(b *testing.B) {
			s := benchStore(b, srv)
			runClients(b, clients, func(ctx context.Context, _, i int) error {
				ok, err := s.Accept(ctx, Delivery{Source: "github", ID: "delivery-" + strconv.Itoa(i), Digest: "sha256:" + strconv.Itoa(i)}, []string{"github:acme/api/milestone/3"})
				if err == nil && !ok {
					err = fmt.Errorf("delivery %d taken for a duplicate", i)
				}
				return err
			})
		})
		// One unit of work through the queue. Each goroutine enqueues before
		// it reads, so a read always finds an entry (maybe another's).
		b.Run(fmt.Sprintf("EnqueueReadAck/clients=%d", clients), func(b *testing.B) {
			s := benchStore(b, srv)
			runClients(b, clients, func(ctx context.Context, g, i int) error {
				if err := s.Enqueue(ctx, "github:acme/api/milestone/"+strconv.Itoa(i)); err != nil {
					return err
				}
				msgs, err := s.Read(ctx, "w"+strconv.Itoa(g), 1, time.Second)
				if err != nil {
					return err
				}
				if len(msgs) != 1 {
					return fmt.Errorf("read %d entries, want 1", len(msgs))
				}
				return s.Ack(ctx, msgs[0].ID)
			})
		})
		// One posted comment's ledger work: Claim before, Confirm after.
		b.Run(fmt.Sprintf("ClaimConfirm/clients=%d", clients), func(b *testing.B) {
			s := benchStore(b, srv)
			runClients(b, clients, func(ctx context.Context, g, i int) error {
				ev, owner := "ev-"+strconv.Itoa(i), "worker-"+strconv.Itoa(g)
				c, err := s.Claim(ctx, ev, owner, time.Minute)
				if err != nil {
					return err
				}
				if c.State != Claimed {
					return fmt.Errorf("claim %s: state %v", ev, c.State)
				}
				return s.Confirm(ctx, ev, owner, posted)
			})
		})
	}
}
