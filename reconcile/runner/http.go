package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/dashboard"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// readiness remembers which trackers have authenticated once: a replica
// whose token is wrong should not receive traffic.
type readiness struct {
	mu   sync.Mutex
	self map[connectors.Tracker]string
}

func (rd *readiness) get(t connectors.Tracker) (string, bool) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	s, ok := rd.self[t]
	return s, ok
}

func (rd *readiness) set(t connectors.Tracker, login string) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.self == nil {
		rd.self = map[connectors.Tracker]string{}
	}
	rd.self[t] = login
}

// Authenticate asks each tracker who slipwatch is, once; readiness waits
// for it. The identity is what markers are trusted by.
func (r *Runner) Authenticate(ctx context.Context) error {
	var errs []error
	for t, c := range r.conns {
		if _, ok := r.ready.get(t); ok {
			continue
		}
		login, err := c.Self(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("authenticate to %s: %w", t, err))
			continue
		}
		r.ready.set(t, login)
		r.log.Info("authenticated", "tracker", string(t), "identity", login)
	}
	return errors.Join(errs...)
}

// Handler serves the webhooks, health, metrics and the read API.
func (r *Runner) Handler(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/{tracker}", r.webhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", r.readyz)
	if gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	}
	// The read API and the pages for people, behind server.api_token.
	guard := func(h http.Handler) http.Handler { return dashboard.RequireToken(r.opt.APIToken, h) }
	mux.Handle("GET /api/v1/commitments", guard(http.HandlerFunc(r.apiCommitments)))
	mux.Handle("GET /api/v1/commitments/{id}", guard(http.HandlerFunc(r.apiCommitment)))
	mux.Handle("GET /api/v1/track-record", guard(http.HandlerFunc(r.apiTrackRecord)))
	pages := guard(dashboard.New(dashboard.SourceFunc(r.eachRecord), dashboard.Options{Now: r.opt.Now, Location: r.settings.Location, Logger: r.log}))
	for _, p := range []string{"GET /{$}", "GET /commitments/{id}", "GET /track-record", "GET /static/{file}"} {
		mux.Handle(p, pages)
	}
	return mux
}

func (r *Runner) readyz(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	if err := r.store.Ping(ctx); err != nil {
		problems = append(problems, "redis unreachable")
	}
	for t := range r.conns {
		if _, ok := r.ready.get(t); !ok {
			problems = append(problems, string(t)+" not authenticated yet")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
		return
	}
	_, _ = w.Write([]byte("ready\n"))
	writeTeams(w, r.Teams())
	// Not a reason to take the replica out of service, but worth seeing.
	for _, u := range r.UnresolvedLinks() {
		fmt.Fprintf(w, "link not found: %s\n", u)
	}
	for _, f := range r.Discovered() {
		fmt.Fprintln(w, f)
	}
	// The rate-limit budget and the poll plan: what a stretched interval
	// or a spent quota looks like, from memory (no tracker, no Redis).
	for _, l := range r.readyLines() {
		fmt.Fprintln(w, l)
	}
}

// Intake limits.
const (
	// webhookConcurrency bounds the webhook handlers at work at once, per
	// tracker. Each may hold a body of up to httpx.MaxWebhookBytes, so the
	// two trackers cost 64 MiB at worst (the chart gives the pod 256 MiB);
	// one more delivery is answered 503 at once rather than waiting, so a
	// sender that sends slowly on purpose piles nothing up. A real burst
	// stays far below it: a delivery takes milliseconds (a Redis script;
	// a Jira comment event, one Jira read).
	webhookConcurrency = 32
	// defaultWebhookTimeout bounds a delivery's handling (a tracker
	// look-up, Redis), so the sender gets its 503 before it gives up
	// (GitHub waits 10 s).
	defaultWebhookTimeout = 8 * time.Second
	// maxHeaderBytes bounds a request's head: a delivery's is about a
	// kilobyte, and net/http's default is a megabyte per connection.
	maxHeaderBytes = 64 << 10
)

// NewServer is the HTTP server for h (Handler), with the limits intake
// relies on: a head must arrive within 5 s and a whole request within
// 15 s, a head is at most 64 KiB, and the write timeout leaves room for
// the 503 of a delivery whose handling ran out of time.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// webhook verifies a delivery, drops a replay, and answers 202 only once
// its keys are durably on the stream. Every other answer comes from
// refusalOf.
func (r *Runner) webhook(w http.ResponseWriter, req *http.Request) {
	t := connectors.Tracker(req.PathValue("tracker"))
	conn, ok := r.conns[t]
	if !ok {
		r.m.webhooks.WithLabelValues("unknown", "not_configured").Inc()
		http.Error(w, "tracker not configured", http.StatusNotFound)
		return
	}
	log := r.log.With("tracker", string(t))
	slots := r.webhookSlots[t]
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	default:
		r.refuse(w, req, t, log, errIntakeFull)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.opt.webhookTimeout)
	defer cancel()
	req = req.WithContext(ctx)

	ev, err := conn.ParseWebhook(req)
	if err == nil && ev.Delivery != "" {
		// Connectors check the header; this holds for any connector, as
		// the ID becomes a Redis key.
		err = httpx.CheckDeliveryID("delivery ID", ev.Delivery)
	}
	if err != nil {
		r.refuse(w, req, t, log, err)
		return
	}
	log = log.With("delivery", ev.Delivery, "event", ev.Event)
	keys := make([]string, 0, len(ev.Refs)+len(ev.Teams))
	for _, ref := range ev.Refs {
		keys = append(keys, ref.Key())
	}
	for _, team := range ev.Teams {
		keys = append(keys, TeamKey(t, team).String())
	}
	if ev.Discover {
		keys = append(keys, DiscoverKey(t).String())
	}
	// The dedupe and the keys go to Redis together: one round trip, and
	// a delivery is only marked seen once its keys are on the stream.
	queued, err := r.store.Accept(ctx, store.Delivery{Source: string(t), ID: ev.Delivery, Digest: ev.Digest}, keys)
	if err != nil {
		r.refuse(w, req, t, log, &queueError{err: err})
		return
	}
	// A verified delivery, new or again: this team's webhooks flow, and
	// its polls can back off to poll.max_interval.
	r.heard(deliveryTeams(t, ev), r.opt.Now())
	if !queued {
		r.m.webhooks.WithLabelValues(string(t), "duplicate").Inc()
		log.Info("duplicate delivery ignored")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("duplicate\n"))
		return
	}
	r.m.webhooks.WithLabelValues(string(t), "accepted").Inc()
	log.Info("webhook queued", "keys", len(keys))
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("queued\n"))
}

