package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

const recordShards = 16

// StoredRecord is one record as stored.
type StoredRecord struct {
	Key     string
	Data    []byte
	Version int64
}

func (s *Store) recordKey(key string) string { return s.key("rec:{", key, "}") }

func (s *Store) indexKey(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return s.key("recidx:{", strconv.Itoa(int(h.Sum32()%recordShards)), "}")
}

// GetRecord returns a record's data and version, or ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	start := time.Now()
	vals, err := s.rdb.HMGet(ctx, s.recordKey(key), "v", "data").Result()
	if err != nil {
		return nil, 0, s.observe("record_get", start, fmt.Errorf("get record %s: %w", key, err))
	}
	_ = s.observe("record_get", start, nil)
	r, err := storedRecord(key, vals)
	return r.Data, r.Version, err
}

// storedRecord reads a record's HMGET of "v" and "data": ErrNotFound when
// either is missing.
func storedRecord(key string, vals []any) (StoredRecord, error) {
	v, ok1 := vals[0].(string)
	data, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return StoredRecord{}, fmt.Errorf("record %s: %w", key, ErrNotFound)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return StoredRecord{}, fmt.Errorf("record %s: bad version %q", key, v)
	}
	return StoredRecord{Key: key, Data: []byte(data), Version: n}, nil
}

// putRecord writes data when the stored version is expect (0: absent) and
// returns the new version, so two replicas cannot overwrite each other.
var putRecord = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur ~= tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[1], 'v', cur + 1, 'data', ARGV[2])
return cur + 1`)

// PutRecord stores data if the record is still at version expect (0 = it
// must not exist yet); otherwise ErrConflict.
func (s *Store) PutRecord(ctx context.Context, key string, data []byte, expect int64) (int64, error) {
	start := time.Now()
	n, err := putRecord.Run(ctx, s.rdb, []string{s.recordKey(key)}, expect, data).Int64()
	if err != nil {
		return 0, s.observe("record_put", start, fmt.Errorf("put record %s: %w", key, err))
	}
	_ = s.observe("record_put", start, nil)
	if n < 0 {
		return 0, fmt.Errorf("put record %s at version %d: %w", key, expect, ErrConflict)
	}
	if expect == 0 {
		// The index only lists keys; a key indexed twice is harmless.
		if err := s.rdb.SAdd(ctx, s.indexKey(key), key).Err(); err != nil {
			return n, fmt.Errorf("index record %s: %w", key, err)
		}
	}
	return n, nil
}

// RecordKeys returns every stored record's key, sorted. The index is
// sharded over a fixed set of sets so that it works on a cluster without
// SCAN over every master.
func (s *Store) RecordKeys(ctx context.Context) ([]string, error) {
	var keys []string
	for i := range recordShards {
		members, err := s.rdb.SMembers(ctx, s.key("recidx:{", strconv.Itoa(i), "}")).Result()
		if err != nil {
			return nil, fmt.Errorf("list records: %w", err)
		}
		keys = append(keys, members...)
	}
	slices.Sort(keys)
	return keys, nil
}

// GetRecords returns the records of keys that exist, in the order of
// keys, in one pipelined round trip: listing a thousand records costs a
// few round trips, not a thousand.
func (s *Store) GetRecords(ctx context.Context, keys []string) ([]StoredRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	start := time.Now()
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HMGet(ctx, s.recordKey(k), "v", "data")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.observe("record_get", start, fmt.Errorf("get %d records: %w", len(keys), err))
	}
	_ = s.observe("record_get", start, nil)
	out := make([]StoredRecord, 0, len(keys))
	for i, c := range cmds {
		r, err := storedRecord(keys[i], c.Val())
		if errors.Is(err, ErrNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ListRecords returns every stored record, in key order.
func (s *Store) ListRecords(ctx context.Context) ([]StoredRecord, error) {
	keys, err := s.RecordKeys(ctx)
	if err != nil {
		return nil, err
	}
	return s.GetRecords(ctx, keys)
}
