// Package httpx holds the HTTP layers the tracker connectors share, each a
// RoundTripper wrapping the next: a user agent, conditional requests backed
// by the store (an unchanged resource answers 304, which GitHub does not
// count against the rate limit), retries with jittered backoff, waiting out
// short Retry-After answers, and pacing of writes.
package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// CacheHeader marks a response replayed from the cache after a 304, so
// callers and metrics can tell it from a counted request.
const CacheHeader = "X-Slipwatch-Cache"

// UserAgent sets the User-Agent of every request.
func UserAgent(next http.RoundTripper, ua string) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", ua)
		return next.RoundTrip(r)
	})
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Validators is where conditional requests remember responses.
type Validators interface {
	GetValidator(ctx context.Context, url string) (connectors.Validator, bool, error)
	PutValidator(ctx context.Context, url string, v connectors.Validator) error
}

// maxCachedBody bounds what one response may put in the cache.
const maxCachedBody = 1 << 20

// keptHeaders are replayed with a cached body: pagination and type.
var keptHeaders = []string{"Link", "Content-Type"}

// Conditional makes every GET conditional on what the last 200 answered
// (If-None-Match, If-Modified-Since) and replays the stored body on 304.
// It always revalidates and never stores errors. identity names the
// credentials (any string; it is hashed into the key) so two tokens never
// share an entry. A cache that fails is skipped, never fatal.
func Conditional(next http.RoundTripper, cache Validators, identity string) http.RoundTripper {
	id := sha256.Sum256([]byte(identity))
	prefix := hex.EncodeToString(id[:8]) + " "
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		if cache == nil || r.Method != http.MethodGet || r.Header.Get("Range") != "" {
			return next.RoundTrip(r)
		}
		key := prefix + r.URL.String()
		v, ok, err := cache.GetValidator(r.Context(), key)
		if err == nil && ok {
			r = r.Clone(r.Context())
			if v.ETag != "" {
				r.Header.Set("If-None-Match", v.ETag)
			}
			if v.LastModified != "" {
				r.Header.Set("If-Modified-Since", v.LastModified)
			}
		}
		resp, err := next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusNotModified && ok:
			_ = resp.Body.Close()
			h := resp.Header.Clone()
			for _, k := range keptHeaders {
				h.Del(k)
				for _, val := range v.Header.Values(k) {
					h.Add(k, val)
				}
			}
			h.Set(CacheHeader, "revalidated")
			return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
				Header: h, Body: io.NopCloser(bytes.NewReader(v.Body)), ContentLength: int64(len(v.Body)), Request: r}, nil
		case resp.StatusCode == http.StatusOK && (resp.Header.Get("ETag") != "" || resp.Header.Get("Last-Modified") != ""):
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
			rest := resp.Body
			if err != nil {
				_ = rest.Close()
				return nil, err
			}
			if len(body) > maxCachedBody {
				// Too big to keep: hand it on unread beyond what we took.
				resp.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(body), rest), rest}
				return resp, nil
			}
			_ = rest.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			nv := connectors.Validator{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Header: http.Header{}, Body: body}
			for _, k := range keptHeaders {
				for _, val := range resp.Header.Values(k) {
					nv.Header.Add(k, val)
				}
			}
			_ = cache.PutValidator(r.Context(), key, nv)
		}
		return resp, nil
	})
}

// RetryOptions tune Retry.
type RetryOptions struct {
	Attempts int           // total tries of an idempotent request (default 4)
	Base     time.Duration // first backoff (default 250 ms)
	Max      time.Duration // backoff cap (default 10 s)
	// MaxWait is the longest Retry-After waited in place; a longer one
	// comes back as *connectors.RateLimitError (default 30 s).
	MaxWait time.Duration
	// Limited says whether a response is a rate limit and until when.
	// The default reads 429, and 403 with Retry-After or
	// x-ratelimit-remaining: 0 (GitHub's primary and secondary limits).
	Limited func(*http.Response, time.Time) (time.Time, bool)
	Now     func() time.Time
}

