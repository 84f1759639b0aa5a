package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/dashboard"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// pagesResult is the dashboard section's figures: medians of alternating
// rounds, each page and its baseline served the same records.
type pagesResult struct {
	Commitments int
	Rounds      int
	// Through runner.Handler over the Redis store: what a reader waits for.
	Page, API time.Duration
	// From records in memory: the render alone, against the API's JSON
	// encoding of the same records.
	Render, JSON         time.Duration
	PageBytes, JSONBytes int
}

// pagesTarget is the issue's: the portfolio of 1,000 commitments renders
// server-side in well under this.
const pagesTarget = 100 * time.Millisecond

// measurePages serves the portfolio of recs (and /api/v1/commitments, its
// baseline) rounds times each, alternating, through the daemon's handler
// over the Redis store, and renders it from memory the same way.
func measurePages(ctx context.Context, rdb redis.UniversalClient, recs []commitment, rounds int) (pagesResult, error) {
	res := pagesResult{Commitments: len(recs), Rounds: rounds}
	prefix := "slipbench-pages:"
	if err := preload(ctx, rdb, prefix, recs); err != nil {
		return res, err
	}
	st := store.New(rdb, prefix, store.Options{})
	now := func() time.Time { return time.Date(2026, 9, 7, 12, 0, 0, 0, time.UTC) }
	r, err := runner.New(nil, st, benchSettings(), runner.Options{Owner: "slipbench-pages", Now: now})
	if err != nil {
		return res, err
	}
	h := r.Handler(nil)
	records := make([]reconcile.Record, len(recs))
	for i, c := range recs {
		records[i] = c.rec
	}
	pages := dashboard.New(dashboard.Records(records),
		dashboard.Options{Now: now, Location: time.UTC})

	serve := func(h http.Handler, path string) (time.Duration, int, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		took := time.Since(start)
		if w.Code != http.StatusOK {
			return 0, 0, fmt.Errorf("GET %s: %d %s", path, w.Code, w.Body.String())
		}
		return took, w.Body.Len(), nil
	}
	encode := func() (time.Duration, int) {
		// What GET /api/v1/commitments does once it has the records.
		start := time.Now()
		views := make([]reconcile.View, 0, len(records))
		for _, rec := range records {
			views = append(views, reconcile.ViewOf(rec))
		}
		sort.Slice(views, func(i, j int) bool { return views[i].Key < views[j].Key })
		cw := &countWriter{}
		enc := json.NewEncoder(cw)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"commitments": views})
		return time.Since(start), cw.n
	}

	var page, api, render, js []time.Duration
	for i := range rounds + 1 {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		p, pb, err := serve(h, "/")
		if err != nil {
			return res, err
		}
		a, _, err := serve(h, "/api/v1/commitments")
		if err != nil {
			return res, err
		}
		m, mb, err := serve(pages, "/")
		if err != nil {
			return res, err
		}
		j, jb := encode()
		if i == 0 {
			continue // warm-up: templates, pools, connections
		}
		page, api, render, js = append(page, p), append(api, a), append(render, m), append(js, j)
		res.PageBytes, res.JSONBytes = max(pb, mb), jb
	}
	res.Page, res.API, res.Render, res.JSON = median(page), median(api), median(render), median(js)
	return res, nil
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func pagesSection(r pagesResult) section {
	s := section{
		Title: "Dashboard: the portfolio page",
		Intro: fmt.Sprintf("%s commitments (the reconcile section's steady-state records, each with about two months of burn-up), the median of %d rounds after a warm-up, "+
			"each round serving the page and its baseline one after the other. **Through the handler**: `runner.Handler` over the Redis store, "+
			"GET / (read every record, render the portfolio: rows, counts per health, filters, sort) against GET /api/v1/commitments (read every record, encode JSON). "+
			"**Render alone**: `reconcile/dashboard` over the same records in memory against what the API does after reading them (views, sort, indented JSON).",
			commas(int64(r.Commitments)), r.Rounds),
	}
	s.Rows = append(s.Rows,
		row{Measure: fmt.Sprintf("GET / with %s commitments, through the handler", commas(int64(r.Commitments))), Value: ms(r.Page),
			Baseline: ms(r.API) + " /api/v1/commitments", Ratio: ratio(float64(r.Page), float64(r.API)),
			Target: "< 100 ms", Verdict: verdict(r.Page < pagesTarget)},
		row{Measure: "portfolio render alone (records in memory)", Value: ms(r.Render), Baseline: ms(r.JSON) + " JSON of the same views",
			Ratio: ratio(float64(r.Render), float64(r.JSON)), Target: "< 100 ms", Verdict: verdict(r.Render < pagesTarget)},
		row{Measure: "response size", Value: fmt.Sprintf("%s KiB HTML", commas(int64(r.PageBytes/1024))),
			Baseline: fmt.Sprintf("%s KiB JSON", commas(int64(r.JSONBytes/1024))), Ratio: ratio(float64(r.PageBytes), float64(r.JSONBytes))},
	)
	s.Notes = append(s.Notes, "The page's rows are written by the package's own escaping code, not by html/template's per-value escaper, which cost about ten times as much at this size.")
	return s
}
