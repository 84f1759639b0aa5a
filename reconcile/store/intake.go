package store

import (
	"context"
	"fmt"
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

// Accept queues the work keys of one webhook delivery unless that
// delivery (source and ID) was accepted within the delivery TTL: trackers
// redeliver, and Jira may deliver twice. It reports whether the keys were
// queued (false: a duplicate, nothing done). An empty id skips the
// dedupe. When Accept returns an error nothing was queued, or at least the
// delivery was not marked seen, so the tracker's redelivery is taken.
func (s *Store) Accept(ctx context.Context, source, id string, keys []string) (bool, error) {
	start := time.Now()
	k := []string{s.streamKey()}
	if id != "" {
		k = append(k, s.deliveryKey(source, id))
	}
	args := make([]any, 0, 2+len(keys))
	args = append(args, s.opt.MaxLength, s.opt.DeliveryTTL.Milliseconds())
	for _, key := range keys {
		args = append(args, key)
	}
	// Run sends EVALSHA and, when the script cache is empty (first use, a
	// restart, a failover), EVAL once.
	n, err := acceptScript.Run(ctx, s.rdb, k, args...).Int()
	if err != nil {
		err = fmt.Errorf("accept %s delivery %q: %w", source, id, err)
	}
	return err == nil && n == 1, s.observe("accept", start, err)
}
