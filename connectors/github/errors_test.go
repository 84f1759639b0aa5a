package github

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

func TestErrorsAreTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("404 milestone is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		f := newFakeGitHub(t)
		f.addMilestone(repo, "v1", nil)
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
		f := newFakeGitHub(t)
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
		f := newFakeGitHub(t)
		f.addMilestone(repo, "v1", nil)
		c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.Token = "revoked" })
		_, err := c.List(ctx, repo)
		if !errors.Is(err, connectors.ErrTerminal) || !strings.Contains(err.Error(), "Bad credentials") {
			t.Errorf("error %v, want ErrTerminal with the API's message", err)
		}
	})

	t.Run("unconfigured repo is terminal", func(t *testing.T) {
		t.Parallel()
		f := newFakeGitHub(t)
		c := newTestClient(t, f, nil)
		if _, err := c.Observe(ctx, milestoneRef("other/repo", 1)); !errors.Is(err, connectors.ErrTerminal) {
			t.Errorf("error %v, want ErrTerminal", err)
		}
	})
}

// primaryLimited answers GitHub's documented primary-limit 403 (headers
// and body from testdata), with the reset moved to resetAt.
func primaryLimited(t *testing.T, w http.ResponseWriter, resetAt time.Time) {
	status, h, body := recordedResponse(t, "error-403-rate-limit-primary.docs.json")
	for k := range h {
		w.Header().Set(k, h.Get(k))
	}
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(resetAt.Unix(), 10))
	w.WriteHeader(status)
	w.Write(body)
}

func TestPrimaryRateLimit(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t)
	f.addMilestone(repo, "v1", nil)
	resetAt := f.Now().Add(40 * time.Minute)
	var limited atomic.Bool
	limited.Store(true)
	f.setOverride(func(w http.ResponseWriter, r *http.Request) bool {
		if !limited.Load() {
			return false
		}
		primaryLimited(t, w, resetAt)
		return true
	})
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
	limited.Store(false)
	f.advance(41 * time.Minute)
	if _, err := c.List(ctx, repo); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

func TestReserveWaitsForTheReset(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t)
	f.addMilestone(repo, "v1", nil)
	f.mu.Lock()
	f.remaining = reserve + 2 // the next answers say 101, 100: at the reserve
	f.reset = f.now.Add(30 * time.Second)
	f.mu.Unlock()
	c := newTestClient(t, f, nil)
	if _, err := c.List(context.Background(), repo); err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := f.waits(); len(got) != 1 || got[0] != 30*time.Second {
		t.Errorf("waits %v, want one of 30s until the reset", got)
	}
	if got := f.counts().Total; got != 4 {
		t.Errorf("%d requests, want the day's four first lists all sent", got)
	}
}

func TestSecondaryRateLimitIsWaitedOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limited  func(w http.ResponseWriter)
		wantWait time.Duration
	}{
		{"403 without Retry-After waits a minute", func(w http.ResponseWriter) {
			status, h, body := recordedResponse(t, "error-403-rate-limit-secondary.docs.json")
			w.Header().Set("Content-Type", h.Get("Content-Type"))
			w.WriteHeader(status)
			w.Write(body)
		}, time.Minute},
		{"429 with Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"message":"You have exceeded a secondary rate limit."}`))
		}, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGitHub(t)
			w := buildWorld(f)
			var posts atomic.Int32
			f.setOverride(func(rw http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodPost && posts.Add(1) == 1 {
					tt.limited(rw)
					return true
				}
				return false
			})
			c := newTestClient(t, f, nil)
			th := &connectors.Thread{ID: "acme/api#" + strconv.Itoa(w.tracking)}
			if _, err := c.Post(context.Background(), th, "Slipped.", "<!-- slipwatch:event id=e1 kind=slipped -->"); err != nil {
				t.Fatalf("Post: %v", err)
			}
			if got := f.waits(); len(got) != 1 || got[0] != tt.wantWait {
				t.Errorf("waits %v, want [%v]", got, tt.wantWait)
			}
			if posts.Load() != 2 {
				t.Errorf("%d POSTs, want the limited one and its resend", posts.Load())
			}
			if n := len(f.commentsOn(repo, w.tracking)); n != 6 {
				t.Errorf("%d comments on the thread, want 6 (5 + the one posted once)", n)
			}
		})
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t)
	f.addMilestone(repo, "v1", nil)
	var fails atomic.Int32
	f.setOverride(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/milestones") && fails.Add(1) <= 2 {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(`{"message":"Server Error"}`))
			return true
		}
		return false
	})
	c := newTestClient(t, f, nil)
	refs, err := c.List(context.Background(), repo)
	if err != nil || len(refs) != 1 {
		t.Fatalf("List: %v %v", refs, err)
	}
	if n := f.endpointCounts()["GET /repos/{owner}/{repo}/milestones"]; n != 3 {
		t.Errorf("%d milestone-list requests, want 3 (two 502s, then the answer)", n)
	}
	if got := len(f.waits()); got != 2 {
		t.Errorf("%d backoffs, want 2", got)
	}
}

func TestWritesAreNotRetriedOn5xx(t *testing.T) {
	t.Parallel()
	f := newFakeGitHub(t)
	w := buildWorld(f)
	f.setOverride(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			rw.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	c := newTestClient(t, f, nil)
	_, err := c.Post(context.Background(), &connectors.Thread{ID: "acme/api#" + strconv.Itoa(w.tracking)}, "x", "")
	if err == nil || errors.Is(err, connectors.ErrTerminal) {
		t.Errorf("error %v, want a retryable (non-terminal) error", err)
	}
	if n := f.endpointCounts()["POST /repos/{owner}/{repo}/issues/{number}/comments"]; n != 1 {
		t.Errorf("%d POSTs, want 1: a write that may have happened is not repeated", n)
	}
}
