package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/connectors/jira"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// app is everything one slipwatch process runs, built by build from a
// valid config. Close releases it, Redis last.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	redis    redis.UniversalClient
	store    *store.Store
	runner   *runner.Runner
	registry *prometheus.Registry
	trackers []runner.Connector // what runner drives; backtest reads their past
}

// deps are the parts build takes from outside rather than making, so that
// testdrive can run the same wiring over embedded Redis and a sandbox
// tracker with a simulated clock.
type deps struct {
	redis     redis.UniversalClient // nil: dial cfg.Redis
	transport http.RoundTripper     // nil: http.DefaultTransport
	now       func() time.Time      // nil: time.Now
	// writeInterval paces writes (0: github.write_interval, jira.write_interval); the
	// sandbox of testdrive has no secondary limits to respect.
	writeInterval time.Duration
	logOut        io.Writer
}

// build wires config → Redis → store → connectors → runner. It does no
// network I/O itself: clients connect lazily, so the first contact is
// Authenticate or the first poll.
func build(cfg *config.Config, d deps) (*app, error) {
	log := newLogger(cfg.Log, d.logOut)
	if d.now == nil {
		d.now = time.Now
	}
	rc := d.redis
	if rc == nil {
		var err error
		if rc, err = store.Dial(cfg.Redis); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := runner.NewMetrics(reg)
	st := store.New(rc, cfg.Redis.Prefix, store.Options{
		MaxLength:   int64(cfg.Queue.MaxLength),
		ReclaimIdle: cfg.Queue.ReclaimIdle.D(),
		Observe:     metrics.RedisOps(),
	})
	window := int(cfg.Forecast.Window.D() / (24 * time.Hour))
	var conns []runner.Connector
	var budgets []runner.Budget
	base := d.transport
	if base == nil {
		base = httpx.DefaultTransport()
	}
	if cfg.GitHub != nil {
		write := d.writeInterval
		if write == 0 {
			write = cfg.GitHub.WriteInterval.D()
		}
		// Under the connector's authentication, the budget sees every
		// request GitHub counts and holds each within the secondary limits.
		gb := budget.New(budget.Options{Tracker: connectors.GitHub, Secondary: new(budget.GitHubSecondary()), Now: d.now})
		budgets = append(budgets, gb)
		gh, err := github.New(cfg.GitHub, github.Options{
			Validators: st, Transport: gb.Transport(base), Logger: log, Version: Version(),
			Now: d.now, Location: cfg.Location, WindowDays: window, Allow: cfg.Commands.AllowFor(config.AllowGitHub),
			WriteInterval: write, Observe: metrics.TrackerRequests(connectors.GitHub),
		})
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
		conns = append(conns, gh)
	}
	if cfg.Jira != nil {
		write := d.writeInterval
		if write == 0 {
			write = cfg.Jira.WriteInterval.D()
		}
		// Jira publishes no secondary limits for API tokens: its budget
		// reads what the answers say (Retry-After, X-RateLimit-*).
		jb := budget.New(budget.Options{Tracker: connectors.Jira, Now: d.now, Resource: func(*http.Request) string { return "rest" }})
		budgets = append(budgets, jb)
		jc, err := jira.New(cfg.Jira, jira.Options{
			Validators: st, Tokens: st, Transport: jb.Transport(base), Logger: log, Version: Version(),
			Now: d.now, Location: cfg.Location, WindowDays: window, Allow: cfg.Commands.AllowFor(config.AllowJira),
			WriteInterval: write, Observe: metrics.TrackerRequests(connectors.Jira), PollInterval: cfg.Poll.Interval.D(),
		})
		if err != nil {
			return nil, fmt.Errorf("jira: %w", err)
		}
		conns = append(conns, jc)
	}
	set := settings(cfg)
	keys, from, err := markerKeys(cfg)
	if err != nil {
		return nil, err
	}
	set.Markers = keys
	log.Info("markers are signed", "key_from", from)
	r, err := runner.New(conns, st, set, runner.Options{
		Owner:         replicaID(),
		Workers:       cfg.Queue.Workers,
		MaxDeliveries: cfg.Queue.MaxDeliveries,
		// queue.reclaim_idle says how long held work stays with a replica
		// that stopped answering; the key's work lease and the claims on
		// its comments follow it, so after a crash the next replica takes
		// over in reclaim_idle, not in fixed 5 and 2 minutes. A claim
		// outlives the work it guards (which the lease bounds) twice over.
		WorkLease:       cfg.Queue.ReclaimIdle.D(),
		ClaimTTL:        2 * cfg.Queue.ReclaimIdle.D(),
		PollInterval:    cfg.Poll.Interval.D(),
		MaxPollInterval: cfg.Poll.MaxInterval.D(),
		Budgets:         budgets,
		DryRun:          cfg.DryRun,
		Now:             d.now,
		Logger:          log,
		Metrics:         metrics,
		Links:           links(cfg.Links),
		TrackRecord:     cfg.TrackRecord.Thread,
		DigestEvery:     cfg.Digest.Every.D(),
		APIToken:        cfg.Server.APIToken.Value(),
	})
	if err != nil {
		return nil, err
	}
	// go-redis has one process-wide logger; the process has one config.
	redis.SetLogger(redisLog{log: log})
	return &app{cfg: cfg, log: log, redis: rc, store: st, runner: r, registry: reg, trackers: conns}, nil
}

// links maps the config's links (already validated) onto the runner's.
func links(ls []config.Link) []runner.Link {
	var out []runner.Link
	for _, l := range ls {
		gh, err1 := config.ParseLinkGitHub(l.GitHub)
		jl, err2 := config.ParseLinkJira(l.Jira)
		if err1 != nil || err2 != nil {
			continue
		}
		jira := runner.LinkSide{Tracker: connectors.Jira, Team: jl.Project, Kind: connectors.Version, Title: jl.Version}
		if jl.Issue != "" {
			jira = runner.LinkSide{Tracker: connectors.Jira, Team: jl.Project, Kind: connectors.Issue, IssueID: jl.Issue}
		}
		out = append(out, runner.Link{
			Name: l.GitHub + " = " + l.Jira,
			Sides: [2]runner.LinkSide{
				{Tracker: connectors.GitHub, Team: gh.Repo, Kind: connectors.Milestone, Title: gh.Milestone},
				jira,
			},
		})
	}
	return out
}

// settings maps the config onto the pure core's own settings.
func settings(cfg *config.Config) reconcile.Settings {
	return reconcile.Settings{
		Location:    cfg.Location,
		Baseline:    cfg.Baseline,
		Window:      int(cfg.Forecast.Window.D() / (24 * time.Hour)),
		Trials:      cfg.Forecast.Trials,
		Confidence:  cfg.Forecast.Confidence,
		MinSamples:  cfg.Forecast.MinSamples,
		StatusEvery: cfg.StatusUpdate.Every.D(),
		WarnGrowth:  cfg.Scope.WarnGrowth,
		Settle:      cfg.Slip.Settle.D(),
		RiskBelow:   cfg.Forecast.RiskBelow,
	}
}

// markerKeys are the keys that sign and check markers (config.KeySources),
// and where the signing one comes from, for the log. A GitHub App whose
// key is only in private_key_file derives it from the file.
func markerKeys(cfg *config.Config) (reconcile.MarkerKeys, string, error) {
	var keys [][]byte
	srcs := cfg.KeySources()
	for _, s := range srcs {
		if s.Derived {
			keys = append(keys, config.DeriveMarkersKey(s.Secret))
		} else {
			keys = append(keys, []byte(s.Secret.Value()))
		}
	}
	if len(keys) > 0 {
		return reconcile.NewMarkerKeys(keys[0], keys[1:]...), srcs[0].Path, nil
	}
	if g := cfg.GitHub; g != nil && g.App != nil && g.App.PrivateKeyFile != "" {
		pem, err := os.ReadFile(g.App.PrivateKeyFile)
		if err != nil {
			return reconcile.MarkerKeys{}, "", fmt.Errorf("markers: derive the key from github.app.private_key_file: %w", err)
		}
		return reconcile.NewMarkerKeys(config.DeriveMarkersKey(config.Secret(pem))), "github.app.private_key_file", nil
	}
	return reconcile.MarkerKeys{}, "", errors.New("markers: no secret to derive the markers' key from; set markers.key")
}

func newLogger(c config.Log, out io.Writer) *slog.Logger {
	if out == nil {
		out = os.Stderr
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

// replicaID names this process in the consumer group and on leases: the
// pod name (HOSTNAME on Kubernetes) plus a random suffix, so a restarted pod
// does not inherit its predecessor's pending entries as if it were alive.
func replicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

func (a *app) Close() error { return a.redis.Close() }

// redisLog routes go-redis's internal messages (dial failures, pool
// trouble) into our structured log instead of bare lines on stderr.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("redis client", "detail", fmt.Sprintf(format, v...))
}

// serve runs the daemon until ctx is cancelled: HTTP first (so probes
// answer), then authentication and the runner. On cancel it stops intake,
// drains within the grace period and returns.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	srv := runner.NewServer(a.runner.Handler(a.registry))
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	a.log.Info("listening", "addr", ln.Addr().String())

	go a.authenticate(ctx)
	runDone := make(chan error, 1)
	grace := a.cfg.Server.ShutdownGrace.D()
	go func() { runDone <- a.runner.Run(ctx, grace) }()

	select {
	case err := <-srvErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "grace", grace.String())
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("http shutdown", "err", err)
	}
	return <-runDone
}

// authenticate retries until every tracker has said who slipwatch is;
// until then /readyz answers 503.
func (a *app) authenticate(ctx context.Context) {
	delay := time.Second
	for {
		err := a.runner.Authenticate(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.log.Warn("cannot authenticate yet; retrying", "err", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Minute)
	}
}
