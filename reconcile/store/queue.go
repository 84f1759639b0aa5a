package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Message is one queue entry handed to a consumer.
type Message struct {
	ID         string // stream entry ID
	Key        string // the work key
	Deliveries int64  // times handed out, this one included
}

// Parked is a key given up on, kept for an operator.
type Parked struct {
	Key        string    `json:"key"`
	Reason     string    `json:"reason"`
	Deliveries int64     `json:"deliveries"`
	At         time.Time `json:"at"`
}

// QueueStats is the queue's size, for metrics.
type QueueStats struct {
	Length, Pending, Delayed, Parked int64
}

const maxParked = 1000

func (s *Store) streamKey() string  { return s.key("{q}:stream") }
func (s *Store) delayedKey() string { return s.key("{q}:delayed") }
func (s *Store) deadKey() string    { return s.key("{q}:dead") }

// Enqueue appends key to the work stream.
func (s *Store) Enqueue(ctx context.Context, key string) error {
	start := time.Now()
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: s.streamKey(), MaxLen: s.opt.MaxLength, Approx: true, Values: []any{"key", key},
	}).Err()
	if err != nil {
		return s.observe("enqueue", start, fmt.Errorf("enqueue %s: %w", key, err))
	}
	return s.observe("enqueue", start, nil)
}

// ensureGroup creates the consumer group (and the stream) if missing. It
// is called again whenever Redis answers NOGROUP, which is how the queue
// heals after a FLUSHALL or a failover to an empty replica.
func (s *Store) ensureGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.streamKey(), group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

func isNoGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }

// Read hands consumer up to n entries: first work that another consumer
// held idle for longer than ReclaimIdle (XAUTOCLAIM), then new entries,
// waiting up to block for them.
func (s *Store) Read(ctx context.Context, consumer string, n int, block time.Duration) ([]Message, error) {
	start := time.Now()
	msgs, err := s.read(ctx, consumer, n, block)
	if isNoGroup(err) {
		if err := s.ensureGroup(ctx); err != nil {
			return nil, s.observe("read", start, err)
		}
		msgs, err = s.read(ctx, consumer, n, block)
	}
	if errors.Is(err, redis.Nil) {
		return nil, s.observe("read", start, nil)
	}
	return msgs, s.observe("read", start, err)
}

// takeScript is Read's busy path in one round trip: reclaim idle entries
// with their delivery counts, else take new ones without blocking. Each
// result is {id, {field, value, ...}, deliveries}.
var takeScript = redis.NewScript(`
local out = {}
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
for _, e in ipairs(claimed[2]) do
  -- Redis 6.2 answers nil for an entry deleted while pending.
  if type(e) == 'table' and e[2] then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    local n = 1
    if p[1] then n = p[1][4] end
    out[#out + 1] = {e[1], e[2], n}
  end
end
if #out > 0 then return out end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if r then
  for _, e in ipairs(r[1][2]) do out[#out + 1] = {e[1], e[2], 1} end
end
return out`)

func (s *Store) read(ctx context.Context, consumer string, n int, block time.Duration) ([]Message, error) {
	res, err := takeScript.Run(ctx, s.rdb, []string{s.streamKey()}, group, consumer, s.opt.ReclaimIdle.Milliseconds(), n).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read queue: %w", err)
	}
	if out := takenMessages(res); len(out) > 0 {
		return out, nil
	}
	// Nothing waiting: block for new entries (a script cannot block).
	streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{s.streamKey(), ">"},
		Count: int64(n), Block: block,
	}).Result()
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, st := range streams {
		for _, m := range st.Messages {
			k, _ := m.Values["key"].(string)
			out = append(out, Message{ID: m.ID, Key: k, Deliveries: 1})
		}
	}
	return out, nil
}

// takenMessages decodes takeScript's reply; entries without a key (not
// written by Enqueue) are skipped.
func takenMessages(res []any) []Message {
	var out []Message
	for _, r := range res {
		e, _ := r.([]any)
		if len(e) != 3 {
			continue
		}
		id, _ := e[0].(string)
		fields, _ := e[1].([]any)
		n, _ := e[2].(int64)
		var key string
		for i := 0; i+1 < len(fields); i += 2 {
			if f, _ := fields[i].(string); f == "key" {
				key, _ = fields[i+1].(string)
			}
		}
		if id != "" && key != "" {
			out = append(out, Message{ID: id, Key: key, Deliveries: n})
		}
	}
	return out
}

