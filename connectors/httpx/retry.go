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
	Attempts int           // tries in all, first included; default 4
	Base     time.Duration // backoff before the second try; default 500ms
	Max      time.Duration // longest single backoff; default 15s
	Sleep    Sleeper
	// Jitter returns a number in [0, 1); default math/rand/v2.
	Jitter func() float64
}

type retry struct {
	next http.RoundTripper
	o    RetryOptions
}

// NewRetry re-sends idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE)
// that failed in a way that may pass: a 500, 502, 503 or 504 answer, a
// timeout, a reset or refused connection, a connection closed mid-answer.
// The backoff doubles from Base up to Max with "equal jitter" (half fixed,
// half random) so many clients do not retry in step; a Retry-After on a 5xx
// is honoured when it is no longer than Max. Each wait ends with the
// request's context.
//
// Non-idempotent requests (POST, PATCH) are never retried: the server may
// have acted before the connection broke, and a second comment is worse
// than a retry one poll later, after reading what is there.
func NewRetry(next http.RoundTripper, o RetryOptions) http.RoundTripper {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Base <= 0 {
		o.Base = 500 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 15 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
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
		if attempt >= r.o.Attempts || !retryable(ctx, resp, err) {
			return resp, err
		}
		wait := r.backoff(attempt)
		if resp != nil {
			if ra, ok := retryAfter(resp.Header, time.Now()); ok {
				if ra > r.o.Max {
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

// backoff is the wait after the attempt-th try: Base·2^(attempt-1) capped at
// Max, of which half is fixed and half random.
func (r *retry) backoff(attempt int) time.Duration {
	d := r.o.Base
	for i := 1; i < attempt && d < r.o.Max; i++ {
		d *= 2
	}
	d = min(d, r.o.Max)
	return d/2 + time.Duration(r.o.Jitter()*float64(d/2))
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
