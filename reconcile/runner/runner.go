// Package runner is the daemon: a poller and webhooks put keys on the
// queue, workers take them off, observe the deliverable through its
// connector, reconcile, apply the actions exactly once and save the record.
//
// It is level-triggered in the manner of controller-runtime: a key only
// says "look at this again"; the worker re-reads the tracker and reconciles
// the whole state, so a lost or repeated trigger costs an API call, never a
// wrong or duplicate comment.
package runner

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// Connector is what the runner needs of a tracker connector;
// connectors/github and connectors/jira implement it. It is the sum of
// what the steps need, and a step that stands alone takes only its part.
type Connector interface {
	// Tracker names the tracker; the runner keeps one connector each.
	Tracker() connectors.Tracker
	// Self is slipwatch's own identity on the tracker: only markers in
	// its comments are trusted, and readiness waits for it.
	Self(ctx context.Context) (string, error)
	finder
	commenter
	// ParseWebhook verifies and decodes a delivery (the webhook handler).
	ParseWebhook(r *http.Request) (connectors.WebhookEvent, error)
}

// finder finds and reads deliverables: the poller, a reconcile, and a
// link looking for its other side.
type finder interface {
	Teams() []string
	List(ctx context.Context, team string) ([]connectors.Ref, error)
	Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error)
	// PinThread tells the connector the thread ref's record names ("":
	// none yet), which Observe and EnsureThread keep to: labelling
	// another issue does not move a thread once chosen.
	PinThread(ref connectors.Ref, thread string)
}

// discoverer is a connector whose teams come from wildcards of its config
// (GitHub's owner/*): it looks them up, and says what it found. Teams
// then returns what the last look-up found.
type discoverer interface {
	// Discover looks the wildcards' teams up again and returns the teams
	// that joined; a failed look-up keeps what the last one found.
	Discover(ctx context.Context) ([]string, error)
	// DiscoverEvery is how often; 0 when the config has no wildcard.
	DiscoverEvery() time.Duration
	// Discoveries is what each wildcard found, for check and /readyz.
	Discoveries() []connectors.Discovery
}

// commenter writes slipwatch's comments: on a deliverable's thread (made
// on first need) and on the track-record thread, read by its ID.
type commenter interface {
	Tracker() connectors.Tracker
	EnsureThread(ctx context.Context, d connectors.Deliverable) (*connectors.Thread, error)
	ReadThread(ctx context.Context, id string) (*connectors.Thread, error)
	Post(ctx context.Context, th *connectors.Thread, body, marker string) (connectors.Comment, error)
	Edit(ctx context.Context, th *connectors.Thread, commentID, body, marker string) (connectors.Comment, error)
}

// Store is what the runner needs of Redis, by job; *store.Store
// implements it.
type Store interface {
	Ping(ctx context.Context) error
	recordStore
	ledger
	queue
	leases
	linkStore
	pollSchedule
}

// recordStore keeps each deliverable's record, saved by compare-and-set.
type recordStore interface {
	GetRecord(ctx context.Context, key string) ([]byte, int64, error)
	PutRecord(ctx context.Context, key string, data []byte, expect int64) (int64, error)
	// RecordKeys lists every record's key, sorted, and GetRecords reads
	// the records of some of them in one round trip: readers go through
	// the list a batch at a time, decoding one record at a time, so
	// listing ten thousand never holds them all at once.
	RecordKeys(ctx context.Context) ([]string, error)
	GetRecords(ctx context.Context, keys []string) ([]store.StoredRecord, error)
}

// ledger lets one worker post an event comment, once.
type ledger interface {
	Claim(ctx context.Context, eventID, owner string, ttl time.Duration) (store.Claim, error)
	Confirm(ctx context.Context, eventID, owner string, e store.LedgerEntry) error
	// Release drops a claim whose comment certainly was not posted.
	Release(ctx context.Context, eventID, owner string) error
}

// queue is the work: webhook intake, the stream, the schedule, the parked.
type queue interface {
	Accept(ctx context.Context, d store.Delivery, keys []string) (bool, error)
	Enqueue(ctx context.Context, key string) error
	Read(ctx context.Context, consumer string, n int, block time.Duration) ([]store.Message, error)
	Ack(ctx context.Context, ids ...string) error
	Defer(ctx context.Context, key string, at time.Time) error
	PromoteDue(ctx context.Context, now time.Time, max int) (int, error)
	Park(ctx context.Context, m store.Message, reason string) error
	QueueStats(ctx context.Context) (store.QueueStats, error)
}

