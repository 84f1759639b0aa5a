package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/connectors/httpx"
)

func (s *Store) validatorKey(url string) string {
	h := sha256.Sum256([]byte(url))
	return s.key("http:{", hex.EncodeToString(h[:16]), "}")
}

// GetValidator returns what a conditional GET of url remembered.
func (s *Store) GetValidator(ctx context.Context, url string) (httpx.Validator, bool, error) {
	start := time.Now()
	data, err := s.rdb.Get(ctx, s.validatorKey(url)).Bytes()
	if errors.Is(err, redis.Nil) {
		return httpx.Validator{}, false, s.observe("validator_get", start, nil)
	}
	if err != nil {
		return httpx.Validator{}, false, s.observe("validator_get", start, fmt.Errorf("get validator: %w", err))
	}
	_ = s.observe("validator_get", start, nil)
	var v httpx.Validator
	if err := json.Unmarshal(data, &v); err != nil {
		return httpx.Validator{}, false, nil // a broken entry is a miss
	}
	return v, true, nil
}

// PutValidator remembers url's validators and body for ValidatorTTL (or
// v.TTL when shorter). A body over ValidatorMaxBody is not cached (the
// request simply costs).
func (s *Store) PutValidator(ctx context.Context, url string, v httpx.Validator) error {
	if len(v.Body) > s.opt.validatorMaxBody || (v.ETag == "" && v.LastModified == "") {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ttl := s.opt.validatorTTL
	if v.TTL > 0 && v.TTL < ttl {
		ttl = v.TTL
	}
	start := time.Now()
	return s.observe("validator_put", start, s.rdb.Set(ctx, s.validatorKey(url), data, ttl).Err())
}

func (s *Store) leaseKey(name string) string { return s.key("lease:{", name, "}") }

// AcquireLease takes the named lease for owner for ttl if nobody holds it.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	start := time.Now()
	ok, err := s.rdb.SetNX(ctx, s.leaseKey(name), owner, ttl).Result()
	if err != nil {
		return false, s.observe("lease", start, fmt.Errorf("acquire lease %s: %w", name, err))
	}
	return ok, s.observe("lease", start, nil)
}

var renewLease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// RenewLease extends owner's lease; false when owner no longer holds it.
func (s *Store) RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	n, err := renewLease.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew lease %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives up owner's lease; someone else's is left alone.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := releaseClaim.Run(ctx, s.rdb, []string{s.leaseKey(name)}, owner).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

func (s *Store) tokenKey(name string) string { return s.key("token:{", name, "}") }

// GetToken returns the stored token, "" when none.
func (s *Store) GetToken(ctx context.Context, name string) (string, error) {
	v, err := s.rdb.Get(ctx, s.tokenKey(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get token %s: %w", name, err)
	}
	return v, nil
}

var swapToken = redis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`)

// SwapToken replaces old with new atomically (old "" = none stored yet);
// false when another replica swapped first, whose token is then current.
func (s *Store) SwapToken(ctx context.Context, name, old, new string) (bool, error) {
	n, err := swapToken.Run(ctx, s.rdb, []string{s.tokenKey(name)}, old, new).Int()
	if err != nil {
		return false, fmt.Errorf("swap token %s: %w", name, err)
	}
	return n == 1, nil
}
