package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// keyState is this replica's memory of keys: which are being worked on,
// when each was last started successfully (to coalesce triggers that an
// observation already covered) and how often each failed in a row.
type keyState struct {
	mu       sync.Mutex
	inflight map[string]bool
	started  map[string]time.Time
	failures map[string]int
}

func newKeyState() *keyState {
	return &keyState{inflight: map[string]bool{}, started: map[string]time.Time{}, failures: map[string]int{}}
}

func (k *keyState) begin(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.inflight[key] {
		return false
	}
	k.inflight[key] = true
	return true
}

func (k *keyState) end(key string, started time.Time, err error) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.inflight, key)
	if errors.Is(err, errBusy) || errors.Is(err, context.Canceled) {
		// Contention and shutdown are not failures of the key.
		return k.failures[key]
	}
	if err == nil {
		k.started[key] = started
		delete(k.failures, key)
		return 0
	}
	k.failures[key]++
	return k.failures[key]
}

// covered reports whether a successful run of key started after the
// trigger was enqueued: that run already saw what the trigger is about.
func (k *keyState) covered(key string, enqueued time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.started[key]
	return ok && !enqueued.IsZero() && s.After(enqueued)
}

func (k *keyState) prune(before time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key, s := range k.started {
		if s.Before(before) {
			delete(k.started, key)
		}
	}
}

