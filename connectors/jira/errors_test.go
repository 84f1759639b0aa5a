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
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// Jira's error bodies must reach the error a person reads, and the error's
// class must tell the runner whether to retry, wait or give up.
func TestErrors(t *testing.T) {
	const versionPath = "GET /rest/api/2/project/PLAT/versions"
	jsonErr := func(status int, file string) jiratest.Response {
		return jiratest.Response{Status: status, Body: "@" + file}
	}
	fiveHundred := jiratest.Response{Status: 500, Body: `{"errorMessages":["Internal server error"],"errors":{}}`}
	tests := []struct {
		name      string
		canned    []jiratest.Response
		wantOK    bool
		wantText  string
		wantClass error // connectors.ErrNotFound, ErrTerminal or nil
		wantRetry time.Duration
		wantWaits []time.Duration
		wantHits  int
	}{
		{name: "404 with errorMessages", canned: []jiratest.Response{jsonErr(404, "error-404.cloud.json")},
			wantText: "404 Not Found: Issue does not exist or you do not have permission to see it.", wantClass: connectors.ErrNotFound, wantHits: 1},
		{name: "400 with field errors", canned: []jiratest.Response{jsonErr(400, "error-400-field-errors.cloud.json")},
			wantText: "title: 'title' is required.", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "400 with a message", canned: []jiratest.Response{jsonErr(400, "error-400-message.cloud.json")},
			wantText: "Field 'priority' is required", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "401 in plain text", canned: []jiratest.Response{{Status: 401, Body: "@error-401.cloud.txt", Header: map[string]string{"Content-Type": "text/plain"}}},
			wantText: "Client must be authenticated to access this resource.", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "403 without a rate limit", canned: []jiratest.Response{jsonErr(403, "error-403.json")},
			wantText: "You do not have permission to edit this comment.", wantClass: connectors.ErrTerminal, wantHits: 1},
		{name: "429 with a long Retry-After", canned: []jiratest.Response{{Status: 429, Header: map[string]string{"Retry-After": "3600"}, Body: `{"errorMessages":["Rate limit exceeded."]}`}},
			wantText: "Rate limit exceeded.", wantRetry: time.Hour, wantHits: 1},
		{name: "429 with a short Retry-After is waited out", canned: []jiratest.Response{{Status: 429, Header: map[string]string{"Retry-After": "5"}, Body: `{}`}},
			wantOK: true, wantWaits: []time.Duration{5 * time.Second}, wantHits: 2},
		{name: "503 with a long Retry-After", canned: []jiratest.Response{{Status: 503, Header: map[string]string{"Retry-After": "120"}, Body: `{"errorMessages":["Jira is in maintenance."]}`}},
			wantText: "Jira is in maintenance.", wantRetry: 2 * time.Minute, wantHits: 1},
		{name: "a 500 is retried", canned: []jiratest.Response{fiveHundred}, wantOK: true, wantHits: 2},
		{name: "500 until the transport gives up", canned: []jiratest.Response{fiveHundred, fiveHundred, fiveHundred, fiveHundred},
			wantText: "500 Internal Server Error: Internal server error", wantHits: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, true)
			f.SetVersionsFile("PLAT", "project-versions.cloud.json")
			f.Queue(versionPath, tt.canned...)
			c, s := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.Deployment = config.JiraCloud })
			_, err := c.Observe(context.Background(), connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"})
			if n := f.Hits(versionPath); n != tt.wantHits {
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
	f.AddIssue("PLAT-3", map[string]any{})
	f.Queue("POST /rest/api/2/issue/PLAT-3/comment", jiratest.Response{Status: 503, Body: `{"errorMessages":["Service unavailable"]}`})
	c, _ := newTestClient(t, f, nil)
	_, err := c.Post(context.Background(), &connectors.Thread{ID: "PLAT-3"}, "x", "<!-- m -->")
	if err == nil || errors.Is(err, connectors.ErrTerminal) || !strings.Contains(err.Error(), "Service unavailable") {
		t.Errorf("Post = %v, want a retryable error with Jira's message", err)
	}
	if n := f.Hits("POST /rest/api/2/issue/PLAT-3/comment"); n != 1 {
		t.Errorf("POST sent %d times, want 1", n)
	}
}
