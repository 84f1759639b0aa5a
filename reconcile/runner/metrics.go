package runner

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// Metrics are the runner's Prometheus series, all prefixed slipwatch_ and
// registered on the registry given to NewMetrics. Label values are bounded:
// results, event kinds, trackers, operations.
type Metrics struct {
	reconciles       *prometheus.CounterVec
	reconcileSeconds prometheus.Histogram
	posted           *prometheus.CounterVec
	commentsEdited   prometheus.Counter
	markersRejected  *prometheus.CounterVec
	tooLarge         prometheus.Counter
	webhooks         *prometheus.CounterVec
	refusals         *prometheus.CounterVec
	polls            *prometheus.CounterVec
	coalesced        prometheus.Counter
	parked           prometheus.Counter
	redisErrors      *prometheus.CounterVec
	redisSeconds     *prometheus.HistogramVec
	queueLag         prometheus.Histogram
	queueLength      prometheus.Gauge
	queuePending     prometheus.Gauge
	queueDelayed     prometheus.Gauge
	queueParked      prometheus.Gauge
	apiRequests      *prometheus.CounterVec
	apiSeconds       *prometheus.HistogramVec
	apiRemaining     *prometheus.GaugeVec
	pollTeams        *prometheus.GaugeVec
	pollInterval     *prometheus.HistogramVec
	pollPlanned      *prometheus.GaugeVec
	budgets          *budgetCollector
}

// Results and operations, listed so every series exists at zero from the
// start (a rate() over a series that appears late misses its first hour);
// the event kinds are reconcile.EventKinds.
var (
	reconcileKinds = []string{"ok", "error", "gone", "rate_limited"}
	webhookResults = []string{"accepted", "duplicate", "rejected", "unavailable", "not_configured"}
	redisOps       = []string{"read", "ack", "defer", "park", "lease", "promote", "enqueue"}
	markerReasons  = []string{reconcile.RejectStale, reconcile.RejectUnsigned, reconcile.RejectBadSignature}
)

// NewMetrics registers the runner's metrics on reg (nil: not registered,
// for tests and one-shot commands).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_reconciles_total", Help: "Deliverable reconciles by result.",
		}, []string{"result"}),
		reconcileSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "slipwatch_reconcile_duration_seconds", Help: "Time to work one key: observe, reconcile, act, save.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		posted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_comments_posted_total", Help: "Comments posted, by event kind.",
		}, []string{"kind"}),
		commentsEdited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipwatch_status_comments_edited_total", Help: "Status comments edited in place.",
		}),
		markersRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_markers_rejected_total",
			Help: "Markers in slipwatch's own comments that its keys do not vouch for, ignored, by reason (stale: an earlier version's or a rotated key's; unsigned, bad_signature: in a comment edited since written). Counted on every pass that reads them.",
		}, []string{"reason"}),
		tooLarge: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipwatch_comments_too_large_total", Help: "Comments a tracker refused for their size although within its published limit; each is written again shortened, or skipped.",
		}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_webhook_deliveries_total", Help: "Webhook deliveries by tracker and result.",
		}, []string{"tracker", "result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_webhook_refusals_total", Help: "Webhook deliveries not queued, by tracker and reason.",
		}, []string{"tracker", "reason"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_polls_total", Help: "Polls of a repository or project this replica started.",
		}, []string{"tracker"}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipwatch_queue_coalesced_total", Help: "Queue entries skipped because a run already covered them.",
		}),
		parked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slipwatch_queue_parked_total", Help: "Keys parked after repeated failures.",
		}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_redis_errors_total", Help: "Redis operations that failed, by operation.",
		}, []string{"op"}),
		redisSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "slipwatch_redis_duration_seconds", Help: "Time the store's Redis operations took, by store operation (errors included).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}, []string{"op"}),
		queueLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "slipwatch_queue_lag_seconds", Help: "Time from enqueue to a worker taking the entry.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
		queueLength:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "slipwatch_queue_length", Help: "Entries in the work stream."}),
		queuePending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "slipwatch_queue_pending", Help: "Entries taken but not yet acknowledged."}),
		queueDelayed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "slipwatch_queue_delayed", Help: "Keys scheduled for later: retries, and deliverables waiting for their next due instant."}),
		queueParked:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "slipwatch_queue_parked", Help: "Keys in the dead-letter list."}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slipwatch_tracker_requests_total",
			Help: "Requests that reached a tracker, by endpoint template and status code (304: answered from the validator cache, free on GitHub; 0: no answer).",
		}, []string{"tracker", "method", "endpoint", "code"}),
		apiSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "slipwatch_tracker_request_duration_seconds", Help: "Time a tracker took to answer.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"tracker"}),
		apiRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slipwatch_tracker_rate_limit_remaining", Help: "The tracker's last reported remaining request quota (X-RateLimit-Remaining).",
		}, []string{"tracker"}),
		pollTeams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slipwatch_poll_teams",
			Help: "Teams (repos, projects) by how their interval was set: interval (poll.interval), webhooks (poll.max_interval, their webhooks flow), stretched (longer, for the rate-limit budget), cold (waiting for a first poll).",
		}, []string{"tracker", "state"}),
		pollInterval: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "slipwatch_poll_interval_seconds", Help: "The interval each completed team poll scheduled its next one with.",
			Buckets: []float64{60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400},
		}, []string{"tracker"}),
		pollPlanned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "slipwatch_poll_planned_requests_per_hour",
			Help: "The poll plan: counted requests per hour it expects (demand) and the rate-limit budget it plans within (capacity; -1: no budget to plan by).",
		}, []string{"tracker", "kind"}),
		budgets: &budgetCollector{},
	}
	for _, k := range reconcileKinds {
		m.reconciles.WithLabelValues(k)
	}
	for _, k := range reconcile.EventKinds() {
		m.posted.WithLabelValues(string(k))
	}
	for _, op := range redisOps {
		m.redisErrors.WithLabelValues(op)
	}
	for _, op := range store.Ops() {
		m.redisSeconds.WithLabelValues(op)
	}
	for _, r := range markerReasons {
		m.markersRejected.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.reconciles, m.reconcileSeconds, m.posted, m.commentsEdited, m.markersRejected, m.tooLarge, m.webhooks, m.refusals, m.polls,
			m.coalesced, m.parked, m.redisErrors, m.redisSeconds, m.queueLag, m.queueLength, m.queuePending, m.queueDelayed, m.queueParked,
			m.apiRequests, m.apiSeconds, m.apiRemaining, m.pollTeams, m.pollInterval, m.pollPlanned, m.budgets)
	}
	return m
}

