package githubtest_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// TestLimitsAnswerAsGitHub: past a limit the sandbox answers 403 with
// GitHub's words, and it reports the peaks it saw.
func TestLimitsAnswerAsGitHub(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s := apispec.GitHubSandbox(t, clk.Now)
	s.AddRepo("acme/api")
	s.EnforceLimits(githubtest.Limits{Primary: true, PointsPerMinute: 10, ContentPerMinute: 2, ContentPerHour: 3})
	send := func(method, path string) (int, string) {
		t.Helper()
		var body io.Reader
		if method != http.MethodGet {
			body = strings.NewReader(`{"title":"x"}`)
		}
		req, _ := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	for i := range 10 {
		if code, _ := send(http.MethodGet, "/repos/acme/api/milestones"); code != http.StatusOK {
			t.Fatalf("GET %d: %d", i+1, code)
		}
	}
	if code, body := send(http.MethodGet, "/repos/acme/api/milestones"); code != http.StatusForbidden || !strings.Contains(body, "secondary rate limit") {
		t.Errorf("the 11th GET of a minute: %d %s, want GitHub's secondary limit", code, body)
	}
	if code, _ := send(http.MethodGet, "/repos/acme/api/issues"); code != http.StatusOK {
		t.Errorf("another endpoint: %d, want 200", code)
	}
	clk.add(time.Minute)
	if code, _ := send(http.MethodGet, "/repos/acme/api/milestones"); code != http.StatusOK {
		t.Errorf("a minute later: %d, want 200", code)
	}

	// Content: two a minute, three an hour.
	for i, want := range []int{http.StatusCreated, http.StatusCreated, http.StatusForbidden} {
		if code, _ := send(http.MethodPost, "/repos/acme/api/issues"); code != want {
			t.Errorf("write %d: %d, want %d", i+1, code, want)
		}
	}
	clk.add(time.Minute)
	for i, want := range []int{http.StatusCreated, http.StatusForbidden} {
		if code, _ := send(http.MethodPost, "/repos/acme/api/issues"); code != want {
			t.Errorf("write %d of the second minute: %d, want %d (three an hour)", i+1, code, want)
		}
	}

	// The primary quota: spent, then 403 until the reset.
	s.SetRateLimit(1, clk.Now().Add(10*time.Minute))
	if code, _ := send(http.MethodGet, "/repos/acme/api/issues"); code != http.StatusOK {
		t.Errorf("the last request of the quota: %d", code)
	}
	if code, body := send(http.MethodGet, "/repos/acme/api/issues"); code != http.StatusForbidden || !strings.Contains(body, "API rate limit exceeded") {
		t.Errorf("past the quota: %d %s", code, body)
	}
	clk.add(10 * time.Minute)
	if code, _ := send(http.MethodGet, "/repos/acme/api/issues"); code != http.StatusOK {
		t.Errorf("after the reset: %d", code)
	}

	st := s.LimitStats()
	if st.PrimaryAnswers != 1 || st.SecondaryAnswers != 3 || st.MaxEndpointPoints != 10 || st.MaxContentMinute != 2 || st.MaxContentHour != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestLimitsConcurrency(t *testing.T) {
	t.Parallel()
	s := apispec.GitHubSandbox(t, nil)
	s.AddRepo("acme/api")
	s.EnforceLimits(githubtest.Limits{Concurrency: 2})
	s.Inject(githubtest.Fault{PathPrefix: "/repos/acme/api/milestones", Delay: 300 * time.Millisecond, Times: 3})
	var wg sync.WaitGroup
	codes := make(chan int, 3)
	for i := range 3 {
		if i == 2 {
			// The third once the first two are in flight.
			deadline := time.Now().Add(5 * time.Second)
			for s.LimitStats().MaxConcurrent < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		wg.Go(func() {
			resp, err := http.Get(strings.TrimSuffix(s.URL, "/") + "/repos/acme/api/milestones")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	forbidden := 0
	for c := range codes {
		if c == http.StatusForbidden {
			forbidden++
		}
	}
	if st := s.LimitStats(); forbidden != 1 || st.MaxConcurrent != 3 || st.SecondaryAnswers != 1 {
		t.Errorf("%d refused, stats %+v; want the third of three at once refused", forbidden, st)
	}
}
