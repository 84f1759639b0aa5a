// Package store is slipwatch's Redis: the only package that speaks to it,
// through go-redis's UniversalClient so one code path serves a standalone
// server, Sentinel and Cluster.
//
// Exactly-once comments. The tracker thread is the record and Redis the
// cache, so the protocol leans on the markers slipwatch puts in every
// comment:
//  1. The core leaves out any event whose marker is already on the thread
//     (in a comment by slipwatch's own identity).
//  2. Claim(event) — SET NX with a TTL and an owner token — reserves the
//     event; a second worker sees HeldByOther, a posted one AlreadyPosted.
//  3. The owner posts the comment, marker included, then Confirm(event)
//     replaces the claim with the ledger entry (comment ID and URL).
//  4. A crash between posting and confirming leaves a claim that expires;
//     by then the comment is on the thread, step 1 sees its marker and the
//     event is never posted again. A post that failed ambiguously is not
//     released early for the same reason.
//
// Key layout (prefix default "slipwatch:"; {…} are cluster hash tags, so
// keys used by one operation share a slot and nothing raises CROSSSLOT):
//
//	<p>rec:{<key>}           record: hash {v: version, data: JSON}
//	<p>recidx:{<n>}          record index sets, 16 shards by key hash
//	<p>ledger:{<event>}      claim ("claim:<owner>") or ledger entry JSON
//	<p>http:{<url-hash>}     conditional-request validators, JSON
//	<p>{q}:stream            work stream (consumer group "workers")
//	<p>{q}:delivery:<src>:<name> webhook delivery accepted (TTL): its ID, and sha256:<hex> of its body
//	<p>{q}:delayed           retry schedule: zset key → due time (ms)
//	<p>{q}:dead              parked keys (list of JSON)
//	<p>{q}:polls, {q}:cold   the poll schedule: team key → next poll; teams never polled (polls.go)
//	<p>{q}:credit            the pace of starting polls, per tracker
//	<p>{q}:teams, {q}:spent, {q}:wrote, {q}:hooks  per team: poll statistics, requests spent, last write, last webhook
//	<p>{q}:replicas          live replicas: owner → last heartbeat (ms)
//	<p>lease:{<name>}        lease owner token (PX TTL)
//	<p>token:{<name>}        rotated OAuth refresh token
package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
)

// Errors callers check with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("version conflict")
)

// Defaults of the store's options.
const (
	DefaultMaxLength   = 100000
	DefaultReclaimIdle = 2 * time.Minute
	group              = "workers"
	// DedupeWindow is how long a webhook delivery (its ID and its body's
	// digest) is remembered as accepted: GitHub and Jira redeliver within
	// hours, not days.
	DedupeWindow = 72 * time.Hour
)

// How long what the store remembers lives; nothing configures them (the
// store's own tests shorten them).
const (
	defaultValidatorTTL     = 7 * 24 * time.Hour
	defaultValidatorMaxBody = 1 << 20
	// defaultLedgerTTL bounds the ledger: older events are only
	// remembered by their markers on the threads, which is enough.
	defaultLedgerTTL = 400 * 24 * time.Hour
)

// Options tune the store; zero fields take the defaults.
type Options struct {
	MaxLength   int64         // approximate cap of the stream
	ReclaimIdle time.Duration // pending this long → another consumer takes it
	// Observe, when set, is told about every operation (for metrics).
	Observe func(op string, err error, d time.Duration)

	validatorTTL     time.Duration
	validatorMaxBody int
	deliveryTTL      time.Duration
	ledgerTTL        time.Duration
}

// Store holds slipwatch's working state in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	opt    Options
}

// New returns a store over rdb with every key under prefix.
func New(rdb redis.UniversalClient, prefix string, opt Options) *Store {
	if opt.validatorTTL <= 0 {
		opt.validatorTTL = defaultValidatorTTL
	}
	if opt.validatorMaxBody <= 0 {
		opt.validatorMaxBody = defaultValidatorMaxBody
	}
	if opt.deliveryTTL <= 0 {
		opt.deliveryTTL = DedupeWindow
	}
	if opt.ledgerTTL <= 0 {
		opt.ledgerTTL = defaultLedgerTTL
	}
	if opt.MaxLength <= 0 {
		opt.MaxLength = DefaultMaxLength
	}
	if opt.ReclaimIdle <= 0 {
		opt.ReclaimIdle = DefaultReclaimIdle
	}
	return &Store{rdb: rdb, prefix: prefix, opt: opt}
}

// Ping checks that Redis answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	return s.observe("ping", time.Now(), s.rdb.Ping(ctx).Err())
}

// Ops are the operations the store times through Options.Observe, listed
// so a metric can show each from the start.
func Ops() []string {
	return []string{"accept", "ack", "claim", "confirm", "defer", "enqueue", "lease", "ping", "polls",
		"promote", "read", "record_get", "record_put", "validator_get", "validator_put"}
}

func (s *Store) observe(op string, start time.Time, err error) error {
	if s.opt.Observe != nil {
		s.opt.Observe(op, err, time.Since(start))
	}
	return err
}

func (s *Store) key(parts ...string) string {
	k := s.prefix
	for _, p := range parts {
		k += p
	}
	return k
}

// Dial builds a client for cfg without connecting (go-redis dials lazily),
// so a bad URL is an error before any network I/O.
func Dial(cfg config.Redis) (redis.UniversalClient, error) {
	var tlsConf *tls.Config
	if cfg.TLS.Enabled || cfg.TLS.CAFile != "" || cfg.TLS.ServerName != "" || cfg.TLS.InsecureSkipVerify {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLS.ServerName, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify} //nolint:gosec // operator's explicit choice
		if cfg.TLS.CAFile != "" {
			pem, err := os.ReadFile(cfg.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("redis.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("redis.tls.ca_file: no PEM certificates in %s", cfg.TLS.CAFile)
			}
			tlsConf.RootCAs = pool
		}
	}
	switch cfg.Mode {
	case config.RedisSentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.Addrs,
			Username: cfg.Username, Password: cfg.Password.Value(), SentinelPassword: cfg.Password.Value(),
			TLSConfig: tlsConf, DialTimeout: cfg.DialTimeout.D(), ReadTimeout: cfg.ReadTimeout.D(), WriteTimeout: cfg.WriteTimeout.D(),
		}), nil
	case config.RedisCluster:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.Addrs, Username: cfg.Username, Password: cfg.Password.Value(),
			TLSConfig: tlsConf, DialTimeout: cfg.DialTimeout.D(), ReadTimeout: cfg.ReadTimeout.D(), WriteTimeout: cfg.WriteTimeout.D(),
		}), nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		// ParseURL's message may quote the URL, which may hold a password.
		return nil, fmt.Errorf("redis.url: not a valid redis URL (%s)", redactURL(cfg.URL))
	}
	if cfg.Username != "" {
		opt.Username = cfg.Username
	}
	if cfg.Password != "" {
		opt.Password = cfg.Password.Value()
	}
	if tlsConf != nil {
		if opt.TLSConfig != nil && tlsConf.ServerName == "" {
			tlsConf.ServerName = opt.TLSConfig.ServerName
		}
		opt.TLSConfig = tlsConf
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.DialTimeout.D(), cfg.ReadTimeout.D(), cfg.WriteTimeout.D()
	return redis.NewClient(opt), nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "unparseable"
	}
	if u.User != nil {
		u.User = url.User("[redacted]")
	}
	return u.Redacted()
}