// Retry retries idempotent requests on 5xx, timeouts and broken
// connections with jittered exponential backoff, and waits out short rate
// limits. Waits end when the request's context does.
func Retry(next http.RoundTripper, o RetryOptions) http.RoundTripper {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Base <= 0 {
		o.Base = 250 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 10 * time.Second
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 30 * time.Second
	}
	if o.Limited == nil {
		o.Limited = RateLimited
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		idempotent := r.Method == http.MethodGet || r.Method == http.MethodHead
		delay := o.Base
		for attempt := 1; ; attempt++ {
			resp, err := next.RoundTrip(r)
			last := attempt >= o.Attempts
			if err == nil {
				if until, ok := o.Limited(resp, o.Now()); ok {
					wait := until.Sub(o.Now())
					if wait > o.MaxWait || last {
						_ = resp.Body.Close()
						return nil, &connectors.RateLimitError{Retry: until, Err: fmt.Errorf("%s %s: %s", r.Method, r.URL.Path, resp.Status)}
					}
					_ = resp.Body.Close()
					if !sleep(r.Context(), max(wait, 0)) {
						return nil, r.Context().Err()
					}
					continue
				}
				if resp.StatusCode < 500 || !idempotent || last {
					return resp, nil
				}
				_ = resp.Body.Close()
			} else if !idempotent || last || r.Context().Err() != nil || !retryable(err) {
				return nil, err
			}
			d := delay/2 + rand.N(delay/2+1)
			delay = min(delay*2, o.Max)
			if !sleep(r.Context(), d) {
				return nil, r.Context().Err()
			}
		}
	})
}

func retryable(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isReset(err)
}

func isReset(err error) bool {
	s := err.Error()
	return bytes.Contains([]byte(s), []byte("connection reset")) || bytes.Contains([]byte(s), []byte("broken pipe")) ||
		bytes.Contains([]byte(s), []byte("connection refused"))
}

// RateLimited reads GitHub's and Jira's rate-limit answers: 429 or 403
// with Retry-After (seconds), or a 403/429 with x-ratelimit-remaining: 0
// until x-ratelimit-reset (epoch seconds). A 403 without either is a
// permission error, not a limit. A secondary limit without Retry-After
// waits a minute, as GitHub asks.
func RateLimited(resp *http.Response, now time.Time) (time.Time, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden &&
		resp.StatusCode != http.StatusServiceUnavailable {
		return time.Time{}, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return now.Add(time.Duration(n) * time.Second), true
		}
		if t, err := http.ParseTime(s); err == nil {
			return t, true
		}
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return time.Time{}, false
	}
	if resp.Header.Get("X-Ratelimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(resp.Header.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			return time.Unix(n, 0), true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return now.Add(time.Minute), true
	}
	return time.Time{}, false
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// PaceWrites serialises requests that change something, at least every
// apart: GitHub's secondary limits punish bursts of content creation.
func PaceWrites(next http.RoundTripper, every time.Duration) http.RoundTripper {
	var mu sync.Mutex
	var last time.Time
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || every <= 0 {
			return next.RoundTrip(r)
		}
		mu.Lock()
		defer mu.Unlock()
		if wait := every - time.Since(last); wait > 0 && !sleep(r.Context(), wait) {
			return nil, r.Context().Err()
		}
		defer func() { last = time.Now() }()
		return next.RoundTrip(r)
	})
}

// Counter counts requests by whether they cost (non-304) and their
// status; metrics and tests read it.
type Counter struct {
	mu      sync.Mutex
	Sent    int
	Counted int // answered by something other than 304
	Cached  int
	Observe func(method, status string, cached bool)
}

// Count wraps next and counts what goes through it.
func (c *Counter) Count(next http.RoundTripper) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		c.mu.Lock()
		c.Sent++
		status := "error"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
			if resp.StatusCode == http.StatusNotModified {
				c.Cached++
			} else {
				c.Counted++
			}
		}
		obs := c.Observe
		c.mu.Unlock()
		if obs != nil {
			obs(r.Method, status, err == nil && resp.StatusCode == http.StatusNotModified)
		}
		return resp, err
	})
}

// Snapshot returns the counts so far.
func (c *Counter) Snapshot() (sent, counted, cached int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Sent, c.Counted, c.Cached
}
