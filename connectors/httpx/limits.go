package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// LimitOptions tunes NewLimits.
type LimitOptions struct {
	// Reserve: once a response says no more than this many requests remain,
	// further requests wait for the reset instead of spending the last ones
	// (a person using the same token keeps some). Default 0.
	Reserve int
	// Bucket names the quota a request draws from (GitHub: "core",
	// "search", …). nil: one quota for all requests.
	Bucket func(*http.Request) string
	Now    func() time.Time
	Sleep  Sleeper
	Logger *slog.Logger

	// Tests shorten these; zero takes defaultMaxWait and defaultBackoff.
	maxWait time.Duration
	backoff time.Duration
}

const (
	// defaultMaxWait is the longest the layer waits by itself. A longer
	// wait is returned as *connectors.RateLimitError for the caller to
	// schedule.
	defaultMaxWait = time.Minute
	// defaultBackoff is the wait after a limit answer that names no time
	// (GitHub's secondary limits may come without Retry-After; it asks for
	// at least a minute). It doubles on each consecutive limit answer, up
	// to maxBackoff.
	defaultBackoff = time.Minute
	maxBackoff     = 15 * time.Minute
	// limitAttempts is how many times one request is sent when limit
	// answers with short waits keep coming, the first included.
	limitAttempts = 3
)

// Rate-limit headers, spelled as GitHub and Jira send them (net/http
// canonicalises the case).
const (
	headerRemaining  = "X-RateLimit-Remaining"
	headerReset      = "X-RateLimit-Reset"
	headerRetryAfter = "Retry-After"
	// Jira Cloud's points-based quota (in beta since 2026) answers its 429s
	// with Beta-Retry-After, in seconds like Retry-After
	// (developer.atlassian.com/cloud/jira/platform/rate-limiting).
	headerBetaRetryAfter = "Beta-Retry-After"
)

type quota struct {
	known     bool
	remaining int
	reset     time.Time
	blocked   time.Time // no request before this (a limit answer was seen)
	strikes   int       // consecutive limit answers that named no time
}

type limits struct {
	next http.RoundTripper
	o    LimitOptions
	log  *slog.Logger

	mu      sync.Mutex
	buckets map[string]*quota
}

