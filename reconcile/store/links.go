package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// LinkTTL is how long a link side's resolution is kept without being seen
// again; every reconcile of a linked deliverable renews it, so only a link
// removed from the config (or a deliverable gone) lets it expire.
const LinkTTL = 30 * 24 * time.Hour

// A link (config links:) names each side by title; the runner resolves a
// side to its queue key when it reconciles that side, and stores the
// answer here so the other side, on any replica, can find its partner.
func (s *Store) linkKey(link, side string) string { return s.key("link:{", link, "}:", side) }

// PutLink records that side of link is the deliverable key, and reports
// whether that is news (unknown or different before).
func (s *Store) PutLink(ctx context.Context, link, side, key string) (bool, error) {
	old, err := s.rdb.SetArgs(ctx, s.linkKey(link, side), key, redis.SetArgs{Get: true, TTL: LinkTTL}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("put link %s %s: %w", link, side, err)
	}
	return old != key, nil
}

// GetLink is the deliverable key of side of link, "" when not resolved yet.
func (s *Store) GetLink(ctx context.Context, link, side string) (string, error) {
	v, err := s.rdb.Get(ctx, s.linkKey(link, side)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get link %s %s: %w", link, side, err)
	}
	return v, nil
}
