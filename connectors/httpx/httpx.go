// Package httpx is the HTTP plumbing the tracker connectors share: small
// http.RoundTripper layers that each do one job, New, which stacks them in
// the one order that makes them work together, and the webhook side
// (ReadWebhookBody, WebhookError). It is kept apart from package
// connectors so that the reconcile core, which shares connectors' types,
// never links the network stack.
//
// The layers, outermost first (the order New builds):
//
//	UserAgent   sets User-Agent on every request
//	Cache       conditional GETs: If-None-Match / If-Modified-Since from the
//	            stored validators; a 304 is replayed as the stored 200
//	Limits      waits out Retry-After and exhausted quotas when the wait is
//	            short, else returns *connectors.RateLimitError
//	Retry       jittered exponential backoff on 5xx, timeouts and
//	            connection resets, for idempotent requests only
//	Pace        serialises writes with a minimum interval between them
//	Metrics     reports every attempt that reaches the wire
//	base        the caller's transport, authentication included
//
// Why this order: the cache sits above everything so a replayed 304 looks
// like any 200 to the caller; rate limits sit above retries so a limited
// answer is never retried blindly; pacing sits below both so every re-sent
// write is paced too; metrics sit at the wire so they count what the tracker
// counts, 304s included and told apart.
//
// Nothing here knows a tracker. The rate-limit layer reads the de facto
// X-RateLimit-Remaining / X-RateLimit-Reset and Retry-After headers that
// GitHub and Jira both send; see Limits.
//
// Every wait in this package is bounded and ends when the request's context
// is cancelled, so a shutdown never waits for a rate limit to pass.
package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Options configures the stack New builds. The zero value of each part is
// usable; Validators nil turns the cache off and Pace nil turns pacing off.
type Options struct {
	UserAgent string

	Validators Validators // nil: no conditional requests
	Cache      CacheOptions

	Limits LimitOptions
	Pace   *PaceOptions // nil: writes are not paced

	// Endpoint and Observe feed the metrics layer; Observe nil turns it off.
	Endpoint func(*http.Request) string
	Observe  func(Observation)

	// Now and Sleep, when set, are used by every layer whose own options
	// leave them unset (tests run on a fake clock).
	Now    func() time.Time
	Sleep  Sleeper
	Logger *slog.Logger
}

// New stacks the layers over base (nil: http.DefaultTransport) in the order
// the package documentation gives.
func New(base http.RoundTripper, o Options) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	rt := base
	if o.Observe != nil {
		rt = NewMetrics(rt, o.Endpoint, o.Observe)
	}
	if o.Pace != nil {
		p := *o.Pace
		p.Now = orNow(p.Now, o.Now)
		p.Sleep = orSleep(p.Sleep, o.Sleep)
		rt = NewPace(rt, p)
	}
	rt = NewRetry(rt, RetryOptions{Sleep: o.Sleep})
	l := o.Limits
	l.Now = orNow(l.Now, o.Now)
	l.Sleep = orSleep(l.Sleep, o.Sleep)
	if l.Logger == nil {
		l.Logger = o.Logger
	}
	rt = NewLimits(rt, l)
	if o.Validators != nil {
		c := o.Cache
		if c.Logger == nil {
			c.Logger = o.Logger
		}
		rt = NewCache(rt, o.Validators, c)
	}
	if o.UserAgent != "" {
		rt = NewUserAgent(rt, o.UserAgent)
	}
	return rt
}

// RoundTripperFunc lets a function be an http.RoundTripper.
type RoundTripperFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f(req).
func (f RoundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// Sleeper waits for d or until ctx is done, whichever comes first, and
// returns ctx.Err() in the second case. Tests pass one that records the
// wait and returns at once.
type Sleeper func(ctx context.Context, d time.Duration) error

// Sleep is the real Sleeper.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewUserAgent sets the User-Agent header of every request to ua.
func NewUserAgent(next http.RoundTripper, ua string) http.RoundTripper {
	return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", ua)
		return next.RoundTrip(req)
	})
}

func orNow(f, g func() time.Time) func() time.Time {
	switch {
	case f != nil:
		return f
	case g != nil:
		return g
	}
	return time.Now
}

func orSleep(f, g Sleeper) Sleeper {
	switch {
	case f != nil:
		return f
	case g != nil:
		return g
	}
	return Sleep
}

func orLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// resendable reports whether req can be sent again: it has no body, or one
// that GetBody can produce afresh.
func resendable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// again returns a copy of req with a fresh body, for sending it once more.
func again(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	return r, nil
}

// DefaultTransport is the base transport a connector uses when it is given
// none: http.DefaultTransport's settings (proxy from the environment,
// dial and TLS timeouts) plus a bound on waiting for a tracker's headers,
// so a stalled tracker cannot hold a worker forever.
func DefaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}