// enqueuedAt reads the time from a stream entry ID ("<ms>-<seq>").
func enqueuedAt(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// Run polls, promotes due retries and works the queue until ctx is
// cancelled; then it stops taking work and gives in-flight keys until
// grace to finish. Unfinished work stays pending in the stream, where
// another replica reclaims it.
func (r *Runner) Run(ctx context.Context, grace time.Duration) error {
	// Work outlives intake by the grace period.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	wg.Go(func() { r.pollLoop(ctx) })
	wg.Go(func() { r.promoteLoop(ctx) })
	var workers sync.WaitGroup
	for i := range r.opt.Workers {
		workers.Go(func() { r.workLoop(ctx, workCtx, i) })
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		r.log.Warn("shutdown grace over; leaving unfinished work to another replica")
		cancelWork()
		<-done
	}
	wg.Wait()
	return nil
}

func (r *Runner) workLoop(intake, work context.Context, n int) {
	consumer := r.opt.Owner
	failures := 0
	for intake.Err() == nil {
		msgs, err := r.store.Read(intake, consumer, 1, r.opt.readBlock)
		if err != nil {
			if intake.Err() != nil {
				return
			}
			failures++
			r.m.redisErrors.WithLabelValues("read").Inc()
			r.log.Warn("cannot read the queue", "worker", n, "err", err)
			sleep(intake, r.backoff(failures))
			continue
		}
		failures = 0
		for _, m := range msgs {
			r.handle(work, m)
		}
	}
}

// handle works one message and always leaves it acked, deferred or parked,
// except when shutdown interrupts it: then it stays pending for another
// replica.
func (r *Runner) handle(ctx context.Context, m store.Message) {
	log := r.log.With("commitment", m.Key)
	enq := enqueuedAt(m.ID)
	if !enq.IsZero() {
		r.m.queueLag.Observe(r.opt.Now().Sub(enq).Seconds())
	}
	if m.Deliveries > int64(r.opt.MaxDeliveries) {
		r.park(ctx, m, fmt.Sprintf("delivered %d times without being acknowledged", m.Deliveries))
		return
	}
	if r.keys.covered(m.Key, enq) {
		r.m.coalesced.Inc()
		r.ack(ctx, m)
		return
	}
	if !r.keys.begin(m.Key) {
		// Another worker here has it: look again once it is done.
		r.m.coalesced.Inc()
		r.deferKey(ctx, m, r.opt.Now().Add(time.Second))
		return
	}
	lease := "work:" + m.Key
	ok, err := r.store.AcquireLease(ctx, lease, r.opt.Owner, r.opt.WorkLease)
	if err != nil || !ok {
		r.keys.end(m.Key, time.Time{}, errBusy)
		if err != nil {
			r.m.redisErrors.WithLabelValues("lease").Inc()
		}
		r.deferKey(ctx, m, r.opt.Now().Add(2*time.Second))
		return
	}
	start := r.opt.Now()
	began := time.Now()
	// The work lease bounds the work: a tracker that sends headers and then
	// stalls the body would otherwise hold this worker forever (the HTTP
	// client has no overall timeout), and past the lease another replica
	// may take the key anyway.
	workCtx, cancel := context.WithTimeout(ctx, r.opt.WorkLease)
	workCtx, spend := budget.WithSpend(workCtx)
	err = r.Process(workCtx, m.Key)
	cancel()
	r.m.reconcileSeconds.Observe(time.Since(began).Seconds())
	// What the work spent goes to its team's account, which plans its
	// polls; a team's completed listing is its poll.
	if k, perr := ParseKey(m.Key); perr == nil && k.Team != "" {
		if k.Kind == KeyTeam && err == nil {
			r.polled(context.WithoutCancel(ctx), k, start, spend)
		} else {
			r.spent(context.WithoutCancel(ctx), TeamKey(k.Tracker, k.Team).String(), spend)
		}
	}
	if rerr := r.store.ReleaseLease(context.WithoutCancel(ctx), lease, r.opt.Owner); rerr != nil {
		r.m.redisErrors.WithLabelValues("lease").Inc()
	}
	if ctx.Err() != nil {
		// Shutting down mid-work: leave the entry pending for reclaim.
		r.keys.end(m.Key, time.Time{}, ctx.Err())
		return
	}
	fails := r.keys.end(m.Key, start, err)
	var rl *connectors.RateLimitError
	switch {
	case err == nil:
		r.ack(ctx, m)
	case errors.Is(err, errBusy):
		r.deferKey(ctx, m, r.opt.Now().Add(2*time.Second))
	case errors.As(err, &rl):
		r.m.reconciles.WithLabelValues("rate_limited").Inc()
		if budget.IsHeld(err) {
			// slipwatch's own pacing, counted by the budget's metrics;
			// a log line each would flood at an organisation's scale.
			log.Debug("held back by the rate-limit budget; retrying when there is room", "retry_at", rl.Retry, "err", err)
		} else {
			log.Warn("rate limited; retrying when the limit resets", "retry_at", rl.Retry, "err", err)
		}
		r.deferKey(ctx, m, rl.Retry)
	case errors.Is(err, connectors.ErrTerminal):
		r.m.reconciles.WithLabelValues("error").Inc()
		r.park(ctx, m, err.Error())
	case fails >= r.opt.MaxDeliveries:
		r.m.reconciles.WithLabelValues("error").Inc()
		r.park(ctx, m, fmt.Sprintf("failed %d times in a row: %v", fails, err))
	default:
		r.m.reconciles.WithLabelValues("error").Inc()
		delay := r.backoff(fails)
		log.Warn("reconcile failed; retrying", "attempt", fails, "retry_in", delay.String(), "err", err)
		r.deferKey(ctx, m, r.opt.Now().Add(delay))
	}
}

// backoff is exponential from backoffBase to backoffMax with jitter, so
// keys that failed together do not retry together.
func (r *Runner) backoff(attempt int) time.Duration {
	d := r.opt.backoffBase
	for i := 1; i < attempt && d < r.opt.backoffMax; i++ {
		d *= 2
	}
	d = min(d, r.opt.backoffMax)
	return d/2 + rand.N(d/2+1)
}

func (r *Runner) ack(ctx context.Context, m store.Message) {
	if err := r.store.Ack(ctx, m.ID); err != nil {
		// Unacked work is reclaimed and redone; harmless, but worth a count.
		r.m.redisErrors.WithLabelValues("ack").Inc()
		r.log.Warn("ack failed", "commitment", m.Key, "err", err)
	}
}

// deferKey schedules the key again at `at` and acks this entry; if the
// schedule cannot be written the entry stays pending, to be reclaimed.
func (r *Runner) deferKey(ctx context.Context, m store.Message, at time.Time) {
	if err := r.store.Defer(ctx, m.Key, at); err != nil {
		r.m.redisErrors.WithLabelValues("defer").Inc()
		r.log.Warn("cannot schedule a retry; leaving the entry for reclaim", "commitment", m.Key, "err", err)
		return
	}
	r.ack(ctx, m)
}

func (r *Runner) park(ctx context.Context, m store.Message, reason string) {
	if err := r.store.Park(ctx, m, reason); err != nil {
		r.m.redisErrors.WithLabelValues("park").Inc()
		r.log.Error("cannot park a poison key", "commitment", m.Key, "err", err)
		return
	}
	r.m.parked.Inc()
	r.log.Error("key parked after repeated failures; fix the cause and re-enqueue it", "commitment", m.Key, "reason", reason)
}

func (r *Runner) promoteLoop(ctx context.Context) {
	t := time.NewTicker(r.opt.promoteEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.store.PromoteDue(ctx, r.opt.Now(), 500); err != nil && ctx.Err() == nil {
			r.m.redisErrors.WithLabelValues("promote").Inc()
		}
		if st, err := r.store.QueueStats(ctx); err == nil {
			r.m.setQueue(st)
		}
		r.keys.prune(r.opt.Now().Add(-coalesceWindow))
	}
}

// pollLoop turns the poller (PollOnce) every tick: each team has its own
// next poll in Redis, so a tick only starts what is due.
func (r *Runner) pollLoop(ctx context.Context) {
	t := time.NewTicker(r.opt.pollTick)
	defer t.Stop()
	for {
		r.PollOnce(ctx)
		select {
		case <-ctx.Done():
			// Out of the live replicas at once, so the others take up
			// its share of the secondary limits.
			_ = r.store.Leave(context.WithoutCancel(ctx), r.opt.Owner)
			return
		case <-t.C:
		}
	}
}

// pollLease takes the lease that lets one replica per interval poll key;
// false when another holds it or Redis cannot say.
func (r *Runner) pollLease(ctx context.Context, key string) bool {
	ok, err := r.store.AcquireLease(ctx, "poll:"+key, r.opt.Owner, r.opt.PollInterval*9/10)
	if err != nil {
		r.m.redisErrors.WithLabelValues("lease").Inc()
		r.log.Warn("cannot take the poll lease", "key", key, "err", err)
		return false
	}
	return ok
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
