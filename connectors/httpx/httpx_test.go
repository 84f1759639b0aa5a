package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

type mem struct {
	mu sync.Mutex
	m  map[string]connectors.Validator
}

func (c *mem) GetValidator(_ context.Context, k string) (connectors.Validator, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok, nil
}

func (c *mem) PutValidator(_ context.Context, k string, v connectors.Validator) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = v
	return nil
}

func TestConditionalReplaysAndNeverCachesErrors(t *testing.T) {
	t.Parallel()
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != http.StatusOK {
			w.Header().Set("ETag", `"err"`)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"message":"boom"}`))
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Link", `<http://x/?page=2>; rel="next"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte(`[1,2,3]`))
	}))
	defer srv.Close()
	cache := &mem{m: map[string]connectors.Validator{}}
	counter := &Counter{}
	client := &http.Client{Transport: Conditional(counter.Count(http.DefaultTransport), cache, "token-a")}
	get := func() (*http.Response, string) {
		resp, err := client.Get(srv.URL + "/items")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	get()
	resp, body := get()
	if resp.StatusCode != 200 || body != "[1,2,3]" || resp.Header.Get("Link") == "" || resp.Header.Get(CacheHeader) != "revalidated" {
		t.Fatalf("replay: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if _, counted, cached := counter.Snapshot(); counted != 1 || cached != 1 {
		t.Fatalf("counted %d cached %d, want 1 and 1", counted, cached)
	}
	// Another identity must not read token-a's entry.
	other := &http.Client{Transport: Conditional(counter.Count(http.DefaultTransport), cache, "token-b")}
	r2, _ := other.Get(srv.URL + "/items")
	r2.Body.Close()
	if _, counted, _ := counter.Snapshot(); counted != 2 {
		t.Fatal("a second identity was served from the first one's cache")
	}
	status = http.StatusInternalServerError
	resp, _ = get()
	if resp.StatusCode != 500 {
		t.Fatalf("error not passed through: %d", resp.StatusCode)
	}
	status = http.StatusOK
	if v, _, _ := cache.GetValidator(context.Background(), ""); v.ETag == `"err"` {
		t.Fatal("an error was cached")
	}
	for _, v := range cache.m {
		if v.ETag == `"err"` {
			t.Fatal("an error was cached")
		}
	}
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		status int
		header map[string]string
		want   time.Duration
		ok     bool
	}{
		{"429 retry-after", 429, map[string]string{"Retry-After": "30"}, 30 * time.Second, true},
		{"secondary 403 retry-after", 403, map[string]string{"Retry-After": "60"}, time.Minute, true},
		{"primary 403 exhausted", 403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "1700000600"}, 10 * time.Minute, true},
		{"429 bare", 429, nil, time.Minute, true},
		{"503 retry-after (Jira)", 503, map[string]string{"Retry-After": "5"}, 5 * time.Second, true},
		{"403 forbidden is no limit", 403, nil, 0, false},
		{"500", 500, map[string]string{"Retry-After": "5"}, 0, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.header {
			h.Set(k, v)
		}
		until, ok := RateLimited(&http.Response{StatusCode: tt.status, Header: h}, now)
		if ok != tt.ok || (ok && until.Sub(now) != tt.want) {
			t.Errorf("%s: %v %v, want %v %v", tt.name, until.Sub(now), ok, tt.want, tt.ok)
		}
	}
}

func TestRetryLongLimitIsAnError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	client := &http.Client{Transport: Retry(http.DefaultTransport, RetryOptions{MaxWait: time.Second})}
	_, err := client.Get(srv.URL)
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) || time.Until(rl.Retry) < 59*time.Minute {
		t.Fatalf("err = %v, want a RateLimitError an hour out", err)
	}
}
