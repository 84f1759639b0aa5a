package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// acceptScript queues a webhook delivery's work keys unless the delivery
// was seen before under any of its names, in one round trip and
// atomically. It marks the names seen only after the keys are on the
// stream, so an error part way (say OOM) lets the tracker's redelivery in
// rather than dropping it.
//
// KEYS[1] the stream, KEYS[2:] the delivery's names (none: no dedupe);
// ARGV[1] the stream's approximate cap, ARGV[2] the TTL of the names in
// ms, ARGV[3:] the work keys. Returns 1 when queued, 0 for a duplicate.
var acceptScript = redis.NewScript(`
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'key', ARGV[i])
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], '1', 'PX', ARGV[2])
end
return 1`)

// The delivery keys carry the queue's hash tag so the script's keys share
// a Cluster slot; they are small and expire, so the queue's shard holding
// them all costs little.
func (s *Store) deliveryKey(source, name string) string {
	return s.key("{q}:delivery:", source, ":", name)
}

// Delivery names one webhook delivery for the dedupe.
type Delivery struct {
	Source string // the tracker
	// ID is the sender's delivery ID, kept across its redeliveries. The
	// sender does not sign it: the caller bounds it (the webhook handler
	// takes 128 printable characters at most).
	ID string
	// Digest names the signed body (httpx.BodyDigest, 71 bytes): the same
	// body replayed under another ID is the same delivery.
	Digest string
}

// Accept queues the work keys of one webhook delivery unless it was
// accepted within the delivery TTL under its ID or its digest: trackers
// redeliver, Jira may deliver twice, and anyone who saw a signed delivery
// can send it again under new IDs. It reports whether the keys were
// queued (false: a duplicate, nothing done). A delivery with neither ID
// nor digest is not deduplicated. When Accept returns an error nothing was
// queued, or at least the delivery was not marked seen, so the tracker's
// redelivery is taken.
func (s *Store) Accept(ctx context.Context, d Delivery, keys []string) (bool, error) {
	start := time.Now()
	k := []string{s.streamKey()}
	for _, name := range []string{d.ID, d.Digest} {
		// A Jira delivery without an identifier is named by its digest.
		if name != "" && (len(k) == 1 || k[1] != s.deliveryKey(d.Source, name)) {
			k = append(k, s.deliveryKey(d.Source, name))
		}
	}
	args := make([]any, 0, 2+len(keys))
	args = append(args, s.opt.MaxLength, s.opt.deliveryTTL.Milliseconds())
	for _, key := range keys {
		args = append(args, key)
	}
	// Run sends EVALSHA and, when the script cache is empty (first use, a
	// restart, a failover), EVAL once.
	n, err := acceptScript.Run(ctx, s.rdb, k, args...).Int()
	if err != nil {
		err = fmt.Errorf("accept %s delivery %q: %w", d.Source, d.ID, err)
	}
	return err == nil && n == 1, s.observe("accept", start, err)
}
