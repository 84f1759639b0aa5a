package budget

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwatch/slipwatch/connectors"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep moves the clock instead of waiting.
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error { c.Add(d); return nil }

// get sends a request through rt and returns its error.
func send(t *testing.T, rt http.RoundTripper, ctx context.Context, method, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestObserveReadsEachResource(t *testing.T) {
	t.Parallel()
	reset := time.Date(2026, 3, 2, 10, 40, 0, 0, time.UTC)
	tests := []struct {
		name    string
		path    string
		status  int
		headers map[string]string
		opts    Options
		want    []Resource
	}{
		{"GitHub core", "/api/v3/repos/acme/api/milestones", 200, map[string]string{
			"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4321", "X-RateLimit-Used": "679",
			"X-RateLimit-Reset": "1772448000", "X-RateLimit-Resource": "core",
		}, Options{}, []Resource{{Name: "core", Limit: 5000, Remaining: 4321, Used: 679, Reset: time.Unix(1772448000, 0)}}},
		{"GitHub search, the resource from the path when not said", "/search/issues", 200, map[string]string{
			"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "29", "X-RateLimit-Reset": "1772448000",
		}, Options{}, []Resource{{Name: "search", Limit: 30, Remaining: 29, Used: 1, Reset: time.Unix(1772448000, 0)}}},
		{"a 304 still reports the quota", "/api/v3/repos/acme/api/issues", 304, map[string]string{
			"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4000", "X-RateLimit-Resource": "core",
		}, Options{}, []Resource{{Name: "core", Limit: 5000, Remaining: 4000, Used: 1000}}},
		{"Jira Data Center's token bucket", "/rest/api/2/search", 200, map[string]string{
			"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "80", "X-RateLimit-FillRate": "10", "X-RateLimit-Interval-Seconds": "1",
		}, Options{Resource: func(*http.Request) string { return "rest" }}, []Resource{{Name: "rest", Limit: 100, Remaining: 80, Used: 20, FillPerHour: 36000}}},
		{"Jira Cloud near its limit, reset to the minute", "/rest/api/3/search/jql", 429, map[string]string{
			"X-RateLimit-Limit": "350", "X-RateLimit-Remaining": "0", "X-RateLimit-NearLimit": "true",
			"X-RateLimit-Reset": "2026-03-02T10:40Z", "Retry-After": "30",
		}, Options{Resource: func(*http.Request) string { return "rest" }}, []Resource{{Name: "rest", Limit: 350, Remaining: 0, Used: 350, Reset: reset, NearLimit: true}}},
		{"no headers, no resource", "/rest/api/2/myself", 200, nil, Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			clk := newClock()
			o := tt.opts
			o.Now = clk.Now
			b := New(o)
			if _, err := send(t, b.Transport(http.DefaultTransport), context.Background(), http.MethodGet, srv.URL+tt.path); err != nil {
				t.Fatal(err)
			}
			got := b.Snapshot()
			if diff := cmp.Diff(tt.want, got.Resources, cmpopts.IgnoreFields(Resource{}, "Seen"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			wantLimited := int64(0)
			if tt.status == 429 {
				wantLimited = 1
			}
			if got.Answers != 1 || got.Limited != wantLimited {
				t.Errorf("answers %d, limited %d; want 1, %d", got.Answers, got.Limited, wantLimited)
			}
		})
	}
}

func TestSpendCountsWhatTheTrackerCounts(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("If-None-Match") != "":
			w.WriteHeader(http.StatusNotModified)
		case strings.HasSuffix(r.URL.Path, "/limited"):
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"API rate limit exceeded for user ID 1."}`)
		case strings.HasSuffix(r.URL.Path, "/secondary"):
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"message":"You have exceeded a secondary rate limit and have been temporarily blocked from content creation."}`)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	b := New(Options{Tracker: connectors.GitHub, Secondary: new(GitHubSecondary())})
	rt := b.Transport(http.DefaultTransport)
	ctx, sp := WithSpend(context.Background())
	for _, r := range []struct{ method, path, etag string }{
		{http.MethodGet, "/repos/acme/api/milestones", ""},
		{http.MethodGet, "/repos/acme/api/issues", `W/"x"`},
		{http.MethodGet, "/repos/acme/api/issues", `W/"x"`},
		{http.MethodPatch, "/repos/acme/api/issues/comments/7", ""},
		{http.MethodGet, "/repos/acme/api/limited", ""},
		{http.MethodPost, "/repos/acme/api/secondary", ""},
	} {
		req, _ := http.NewRequestWithContext(ctx, r.method, srv.URL+r.path, nil)
		if r.etag != "" {
			req.Header.Set("If-None-Match", r.etag)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Work outside any Spend is counted by the budget, not attributed.
	if _, err := send(t, rt, context.Background(), http.MethodGet, srv.URL+"/repos/acme/web/milestones"); err != nil {
		t.Fatal(err)
	}
	if got, want := [3]int64{sp.Counted(), sp.Writes(), sp.Limited()}, [3]int64{4, 2, 2}; got != want {
		t.Errorf("spend counted, writes, limited = %v, want %v (two 304s are free)", got, want)
	}
	if s := b.Snapshot(); s.Answers != 7 || s.Limited != 2 {
		t.Errorf("snapshot answers %d limited %d, want 7 and 2", s.Answers, s.Limited)
	}
}

func TestSecondaryLimitsHoldRequests(t *testing.T) {
	t.Parallel()
	// Small limits so a test reaches them; headroom 1 keeps them exact.
	sec := Secondary{Concurrency: 50, PointsPerMinute: 10, ReadPoints: 1, WritePoints: 5, ContentPerMinute: 2, ContentPerHour: 3}
	tests := []struct {
		name      string
		peers     int
		requests  []string // "METHOD path"
		wantSent  int
		wantLimit string
		wantWait  time.Duration
	}{
		{"points per endpoint per minute", 1, repeat("GET /repos/acme/api/issues", 11), 10, HeldPoints, time.Minute},
		{"endpoints are counted apart, owners and numbers alike",
			1, append(repeat("GET /repos/acme/api/issues", 10), "GET /repos/acme/api/milestones", "GET /repos/other/web/issues"), 11, HeldPoints, time.Minute},
		{"a write costs five points", 1, []string{"PATCH /repos/acme/api/issues/comments/1", "PATCH /repos/acme/api/issues/comments/2", "PATCH /repos/acme/api/issues/comments/3"}, 2, HeldPoints, time.Minute},
		{"content per minute", 1, []string{"POST /repos/a/b/issues/1/comments", "POST /repos/a/c/issues/2/comments", "PATCH /repos/a/d/issues/comments/3"}, 2, HeldContentMinute, time.Minute},
		{"two replicas take half each", 2, repeat("GET /repos/acme/api/issues", 6), 5, HeldPoints, time.Minute},
		{"installation tokens are not content", 1, []string{"POST /app/installations/1/access_tokens", "POST /app/installations/1/access_tokens", "POST /app/installations/1/access_tokens"}, 2, HeldPoints, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
			defer srv.Close()
			clk := newClock()
			b := New(Options{Tracker: connectors.GitHub, Secondary: &sec, Headroom: 1, Now: clk.Now, Sleep: clk.Sleep, MaxWait: -1})
			b.SetPeers(tt.peers)
			rt := b.Transport(http.DefaultTransport)
			var held error
			for _, r := range tt.requests {
				method, path, _ := strings.Cut(r, " ")
				if _, err := send(t, rt, context.Background(), method, srv.URL+path); err != nil {
					held = err
				}
			}
			if int(hits.Load()) != tt.wantSent {
				t.Errorf("sent %d requests, want %d", hits.Load(), tt.wantSent)
			}
			var rl *connectors.RateLimitError
			var h *HeldError
			if !errors.As(held, &rl) || !errors.As(held, &h) {
				t.Fatalf("the last request: err %v, want a RateLimitError wrapping a HeldError", held)
			}
			if h.Limit != tt.wantLimit || !rl.Retry.Equal(clk.Now().Add(tt.wantWait)) {
				t.Errorf("held by %s until %s, want %s until %s", h.Limit, rl.Retry, tt.wantLimit, clk.Now().Add(tt.wantWait))
			}
			if s := b.Snapshot(); s.Held[tt.wantLimit] != 1 {
				t.Errorf("held counts %v, want one for %s", s.Held, tt.wantLimit)
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestContentPerHourAndShortWaits(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	clk := newClock()
	sec := Secondary{Concurrency: 10, PointsPerMinute: 1000, ReadPoints: 1, WritePoints: 5, ContentPerMinute: 2, ContentPerHour: 4}
	b := New(Options{Secondary: &sec, Headroom: 1, Now: clk.Now, Sleep: clk.Sleep, MaxWait: 2 * time.Minute})
	rt := b.Transport(http.DefaultTransport)
	start := clk.Now()
	// Two a minute: the third waits (a minute is within MaxWait) and is sent.
	for i := range 4 {
		if _, err := send(t, rt, context.Background(), http.MethodPost, srv.URL+"/repos/a/b/issues/"+string(rune('1'+i))+"/comments"); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
	if got := clk.Now().Sub(start); got != time.Minute {
		t.Errorf("four writes took %s of waiting, want one minute", got)
	}
	// The hour is full: the wait (most of an hour) is beyond MaxWait.
	_, err := send(t, rt, context.Background(), http.MethodPost, srv.URL+"/repos/a/b/issues/9/comments")
	var h *HeldError
	if !errors.As(err, &h) || h.Limit != HeldContentHour {
		t.Fatalf("fifth write: %v, want held by the hourly content limit", err)
	}
	if hits.Load() != 4 {
		t.Errorf("sent %d, want 4", hits.Load())
	}
	s := b.Snapshot()
	if s.PeakContentMinute != 2 || s.PeakContentHour != 4 || s.ContentHour != 4 {
		t.Errorf("content peaks minute %d hour %d, last hour %d; want 2, 4, 4", s.PeakContentMinute, s.PeakContentHour, s.ContentHour)
	}
}

// A clock that does not move while a request sleeps (a simulation run
// on real sleeps) must not keep the request waiting for ever: MaxWait
// bounds the waits together.
func TestWaitsBoundedWhenTheClockStandsStill(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	clk := newClock()
	var slept time.Duration
	sec := Secondary{Concurrency: 10, PointsPerMinute: 1000, ReadPoints: 1, WritePoints: 5, ContentPerMinute: 1, ContentPerHour: 100}
	b := New(Options{Secondary: &sec, Headroom: 1, Now: clk.Now, MaxWait: 150 * time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { slept += d; return nil }})
	rt := b.Transport(http.DefaultTransport)
	if _, err := send(t, rt, context.Background(), http.MethodPost, srv.URL+"/repos/a/b/issues/1/comments"); err != nil {
		t.Fatalf("first write: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := send(t, rt, context.Background(), http.MethodPost, srv.URL+"/repos/a/b/issues/2/comments")
		done <- err
	}()
	select {
	case err := <-done:
		var h *HeldError
		if !errors.As(err, &h) || h.Limit != HeldContentMinute {
			t.Fatalf("second write: %v, want held by the per-minute content limit", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second write still waits on a clock that stands still")
	}
	if slept != 2*time.Minute {
		t.Errorf("slept %s in all, want two waits of a minute (MaxWait 2m30s)", slept)
	}
	if hits.Load() != 1 {
		t.Errorf("sent %d, want 1", hits.Load())
	}
}

func TestConcurrencyShare(t *testing.T) {
	t.Parallel()
	var now, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		now.Add(-1)
	}))
	defer srv.Close()
	defer close(release)
	sec := GitHubSecondary()
	sec.Concurrency = 6
	b := New(Options{Secondary: &sec, Headroom: 1})
	b.SetPeers(2) // three each
	rt := b.Transport(http.DefaultTransport)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			_, _ = send(t, rt, context.Background(), http.MethodGet, srv.URL+"/repos/acme/api/issues/"+string(rune('0'+i)))
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Snapshot().InFlight < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for a fourth, were it let through
	if p := peak.Load(); p != 3 {
		t.Errorf("%d requests in flight at once, want this replica's share of 3", p)
	}
	for range 5 {
		release <- struct{}{}
	}
	wg.Wait()
	if s := b.Snapshot(); s.MaxInFlight != 3 || s.Held[HeldConcurrency] == 0 {
		t.Errorf("max in flight %d, held %v; want 3 and some held for concurrency", s.MaxInFlight, s.Held)
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"GET https://api.github.com/repos/acme/api/issues?state=all":            "GET /repos/{owner}/{repo}/issues",
		"GET https://ghe.example.com/api/v3/repos/acme/api/milestones/7":        "GET /repos/{owner}/{repo}/milestones/{n}",
		"PATCH https://api.github.com/repos/a/b/issues/comments/123":            "PATCH /repos/{owner}/{repo}/issues/comments/{n}",
		"GET https://api.github.com/repos/a/b/collaborators/octocat/permission": "GET /repos/{owner}/{repo}/collaborators/{name}/permission",
		"GET https://api.github.com/orgs/acme/repos":                            "GET /orgs/{name}/repos",
	} {
		method, url, _ := strings.Cut(in, " ")
		req, _ := http.NewRequest(method, url, nil)
		if got := Endpoint(req); got != want {
			t.Errorf("Endpoint(%s) = %q, want %q", in, got, want)
		}
	}
}
