package github

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// connector is the method set the runner needs.
type connector interface {
	Tracker() connectors.Tracker
	Teams() []string
	List(ctx context.Context, team string) ([]connectors.Ref, error)
	Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error)
	EnsureThread(ctx context.Context, d connectors.Deliverable) (*connectors.Thread, error)
	Post(ctx context.Context, th *connectors.Thread, body, marker string) (connectors.Comment, error)
	Edit(ctx context.Context, th *connectors.Thread, commentID, body, marker string) (connectors.Comment, error)
	Self(ctx context.Context) (string, error)
	ParseWebhook(r *http.Request) (connectors.WebhookEvent, error)
}

var _ connector = (*Client)(nil)

// memCache is an in-memory validator store (the real one is Redis).
type memCache struct {
	mu sync.Mutex
	m  map[string]connectors.Validator
}

func (c *memCache) GetValidator(_ context.Context, url string) (connectors.Validator, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[url]
	return v, ok, nil
}

func (c *memCache) PutValidator(_ context.Context, url string, v connectors.Validator) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[url] = v
	return nil
}

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*githubtest.Server, *Client, *httpx.Counter) {
	t.Helper()
	s := githubtest.New(func() time.Time { return now })
	t.Cleanup(s.Close)
	cfg := &config.GitHub{BaseURL: s.URL, Token: "ghp_test_token", Repos: []string{"acme/api"}, TrackingLabel: "slipwatch",
		CreateTrackingIssue: true, WebhookSecret: "s3cret", PreviousWebhookSecret: "old"}
	counter := &httpx.Counter{}
	c, err := New(cfg, Options{Cache: &memCache{m: map[string]connectors.Validator{}}, Now: func() time.Time { return now },
		WindowDays: 14, WriteInterval: time.Millisecond, Counter: counter, Allow: []string{"jane"},
		Retry: httpx.RetryOptions{Base: time.Millisecond, Max: 5 * time.Millisecond, MaxWait: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, counter
}

func seed(s *githubtest.Server) int {
	due := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	ms := s.AddMilestone("acme/api", githubtest.Milestone{Title: "v2.0", Description: "Committed: 2026-12-01", DueOn: due})
	s.AddMilestone("acme/api", githubtest.Milestone{Title: "v1.9", State: "closed", ClosedAt: now.Add(-72 * time.Hour)})
	for i := range 150 { // two pages of 100
		is := githubtest.Issue{Title: "work", Milestone: ms, CreatedAt: now.Add(-30 * 24 * time.Hour)}
		if i%3 == 0 {
			is.ClosedAt = now.Add(-time.Duration(i%10) * 24 * time.Hour)
		}
		s.AddIssue("acme/api", is)
	}
	s.AddIssue("acme/api", githubtest.Issue{Title: "a PR", Milestone: ms, PR: true, CreatedAt: now, ClosedAt: now})
	return ms
}

func TestObserveAndWarmCycleCostsNothing(t *testing.T) {
	t.Parallel()
	s, c, counter := setup(t)
	ctx := context.Background()
	ms := seed(s)
	refs, err := c.List(ctx, "acme/api")
	if err != nil || len(refs) != 2 {
		t.Fatalf("List = %v, %v", refs, err)
	}
	ref := connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: "1"}
	snap, err := c.Observe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	d := snap.Deliverable
	if d.Title != "v2.0" || len(d.Items) != 150 || d.Description != "Committed: 2026-12-01" || d.Closed {
		t.Fatalf("deliverable = %q, %d items, %q", d.Title, len(d.Items), d.Description)
	}
	if due, _ := d.Due(time.UTC); due.String() != "2026-12-01" {
		t.Errorf("due = %s", due)
	}
	if snap.Thread != nil {
		t.Errorf("thread before any tracking issue: %+v", snap.Thread)
	}
	if got := snap.Throughput.Total(); got != 50 {
		t.Errorf("throughput total = %d, want 50 closed issues (the PR does not count)", got)
	}
	_ = ms
	// Warm cycle: nothing changed, every request is a 304.
	_, counted0, _ := counter.Snapshot()
	if _, err := c.List(ctx, "acme/api"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Observe(ctx, ref); err != nil {
		t.Fatal(err)
	}
	sent, counted, cached := counter.Snapshot()
	if counted != counted0 {
		t.Errorf("warm cycle made %d counted requests, want 0 (sent %d, 304s %d)", counted-counted0, sent, cached)
	}
	// A change costs only what changed.
	s.UpdateMilestone("acme/api", 1, func(m *githubtest.Milestone) { m.DueOn = m.DueOn.Add(14 * 24 * time.Hour) })
	snap, err = c.Observe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if due, _ := snap.Deliverable.Due(time.UTC); due.String() != "2026-12-15" {
		t.Errorf("after the change due = %s", due)
	}
}

func TestThreadCommentsAndPermissions(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t)
	ctx := context.Background()
	seed(s)
	ref := connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: "1"}
	snap, _ := c.Observe(ctx, ref)
	th, err := c.EnsureThread(ctx, snap.Deliverable)
	if err != nil || th == nil {
		t.Fatalf("EnsureThread = %+v, %v", th, err)
	}
	again, err := c.EnsureThread(ctx, snap.Deliverable)
	if err != nil || again.ID != th.ID {
		t.Fatalf("second EnsureThread made another thread: %+v vs %+v", again, th)
	}
	n := 0
	for _, is := range s.Issues("acme/api") {
		if strings.HasPrefix(is.Title, "Delivery tracking:") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d tracking issues, want 1", n)
	}
	posted, err := c.Post(ctx, th, "**Slipped**", "<!-- slipwatch:event id=ab kind=slipped -->")
	if err != nil {
		t.Fatal(err)
	}
	_, _, num, err := threadNumber(th)
	if err != nil {
		t.Fatal(err)
	}
	s.SetPermission("acme/api", "writer", "write")
	s.SetPermission("acme/api", "reader", "read")
	s.AddComment("acme/api", num, "writer", "/commit 2026-12-20 scope")
	s.AddComment("acme/api", num, "reader", "/commit 2026-12-20")
	s.AddComment("acme/api", num, "stranger", "/commit 2026-12-20")
	s.AddComment("acme/api", num, "jane", "/commit 2026-12-20")
	s.AddComment("acme/api", num, "mallory", "<!-- slipwatch:event id=cd kind=slipped -->")
	if _, err := c.Edit(ctx, th, posted.ID, "**Slipped!**", "<!-- slipwatch:event id=ab kind=slipped -->"); err != nil {
		t.Fatal(err)
	}
	snap, err = c.Observe(ctx, ref)
	if err != nil || snap.Thread == nil {
		t.Fatalf("Observe: %+v %v", snap.Thread, err)
	}
	if len(snap.Deliverable.Items) != 150 {
		t.Errorf("items = %d: the tracking issue must not count", len(snap.Deliverable.Items))
	}
	got := map[string][2]bool{}
	for _, cm := range snap.Thread.Comments {
		got[cm.Author] = [2]bool{cm.BySelf, cm.AuthorCanCommit}
		if cm.BySelf && !strings.Contains(cm.Hidden, "slipwatch:event id=ab") {
			t.Errorf("own comment without its marker: %q", cm.Hidden)
		}
		if !cm.BySelf && cm.Hidden != "" {
			t.Errorf("a user's comment %q exposes markers", cm.Author)
		}
	}
	want := map[string][2]bool{"slipwatch-bot": {true, false}, "writer": {false, true}, "reader": {false, false},
		"stranger": {false, false}, "jane": {false, true}, "mallory": {false, false}}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: (bySelf, canCommit) = %v, want %v", k, got[k], v)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s, c, _ := setup(t)
	ctx := context.Background()
	seed(s)
	_, err := c.Observe(ctx, connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: "99"})
	if !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("missing milestone: %v, want ErrNotFound", err)
	}
	body404, _ := os.ReadFile("testdata/error-422.json")
	s.Inject(githubtest.Fault{Method: http.MethodPost, Status: 422, Body: string(body404), Times: 1})
	th := &connectors.Thread{ID: "acme/api#1"}
	if _, err := c.Post(ctx, th, "x", "y"); !errors.Is(err, connectors.ErrTerminal) || !strings.Contains(err.Error(), "Validation Failed") {
		t.Errorf("422: %v, want ErrTerminal with GitHub's message", err)
	}
	// 5xx twice, then fine: retried inside the transport.
	s.Inject(githubtest.Fault{Method: http.MethodGet, PathPrefix: "/repos/acme/api/milestones", Status: 502, Times: 2})
	if _, err := c.List(ctx, "acme/api"); err != nil {
		t.Errorf("after two 502s: %v", err)
	}
	// Secondary limit with a short Retry-After: waited out, then fine.
	sec, _ := os.ReadFile("testdata/error-403-secondary.json")
	s.Inject(githubtest.Fault{Method: http.MethodGet, Status: 403, Header: map[string]string{"Retry-After": "1"}, Body: string(sec), Times: 1})
	start := time.Now()
	if _, err := c.List(ctx, "acme/api"); err != nil {
		t.Errorf("after a secondary limit: %v", err)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Error("the Retry-After was not honoured")
	}
	// Primary limit exhausted for an hour: a RateLimitError with the reset.
	prim, _ := os.ReadFile("testdata/error-403-primary.json")
	reset := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	s.Inject(githubtest.Fault{Method: http.MethodGet, Status: 403, Header: map[string]string{"X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset": reset}, Body: string(prim), Times: 1})
	_, err = c.List(ctx, "acme/api")
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) {
		t.Errorf("exhausted quota: %v, want *RateLimitError", err)
	}
	// A 403 without a limit is a permission problem: terminal.
	s.Inject(githubtest.Fault{Method: http.MethodGet, Status: 403, Body: `{"message":"Resource not accessible by integration"}`, Times: 1})
	if _, err := c.List(ctx, "acme/api"); !errors.Is(err, connectors.ErrTerminal) {
		t.Errorf("forbidden: %v, want ErrTerminal", err)
	}
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	_, c, _ := setup(t)
	c.repos["codertocat/hello-world"] = "Codertocat/Hello-World"
	c.repos["hephaestustest/testrepository"] = "HephaestusTest/TestRepository"
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	msEdited := read("webhook.milestone.edited.json")
	comment := read("webhook.issue_comment.created.json")
	tests := []struct {
		name      string
		event     string
		body      []byte
		sig       string
		noHeaders bool
		status    int
		refs      []string
		teams     []string
	}{
		{name: "milestone edited", event: "milestone", body: msEdited, sig: sign("s3cret", msEdited), refs: []string{"github:HephaestusTest/TestRepository/milestone/3"}},
		{name: "rotated secret", event: "milestone", body: msEdited, sig: sign("old", msEdited), refs: []string{"github:HephaestusTest/TestRepository/milestone/3"}},
		{name: "comment on an issue in a milestone", event: "issue_comment", body: comment, sig: sign("s3cret", comment), refs: []string{"github:Codertocat/Hello-World/milestone/1"}},
		{name: "milestone created lists the repo", event: "milestone", body: read("webhook.milestone.created.json"), sig: sign("s3cret", read("webhook.milestone.created.json")), refs: []string{"github:Codertocat/Hello-World/milestone/1"}, teams: []string{"Codertocat/Hello-World"}},
		{name: "ping", event: "ping", body: read("webhook.ping.json"), sig: sign("s3cret", read("webhook.ping.json"))},
		{name: "unknown event is ignored", event: "star", body: []byte(`{}`), sig: sign("s3cret", []byte(`{}`))},
		{name: "wrong signature", event: "milestone", body: msEdited, sig: sign("nope", msEdited), status: 401},
		{name: "missing signature", event: "milestone", body: msEdited, status: 401},
		{name: "missing headers", body: msEdited, sig: sign("s3cret", msEdited), noHeaders: true, status: 400},
		{name: "malformed JSON", event: "milestone", body: []byte(`{"action":`), sig: sign("s3cret", []byte(`{"action":`)), status: 400},
		{name: "oversized", event: "milestone", body: bytes.Repeat([]byte("x"), MaxWebhookBody+1), sig: "sha256=00", status: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			if !tt.noHeaders {
				r.Header.Set("X-GitHub-Event", tt.event)
				r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
			}
			if tt.sig != "" {
				r.Header.Set("X-Hub-Signature-256", tt.sig)
			}
			ev, err := c.ParseWebhook(r)
			var werr *connectors.WebhookError
			if tt.status != 0 {
				if !errors.As(err, &werr) || werr.Status != tt.status {
					t.Fatalf("err = %v, want status %d", err, tt.status)
				}
				if strings.Contains(werr.Reason, "s3cret") {
					t.Error("the reason leaks the secret")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, r := range ev.Refs {
				refs = append(refs, r.Key())
			}
			if strings.Join(refs, ",") != strings.Join(tt.refs, ",") || strings.Join(ev.Teams, ",") != strings.Join(tt.teams, ",") {
				t.Errorf("refs %v teams %v, want %v %v", refs, ev.Teams, tt.refs, tt.teams)
			}
			if ev.Delivery != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
				t.Errorf("delivery = %q", ev.Delivery)
			}
		})
	}
}
