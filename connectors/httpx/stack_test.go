package httpx

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPaceSerialisesWrites(t *testing.T) {
	t.Parallel()
	var h hits
	var inFlight, most atomic.Int32
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond) // let overlapping requests show
		inFlight.Add(-1)
		w.WriteHeader(http.StatusCreated)
	})
	rt := NewPace(wire(t), PaceOptions{Interval: time.Millisecond})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := send(context.Background(), rt, http.MethodPost, srv.URL, `{"body":"x"}`)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d writes were in flight at once, want 1", most.Load())
	}
	if h.Total() != 8 {
		t.Errorf("server saw %d writes, want 8", h.Total())
	}
}

func TestPaceSpacesWritesAndLeavesReadsAlone(t *testing.T) {
	t.Parallel()
	var h hits
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {})
	clock := newFakeClock()
	rt := NewPace(wire(t), PaceOptions{Interval: time.Second, Now: clock.Now, Sleep: clock.Sleep})
	do(t, rt, http.MethodPost, srv.URL, "a")
	get(t, rt, srv.URL)
	get(t, rt, srv.URL)
	if len(clock.Sleeps()) != 0 {
		t.Fatalf("reads or a first write waited: %v", clock.Sleeps())
	}
	do(t, rt, http.MethodPatch, srv.URL, "b")
	if s := clock.Sleeps(); len(s) != 1 || s[0] != time.Second {
		t.Errorf("second write waited %v, want [1s]", s)
	}
}

func TestPaceWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	var h hits
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {})
	rt := NewPace(wire(t), PaceOptions{Interval: time.Hour})
	do(t, rt, http.MethodPost, srv.URL, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := send(ctx, rt, http.MethodPost, srv.URL, "b")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the context's deadline", err)
	}
	if h.Total() != 1 {
		t.Errorf("server saw %d writes, want 1", h.Total())
	}
}

// TestStack runs a request sequence through New the way a connector does
// and checks what the server and the metrics saw.
func TestStack(t *testing.T) {
	t.Parallel()
	var h hits
	var fails atomic.Int32
	es := &etagServer{version: 1}
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") != "slipwatch/test" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/flaky" && fails.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		es.handler(w, r)
	})
	clock := newFakeClock()
	var mu sync.Mutex
	var seen []Observation
	rt := New(nil, Options{
		UserAgent:  "slipwatch/test",
		Validators: newMemValidators(),
		Cache:      CacheOptions{Identity: func(*http.Request) string { return "app:1/installation:2" }},
		Pace:       &PaceOptions{Interval: time.Second},
		Endpoint:   func(r *http.Request) string { return r.Method + " " + r.URL.Path },
		Observe: func(o Observation) {
			mu.Lock()
			defer mu.Unlock()
			o.Duration, o.Err = 0, nil
			seen = append(seen, o)
		},
		Now:   clock.Now,
		Sleep: clock.Sleep,
	})
	get(t, rt, srv.URL+"/items")
	if resp, _ := get(t, rt, srv.URL+"/items"); !Revalidated(resp) {
		t.Errorf("second GET not revalidated")
	}
	get(t, rt, srv.URL+"/flaky")
	do(t, rt, http.MethodPost, srv.URL+"/items", "a")
	do(t, rt, http.MethodPost, srv.URL+"/items", "b")

	want := []Observation{
		{Method: "GET", Endpoint: "GET /items", Status: 200, Remaining: 4000},
		{Method: "GET", Endpoint: "GET /items", Status: 304, NotModified: true, Remaining: 4000},
		{Method: "GET", Endpoint: "GET /flaky", Status: 502, Remaining: -1},
		{Method: "GET", Endpoint: "GET /flaky", Status: 200, Remaining: 4000},
		{Method: "POST", Endpoint: "POST /items", Status: 200, Remaining: 4000},
		{Method: "POST", Endpoint: "POST /items", Status: 200, Remaining: 4000},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
	if h.Status(http.StatusBadRequest) != 0 {
		t.Errorf("a request went out without the user agent")
	}
	if s := clock.Sleeps(); len(s) != 2 || s[1] != time.Second {
		t.Errorf("waits %v, want a retry backoff then the 1s write pacing", s)
	}
}
