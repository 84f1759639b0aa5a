package httpx

import (
	"net/http"
	"strconv"
	"time"
)

// Observation is one request that reached the wire.
type Observation struct {
	Method string
	// Endpoint is the request's path as a template ("/repos/{owner}/{repo}/
	// milestones"), from the Endpoint function given to NewMetrics, so a
	// metric labelled with it has a bounded number of series.
	Endpoint string
	Status   int // 0 when no answer came
	// NotModified is true for a 304: the conditional request succeeded and
	// (on GitHub) cost no quota.
	NotModified bool
	// Remaining is X-RateLimit-Remaining, or -1 when the answer had none.
	Remaining int
	Duration  time.Duration
	Err       error
}

// NewMetrics calls observe once for every request that goes through it,
// after the answer (or the error) came back. endpoint nil labels every
// request "other". observe must be quick and safe for concurrent use.
func NewMetrics(next http.RoundTripper, endpoint func(*http.Request) string, observe func(Observation)) http.RoundTripper {
	if endpoint == nil {
		endpoint = func(*http.Request) string { return "other" }
	}
	return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(req)
		o := Observation{Method: req.Method, Endpoint: endpoint(req), Remaining: -1, Duration: time.Since(start), Err: err}
		if resp != nil {
			o.Status = resp.StatusCode
			o.NotModified = resp.StatusCode == http.StatusNotModified
			if n, err := strconv.Atoi(resp.Header.Get(headerRemaining)); err == nil {
				o.Remaining = n
			}
		}
		observe(o)
		return resp, err
	})
}