// deliveryTeams are the team keys a delivery is about.
func deliveryTeams(t connectors.Tracker, ev connectors.WebhookEvent) []string {
	var out []string
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, ref := range ev.Refs {
		add(TeamKey(ref.Tracker, ref.Team).String())
	}
	for _, team := range ev.Teams {
		add(TeamKey(t, team).String())
	}
	return out
}

// errIntakeFull is every webhook handler of the tracker at work.
var errIntakeFull = errors.New("too many webhook deliveries at once")

// queueError is Redis failing to take a delivery.
type queueError struct{ err error }

func (e *queueError) Error() string { return "enqueue: " + e.err.Error() }
func (e *queueError) Unwrap() error { return e.err }

// refusal is the answer to a delivery that was not queued.
type refusal struct {
	status     int
	reason     string // told to the sender; never an internal error's text
	label      string // the reason label of slipwatch_webhook_refusals_total
	retryAfter string // seconds, on every 503
}

// refusalReasons are refusal labels, listed so every series exists from
// the start.
var refusalReasons = []string{"unauthorized", "too_large", "bad_request", "busy", "tracker_unavailable", "redis_unavailable"}

// refusalOf maps why a delivery was not queued to its answer, in one
// place. Only a WebhookError is the sender's doing (its 4xx; Jira does not
// retry those). Anything else is slipwatch's: every handler busy, a
// tracker look-up that failed, Redis, a deadline. That is a 503 with
// Retry-After, so the sender delivers again; since nothing was marked
// seen, the redelivery is taken.
func refusalOf(err error) refusal {
	var werr *httpx.WebhookError
	var qerr *queueError
	switch {
	case errors.As(err, &werr):
		rf := refusal{status: werr.Status, reason: werr.Reason, label: "bad_request"}
		switch {
		case werr.Status == http.StatusUnauthorized:
			rf.label = "unauthorized"
		case werr.Status == http.StatusRequestEntityTooLarge:
			rf.label = "too_large"
		case werr.Status >= 500:
			rf.label, rf.retryAfter = "tracker_unavailable", "30"
		}
		return rf
	case errors.Is(err, errIntakeFull):
		return refusal{status: http.StatusServiceUnavailable, reason: "too many deliveries at once, retry later", label: "busy", retryAfter: "5"}
	case errors.As(err, &qerr):
		return refusal{status: http.StatusServiceUnavailable, reason: "queue unavailable, retry later", label: "redis_unavailable", retryAfter: "30"}
	}
	return refusal{status: http.StatusServiceUnavailable, reason: "tracker unavailable, retry later", label: "tracker_unavailable", retryAfter: "30"}
}

