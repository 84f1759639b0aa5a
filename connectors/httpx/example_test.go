package httpx_test

import (
	"net/http"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// A connector builds its client from the stack: auth goes in the base
// transport, the cache is told whose credential it is, and writes are paced.
func ExampleNew() {
	var store httpx.Validators // the Redis store in the daemon
	auth := http.DefaultTransport
	client := &http.Client{Transport: httpx.New(auth, httpx.Options{
		UserAgent:  "slipwatch/1.0.0",
		Validators: store,
		Cache: httpx.CacheOptions{
			// Not the token: a stable name for the credential, hashed into keys.
			Identity: func(*http.Request) string { return "jira:basic:jane@example.com" },
		},
		Limits: httpx.LimitOptions{Reserve: 50}, // leave 50 requests to people sharing the token
		Pace:   &httpx.PaceOptions{Interval: time.Second},
		Endpoint: func(r *http.Request) string {
			// Keep metric labels bounded: templates, not raw paths.
			if strings.HasPrefix(r.URL.Path, "/rest/api/3/issue/") {
				return "/rest/api/3/issue/{key}"
			}
			return "other"
		},
		Observe: func(o httpx.Observation) { /* count o.Endpoint, o.Status, o.NotModified */ },
	})}
	_ = client
}
