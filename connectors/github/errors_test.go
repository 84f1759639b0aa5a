package github

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

func TestErrorsAreTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("404 milestone is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		f := newSandbox(t)
		f.milestone(repo, "v1", time.Time{})
		c := newTestClient(t, f, nil)
		_, err := c.Observe(ctx, milestoneRef(repo, 99))
		if !errors.Is(err, connectors.ErrNotFound) || errors.Is(err, connectors.ErrTerminal) {
			t.Fatalf("error %v, want ErrNotFound", err)
		}
		if !strings.Contains(err.Error(), "acme/api#99") || !strings.Contains(err.Error(), "Not Found") {
			t.Errorf("error %q should name the milestone and carry the API's message", err)
		}
	})

	t.Run("422 on a write is terminal", func(t *testing.T) {
		t.Parallel()
		f := newSandbox(t)
		w := buildWorld(f)
		c := newTestClient(t, f, nil)
		_, err := c.Post(ctx, &connectors.Thread{ID: "acme/api#" + strconv.Itoa(w.tracking)}, "", "")
		if !errors.Is(err, connectors.ErrTerminal) {
			t.Fatalf("error %v, want ErrTerminal", err)
		}
		if !strings.Contains(err.Error(), "Validation Failed") {
			t.Errorf("error %q lacks the API's message", err)
		}
	})

	t.Run("401 is terminal", func(t *testing.T) {
		t.Parallel()
		f := newSandbox(t)
		f.milestone(repo, "v1", time.Time{})
		c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.Token = "revoked" })
		_, err := c.List(ctx, repo)
		if !errors.Is(err, connectors.ErrTerminal) || !strings.Contains(err.Error(), "Bad credentials") {
			t.Errorf("error %v, want ErrTerminal with the API's message", err)
		}
	})

	t.Run("unconfigured repo is terminal", func(t *testing.T) {
		t.Parallel()
		f := newSandbox(t)
		c := newTestClient(t, f, nil)
		if _, err := c.Observe(ctx, milestoneRef("other/repo", 1)); !errors.Is(err, connectors.ErrTerminal) {
			t.Errorf("error %v, want ErrTerminal", err)
		}
	})
}

func TestPrimaryRateLimit(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.milestone(repo, "v1", time.Time{})
	// GitHub's documented primary-limit 403, with the reset moved to
	// resetAt.
	resetAt := f.Now().Add(40 * time.Minute)
	limited := recorded(t, "error-403-rate-limit-primary.docs.json")
	limited.Header[http.CanonicalHeaderKey("X-RateLimit-Reset")] = strconv.FormatInt(resetAt.Unix(), 10)
	f.Inject(limited)
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	_, err := c.List(ctx, repo)
	var rl *connectors.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("error %v, want *connectors.RateLimitError", err)
	}
	if want := resetAt.Add(time.Second); !rl.Retry.Equal(want) {
		t.Errorf("Retry %v, want the reset %v", rl.Retry, want)
	}
	if !strings.Contains(err.Error(), "API rate limit exceeded") {
		t.Errorf("error %q lacks the API's message", err)
	}
	// Until the reset nothing is sent.
	if _, err := c.List(ctx, repo); !errors.As(err, &rl) {
		t.Errorf("second List: %v, want *connectors.RateLimitError", err)
	}
	if got := f.counts().Total; got != 1 {
		t.Errorf("GitHub saw %d requests, want 1: a spent quota is not spent again", got)
	}
	// After the reset, work resumes.
	f.advance(41 * time.Minute)
	if _, err := c.List(ctx, repo); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

func TestReserveWaitsForTheReset(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.milestone(repo, "v1", time.Time{})
	f.SetRateLimit(reserve+2, f.Now().Add(30*time.Second)) // the next answers say 101, 100: at the reserve
	c := newTestClient(t, f, nil)
	if _, err := c.List(context.Background(), repo); err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := f.waits(); len(got) != 1 || got[0] != 30*time.Second {
		t.Errorf("waits %v, want one of 30s until the reset", got)
	}
	if got := f.counts().Total; got != 3 {
		t.Errorf("%d requests, want the cold start's three lists all sent", got)
	}
}

func TestSecondaryRateLimitIsWaitedOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limited  githubtest.Fault
		wantWait time.Duration
	}{
		{"403 without Retry-After waits a minute", recorded(t, "error-403-rate-limit-secondary.docs.json"), time.Minute},
		{"429 with Retry-After", githubtest.Fault{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "5"},
			Body: `{"message":"You have exceeded a secondary rate limit."}`}, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			w := buildWorld(f)
			tt.limited.Method = http.MethodPost
			f.Inject(tt.limited)
			c := newTestClient(t, f, nil)
			th := &connectors.Thread{ID: "acme/api#" + strconv.Itoa(w.tracking)}
			if _, err := c.Post(context.Background(), th, "Slipped.", "<!-- slipwatch:event id=e1 kind=slipped -->"); err != nil {
				t.Fatalf("Post: %v", err)
			}
			if got := f.waits(); len(got) != 1 || got[0] != tt.wantWait {
				t.Errorf("waits %v, want [%v]", got, tt.wantWait)
			}
			if n := f.Hits("POST /repos/acme/api/issues/" + strconv.Itoa(w.tracking) + "/comments"); n != 2 {
				t.Errorf("%d POSTs, want the limited one and its resend", n)
			}
			if n := len(f.Comments(repo, w.tracking)); n != 6 {
				t.Errorf("%d comments on the thread, want 6 (5 + the one posted once)", n)
			}
		})
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.milestone(repo, "v1", time.Time{})
	f.Inject(githubtest.Fault{Method: http.MethodGet, PathPrefix: "/repos/acme/api/milestones", Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`, Times: 2})
	c := newTestClient(t, f, nil)
	refs, err := c.List(context.Background(), repo)
	if err != nil || len(refs) != 1 {
		t.Fatalf("List: %v %v", refs, err)
	}
	if n := f.Hits("GET /repos/acme/api/milestones"); n != 3 {
		t.Errorf("%d milestone-list requests, want 3 (two 502s, then the answer)", n)
	}
	if got := len(f.waits()); got != 2 {
		t.Errorf("%d backoffs, want 2", got)
	}
}

func TestWritesAreNotRetriedOn5xx(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	f.Inject(githubtest.Fault{Method: http.MethodPost, Status: http.StatusBadGateway})
	c := newTestClient(t, f, nil)
	_, err := c.Post(context.Background(), &connectors.Thread{ID: "acme/api#" + strconv.Itoa(w.tracking)}, "x", "")
	if err == nil || errors.Is(err, connectors.ErrTerminal) {
		t.Errorf("error %v, want a retryable (non-terminal) error", err)
	}
	if n := f.Hits("POST /repos/acme/api/issues/" + strconv.Itoa(w.tracking) + "/comments"); n != 1 {
		t.Errorf("%d POSTs, want 1: a write that may have happened is not repeated", n)
	}
}
