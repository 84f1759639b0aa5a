package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// Bodies as GitHub documents them (see testdata of connectors/github for
// the full shapes).
const (
	secondaryBody = `{"message":"You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#secondary-rate-limits"}`
	primaryBody   = `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`
)

func TestLimitsWaitsShortLimitsAndResends(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		method   string
		wantWait time.Duration
	}{
		{"429 Retry-After", http.StatusTooManyRequests, map[string]string{"Retry-After": "3"}, "", http.MethodGet, 3 * time.Second},
		{"403 secondary with Retry-After", http.StatusForbidden, map[string]string{"Retry-After": "20"}, secondaryBody, http.MethodPost, 20 * time.Second},
		{"403 secondary without a time waits the backoff", http.StatusForbidden, nil, secondaryBody, http.MethodPatch, 45 * time.Second},
		{"429 with an HTTP-date Retry-After", http.StatusTooManyRequests, map[string]string{"Retry-After": "Mon, 02 Mar 2026 10:00:30 GMT"}, "", http.MethodGet, 30 * time.Second},
		{"429 with Jira Cloud's Beta-Retry-After", http.StatusTooManyRequests, map[string]string{"Beta-Retry-After": "7", "RateLimit-Reason": "jira-quota-tenant-based"}, `{"errorMessages":["Rate limit exceeded."]}`, http.MethodGet, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h hits
			var n atomic.Int32
			var mu sync.Mutex
			var bodies []string
			srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				if n.Add(1) == 1 {
					for k, v := range tt.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tt.status)
					io.WriteString(w, tt.body)
					return
				}
				w.Write([]byte("ok"))
			})
			clock := newFakeClock()
			rt := NewLimits(wire(t), LimitOptions{Now: clock.Now, Sleep: clock.Sleep, backoff: 45 * time.Second})
			resp, body := do(t, rt, tt.method, srv.URL, `{"body":"hello"}`)
			if resp.StatusCode != http.StatusOK || body != "ok" {
				t.Fatalf("got %d %q, want the resent request's 200", resp.StatusCode, body)
			}
			if s := clock.Sleeps(); len(s) != 1 || s[0] != tt.wantWait {
				t.Errorf("waits %v, want [%v]", s, tt.wantWait)
			}
			if h.Total() != 2 {
				t.Errorf("server saw %d requests, want 2", h.Total())
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.method != http.MethodGet && (len(bodies) != 2 || bodies[1] != `{"body":"hello"}`) {
				t.Errorf("resent bodies %q, want the body twice", bodies)
			}
		})
	}
}

func TestLimitsPrimaryLimitReturnsRateLimitErrorAndHoldsBack(t *testing.T) {
	t.Parallel()
	var h hits
	clock := newFakeClock()
	reset := clock.Now().Add(40 * time.Minute).Unix()
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, primaryBody)
	})
	rt := NewLimits(wire(t), LimitOptions{Now: clock.Now, Sleep: clock.Sleep})

	_, err := send(context.Background(), rt, http.MethodGet, srv.URL+"/repos/a/b/milestones", "")
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("error %v, want *connectors.RateLimitError", err)
	}
	if want := time.Unix(reset, 0).Add(time.Second); !rl.Retry.Equal(want) {
		t.Errorf("Retry %v, want the reset %v (+1s)", rl.Retry, want)
	}
	if !strings.Contains(err.Error(), "API rate limit exceeded") {
		t.Errorf("error %q does not carry the API's message", err)
	}

	// The next request is held back without reaching the server.
	_, err = send(context.Background(), rt, http.MethodGet, srv.URL+"/repos/a/b/issues", "")
	if !errors.As(err, &rl) {
		t.Fatalf("second request: %v, want *connectors.RateLimitError", err)
	}
	if h.Total() != 1 {
		t.Errorf("server saw %d requests, want 1: the quota was known to be spent", h.Total())
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("waited %v for a 40-minute limit; longer than a minute must be returned", clock.Sleeps())
	}
}

func TestLimitsReserveWaitsForTheReset(t *testing.T) {
	t.Parallel()
	var h hits
	clock := newFakeClock()
	reset := clock.Now().Add(30 * time.Second)
	var remaining atomic.Int32
	remaining.Store(12)
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		left := remaining.Add(-1)
		if !clock.Now().Before(reset) {
			left = 4999
		}
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(int(left)))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Write([]byte("ok"))
	})
	rt := NewLimits(wire(t), LimitOptions{Now: clock.Now, Sleep: clock.Sleep, Reserve: 10})
	get(t, rt, srv.URL) // 11 left
	get(t, rt, srv.URL) // 10 left: at the reserve
	if len(clock.Sleeps()) != 0 {
		t.Fatalf("waited above the reserve: %v", clock.Sleeps())
	}
	get(t, rt, srv.URL)
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 30*time.Second {
		t.Errorf("waits %v, want one until the reset (30s)", s)
	}
	if h.Total() != 3 {
		t.Errorf("server saw %d requests, want 3", h.Total())
	}
}

func TestLimitsSecondaryBackoffDoublesThenGivesUp(t *testing.T) {
	t.Parallel()
	var h hits
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, secondaryBody)
	})
	clock := newFakeClock()
	rt := NewLimits(wire(t), LimitOptions{Now: clock.Now, Sleep: clock.Sleep, backoff: 10 * time.Second})
	_, err := send(context.Background(), rt, http.MethodPost, srv.URL, `{"body":"x"}`)
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("error %v, want *connectors.RateLimitError after the attempts", err)
	}
	// Three attempts: waits 10s, 20s, then the third answer's 40s is returned.
	if s := clock.Sleeps(); fmt.Sprint(s) != "[10s 20s]" {
		t.Errorf("waits %v, want [10s 20s]", s)
	}
	if got := rl.Retry.Sub(clock.Now()); got != 40*time.Second {
		t.Errorf("Retry in %v, want 40s", got)
	}
	if !strings.Contains(err.Error(), "secondary rate limit") {
		t.Errorf("error %q lacks the server's message", err)
	}
}

func TestLimitsPassesOtherForbiddens(t *testing.T) {
	t.Parallel()
	var h hits
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"message":"Resource not accessible by integration"}`)
	})
	clock := newFakeClock()
	rt := NewLimits(wire(t), LimitOptions{Now: clock.Now, Sleep: clock.Sleep})
	resp, body := get(t, rt, srv.URL)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "not accessible") {
		t.Errorf("got %d %q, want the 403 with its body intact", resp.StatusCode, body)
	}
	if len(clock.Sleeps()) != 0 || h.Total() != 1 {
		t.Errorf("a permission 403 was treated as a limit")
	}
}

func TestLimitsWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	var h hits
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	ctx, cancel := context.WithCancel(context.Background())
	rt := NewLimits(wire(t), LimitOptions{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return Sleep(ctx, d)
	}})
	_, err := send(ctx, rt, http.MethodGet, srv.URL, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if h.Total() != 1 {
		t.Errorf("server saw %d requests, want 1", h.Total())
	}
}

func TestParseReset(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1377013266", time.Unix(1377013266, 0), true},
		{"2026-03-02T10:05:00Z", now.Add(5 * time.Minute), true},
		{"2026-03-02T10:05Z", now.Add(5 * time.Minute), true},
		{"2026-03-02T11:05:00.000+0100", now.Add(5 * time.Minute), true},
		{"", time.Time{}, false},
		{"soon", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseReset(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseReset(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
