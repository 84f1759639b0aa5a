package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/dashboard"
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
	pages := guard(dashboard.New(dashboard.SourceFunc(r.records), dashboard.Options{Now: r.opt.Now, Location: r.settings.Location, Logger: r.log}))
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
	// Not a reason to take the replica out of service, but worth seeing.
	for _, u := range r.UnresolvedLinks() {
		fmt.Fprintf(w, "link not found: %s\n", u)
	}
}

// webhook verifies a delivery, drops a replay, and answers 202 only once
// its keys are durably on the stream; when Redis cannot take them it
// answers 503 so the tracker redelivers.
func (r *Runner) webhook(w http.ResponseWriter, req *http.Request) {
	t := connectors.Tracker(req.PathValue("tracker"))
	conn, ok := r.conns[t]
	if !ok {
		r.m.webhooks.WithLabelValues("unknown", "not_configured").Inc()
		http.Error(w, "tracker not configured", http.StatusNotFound)
		return
	}
	ev, err := conn.ParseWebhook(req)
	var werr *httpx.WebhookError
	switch {
	case errors.As(err, &werr):
		r.m.webhooks.WithLabelValues(string(t), "rejected").Inc()
		r.log.Warn("webhook refused", "tracker", string(t), "status", werr.Status, "reason", werr.Reason, "remote", req.RemoteAddr)
		http.Error(w, werr.Reason, werr.Status)
		return
	case err != nil:
		r.m.webhooks.WithLabelValues(string(t), "rejected").Inc()
		r.log.Warn("webhook refused", "tracker", string(t), "err", err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	log := r.log.With("tracker", string(t), "delivery", ev.Delivery, "event", ev.Event)
	keys := make([]string, 0, len(ev.Refs)+len(ev.Teams))
	for _, ref := range ev.Refs {
		keys = append(keys, ref.Key())
	}
	for _, team := range ev.Teams {
		keys = append(keys, TeamKey(t, team).String())
	}
	// The dedupe and the keys go to Redis together: one round trip, and
	// a delivery is only marked seen once its keys are on the stream.
	queued, err := r.store.Accept(req.Context(), string(t), ev.Delivery, keys)
	if err != nil {
		r.unavailable(w, t, log, "enqueue", err)
		return
	}
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

func (r *Runner) unavailable(w http.ResponseWriter, t connectors.Tracker, log interface{ Warn(string, ...any) }, op string, err error) {
	r.m.redisErrors.WithLabelValues(op).Inc()
	r.m.webhooks.WithLabelValues(string(t), "unavailable").Inc()
	log.Warn("webhook not queued; the sender will redeliver", "op", op, "err", err)
	w.Header().Set("Retry-After", "30")
	http.Error(w, "queue unavailable, retry later", http.StatusServiceUnavailable)
}

// records reads every stored record.
func (r *Runner) records(ctx context.Context) ([]reconcile.Record, error) {
	stored, err := r.store.ListRecords(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Record, 0, len(stored))
	for _, s := range stored {
		var rec reconcile.Record
		if err := json.Unmarshal(s.Data, &rec); err != nil {
			r.log.Warn("skipping unreadable record", "commitment", s.Key, "err", err)
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

func (r *Runner) apiCommitments(w http.ResponseWriter, req *http.Request) {
	recs, err := r.records(req.Context())
	if err != nil {
		http.Error(w, "records unavailable", http.StatusServiceUnavailable)
		return
	}
	views := make([]reconcile.View, 0, len(recs))
	for _, rec := range recs {
		views = append(views, reconcile.ViewOf(rec))
	}
	sort.Slice(views, func(i, j int) bool { return views[i].Key < views[j].Key })
	writeJSON(w, http.StatusOK, map[string]any{"commitments": views})
}

func (r *Runner) apiCommitment(w http.ResponseWriter, req *http.Request) {
	id := req.PathValue("id")
	recs, err := r.records(req.Context())
	if err != nil {
		http.Error(w, "records unavailable", http.StatusServiceUnavailable)
		return
	}
	for _, rec := range recs {
		if v := reconcile.ViewOf(rec); v.ID == id || v.Key == id {
			writeJSON(w, http.StatusOK, v)
			return
		}
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
