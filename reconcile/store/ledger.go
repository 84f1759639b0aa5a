package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClaimState is the outcome of Claim.
type ClaimState int

// Claim outcomes.
const (
	Claimed       ClaimState = iota // the caller may post
	AlreadyPosted                   // the ledger has the comment: do nothing
	HeldByOther                     // another worker is posting it: try later
)

// Claim is the answer to a claim; Entry is set when AlreadyPosted.
type Claim struct {
	State ClaimState
	Entry LedgerEntry
}

// LedgerEntry is where an event's comment was posted.
type LedgerEntry struct {
	Tracker   string    `json:"tracker"`
	Thread    string    `json:"thread"`
	CommentID string    `json:"comment_id"`
	URL       string    `json:"url,omitempty"`
	PostedAt  time.Time `json:"posted_at"`
}

const claimPrefix = "claim:"

func (s *Store) ledgerKey(id string) string { return s.key("ledger:{", id, "}") }

// claimScript: SET NX a claim; else report what is there.
var claimScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, ''} end
return {0, redis.call('GET', KEYS[1]) or ''}`)

// Claim reserves eventID for owner for ttl before it posts the comment.
func (s *Store) Claim(ctx context.Context, eventID, owner string, ttl time.Duration) (Claim, error) {
	start := time.Now()
	res, err := claimScript.Run(ctx, s.rdb, []string{s.ledgerKey(eventID)}, claimPrefix+owner, ttl.Milliseconds()).Slice()
	if err != nil {
		return Claim{}, s.observe("claim", start, fmt.Errorf("claim %s: %w", eventID, err))
	}
	_ = s.observe("claim", start, nil)
	if n, _ := res[0].(int64); n == 1 {
		return Claim{State: Claimed}, nil
	}
	val, _ := res[1].(string)
	if val == "" {
		// Expired between SET and GET: a retry will claim it.
		return Claim{State: HeldByOther}, nil
	}
	if strings.HasPrefix(val, claimPrefix) {
		return Claim{State: HeldByOther}, nil
	}
	var e LedgerEntry
	if err := json.Unmarshal([]byte(val), &e); err != nil {
		return Claim{}, fmt.Errorf("ledger entry %s: %w", eventID, err)
	}
	return Claim{State: AlreadyPosted, Entry: e}, nil
}

// confirmScript replaces owner's claim with the entry. A claim that expired
// and was taken by another owner is not overwritten; an absent one is set
// (the comment was posted, which is what the ledger records).
var confirmScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and string.sub(cur, 1, 6) == 'claim:' then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// ErrNotOwner is returned by Confirm when another worker holds the claim.
var ErrNotOwner = errors.New("claim held by another owner")

// Confirm records that owner posted eventID's comment.
func (s *Store) Confirm(ctx context.Context, eventID, owner string, e LedgerEntry) error {
	start := time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	n, err := confirmScript.Run(ctx, s.rdb, []string{s.ledgerKey(eventID)}, claimPrefix+owner, data, s.opt.ledgerTTL.Milliseconds()).Int()
	if err != nil {
		return s.observe("confirm", start, fmt.Errorf("confirm %s: %w", eventID, err))
	}
	_ = s.observe("confirm", start, nil)
	if n == 0 {
		return fmt.Errorf("confirm %s: %w", eventID, ErrNotOwner)
	}
	return nil
}

var releaseClaim = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Release drops owner's claim, for a post that certainly did not happen.
func (s *Store) Release(ctx context.Context, eventID, owner string) error {
	if err := releaseClaim.Run(ctx, s.rdb, []string{s.ledgerKey(eventID)}, claimPrefix+owner).Err(); err != nil {
		return fmt.Errorf("release %s: %w", eventID, err)
	}
	return nil
}

// Lookup returns the ledger entry of a posted event.
func (s *Store) Lookup(ctx context.Context, eventID string) (LedgerEntry, bool, error) {
	val, err := s.rdb.Get(ctx, s.ledgerKey(eventID)).Result()
	if errors.Is(err, redis.Nil) {
		return LedgerEntry{}, false, nil
	}
	if err != nil {
		return LedgerEntry{}, false, fmt.Errorf("lookup %s: %w", eventID, err)
	}
	if strings.HasPrefix(val, claimPrefix) {
		return LedgerEntry{}, false, nil
	}
	var e LedgerEntry
	if err := json.Unmarshal([]byte(val), &e); err != nil {
		return LedgerEntry{}, false, fmt.Errorf("ledger entry %s: %w", eventID, err)
	}
	return e, true, nil
}