func (m *Metrics) initTracker(t string) {
	for _, r := range webhookResults {
		m.webhooks.WithLabelValues(t, r)
	}
	for _, r := range refusalReasons {
		m.refusals.WithLabelValues(t, r)
	}
	m.polls.WithLabelValues(t)
	for _, st := range pollStates {
		m.pollTeams.WithLabelValues(t, st)
	}
	m.pollInterval.WithLabelValues(t)
	m.pollPlanned.WithLabelValues(t, "demand")
	m.pollPlanned.WithLabelValues(t, "capacity")
}

func (m *Metrics) watchBudget(b Budget) {
	m.budgets.mu.Lock()
	defer m.budgets.mu.Unlock()
	m.budgets.list = append(m.budgets.list, b)
}

// The budget's series, read from each Budget's snapshot at scrape time.
var (
	descRemaining = prometheus.NewDesc("slipwatch_ratelimit_remaining",
		"Requests left in the tracker's rate-limit window, as its last answer said (X-RateLimit-Remaining), by resource.", []string{"tracker", "resource"}, nil)
	descLimit = prometheus.NewDesc("slipwatch_ratelimit_limit",
		"The size of the tracker's rate-limit window (X-RateLimit-Limit), by resource.", []string{"tracker", "resource"}, nil)
	descReset = prometheus.NewDesc("slipwatch_ratelimit_reset_timestamp_seconds",
		"When the rate-limit window ends (X-RateLimit-Reset), Unix seconds.", []string{"tracker", "resource"}, nil)
	descLimited = prometheus.NewDesc("slipwatch_ratelimit_limited_total",
		"Answers that were the tracker's rate limit (a 429, or a 403 saying so). The budget is meant to keep this at 0.", []string{"tracker"}, nil)
	descHeld = prometheus.NewDesc("slipwatch_ratelimit_held_total",
		"Requests slipwatch held back to keep within its share of a secondary limit, by limit.", []string{"tracker", "limit"}, nil)
	descInFlight = prometheus.NewDesc("slipwatch_ratelimit_in_flight",
		"Requests in flight to the tracker from this replica.", []string{"tracker"}, nil)
)

// budgetCollector reports the budgets' snapshots.
type budgetCollector struct {
	mu   sync.Mutex
	list []Budget
}

func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRemaining, descLimit, descReset, descLimited, descHeld, descInFlight} {
		ch <- d
	}
}

func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	list := append([]Budget(nil), c.list...)
	c.mu.Unlock()
	for _, b := range list {
		s := b.Snapshot()
		t := string(s.Tracker)
		for _, r := range s.Resources {
			ch <- prometheus.MustNewConstMetric(descRemaining, prometheus.GaugeValue, float64(r.Remaining), t, r.Name)
			ch <- prometheus.MustNewConstMetric(descLimit, prometheus.GaugeValue, float64(r.Limit), t, r.Name)
			if !r.Reset.IsZero() {
				ch <- prometheus.MustNewConstMetric(descReset, prometheus.GaugeValue, float64(r.Reset.Unix()), t, r.Name)
			}
		}
		ch <- prometheus.MustNewConstMetric(descLimited, prometheus.CounterValue, float64(s.Limited), t)
		for _, l := range budget.HeldLimits {
			ch <- prometheus.MustNewConstMetric(descHeld, prometheus.CounterValue, float64(s.Held[l]), t, l)
		}
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(s.InFlight), t)
	}
}

func (m *Metrics) setQueue(s store.QueueStats) {
	m.queueLength.Set(float64(s.Length))
	m.queuePending.Set(float64(s.Pending))
	m.queueDelayed.Set(float64(s.Delayed))
	m.queueParked.Set(float64(s.Parked))
}

// RedisOps is the store's Observe hook: how long each Redis operation
// took, so a slow or distant Redis shows before it turns into queue lag.
func (m *Metrics) RedisOps() func(op string, err error, d time.Duration) {
	return func(op string, _ error, d time.Duration) {
		m.redisSeconds.WithLabelValues(op).Observe(d.Seconds())
	}
}

// TrackerRequests is the connectors' Observe hook for tracker t: it counts
// each request by endpoint template (a bounded label set) and code, times
// it, and keeps the quota the tracker last reported.
func (m *Metrics) TrackerRequests(t connectors.Tracker) func(httpx.Observation) {
	tracker := string(t)
	seconds := m.apiSeconds.WithLabelValues(tracker)
	remaining := m.apiRemaining.WithLabelValues(tracker)
	return func(o httpx.Observation) {
		m.apiRequests.WithLabelValues(tracker, o.Method, o.Endpoint, strconv.Itoa(o.Status)).Inc()
		if o.Status != 0 {
			seconds.Observe(o.Duration.Seconds())
		}
		if o.Remaining >= 0 {
			remaining.Set(float64(o.Remaining))
		}
	}
}