// NewLimits honours the server's rate limits.
//
// A limit answer is a 429, or a 403 that says so: X-RateLimit-Remaining: 0,
// a Retry-After, or "rate limit" in its body (GitHub's secondary limits).
// Its wait is Retry-After (seconds or an HTTP date), else the time until
// X-RateLimit-Reset when nothing remains (epoch seconds as GitHub sends, or
// an ISO 8601 instant as Jira does), else a backoff doubling per consecutive
// answer from a minute up to 15. Until the wait is over every request of
// that bucket holds back, and so does every request once the remaining
// quota is at the Reserve.
//
// Waits up to a minute happen here and the request is sent again, three
// times in all (any method: a limited request was not acted on). Longer
// waits, or a limit that keeps answering, return
// *connectors.RateLimitError with the instant to retry at and the server's
// message.
func NewLimits(next http.RoundTripper, o LimitOptions) http.RoundTripper {
	if o.maxWait <= 0 {
		o.maxWait = defaultMaxWait
	}
	if o.backoff <= 0 {
		o.backoff = defaultBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	return &limits{next: next, o: o, log: orLogger(o.Logger), buckets: map[string]*quota{}}
}

func (l *limits) bucket(name string) *quota {
	q := l.buckets[name]
	if q == nil {
		q = &quota{}
		l.buckets[name] = q
	}
	return q
}

// gate is how long a request of bucket name must wait now, and why.
func (l *limits) gate(name string, now time.Time) (time.Duration, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.bucket(name)
	var wait time.Duration
	why := ""
	if d := q.blocked.Sub(now); d > 0 {
		wait, why = d, "rate limited by the server"
	}
	if q.known && q.remaining <= l.o.Reserve {
		if d := q.reset.Sub(now); d > wait {
			wait, why = d, fmt.Sprintf("%d requests left (reserve %d) until the quota resets", q.remaining, l.o.Reserve)
		}
	}
	return wait, why
}

func (l *limits) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	name := ""
	if l.o.Bucket != nil {
		name = l.o.Bucket(req)
	}
	out := req
	for attempt := 1; ; attempt++ {
		now := l.o.Now()
		if wait, why := l.gate(name, now); wait > 0 {
			if wait > l.o.maxWait {
				return nil, &connectors.RateLimitError{
					Retry: now.Add(wait),
					Err:   fmt.Errorf("%s %s: %s", req.Method, redactURL(req), why),
				}
			}
			l.log.InfoContext(ctx, "waiting for the rate limit", "bucket", name, "wait", wait.String(), "reason", why)
			if err := l.o.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		resp, err := l.next.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		wait, msg, limited := l.observe(name, resp, l.o.Now())
		if !limited {
			return resp, nil
		}
		drain(resp.Body)
		if wait <= l.o.maxWait && attempt < limitAttempts && resendable(req) {
			if out, err = again(req); err != nil {
				return nil, err
			}
			continue
		}
		return nil, &connectors.RateLimitError{
			Retry: l.o.Now().Add(wait),
			Err:   fmt.Errorf("%s %s: %d %s: %s", req.Method, redactURL(req), resp.StatusCode, http.StatusText(resp.StatusCode), msg),
		}
	}
}

// observe records the quota resp reports and says whether resp is a limit
// answer, how long to wait before the next request, and the server's words.
func (l *limits) observe(name string, resp *http.Response, now time.Time) (time.Duration, string, bool) {
	remaining, hasRemaining := atoi(resp.Header.Get(headerRemaining))
	reset, hasReset := ParseReset(resp.Header.Get(headerReset))
	retry, hasRetry := RetryAfter(resp.Header, now)

	limited := false
	msg := ""
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		limited = true
		msg = message(Peek(resp))
	case http.StatusForbidden:
		body := Peek(resp)
		if (hasRemaining && remaining == 0) || hasRetry || bytes.Contains(bytes.ToLower(body), []byte("rate limit")) {
			limited = true
			msg = message(body)
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.bucket(name)
	if hasRemaining && hasReset {
		q.known, q.remaining, q.reset = true, remaining, reset
	}
	if !limited {
		q.strikes = 0
		return 0, "", false
	}
	var wait time.Duration
	switch {
	case hasRetry:
		wait = retry
	case hasRemaining && remaining == 0 && hasReset:
		wait = reset.Sub(now) + time.Second // reset is whole seconds; clocks differ a little
	default:
		wait = l.o.backoff
		for i := 0; i < q.strikes && wait < maxBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, maxBackoff)
		q.strikes++
	}
	wait = max(wait, time.Second)
	if until := now.Add(wait); until.After(q.blocked) {
		q.blocked = until
	}
	if msg == "" {
		msg = "rate limited"
	}
	return wait, msg, true
}

// Peek reads up to 64 KiB of resp's body and puts it back, so a
// transport can judge an answer by its body and still pass it on whole.
func Peek(resp *http.Response) []byte {
	if resp.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	return b
}

// message is the human part of an error body: GitHub's "message", Jira's
// "errorMessages", else the start of the text.
func message(body []byte) string {
	var e struct {
		Message       string   `json:"message"`
		ErrorMessages []string `json:"errorMessages"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Message != "" {
			return e.Message
		}
		if len(e.ErrorMessages) > 0 {
			return strings.Join(e.ErrorMessages, "; ")
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func atoi(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// ParseReset reads X-RateLimit-Reset: epoch seconds (GitHub) or an ISO 8601
// instant (Jira Cloud, to the minute: 2026-03-26T16:00Z).
func ParseReset(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// RetryAfter reads Retry-After, delay seconds or an HTTP date, else Jira
// Cloud's Beta-Retry-After.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	s := strings.TrimSpace(h.Get(headerRetryAfter))
	if s == "" {
		s = strings.TrimSpace(h.Get(headerBetaRetryAfter))
	}
	if s == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(s); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
