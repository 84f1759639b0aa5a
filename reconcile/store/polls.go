package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The poll schedule. Every team (a repo, a project) has its own next poll
// time, so that polls spread over the interval instead of coming all at
// once, and a team's interval can be stretched alone. A team never polled
// waits in the cold list until the budget lets its first, dearest poll
// start. The keys share the queue's {q} slot: a poll starts by moving the
// team from the schedule to the stream in one script.
//
//	<p>{q}:polls     zset team key → next poll (ms)
//	<p>{q}:cold      zset team key → when it joined (ms), first polls in order
//	<p>{q}:credit    hash <bucket> → pacing credit, <bucket>:at → when (ms),
//	                 <bucket>:m / <bucket>:n → polls started in that minute
//	<p>{q}:teams     hash team key → the runner's poll statistics (JSON)
//	<p>{q}:spent     hash team key → requests counted against the budget for it, ever
//	<p>{q}:wrote     hash team key → its last write (ms)
//	<p>{q}:hooks     hash team key → its last verified webhook delivery (ms)
//	<p>{q}:replicas  zset replica → its last heartbeat (ms)
func (s *Store) pollsKey() string    { return s.key("{q}:polls") }
func (s *Store) coldKey() string     { return s.key("{q}:cold") }
func (s *Store) creditKey() string   { return s.key("{q}:credit") }
func (s *Store) teamsKey() string    { return s.key("{q}:teams") }
func (s *Store) spentKey() string    { return s.key("{q}:spent") }
func (s *Store) wroteKey() string    { return s.key("{q}:wrote") }
func (s *Store) hooksKey() string    { return s.key("{q}:hooks") }
func (s *Store) replicasKey() string { return s.key("{q}:replicas") }

// addColdScript puts each team the schedule does not know in the cold
// list. KEYS[1] polls, KEYS[2] cold; ARGV[1] now (ms), ARGV[2:] teams.
var addColdScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    n = n + redis.call('ZADD', KEYS[2], 'NX', ARGV[1], ARGV[i])
  end
end
return n`)

// SyncPolls makes the schedule hold exactly teams: a team it does not
// know joins the cold list, a team no longer listed leaves the schedule
// with its statistics.
func (s *Store) SyncPolls(ctx context.Context, teams []string, now time.Time) (added, removed int, err error) {
	start := time.Now()
	defer func() { err = s.observe("polls", start, err) }()
	for i := 0; i < len(teams); i += 500 {
		batch := teams[i:min(i+500, len(teams))]
		args := make([]any, 0, len(batch)+1)
		args = append(args, now.UnixMilli())
		for _, t := range batch {
			args = append(args, t)
		}
		n, err := addColdScript.Run(ctx, s.rdb, []string{s.pollsKey(), s.coldKey()}, args...).Int()
		if err != nil {
			return added, 0, fmt.Errorf("schedule teams: %w", err)
		}
		added += n
	}
	want := make(map[string]bool, len(teams))
	for _, t := range teams {
		want[t] = true
	}
	var gone []string
	for _, key := range []string{s.pollsKey(), s.coldKey()} {
		have, err := s.rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			return added, 0, fmt.Errorf("read the poll schedule: %w", err)
		}
		for _, h := range have {
			if !want[h] {
				gone = append(gone, h)
			}
		}
	}
	if len(gone) == 0 {
		return added, 0, nil
	}
	pipe := s.rdb.TxPipeline()
	pipe.ZRem(ctx, s.pollsKey(), toAny(gone)...)
	pipe.ZRem(ctx, s.coldKey(), toAny(gone)...)
	for _, h := range []string{s.teamsKey(), s.spentKey(), s.wroteKey(), s.hooksKey()} {
		pipe.HDel(ctx, h, gone...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return added, 0, fmt.Errorf("drop teams no longer configured: %w", err)
	}
	return added, len(gone), nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// DuePolls lists up to n scheduled teams whose poll is due by now,
// earliest first.
func (s *Store) DuePolls(ctx context.Context, now time.Time, n int) ([]string, error) {
	out, err := s.rdb.ZRangeByScore(ctx, s.pollsKey(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(n)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read due polls: %w", err)
	}
	return out, nil
}

// ColdPolls lists up to n teams waiting for their first poll, oldest
// first.
func (s *Store) ColdPolls(ctx context.Context, n int) ([]string, error) {
	out, err := s.rdb.ZRange(ctx, s.coldKey(), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read cold teams: %w", err)
	}
	return out, nil
}

// PollStart is a poll to start: the team key, what it is expected to cost
// against the budget, and its interval (its next poll should the work be
// lost).
type PollStart struct {
	Key   string
	Cost  float64
	Every time.Duration
}

// Pace is the credit that paces a bucket's polls: it accrues Rate per
// second up to Burst, each started poll spends its cost, and at most
// PerMinute polls start in one minute (0: no cap). A negative Rate is no
// limit.
type Pace struct {
	Rate, Burst float64
	PerMinute   int
}

// startPollsScript starts the polls it can pay for, in order: a team
// still due (or still cold) whose cost the credit covers goes to the
// stream and is rescheduled an interval on; one it cannot is skipped. It
// runs whole, so replicas starting polls at once share one credit.
//
// KEYS: stream, polls, cold, credit. ARGV: bucket, now (ms), rate (per
// ms; negative: unlimited), burst, per-minute cap, stream cap, then
// (key, cost, every ms) triples. Returns the started keys.
var startPollsScript = redis.NewScript(`
local bucket, now = ARGV[1], tonumber(ARGV[2])
local rate, burst, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local credit = tonumber(redis.call('HGET', KEYS[4], bucket) or burst)
local at = tonumber(redis.call('HGET', KEYS[4], bucket .. ':at') or now)
if rate < 0 then
  credit = burst
