package jira

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// Jira's error bodies must reach the error a person reads, and the error's
// class must tell the runner whether to retry, wait or give up.
func TestErrors(t *testing.T) {
	const versionPath = "GET /rest/api/2/version/10010"
	jsonErr := func(status int, file string) cannedResponse { return cannedResponse{status: status, body: "@" + file} }
	fiveHundred := cannedResponse{status: 500, body: `{"errorMessages":["Internal server error"],"errors":{}}`}
	tests := []struct {
		name      string
		canned    []cannedResponse
		wantOK    bool
		wantText  string
		wantClass error // connectors.ErrNotFound, ErrTerminal or nil
		wantRetry time.Duration
		wantWaits []time.Duration
		wantHits  int
	}{
		{name: "404 with errorMessages", canned: []cannedResponse{jsonErr(404, "error-404.cloud.json")},
			wantText: "404 Not Found: Issue does not exist or you do not have permission to see it.", wantClass: connectors.ErrNotFound, wantHits: 1},
		{name: "400 with field errors", canned: []cannedResponse{jsonErr(400, "error-400-field-errors.cloud.json")},
			wantText: "title: 'title' is required.", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "400 with a message", canned: []cannedResponse{jsonErr(400, "error-400-message.cloud.json")},
			wantText: "Field 'priority' is required", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "401 in plain text", canned: []cannedResponse{{status: 401, body: "@../rest/error-401.cloud.txt", header: map[string]string{"Content-Type": "text/plain"}}},
			wantText: "Client must be authenticated to access this resource.", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "403 without a rate limit", canned: []cannedResponse{jsonErr(403, "error-403.json")},
			wantText: "You do not have permission to edit this comment.", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "429 with a long Retry-After", canned: []cannedResponse{{status: 429, header: map[string]string{"Retry-After": "3600"}, body: `{"errorMessages":["Rate limit exceeded."]}`}},
			wantText: "Rate limit exceeded.", wantRetry: time.Hour, wantHits: 1},
		{name: "429 with a short Retry-After is waited out", canned: []cannedResponse{{status: 429, header: map[string]string{"Retry-After": "5"}, body: `{}`}},
			wantOK: true, wantWaits: []time.Duration{5 * time.Second}, wantHits: 2},
		{name: "503 with a long Retry-After", canned: []cannedResponse{{status: 503, header: map[string]string{"Retry-After": "120"}, body: `{"errorMessages":["Jira is in maintenance."]}`}},
			wantText: "Jira is in maintenance.", wantRetry: 2 * time.Minute, wantHits: 1},
		{name: "a 500 is retried", canned: []cannedResponse{fiveHundred}, wantOK: true, wantHits: 2},
		{name: "500 until the transport gives up", canned: []cannedResponse{fiveHundred, fiveHundred, fiveHundred, fiveHundred},
			wantText: "500 Internal Server Error: Internal server error", wantHits: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, true)
			f.versions["PLAT"] = "project-versions.cloud.json"
			f.setJQL(`project = "PLAT" AND (fixVersion = 10010)`)
			f.setJQL(`project = "PLAT" AND (resolved >= "2026-01-27")`)
			for i := range tt.canned {
				if strings.HasPrefix(tt.canned[i].body, "@../rest/") {
					tt.canned[i].body = "@" + strings.TrimPrefix(tt.canned[i].body, "@../rest/")
				}
			}
			f.queue(versionPath, tt.canned...)
			c, s := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.Deployment = config.JiraCloud })
			_, err := c.Observe(context.Background(), connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"})
			if n := f.hit(versionPath); n != tt.wantHits {
				t.Errorf("requests = %d, want %d", n, tt.wantHits)
			}
			if tt.wantWaits != nil && !slices.Equal(s.all(), tt.wantWaits) {
				t.Errorf("waits = %v, want %v", s.all(), tt.wantWaits)
			}
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Observe: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Observe succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			for _, class := range []error{connectors.ErrNotFound, connectors.ErrTerminal} {
				if got, want := errors.Is(err, class), class == tt.wantClass; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, class, got, want)
				}
			}
			var rl *connectors.RateLimitError
			if got := errors.As(err, &rl); got != (tt.wantRetry > 0) {
				t.Fatalf("RateLimitError = %v, want %v (%v)", got, tt.wantRetry > 0, err)
			}
			if rl != nil && !rl.Retry.Equal(testNow.Add(tt.wantRetry)) {
				t.Errorf("retry at %v, want %v", rl.Retry, testNow.Add(tt.wantRetry))
			}
		})
	}
}

// A comment is a POST: a 503 is not re-sent (Jira may have written it), and
// the runner retries after reading the thread again.
func TestPostIsNotResent(t *testing.T) {
	f := newFakeJira(t, true)
	f.addIssue("PLAT-3", map[string]any{})
	f.queue("POST /rest/api/2/issue/PLAT-3/comment", cannedResponse{status: 503, body: `{"errorMessages":["Service unavailable"]}`})
	c, _ := newTestClient(t, f, nil)
	_, err := c.Post(context.Background(), &connectors.Thread{ID: "PLAT-3"}, "x", "<!-- m -->")
	if err == nil || errors.Is(err, connectors.ErrTerminal) || !strings.Contains(err.Error(), "Service unavailable") {
		t.Errorf("Post = %v, want a retryable error with Jira's message", err)
	}
	if n := f.hit("POST /rest/api/2/issue/PLAT-3/comment"); n != 1 {
		t.Errorf("POST sent %d times, want 1", n)
	}
}
