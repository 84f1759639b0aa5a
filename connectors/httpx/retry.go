package httpx

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"
)

// RetryOptions tunes NewRetry.
type RetryOptions struct {
	Sleep Sleeper

	// Tests set these; zero takes retryAttempts, retryBase, retryMax and
	// math/rand/v2.
	attempts  int            // tries in all, first included
	base, max time.Duration  // backoff before the second try; longest single backoff
	jitter    func() float64 // a number in [0, 1)
}

const (
	retryAttempts = 4
	retryBase     = 500 * time.Millisecond
	retryMax      = 15 * time.Second
)

type retry struct {
	next http.RoundTripper
	o    RetryOptions
}

// NewRetry re-sends idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE)
// that failed in a way that may pass: a 500, 502, 503 or 504 answer, a
// timeout, a reset or refused connection, a connection closed mid-answer.
// A request is sent four times at most. The backoff doubles from 500ms up
// to 15s with "equal jitter" (half fixed, half random) so many clients do
// not retry in step; a Retry-After on a 5xx is honoured when it is no
// longer than 15s. Each wait ends with the request's context.
//
// Non-idempotent requests (POST, PATCH) are never retried: the server may
// have acted before the connection broke, and a second comment is worse
// than a retry one poll later, after reading what is there.
func NewRetry(next http.RoundTripper, o RetryOptions) http.RoundTripper {
	if o.attempts <= 0 {
		o.attempts = retryAttempts
	}
	if o.base <= 0 {
		o.base = retryBase
	}
	if o.max <= 0 {
		o.max = retryMax
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	if o.jitter == nil {
		o.jitter = rand.Float64
	}
	return &retry{next: next, o: o}
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

func (r *retry) RoundTrip(req *http.Request) (*http.Response, error) {
	if !idempotent(req.Method) || !resendable(req) {
		return r.next.RoundTrip(req)
	}
	ctx := req.Context()
	out := req
	for attempt := 1; ; attempt++ {
		resp, err := r.next.RoundTrip(out)
		if attempt >= r.o.attempts || !retryable(ctx, resp, err) {
			return resp, err
		}
		wait := r.backoff(attempt)
		if resp != nil {
			if ra, ok := RetryAfter(resp.Header, time.Now()); ok {
				if ra > r.o.max {
					return resp, nil // the server wants longer than a retry is worth
				}
				wait = max(wait, ra)
			}
			drain(resp.Body)
		}
		if serr := r.o.Sleep(ctx, wait); serr != nil {
			return nil, serr
		}
		if out, err = again(req); err != nil {
			return nil, err
		}
	}
}

// backoff is the wait after the attempt-th try: base·2^(attempt-1) capped at
// max, of which half is fixed and half random.
func (r *retry) backoff(attempt int) time.Duration {
	d := r.o.base
	for i := 1; i < attempt && d < r.o.max; i++ {
		d *= 2
	}
	d = min(d, r.o.max)
	return d/2 + time.Duration(r.o.jitter()*float64(d/2))
}

func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return transient(err)
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// transient reports whether a transport error is worth another try. The
// caller's own cancellation is not (retryable checks the context first, so
// a deadline seen here is a dial or header timeout of this attempt).
func transient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF)
}
