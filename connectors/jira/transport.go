package jira

import (
	"net/http"

	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// Everything the connector takes from connectors/httpx is wired here, in
// one place: conditional GETs keyed by the credential, Retry-After and
// rate-limit waits (long ones become *connectors.RateLimitError), jittered
// retries of idempotent requests (never a POST: a comment must not be
// written twice), paced writes, and the metrics hook.

// transport stacks the shared HTTP layers over auth.
func (c *Client) transport(auth http.RoundTripper, identity, ua string) http.RoundTripper {
	o := c.o
	return httpx.New(auth, httpx.Options{
		UserAgent:  ua,
		Validators: o.Validators,
		Cache:      httpx.CacheOptions{Identity: func(*http.Request) string { return identity }, Logger: c.log},
		Pace:       &httpx.PaceOptions{Interval: o.WriteInterval},
		Endpoint:   endpoint,
		Observe:    o.Observe,
		Now:        o.Now,
		Sleep:      o.sleep,
		Logger:     c.log,
	})
}

// userAgent is for the OAuth token endpoint, which gets no retries: a
// refresh spends the token it sends.
func userAgent(next http.RoundTripper, ua string) http.RoundTripper {
	return httpx.NewUserAgent(next, ua)
}