// refuse answers a delivery that was not queued, and counts and logs why.
func (r *Runner) refuse(w http.ResponseWriter, req *http.Request, t connectors.Tracker, log *slog.Logger, err error) {
	rf := refusalOf(err)
	r.m.refusals.WithLabelValues(string(t), rf.label).Inc()
	if rf.status < 500 {
		r.m.webhooks.WithLabelValues(string(t), "rejected").Inc()
		log.Warn("webhook refused", "status", rf.status, "reason", rf.reason, "remote", req.RemoteAddr)
	} else {
		r.m.webhooks.WithLabelValues(string(t), "unavailable").Inc()
		level := slog.LevelWarn
		switch rf.label {
		case "busy":
			// A flood must not become a flood of log lines; the metric
			// counts them.
			level = slog.LevelDebug
		case "redis_unavailable":
			r.m.redisErrors.WithLabelValues("enqueue").Inc()
		}
		log.Log(req.Context(), level, "webhook not queued; the sender will redeliver", "cause", rf.label, "err", err, "remote", req.RemoteAddr)
	}
	if rf.retryAfter != "" {
		w.Header().Set("Retry-After", rf.retryAfter)
	}
	// The body may be unread: closing the connection spares net/http
	// reading up to 256 KiB of it, at the sender's pace, before answering.
	w.Header().Set("Connection", "close")
	http.Error(w, rf.reason, rf.status)
}

// records reads every stored record.
func (r *Runner) records(ctx context.Context) ([]reconcile.Record, error) {
	var out []reconcile.Record
	err := r.eachRecord(ctx, func(rec reconcile.Record) bool {
		out = append(out, rec)
		return true
	})
	return out, err
}

// eachRecord calls fn with every stored record in key order, each read and
// decoded when its turn comes, until fn returns false.
func (r *Runner) eachRecord(ctx context.Context, fn func(reconcile.Record) bool) error {
	keys, err := r.store.RecordKeys(ctx)
	if err != nil {
		return err
	}
	for batch := range slices.Chunk(keys, recordBatch) {
		stored, err := r.store.GetRecords(ctx, batch)
		if err != nil {
			return err
		}
		for _, s := range stored {
			var rec reconcile.Record
			if err := json.Unmarshal(s.Data, &rec); err != nil {
				r.log.Warn("skipping unreadable record", "commitment", s.Key, "err", err)
				continue
			}
			if !fn(rec) {
				return nil
			}
		}
	}
	return nil
}

// recordBatch is how many records a listing reads per round trip: a few
// hundred KiB of JSON at a time.
const recordBatch = 100

// apiCommitments writes every commitment's view as it reads its record,
// in the layout writeJSON gives: with ten thousand commitments neither
// the records nor the whole answer are held in memory at once.
func (r *Runner) apiCommitments(w http.ResponseWriter, req *http.Request) {
	var bw *bufio.Writer // nil until the answer has begun
	begin := func() {
		if bw == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			bw = bufio.NewWriterSize(w, 32<<10)
			_, _ = bw.WriteString(`{` + "\n" + `  "commitments": [`)
		}
	}
	sep := "\n    "
	err := r.eachRecord(req.Context(), func(rec reconcile.Record) bool {
		v, err := json.MarshalIndent(reconcile.ViewOf(rec), "    ", "  ")
		if err != nil {
			return true
		}
		begin()
		_, _ = bw.WriteString(sep)
		_, _ = bw.Write(v)
		sep = ",\n    "
		return true
	})
	switch {
	case err != nil && bw == nil:
		http.Error(w, "records unavailable", http.StatusServiceUnavailable)
		return
	case err != nil:
		// The status is sent: cut the answer rather than end it as if
		// the list were complete.
		r.log.Warn("commitments listing cut", "err", err)
		panic(http.ErrAbortHandler)
	}
	begin()
	if sep == "\n    " {
		_, _ = bw.WriteString("]\n}\n")
	} else {
		_, _ = bw.WriteString("\n  ]\n}\n")
	}
	_ = bw.Flush()
}

func (r *Runner) apiCommitment(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	var found *reconcile.View
	err := r.eachRecord(req.Context(), func(rec reconcile.Record) bool {
		if v := reconcile.ViewOf(rec); v.ID == id || v.Key == id {
			found = &v
			return false
		}
		return true
	})
	if err != nil {
		http.Error(w, "records unavailable", http.StatusServiceUnavailable)
		return
	}
	if found != nil {
		writeJSON(w, http.StatusOK, *found)
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no commitment " + id})
}

func (r *Runner) apiTrackRecord(w http.ResponseWriter, req *http.Request) {
	recs, err := r.records(req.Context())
	if err != nil {
		http.Error(w, "records unavailable", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": reconcile.TrackRecord(recs)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
