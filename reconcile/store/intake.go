package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// acceptScript queues a webhook delivery's work keys unless the delivery
// was seen before, in one round trip and atomically. It marks the
// delivery seen only after its keys are on the stream, so an error part
// way (say OOM) lets the tracker's redelivery in rather than dropping it.
//
// KEYS[1] the stream, KEYS[2] the delivery key (absent: no dedupe);
// ARGV[1] the stream's approximate cap, ARGV[2] the delivery TTL in ms,
// ARGV[3:] the work keys. Returns 1 when queued, 0 for a duplicate.
var acceptScript = redis.NewScript(`
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'key', ARGV[i])
end
if KEYS[2] then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
return 1`)

// The delivery key carries the queue's hash tag so the script's keys share
// a Cluster slot; it is small and expires, so the queue's shard holding
// them all costs little.
func (s *Store) deliveryKey(source, id string) string {
	return s.key("{q}:delivery:", source, ":", id)
}

// batcher groups the Accepts that arrive while one is on the wire into the
// next pipeline (group commit): under load a round trip carries many
// deliveries, when idle each goes at once. No goroutine of its own: the
// caller that finds nobody flushing flushes, and hands the turn to a
// waiting caller when done.
type batcher struct {
	mu      sync.Mutex
	pending []*acceptCall
	busy    bool
}

type acceptCall struct {
	source, id string
	keys       []string
	queued     bool
	err        error
	// turn receives true when this call is to flush the next batch; it is
	// closed once the call's result is set.
	turn chan bool
}

// maxBatch bounds one pipeline so a burst does not make one round trip
// carry an unbounded reply.
const maxBatch = 256

// Accept queues the work keys of one webhook delivery unless that
// delivery (source and ID) was accepted within the delivery TTL: trackers
// redeliver, and Jira may deliver twice. It reports whether the keys were
// queued (false: a duplicate, nothing done). An empty id skips the
// dedupe. When Accept returns an error nothing was queued, or at least the
// delivery was not marked seen, so the tracker's redelivery is taken.
//
// Concurrent Accepts share round trips; each returns once its own
// delivery is durably on the stream. The wait does not end early with ctx:
// it is bounded by the client's timeouts, and a caller that left would
// leave its place in the batch behind.
func (s *Store) Accept(ctx context.Context, source, id string, keys []string) (bool, error) {
	c := &acceptCall{source: source, id: id, keys: keys, turn: make(chan bool, 1)}
	b := &s.intake
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if b.busy {
		b.mu.Unlock()
		if lead := <-c.turn; !lead {
			return c.queued, c.err
		}
		b.mu.Lock()
	}
	b.busy = true
	batch := b.pending
	if len(batch) > maxBatch {
		batch = batch[:maxBatch]
	}
	b.pending = b.pending[len(batch):]
	b.mu.Unlock()

	// Others' deliveries ride on this call's round trip: this request
	// ending must not fail theirs.
	s.flushAccepts(context.WithoutCancel(ctx), batch)

	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].turn <- true
	} else {
		b.busy = false
	}
	b.mu.Unlock()
	return c.queued, c.err
}

func (s *Store) flushAccepts(ctx context.Context, batch []*acceptCall) {
	start := time.Now()
	maxLen := strconv.FormatInt(s.opt.MaxLength, 10)
	ttl := strconv.FormatInt(s.opt.DeliveryTTL.Milliseconds(), 10)
	args := func(c *acceptCall) ([]string, []any) {
		keys := []string{s.streamKey()}
		if c.id != "" {
			keys = append(keys, s.deliveryKey(c.source, c.id))
		}
		a := make([]any, 0, 2+len(c.keys))
		a = append(a, maxLen, ttl)
		for _, k := range c.keys {
			a = append(a, k)
		}
		return keys, a
	}
	cmds := make([]*redis.Cmd, len(batch))
	pipe := s.rdb.Pipeline()
	for i, c := range batch {
		keys, a := args(c)
		cmds[i] = acceptScript.EvalSha(ctx, pipe, keys, a...)
	}
	_, _ = pipe.Exec(ctx) // each command's error is read below
	if retry := noScript(cmds); len(retry) > 0 {
		// The script cache is empty (first use, a restart, a failover):
		// load the script once and send those again.
		if err := acceptScript.Load(ctx, s.rdb).Err(); err == nil {
			pipe := s.rdb.Pipeline()
			for _, i := range retry {
				keys, a := args(batch[i])
				cmds[i] = acceptScript.EvalSha(ctx, pipe, keys, a...)
			}
			_, _ = pipe.Exec(ctx)
		}
	}
	var failed error
	for i, c := range batch {
		n, err := cmds[i].Int()
		if err != nil {
			c.err = fmt.Errorf("accept %s delivery %q: %w", c.source, c.id, err)
			failed = c.err
		}
		c.queued = err == nil && n == 1
		close(c.turn)
	}
	_ = s.observe("accept", start, failed)
}

func noScript(cmds []*redis.Cmd) []int {
	var idx []int
	for i, c := range cmds {
		if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			idx = append(idx, i)
		}
	}
	return idx
}
