package httpx

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose Sleep records the wait and moves time on at
// once, so tests see what was waited for without waiting.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// memValidators is an in-memory Validators that counts calls and can be
// told to fail.
type memValidators struct {
	mu         sync.Mutex
	m          map[string]Validator
	gets, puts int
	fail       error
}

func newMemValidators() *memValidators { return &memValidators{m: map[string]Validator{}} }

func (s *memValidators) GetValidator(_ context.Context, key string) (Validator, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.fail != nil {
		return Validator{}, false, s.fail
	}
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *memValidators) PutValidator(_ context.Context, key string, v Validator) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if s.fail != nil {
		return s.fail
	}
	s.m[key] = v
	return nil
}

func (s *memValidators) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		out = append(out, k)
	}
	return out
}

// hits counts the requests a test server received, by status answered.
type hits struct {
	mu       sync.Mutex
	total    int
	byStatus map[int]int
	reqs     []*http.Request
}

func (h *hits) add(r *http.Request, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byStatus == nil {
		h.byStatus = map[int]int{}
	}
	h.total++
	h.byStatus[status]++
	h.reqs = append(h.reqs, r.Clone(context.Background()))
}

func (h *hits) Total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

func (h *hits) Status(code int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byStatus[code]
}

func (h *hits) Last() *http.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reqs[len(h.reqs)-1]
}

// statusRecorder lets a handler report the status it wrote to hits.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Hijack lets a handler drop the connection.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return s.ResponseWriter.(http.Hijacker).Hijack()
}

// server starts a test server whose handler's answers are counted.
// wire is the transport under the layer a test checks: its own, not
// http.DefaultTransport, whose idle connections another parallel test's
// server closes (httptest.Server.Close does), which can break a request
// as it takes one.
func wire(t *testing.T) http.RoundTripper {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func server(t *testing.T, h *hits, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		handler(rec, r)
		h.add(r, rec.status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, rt http.RoundTripper, url string, header ...string) (*http.Response, string) {
	t.Helper()
	return do(t, rt, http.MethodGet, url, "", header...)
}

func do(t *testing.T, rt http.RoundTripper, method, url, body string, header ...string) (*http.Response, string) {
	t.Helper()
	resp, err := send(context.Background(), rt, method, url, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func send(ctx context.Context, rt http.RoundTripper, method, url, body string, header ...string) (*http.Response, error) {
	var rd io.Reader
	if body != "" {
		rd = stringsReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return (&http.Client{Transport: rt}).Do(req)
}

var errBroken = errors.New("store unavailable")