else
  credit = math.min(burst, credit + math.max(0, now - at) * rate)
end
local minute = math.floor(now / 60000)
local n = 0
if tonumber(redis.call('HGET', KEYS[4], bucket .. ':m') or -1) == minute then
  n = tonumber(redis.call('HGET', KEYS[4], bucket .. ':n') or 0)
end
local out = {}
for i = 7, #ARGV, 3 do
  if cap > 0 and n >= cap then break end
  local key, cost, every = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local due = redis.call('ZSCORE', KEYS[2], key)
  local ready = (due and tonumber(due) <= now) or redis.call('ZSCORE', KEYS[3], key)
  if ready and cost <= credit then
    credit = credit - cost
    redis.call('ZREM', KEYS[3], key)
    redis.call('ZADD', KEYS[2], now + every, key)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[6], '*', 'key', key)
    n = n + 1
    out[#out + 1] = key
  end
end
redis.call('HSET', KEYS[4], bucket, tostring(credit), bucket .. ':at', now, bucket .. ':m', minute, bucket .. ':n', n)
return out`)

// unlimitedBurst stands for an unlimited credit (Lua numbers are doubles;
// infinity does not survive HSET).
const unlimitedBurst = 1e15

// StartPolls starts the polls of bucket (a tracker) that its pace can pay
// for now, in the order given, and returns their keys. Each started team
// is on the stream and scheduled again one interval on.
func (s *Store) StartPolls(ctx context.Context, bucket string, now time.Time, p Pace, polls []PollStart) ([]string, error) {
	if len(polls) == 0 {
		return nil, nil
	}
	start := time.Now()
	rate, burst := p.Rate/1000, p.Burst
	if p.Rate < 0 || math.IsInf(p.Rate, 1) {
		rate, burst = -1, unlimitedBurst
	}
	args := []any{bucket, now.UnixMilli(), rate, burst, p.PerMinute, s.opt.MaxLength}
	for _, ps := range polls {
		args = append(args, ps.Key, ps.Cost, ps.Every.Milliseconds())
	}
	res, err := startPollsScript.Run(ctx, s.rdb, []string{s.streamKey(), s.pollsKey(), s.coldKey(), s.creditKey()}, args...).StringSlice()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	if err != nil {
		return nil, s.observe("polls", start, fmt.Errorf("start polls: %w", err))
	}
	return res, s.observe("polls", start, nil)
}

// SchedulePoll sets the next poll of a scheduled team to at (a team no
// longer scheduled stays dropped).
func (s *Store) SchedulePoll(ctx context.Context, key string, at time.Time) error {
	err := s.rdb.ZAddXX(ctx, s.pollsKey(), redis.Z{Score: float64(at.UnixMilli()), Member: key}).Err()
	if err != nil {
		return fmt.Errorf("schedule the poll of %s: %w", key, err)
	}
	return nil
}

// PullPolls brings scheduled polls forward to the given times, never
// later (a team whose interval shrank).
func (s *Store) PullPolls(ctx context.Context, at map[string]time.Time) error {
	if len(at) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for k, t := range at {
		pipe.ZAddArgs(ctx, s.pollsKey(), redis.ZAddArgs{XX: true, LT: true, Members: []redis.Z{{Score: float64(t.UnixMilli()), Member: k}}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("bring polls forward: %w", err)
	}
	return nil
}

// PollStats are the poll schedule's sizes.
type PollStats struct {
	Scheduled, Cold int64
	NextDue         time.Time // the earliest scheduled poll; zero with none
}

// PollStats reports the schedule's sizes and its next due poll.
func (s *Store) PollStats(ctx context.Context) (PollStats, error) {
	pipe := s.rdb.Pipeline()
	sch := pipe.ZCard(ctx, s.pollsKey())
	cold := pipe.ZCard(ctx, s.coldKey())
	first := pipe.ZRangeWithScores(ctx, s.pollsKey(), 0, 0)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return PollStats{}, fmt.Errorf("poll schedule stats: %w", err)
	}
	st := PollStats{Scheduled: sch.Val(), Cold: cold.Val()}
	if f := first.Val(); len(f) == 1 {
		st.NextDue = time.UnixMilli(int64(f[0].Score))
	}
	return st, nil
}

// TeamStates reads every team's poll statistics.
func (s *Store) TeamStates(ctx context.Context) (map[string][]byte, error) {
	m, err := s.rdb.HGetAll(ctx, s.teamsKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("read team states: %w", err)
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out, nil
}

// TeamState reads one team's poll statistics and its activity; nil data
// when it has none.
func (s *Store) TeamState(ctx context.Context, key string) ([]byte, TeamActivity, error) {
	pipe := s.rdb.Pipeline()
	st := pipe.HGet(ctx, s.teamsKey(), key)
	sp := pipe.HGet(ctx, s.spentKey(), key)
	wr := pipe.HGet(ctx, s.wroteKey(), key)
	hk := pipe.HGet(ctx, s.hooksKey(), key)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, TeamActivity{}, fmt.Errorf("read the state of %s: %w", key, err)
	}
	var a TeamActivity
	a.Spent, _ = sp.Int64()
	if ms, err := wr.Int64(); err == nil {
		a.Wrote = time.UnixMilli(ms)
	}
	if ms, err := hk.Int64(); err == nil {
		a.Hook = time.UnixMilli(ms)
	}
	data, err := st.Bytes()
	if errors.Is(err, redis.Nil) {
		data = nil
	}
	return data, a, nil
}

// PutTeamState saves one team's poll statistics.
func (s *Store) PutTeamState(ctx context.Context, key string, data []byte) error {
	if err := s.rdb.HSet(ctx, s.teamsKey(), key, data).Err(); err != nil {
		return fmt.Errorf("save the state of %s: %w", key, err)
	}
	return nil
}

// TeamActivity is what a team did that the poller plans by.
type TeamActivity struct {
	Spent int64     // requests counted against the budget for it, ever
	Wrote time.Time // slipwatch's last write there
	Hook  time.Time // its last verified webhook delivery
}

// AddTeamSpend adds counted requests to a team's spend and, when wrote is
// not zero, records it as the team's last write.
func (s *Store) AddTeamSpend(ctx context.Context, key string, counted int64, wrote time.Time) error {
	pipe := s.rdb.Pipeline()
	if counted != 0 {
		pipe.HIncrBy(ctx, s.spentKey(), key, counted)
	}
	if !wrote.IsZero() {
		pipe.HSet(ctx, s.wroteKey(), key, wrote.UnixMilli())
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record the spend of %s: %w", key, err)
	}
	return nil
}

// MarkHooks records verified webhook deliveries: team key → when.
func (s *Store) MarkHooks(ctx context.Context, at map[string]time.Time) error {
	if len(at) == 0 {
		return nil
	}
	vals := make([]any, 0, 2*len(at))
	for k, t := range at {
		vals = append(vals, k, t.UnixMilli())
	}
	if err := s.rdb.HSet(ctx, s.hooksKey(), vals...).Err(); err != nil {
		return fmt.Errorf("record webhook deliveries: %w", err)
	}
	return nil
}

// Activity reads every team's activity.
func (s *Store) Activity(ctx context.Context) (map[string]TeamActivity, error) {
	pipe := s.rdb.Pipeline()
	sp := pipe.HGetAll(ctx, s.spentKey())
	wr := pipe.HGetAll(ctx, s.wroteKey())
	hk := pipe.HGetAll(ctx, s.hooksKey())
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read team activity: %w", err)
	}
	out := map[string]TeamActivity{}
	for k, v := range sp.Val() {
		a := out[k]
		a.Spent, _ = strconv.ParseInt(v, 10, 64)
		out[k] = a
	}
	for k, v := range wr.Val() {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			a := out[k]
			a.Wrote = time.UnixMilli(ms)
			out[k] = a
		}
	}
	for k, v := range hk.Val() {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			a := out[k]
			a.Hook = time.UnixMilli(ms)
			out[k] = a
		}
	}
	return out, nil
}

// Heartbeat says replica owner is alive at now and returns how many
// replicas were alive within ttl (itself included).
func (s *Store) Heartbeat(ctx context.Context, owner string, now time.Time, ttl time.Duration) (int, error) {
	pipe := s.rdb.TxPipeline()
	pipe.ZAdd(ctx, s.replicasKey(), redis.Z{Score: float64(now.UnixMilli()), Member: owner})
	pipe.ZRemRangeByScore(ctx, s.replicasKey(), "-inf", "("+strconv.FormatInt(now.Add(-ttl).UnixMilli(), 10))
	n := pipe.ZCard(ctx, s.replicasKey())
	if _, err := pipe.Exec(ctx); err != nil {
		return 1, fmt.Errorf("heartbeat: %w", err)
	}
	return max(int(n.Val()), 1), nil
}

// Leave takes replica owner out of the live replicas at once (shutdown).
func (s *Store) Leave(ctx context.Context, owner string) error {
	return s.rdb.ZRem(ctx, s.replicasKey(), owner).Err()
}
