package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// TestTrackerFaults makes the sandbox GitHub misbehave in each way a real
// one does, runs scripted events through each fault, and expects the
// daemon to keep running and converge to exactly the expected comments.
func TestTrackerFaults(t *testing.T) {
	t.Parallel()
	// reclaim_idle 3s: the work deadline is 3 s and a claim lasts 6 s.
	w := newWorld(t, options{reclaim: "3s"})
	d := w.start("daemon")
	s := newScript(t, w, crashSeed(t)+2, d)
	for range 4 {
		s.step(false)
	}
	const comments = "/repos/" + repoName + "/issues/" // POST …/issues/N/comments, PATCH …/issues/comments/N
	faults := []struct {
		name string
		f    githubtest.Fault
	}{
		{"5xx burst on every request", githubtest.Fault{Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`, Times: 8}},
		{"500 answering a new comment (not created)", githubtest.Fault{Method: http.MethodPost, PathPrefix: comments, Status: http.StatusInternalServerError, Body: `{"message":"Server Error"}`, Times: 2}},
		{"429 with Retry-After", githubtest.Fault{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}, Body: `{"message":"Too Many Requests"}`, Times: 3}},
		{"secondary rate limit with Retry-After", githubtest.Fault{Status: http.StatusForbidden, Header: map[string]string{"Retry-After": "2"},
			Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`, Times: 2}},
		{"reads slower than the work deadline", githubtest.Fault{Method: http.MethodGet, Delay: 4 * time.Second, Times: 2}},
		{"comment created after the client gave up", githubtest.Fault{Method: http.MethodPost, PathPrefix: comments, Delay: 4 * time.Second, Times: 1}},
		{"TCP reset mid-body on reads", githubtest.Fault{Method: http.MethodGet, Reset: true, Times: 3}},
		{"TCP reset mid-body after a comment was created", githubtest.Fault{Method: http.MethodPost, PathPrefix: comments, Reset: true, Times: 1}},
		{"truncated JSON", githubtest.Fault{Method: http.MethodGet, PathPrefix: "/repos/" + repoName + "/milestones", Status: http.StatusOK, Body: `[{"number":1,"title":"v1`, Times: 3}},
	}
	for _, tt := range faults {
		w.gh.Inject(tt.f)
		before := len(s.sent)
		for i := 0; i < 3 || (w.gh.PendingFaults() > 0 && i < 12); i++ {
			s.step(false)
		}
		if n := w.gh.PendingFaults(); n > 0 {
			t.Fatalf("%s: the fault was never hit", tt.name)
		}
		if !d.alive() {
			t.Fatalf("%s: the daemon exited", tt.name)
		}
		t.Logf("%s: %d steps converged", tt.name, len(s.sent)-before)
	}
	f := w.tally(s.exp)
	t.Logf("tracker faults: %v %v", s.steps, f)
	if !f.ok() {
		t.Fatalf("tracker faults: %v", f)
	}
	if d.get("/healthz") != http.StatusOK || d.get("/readyz") != http.StatusOK {
		t.Error("not healthy and ready after the faults")
	}
}
