package github

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// sandbox is the GitHub the connector's tests run against: the exported
// sandbox (the one the end-to-end tests use too) on a clock the test owns
// and shares with the connector.
type sandbox struct {
	*githubtest.Server
	*clock
}

// testToken is the only credential the sandbox accepts, unless a test
// says otherwise.
const testToken = "test-token"

// newSandbox starts a sandbox at 2026-03-02 10:00 UTC that accepts
// testToken.
func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s := apispec.GitHubSandbox(t, clk.Now)
	s.RequireAuth("Bearer " + testToken)
	return &sandbox{Server: s, clock: clk}
}

// clock is the tests' time: a wait the HTTP layers ask for is recorded
// and moves the clock on at once.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	sleep []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleep = append(c.sleep, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleep...)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// counts is what the sandbox answered since its counts were last reset;
// Counted are the answers GitHub charges to the quota (all but 304s).
type counts struct{ Total, NotModified, Counted int }

func (f *sandbox) counts() counts {
	total, notModified, _ := f.Counts()
	return counts{total, notModified, total - notModified}
}

// milestone adds a milestone described as "Milestone <title>".
func (f *sandbox) milestone(repo, title string, due time.Time) int {
	return f.AddMilestone(repo, githubtest.Milestone{Title: title, Description: "Milestone " + title, DueOn: due})
}

// issue adds an issue as if it had been made when it was created, and
// last touched when it was closed.
func (f *sandbox) issue(repo string, is githubtest.Issue) int {
	if is.CreatedAt.IsZero() {
		is.CreatedAt = f.Now()
	}
	is.UpdatedAt = is.CreatedAt
	if !is.ClosedAt.IsZero() {
		is.UpdatedAt = is.ClosedAt
	}
	return f.AddIssue(repo, is)
}

// closeIssue closes issue n now, for reason.
func (f *sandbox) closeIssue(repo string, n int, reason string) {
	f.UpdateIssue(repo, n, func(is *githubtest.Issue) { is.ClosedAt, is.StateReason = f.Now(), reason })
}

// recorded is a recorded GitHub answer as a fault to inject.
func recorded(t testing.TB, name string) githubtest.Fault {
	t.Helper()
	flt, err := githubtest.Recorded(name)
	if err != nil {
		t.Fatal(err)
	}
	return flt
}

// memValidators is an in-memory validator store.
type memValidators struct {
	mu sync.Mutex
	m  map[string]httpx.Validator
}

func newMemValidators() *memValidators { return &memValidators{m: map[string]httpx.Validator{}} }

func (s *memValidators) GetValidator(_ context.Context, key string) (httpx.Validator, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *memValidators) PutValidator(_ context.Context, key string, v httpx.Validator) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = v
	return nil
}