// leases keep a poll to one replica per interval and a key to one worker.
type leases interface {
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

// linkStore remembers which deliverable each side of a link resolved to.
type linkStore interface {
	PutLink(ctx context.Context, link, side, key string) (bool, error)
	GetLink(ctx context.Context, link, side string) (string, error)
}

// Options tune the runner; the zero value of a field takes its default.
type Options struct {
	Owner         string        // this replica's identity: consumer name and lease owner
	Workers       int           // concurrent workers
	MaxDeliveries int           // failures before a key is parked
	PollInterval  time.Duration // how often each team is listed
	// MaxPollInterval is the longest a team goes unlisted: its interval
	// while its webhooks flow, and the furthest the budget stretches it
	// (config poll.max_interval). Zero: an hour, or PollInterval if longer.
	MaxPollInterval time.Duration
	// Budgets are the trackers' rate-limit budgets the poller plans by
	// (connectors/budget, one per tracker's credential); a tracker
	// without one is polled as its teams fall due.
	Budgets   []Budget
	DryRun    bool          // decide and log, post nothing, save nothing
	ClaimTTL  time.Duration // how long a claimed event is reserved for its poster
	WorkLease time.Duration // how long one replica holds a key it works on
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   *Metrics
	Links     []Link // config links: pairs judged as one promise
	// TrackRecord is the thread of the monthly track-record comment
	// (config track_record.thread): "acme/api#12" on GitHub, "PLAT-100"
	// on Jira; "" posts none.
	TrackRecord string
	// DigestEvery is the period of the digest on the TrackRecord thread
	// (config digest.every); 0 posts none.
	DigestEvery time.Duration
	// APIToken, when set, is the bearer token the pages and /api/v1
	// require (config server.api_token).
	APIToken string

	// Timings no config sets, their defaults below; the runner's own tests
	// shorten them.
	backoffBase  time.Duration // first retry delay
	backoffMax   time.Duration // retry delay cap
	readBlock    time.Duration // how long a worker waits for work per read
	promoteEvery time.Duration // how often due keys move to the stream
	pollTick     time.Duration // how often the poller looks at its schedule

	webhookTimeout time.Duration // how long a delivery's handling may take
}

// The runner's fixed timings.
const (
	defaultBackoffBase  = time.Second
	defaultBackoffMax   = 10 * time.Minute
	defaultReadBlock    = 2 * time.Second
	defaultPromoteEvery = time.Second
	// coalesceWindow is how long a finished key's start time is
	// remembered, to skip triggers its run already covered.
	coalesceWindow = 10 * time.Minute
)

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 10
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Minute
	}
	if o.MaxPollInterval < o.PollInterval {
		o.MaxPollInterval = max(time.Hour, o.PollInterval)
	}
	if o.pollTick <= 0 {
		o.pollTick = defaultPollTick
	}
	if o.ClaimTTL <= 0 {
		// Longer than any one post can take, so an ambiguous post (sent,
		// no answer) is re-judged from the thread's markers, not re-sent.
		o.ClaimTTL = 2 * time.Minute
	}
	if o.WorkLease <= 0 {
		o.WorkLease = 5 * time.Minute
	}
	if o.backoffBase <= 0 {
		o.backoffBase = defaultBackoffBase
	}
	if o.backoffMax <= 0 {
		o.backoffMax = defaultBackoffMax
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.readBlock <= 0 {
		o.readBlock = defaultReadBlock
	}
	if o.promoteEvery <= 0 {
		o.promoteEvery = defaultPromoteEvery
	}
	if o.webhookTimeout <= 0 {
		o.webhookTimeout = defaultWebhookTimeout
	}
}

// Runner is the daemon's engine. Build it with New, start it with Run, and
// serve Handler on server.listen.
type Runner struct {
	conns    map[connectors.Tracker]Connector
	store    Store
	settings reconcile.Settings
	opt      Options
	log      *slog.Logger
	m        *Metrics
	keys     *keyState
	ready    *readiness
	sched    *scheduler
	budgets  map[connectors.Tracker]Budget

	// webhookSlots bound each tracker's webhook handlers at work.
	webhookSlots map[connectors.Tracker]chan struct{}

	linkState linkState

	// trackMonth is the last month ("2026-11", configured zone) whose
	// track-record comment this replica saw on its thread, so the thread
	// is read once a month, not once a poll.
	trackMu    sync.Mutex
	trackMonth string
	// digestStart is the start of the last digest period whose digest
	// this replica saw on the thread (or decided needs none).
	digestStart time.Time

	// discovered is when this replica last looked each tracker's
	// wildcards up. Every replica looks for itself (a look-up is
	// conditional, mostly 304s): each must know the teams it polls and
	// the deliverables its workers take.
	discoverMu sync.Mutex
	discovered map[connectors.Tracker]time.Time
}

// New builds a runner over the connectors (one per tracker) and the store.
func New(conns []Connector, st Store, settings reconcile.Settings, opt Options) (*Runner, error) {
	opt.defaults()
	if opt.Owner == "" {
		return nil, errors.New("runner: Options.Owner is empty")
	}
	if opt.Metrics == nil {
		opt.Metrics = NewMetrics(nil)
	}
	r := &Runner{
		conns:    map[connectors.Tracker]Connector{},
		store:    st,
		settings: settings,
		opt:      opt,
		log:      opt.Logger,
		m:        opt.Metrics,
		keys:     newKeyState(),
		ready:    &readiness{},
		sched:    newScheduler(),
		budgets:  map[connectors.Tracker]Budget{},

		webhookSlots: map[connectors.Tracker]chan struct{}{},
		discovered:   map[connectors.Tracker]time.Time{},
	}
	for _, c := range conns {
		r.conns[c.Tracker()] = c
		r.webhookSlots[c.Tracker()] = make(chan struct{}, webhookConcurrency)
		opt.Metrics.initTracker(string(c.Tracker()))
	}
	for _, b := range opt.Budgets {
		r.budgets[b.Tracker()] = b
		opt.Metrics.watchBudget(b)
	}
	if settings.Markers.IsZero() && len(conns) > 0 {
		// Nothing on a thread can be believed then: the record in Redis
		// is all that keeps a comment from being posted twice.
		r.log.Warn("no key signs slipwatch's markers: none on the threads is trusted")
	}
	return r, nil
}
