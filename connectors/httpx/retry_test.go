package httpx

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// failFirst answers status to the first n requests, then 200 "ok".
func failFirst(n int32, status int) (*atomic.Int32, http.HandlerFunc) {
	var seen atomic.Int32
	return &seen, func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			w.WriteHeader(status)
			return
		}
		w.Write([]byte("ok"))
	}
}

func TestRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		failures  int32
		status    int
		wantHits  int
		wantFinal int
	}{
		{"GET recovers from 503s", http.MethodGet, 2, http.StatusServiceUnavailable, 3, http.StatusOK},
		{"GET recovers from a 502", http.MethodGet, 1, http.StatusBadGateway, 2, http.StatusOK},
		{"PUT is idempotent", http.MethodPut, 1, http.StatusInternalServerError, 2, http.StatusOK},
		{"GET gives up after the attempts", http.MethodGet, 10, http.StatusGatewayTimeout, 4, http.StatusGatewayTimeout},
		{"POST is never retried", http.MethodPost, 1, http.StatusInternalServerError, 1, http.StatusInternalServerError},
		{"PATCH is never retried", http.MethodPatch, 1, http.StatusBadGateway, 1, http.StatusBadGateway},
		{"404 is not transient", http.MethodGet, 1, http.StatusNotFound, 1, http.StatusNotFound},
		{"501 is not transient", http.MethodGet, 1, http.StatusNotImplemented, 1, http.StatusNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h hits
			_, handler := failFirst(tt.failures, tt.status)
			srv := server(t, &h, handler)
			clock := newFakeClock()
			rt := NewRetry(wire(t), RetryOptions{Sleep: clock.Sleep})
			resp, _ := do(t, rt, tt.method, srv.URL, `{"body":"resent intact"}`)
			if resp.StatusCode != tt.wantFinal {
				t.Errorf("final status %d, want %d", resp.StatusCode, tt.wantFinal)
			}
			if h.Total() != tt.wantHits {
				t.Errorf("server saw %d requests, want %d", h.Total(), tt.wantHits)
			}
			if got := len(clock.Sleeps()); got != tt.wantHits-1 {
				t.Errorf("backed off %d times, want %d", got, tt.wantHits-1)
			}
		})
	}
}

func TestRetryBackoffGrowsWithJitterAndCap(t *testing.T) {
	t.Parallel()
	var h hits
	_, handler := failFirst(100, http.StatusServiceUnavailable)
	srv := server(t, &h, handler)
	clock := newFakeClock()
	rt := NewRetry(wire(t), RetryOptions{
		attempts: 6, base: time.Second, max: 4 * time.Second, Sleep: clock.Sleep,
		jitter: func() float64 { return 0.5 },
	})
	get(t, rt, srv.URL)
	// base·2^k capped at max, each 3/4 of that with jitter 0.5.
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 3 * time.Second, 3 * time.Second}
	got := clock.Sleeps()
	if len(got) != len(want) {
		t.Fatalf("sleeps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sleep %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestRetryHonoursRetryAfterOn5xx(t *testing.T) {
	t.Parallel()
	var h hits
	var n atomic.Int32
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	})
	clock := newFakeClock()
	rt := NewRetry(wire(t), RetryOptions{Sleep: clock.Sleep, max: 10 * time.Second})
	get(t, rt, srv.URL)
	if s := clock.Sleeps(); len(s) != 1 || s[0] < 7*time.Second {
		t.Errorf("sleeps %v, want one of at least the 7s Retry-After", s)
	}
}

func TestRetryConnectionReset(t *testing.T) {
	t.Parallel()
	var h hits
	var n atomic.Int32
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			// Drop the connection without answering, as a reset would.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Write([]byte("ok"))
	})
	clock := newFakeClock()
	rt := NewRetry(wire(t), RetryOptions{Sleep: clock.Sleep})
	_, body := get(t, rt, srv.URL)
	if body != "ok" || n.Load() != 2 {
		t.Errorf("after a dropped connection: body %q after %d requests, want ok after 2", body, n.Load())
	}
}

func TestRetryStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	var h hits
	_, handler := failFirst(100, http.StatusServiceUnavailable)
	srv := server(t, &h, handler)
	ctx, cancel := context.WithCancel(context.Background())
	rt := NewRetry(wire(t), RetryOptions{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel() // shutdown arrives during the backoff
		return Sleep(ctx, time.Hour)
	}})
	_, err := send(ctx, rt, http.MethodGet, srv.URL, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if h.Total() != 1 {
		t.Errorf("server saw %d requests after the cancel, want 1", h.Total())
	}
}