// Ack finishes entries: acknowledged and deleted, so the stream holds only
// work not yet done.
func (s *Store) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	start := time.Now()
	pipe := s.rdb.TxPipeline()
	pipe.XAck(ctx, s.streamKey(), group, ids...)
	pipe.XDel(ctx, s.streamKey(), ids...)
	_, err := pipe.Exec(ctx)
	if err != nil {
		return s.observe("ack", start, fmt.Errorf("ack: %w", err))
	}
	return s.observe("ack", start, nil)
}

// Defer schedules key at `at`, keeping the earlier time if it is already
// scheduled.
func (s *Store) Defer(ctx context.Context, key string, at time.Time) error {
	start := time.Now()
	err := s.rdb.ZAddLT(ctx, s.delayedKey(), redis.Z{Score: float64(at.UnixMilli()), Member: key}).Err()
	if err != nil {
		return s.observe("defer", start, fmt.Errorf("defer %s: %w", key, err))
	}
	return s.observe("defer", start, nil)
}

var promote = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, k in ipairs(due) do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'key', k)
  redis.call('ZREM', KEYS[2], k)
end
return #due`)

// PromoteDue moves up to max keys whose time has come from the schedule to
// the stream, atomically (both keys share the {q} slot).
func (s *Store) PromoteDue(ctx context.Context, now time.Time, max int) (int, error) {
	start := time.Now()
	n, err := promote.Run(ctx, s.rdb, []string{s.streamKey(), s.delayedKey()}, now.UnixMilli(), max, s.opt.MaxLength).Int()
	if err != nil {
		return 0, s.observe("promote", start, fmt.Errorf("promote due keys: %w", err))
	}
	return n, s.observe("promote", start, nil)
}

// Park gives up on m: it goes to the dead-letter list, with the reason,
// and leaves the stream.
func (s *Store) Park(ctx context.Context, m Message, reason string) error {
	data, err := json.Marshal(Parked{Key: m.Key, Reason: reason, Deliveries: m.Deliveries, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	pipe := s.rdb.TxPipeline()
	pipe.RPush(ctx, s.deadKey(), data)
	pipe.LTrim(ctx, s.deadKey(), -maxParked, -1)
	pipe.XAck(ctx, s.streamKey(), group, m.ID)
	pipe.XDel(ctx, s.streamKey(), m.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("park %s: %w", m.Key, err)
	}
	return nil
}

// ParkedKeys lists the dead-letter list, oldest first.
func (s *Store) ParkedKeys(ctx context.Context) ([]Parked, error) {
	vals, err := s.rdb.LRange(ctx, s.deadKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list parked: %w", err)
	}
	out := make([]Parked, 0, len(vals))
	for _, v := range vals {
		var p Parked
		if json.Unmarshal([]byte(v), &p) == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// QueueStats reports the queue's sizes.
func (s *Store) QueueStats(ctx context.Context) (QueueStats, error) {
	pipe := s.rdb.Pipeline()
	l := pipe.XLen(ctx, s.streamKey())
	p := pipe.XPending(ctx, s.streamKey(), group)
	d := pipe.ZCard(ctx, s.delayedKey())
	k := pipe.LLen(ctx, s.deadKey())
	_, _ = pipe.Exec(ctx)
	st := QueueStats{Length: l.Val(), Delayed: d.Val(), Parked: k.Val()}
	if p.Err() == nil {
		st.Pending = p.Val().Count
	}
	if err := l.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}

// DueBy counts the scheduled keys whose time comes at or before t: the
// retries and wake-ups about to reach the stream.
func (s *Store) DueBy(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.rdb.ZCount(ctx, s.delayedKey(), "-inf", strconv.FormatInt(t.UnixMilli(), 10)).Result()
	if err != nil {
		return 0, fmt.Errorf("count due keys: %w", err)
	}
	return n, nil
}

// String is for logs.
func (m Message) String() string {
	return m.Key + "@" + m.ID + "#" + strconv.FormatInt(m.Deliveries, 10)
}
