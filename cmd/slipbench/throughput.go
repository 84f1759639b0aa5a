package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// benchSettings are the config defaults as the daemon maps them.
func benchSettings() reconcile.Settings {
	return reconcile.Settings{Location: time.UTC, Baseline: config.DefaultBaseline,
		Window: int(config.DefaultForecastWindow / (24 * time.Hour)), Trials: config.DefaultForecastTrials,
		Confidence: config.DefaultForecastConfidence, MinSamples: config.DefaultForecastMinSamples,
		StatusEvery: config.DefaultStatusUpdateEvery, WarnGrowth: config.DefaultScopeWarnGrowth, Settle: config.DefaultSlipSettle,
		RiskBelow: config.DefaultForecastRiskBelow, Markers: reconcile.NewMarkerKeys([]byte("slipbench-markers-key-000000001"))}
}

// commitment is one synthetic deliverable in steady state: what the
// tracker shows, and the record slipwatch holds after having said what it
// had to say (its status comment is on the thread).
type commitment struct {
	key  string
	obs  reconcile.Observation
	rec  reconcile.Record
	data []byte // rec as stored
}

// makeCommitments builds n commitments over repos of 20 milestones, each
// reconciled from nothing and then once more with its comments on the
// thread, so a further reconcile finds nothing new to say (what nearly
// every poll of a commitment is).
func makeCommitments(n int, now time.Time) ([]commitment, error) {
	s := benchSettings()
	out := make([]commitment, n)
	for i := range out {
		ref := connectors.Ref{Tracker: connectors.GitHub, Team: fmt.Sprintf("acme/svc-%03d", i/20), Kind: connectors.Milestone, ID: strconv.Itoa(i%20 + 1)}
		items := make([]connectors.Item, 30)
		for j := range items {
			items[j] = connectors.Item{ID: strconv.Itoa(j + 1), CreatedAt: now.AddDate(0, 0, -60)}
			if j < 10+i%10 {
				items[j].ClosedAt = now.AddDate(0, 0, -j%30)
			}
		}
		daily := make([]int, 42)
		for d := range daily {
			daily[d] = (d*7 + i) % 4 // 0..3 a day: a team's real, lumpy pace
		}
		th := &connectors.Thread{ID: ref.Team + "#" + strconv.Itoa(100+i%20), Comments: []connectors.Comment{
			{ID: "1", Author: "lead", Body: "/commit 2026-12-01 as agreed with leadership", CreatedAt: now.AddDate(0, 0, -30), AuthorCanCommit: true},
		}}
		snap := connectors.Snapshot{
			Deliverable: connectors.Deliverable{Ref: ref, Title: fmt.Sprintf("v%d.%d", i/20, i%20), URL: "https://github.example/" + ref.Team + "/milestone/" + ref.ID,
				DueAt: time.Date(2026, 11, 20+i%10, 0, 0, 0, 0, time.UTC), Items: items},
			Thread:     th,
			Throughput: connectors.Throughput{From: connectors.DateOf(now, time.UTC).AddDays(-41), To: connectors.DateOf(now, time.UTC), Daily: daily},
		}
		obs := reconcile.Observation{Snapshot: snap}
		rec := reconcile.Record{}
		t := now.Add(-2 * time.Hour)
		for pass := 0; pass < 3; pass++ {
			var actions []reconcile.Action
			rec, actions, _ = reconcile.Reconcile(rec, obs, t, s)
			for k, a := range actions {
				id := a.CommentID
				if id == "" {
					id = fmt.Sprintf("%d%d", pass+2, k)
					th.Comments = append(th.Comments, connectors.Comment{ID: id, Author: "slipwatch-bot", BySelf: true, CreatedAt: t})
				}
				for c := range th.Comments {
					if th.Comments[c].ID == id {
						th.Comments[c].Body, th.Comments[c].Hidden = a.Body+"\n\n"+a.Marker, a.Body+"\n\n"+a.Marker
					}
				}
			}
			t = t.Add(time.Hour)
		}
		if _, actions, _ := reconcile.Reconcile(rec, obs, now, s); len(actions) != 0 {
			return nil, fmt.Errorf("commitment %s is not in steady state: %d actions left", ref, len(actions))
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		out[i] = commitment{key: ref.Key(), obs: obs, rec: rec, data: data}
	}
	return out, nil
}

// rate runs op over the commitments on g goroutines, round after round,
// for about d, and returns operations per second.
func rate(cs []commitment, g int, d time.Duration, op func(c *commitment)) float64 {
	var total atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := range min(g, len(cs)) {
		wg.Go(func() {
			n := int64(0)
			for i := w; time.Since(start) < d; i += g {
				if i >= len(cs) {
					i = w
				}
				op(&cs[i])
				n++
			}
			total.Add(n)
		})
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

// throughputResult is the reconcile section's figures.
type throughputResult struct {
	Commitments              int
	Cores                    int
	Reconcile, Reconcile1    float64 // steady reconciles/s on every core, on one goroutine
	Forecast, Forecast1      float64 // forecasts/s (10 000 trials)
	EndToEnd                 float64 // reconciles/s through the Redis queue and store
	EndToEndN, EndToEndWorks int
	E2EErrors                int64
}

// measureThroughput times the pure core on cs (made by makeCommitments
// for now) and the first e2eN of them end to end through Redis.
func measureThroughput(ctx context.Context, rdb redis.UniversalClient, cs []commitment, e2eN int, d time.Duration) (throughputResult, error) {
	now := time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC)
	n := len(cs)
	s := benchSettings()
	cores := runtime.GOMAXPROCS(0)
	res := throughputResult{Commitments: n, Cores: cores}
	later := now.Add(5 * time.Minute)
	recOp := func(c *commitment) { reconcile.Reconcile(c.rec, c.obs, later, s) }
	today := connectors.DateOf(now, time.UTC)
	// The forecast as a pass runs it when its inputs changed: the input
	// built from what was observed, then the trials.
	fcOp := func(c *commitment) {
		cur, _ := c.rec.Commitment()
		in := reconcile.NewForecastInput(c.rec.ID, c.obs.Snapshot.Deliverable.Items, cur, c.obs.Snapshot.Throughput, today, s)
		reconcile.ForecastDeliverable(in, s)
	}
	res.Reconcile1 = rate(cs, 1, d, recOp)
	res.Reconcile = rate(cs, cores, d, recOp)
	res.Forecast1 = rate(cs, 1, d, fcOp)
	res.Forecast = rate(cs, cores, d, fcOp)

	res.EndToEndN = min(e2eN, n)
	res.EndToEndWorks = 4 // the daemon's default queue.workers
	var err error
	res.EndToEnd, res.E2EErrors, err = endToEnd(ctx, rdb, cs[:res.EndToEndN], later, res.EndToEndWorks)
	return res, err
}

// endToEnd stores the records, enqueues every key, and runs the real
// runner (consumer group, work lease, load, reconcile, CAS save, ack) over
// a connector that answers from memory, until every key is acked.
func endToEnd(ctx context.Context, rdb redis.UniversalClient, cs []commitment, now time.Time, workers int) (float64, int64, error) {
	prefix := "bench:e2e:"
	st := &countingStore{Store: store.New(rdb, prefix, store.Options{})}
	conn := &memConn{snaps: map[string]connectors.Snapshot{}}
	for _, c := range cs {
		if _, err := st.PutRecord(ctx, c.key, c.data, 0); err != nil {
			return 0, 0, err
		}
		conn.snaps[c.key] = c.obs.Snapshot
	}
	for _, c := range cs {
		if err := st.Enqueue(ctx, c.key); err != nil {
			return 0, 0, err
		}
	}
	r, err := runner.New([]runner.Connector{conn}, st, benchSettings(), runner.Options{
		Owner: "slipbench", Workers: workers, PollInterval: time.Hour, Now: func() time.Time { return now },
	})
	if err != nil {
		return 0, 0, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() { _ = r.Run(runCtx, 5*time.Second); close(done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for st.acks.Load() < int64(len(cs)) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	<-done
	if got := st.acks.Load(); got < int64(len(cs)) {
		return 0, conn.errors.Load(), fmt.Errorf("end-to-end: %d of %d keys acked in time", got, len(cs))
	}
	return float64(len(cs)) / took.Seconds(), conn.errors.Load(), nil
}

// countingStore counts acks, the last step of every finished key.
type countingStore struct {
	*store.Store
	acks atomic.Int64
}

func (s *countingStore) Ack(ctx context.Context, ids ...string) error {
	err := s.Store.Ack(ctx, ids...)
	if err == nil {
		s.acks.Add(int64(len(ids)))
	}
	return err
}

// memConn is a tracker whose every deliverable is as it was: it answers
// from memory, so the end-to-end figure is slipwatch's own cost (queue,
// Redis, reconcile), not a tracker's.
type memConn struct {
	snaps  map[string]connectors.Snapshot // read-only once running
	errors atomic.Int64
}

var errNoWrites = errors.New("memConn: a steady commitment should write nothing")

func (m *memConn) Tracker() connectors.Tracker                            { return connectors.GitHub }
func (m *memConn) Teams() []string                                        { return nil }
func (m *memConn) List(context.Context, string) ([]connectors.Ref, error) { return nil, nil }
func (m *memConn) Self(context.Context) (string, error)                   { return "slipwatch-bot", nil }
func (m *memConn) PinThread(connectors.Ref, string)                       {}
func (m *memConn) ParseWebhook(*http.Request) (connectors.WebhookEvent, error) {
	return connectors.WebhookEvent{}, errNoWrites
}

func (m *memConn) Observe(_ context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	s, ok := m.snaps[ref.Key()]
	if !ok {
		return s, fmt.Errorf("%s: %w", ref, connectors.ErrNotFound)
	}
	return s, nil
}

func (m *memConn) EnsureThread(context.Context, connectors.Deliverable) (*connectors.Thread, error) {
	m.errors.Add(1)
	return nil, errNoWrites
}

func (m *memConn) ReadThread(context.Context, string) (*connectors.Thread, error) {
	m.errors.Add(1)
	return nil, errNoWrites
}

func (m *memConn) Post(context.Context, *connectors.Thread, string, string) (connectors.Comment, error) {
	m.errors.Add(1)
	return connectors.Comment{}, errNoWrites
}

func (m *memConn) Edit(context.Context, *connectors.Thread, string, string, string) (connectors.Comment, error) {
	m.errors.Add(1)
	return connectors.Comment{}, errNoWrites
}

func throughputSection(r throughputResult) section {
	load := float64(r.Commitments) / 300 // every commitment reconciled once per 5-minute poll
	s := section{
		Title: "Reconcile throughput",
		Intro: fmt.Sprintf("%s commitments in steady state (a /commit, the status comment and the events already on the thread; "+
			"30 items; 42 days of lumpy throughput), `reconcile.Reconcile` with the config defaults (10 000 forecast trials). "+
			"*All cores* runs %d goroutines; the baseline is one goroutine in the same run. End to end: %s keys on the Redis stream "+
			"worked by `reconcile/runner` (%d workers: XREADGROUP, work lease, load record, reconcile, CAS save, ack) over a "+
			"tracker answering from memory.", commas(int64(r.Commitments)), r.Cores, commas(int64(r.EndToEndN)), r.EndToEndWorks),
		Rows: []row{
			{Measure: "pure reconciles/s, all cores", Value: num(r.Reconcile), Baseline: num(r.Reconcile1) + " (1 goroutine)", Ratio: ratio(r.Reconcile, r.Reconcile1),
				Target: "≥ 50,000/s", Verdict: verdict(r.Reconcile >= 50000)},
			{Measure: "pure reconciles/s vs the load of polling them every 5 min", Value: num(r.Reconcile), Baseline: num(load) + "/s needed", Ratio: ratio(r.Reconcile, load)},
			{Measure: "forecasts/s (10 000 trials), all cores", Value: num(r.Forecast), Baseline: num(r.Forecast1) + " (1 goroutine)", Ratio: ratio(r.Forecast, r.Forecast1)},
			{Measure: "one forecast (input and 10 000 trials), 1 goroutine", Value: ms(time.Duration(float64(time.Second) / r.Forecast1)),
				Target: "≤ 2 ms (issue #20)", Verdict: verdict(r.Forecast1 >= 500)},
			{Measure: "end-to-end reconciles/s through Redis", Value: num(r.EndToEnd), Baseline: num(r.Reconcile) + " pure", Ratio: ratio(r.EndToEnd, r.Reconcile)},
			{Measure: "end-to-end vs the load of polling them every 5 min", Value: num(r.EndToEnd), Baseline: num(load) + "/s needed", Ratio: ratio(r.EndToEnd, load)},
		},
	}
	s.Notes = append(s.Notes, "A forecast runs only when its inputs (the items, the promise, the team's daily counts and facts, the day) change; a steady reconcile reuses the stored one, which is why reconciles/s is far above forecasts/s.")
	if r.E2EErrors > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("End to end: %d unexpected writes were attempted (the commitments should have been steady).", r.E2EErrors))
	}
	return s
}
