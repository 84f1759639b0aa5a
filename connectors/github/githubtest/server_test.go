package githubtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// clock is a settable sandbox clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newSandbox(t *testing.T) (*githubtest.Server, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	s := apispec.GitHubSandbox(t, clk.Now)
	return s, clk
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, s *githubtest.Server, method, path string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.URL, "/")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// client is not http.DefaultClient: another parallel test's Server.Close
// closes the default transport's idle connections, which can break a
// request as it takes one.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

// numbers are the "number" fields of a list answer, in order.
func numbers(t *testing.T, body string) []int {
	t.Helper()
	var list []struct {
		Number int `json:"number"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("not a list: %v\n%s", err, body)
	}
	out := []int{}
	for _, x := range list {
		out = append(out, x.Number)
	}
	return out
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t)
	s.AddRepo("acme/api")
	if a := do(t, s, "GET", "/repos/acme/api/milestones"); a.status != http.StatusOK {
		t.Errorf("before RequireAuth: %d, want any credential accepted", a.status)
	}
	s.RequireAuth("Bearer ghp_right")
	for _, tc := range []struct {
		authz string
		want  int
	}{{"Bearer ghp_right", http.StatusOK}, {"Bearer ghp_wrong", http.StatusUnauthorized}, {"", http.StatusUnauthorized}} {
		a := do(t, s, "GET", "/repos/acme/api/milestones", "Authorization", tc.authz)
		if a.status != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.authz, a.status, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.Contains(a.body, "Bad credentials") {
			t.Errorf("401 body %q, want GitHub's Bad credentials", a.body)
		}
	}
	if s.Hits("GET /repos/acme/api/milestones") != 4 {
		t.Errorf("hits %d, want every request counted, refused ones too", s.Hits("GET /repos/acme/api/milestones"))
	}
}

// A list pages with GitHub's Link header; asked again with its ETag it is
// a bodiless 304 without Link and without spending quota, until the list
// changes.
func TestPagesAndConditionalRequests(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t)
	s.SetRateLimit(100, time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC))
	for i := range 45 {
		s.AddIssue("acme/api", githubtest.Issue{Title: "work " + strconv.Itoa(i)})
	}
	first := do(t, s, "GET", "/repos/acme/api/issues?per_page=20")
	if got := numbers(t, first.body); len(got) != 20 || got[0] != 45 || got[19] != 26 {
		t.Errorf("page 1 = %v, want 45..26 (newest first)", got)
	}
	link := first.header.Get("Link")
	if !strings.Contains(link, `/api/v3/repos/acme/api/issues?page=2&per_page=20>; rel="next"`) || !strings.Contains(link, `page=3&per_page=20>; rel="last"`) {
		t.Errorf("page 1 Link %q", link)
	}
	if l := do(t, s, "GET", "/repos/acme/api/issues?page=3&per_page=20").header.Get("Link"); !strings.Contains(l, `rel="prev"`) || !strings.Contains(l, `rel="first"`) || strings.Contains(l, `rel="next"`) {
		t.Errorf("last page Link %q", l)
	}

	etag := first.header.Get("ETag")
	again := do(t, s, "GET", "/repos/acme/api/issues?per_page=20", "If-None-Match", etag)
	if again.status != http.StatusNotModified || again.body != "" || again.header.Get("Link") != "" {
		t.Errorf("revalidation: %d, body %q, Link %q; want a bare 304", again.status, again.body, again.header.Get("Link"))
	}
	if first.header.Get("X-RateLimit-Remaining") != "99" || again.header.Get("X-RateLimit-Remaining") != "98" {
		t.Errorf("remaining %s then %s, want 99 then 98 (the second page spent one, the 304 none)",
			first.header.Get("X-RateLimit-Remaining"), again.header.Get("X-RateLimit-Remaining"))
	}
	if _, notModified, _ := s.Counts(); notModified != 1 {
		t.Errorf("%d 304s counted, want 1", notModified)
	}
	s.UpdateIssue("acme/api", 45, func(is *githubtest.Issue) { is.Title = "renamed" })
	if a := do(t, s, "GET", "/repos/acme/api/issues?per_page=20", "If-None-Match", etag); a.status != http.StatusOK {
		t.Errorf("after a change: %d, want 200 with the new list", a.status)
	}
}

func TestIssueFilters(t *testing.T) {
	t.Parallel()
	s, clk := newSandbox(t)
	ms := s.AddMilestone("acme/api", githubtest.Milestone{Title: "v1"})
	closedAt := clk.Now().Add(-48 * time.Hour)
	created := closedAt.Add(-24 * time.Hour)
	s.AddIssue("acme/api", githubtest.Issue{Title: "tracking", Milestone: ms, Labels: []string{"Slipwatch", "meta"}, CreatedAt: created, UpdatedAt: closedAt})
	s.AddIssue("acme/api", githubtest.Issue{Title: "done", Milestone: ms, CreatedAt: created, ClosedAt: closedAt, UpdatedAt: closedAt})
	s.AddIssue("acme/api", githubtest.Issue{Title: "loose"})
	s.AddIssue("acme/api", githubtest.Issue{Title: "pr", PR: true, ClosedAt: clk.Now(), StateReason: "not_planned"})
	for _, tc := range []struct {
		query string
		want  []int
	}{
		{"", []int{3, 1}},
		{"?state=all", []int{4, 3, 2, 1}},
		{"?state=closed", []int{4, 2}},
		{"?state=all&milestone=1", []int{2, 1}},
		{"?state=all&milestone=none", []int{4, 3}},
		{"?state=all&milestone=*", []int{2, 1}},
		{"?labels=slipwatch", []int{1}},
		{"?labels=slipwatch,META", []int{1}},
		{"?labels=slipwatch,other", []int{}},
		{"?state=all&since=" + clk.Now().Add(-time.Hour).Format(time.RFC3339), []int{4, 3}},
	} {
		a := do(t, s, "GET", "/repos/acme/api/issues"+tc.query)
		if diff := cmp.Diff(tc.want, numbers(t, a.body)); diff != "" {
			t.Errorf("issues%s (-want +got):\n%s", tc.query, diff)
		}
	}
	if a := do(t, s, "GET", "/repos/acme/api/issues?since=yesterday"); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "Validation Failed") {
		t.Errorf("a since that is no instant: %d %s, want GitHub's 422", a.status, a.body)
	}
	var pr struct {
		State       string `json:"state"`
		StateReason string `json:"state_reason"`
	}
	var list []json.RawMessage
	_ = json.Unmarshal([]byte(do(t, s, "GET", "/repos/acme/api/issues?state=closed").body), &list)
	if len(list) == 0 || json.Unmarshal(list[0], &pr) != nil || pr.State != "closed" || pr.StateReason != "not_planned" {
		t.Errorf("closed as not planned reads %+v", pr)
	}
}

// Without push access GitHub keeps the issue but drops its milestone and
// labels.
func TestPushAccess(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t)
	ms := s.AddMilestone("acme/api", githubtest.Milestone{Title: "v1"})
	s.SetPushAccess(false)
	req, _ := http.NewRequest("POST", s.URL+"repos/acme/api/issues", strings.NewReader(`{"title":"Delivery tracking: v1","milestone":`+strconv.Itoa(ms)+`,"labels":["slipwatch"]}`))
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := s.Issues("acme/api")
	if resp.StatusCode != http.StatusCreated || len(got) != 1 || got[0].Milestone != 0 || len(got[0].Labels) != 0 || got[0].User != s.Self {
		t.Errorf("created %d: %+v; want one issue by %s without milestone or labels", resp.StatusCode, got, s.Self)
	}
}

// The quota counts down and is whole again at its reset.
func TestRateLimitResets(t *testing.T) {
	t.Parallel()
	s, clk := newSandbox(t)
	s.AddRepo("acme/api")
	reset := clk.Now().Add(30 * time.Second)
	s.SetRateLimit(2, reset)
	var got []string
	for range 3 {
		got = append(got, do(t, s, "GET", "/repos/acme/api/milestones").header.Get("X-RateLimit-Remaining"))
	}
	clk.add(30 * time.Second)
	a := do(t, s, "GET", "/repos/acme/api/milestones")
	got = append(got, a.header.Get("X-RateLimit-Remaining"))
	if diff := cmp.Diff([]string{"1", "0", "0", "4999"}, got); diff != "" {
		t.Errorf("remaining (-want +got):\n%s", diff)
	}
	if r := a.header.Get("X-RateLimit-Reset"); r != strconv.FormatInt(reset.Add(time.Hour).Unix(), 10) {
		t.Errorf("reset after the reset %s, want an hour on", r)
	}
}

func TestRecordedAnswersAsFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header, value, body string
		status                    int
	}{
		{"error-404-not-found.recorded.json", "X-Ratelimit-Resource", "core", `"message":"Not Found"`, 404},
		{"error-403-rate-limit-primary.docs.json", "X-Ratelimit-Remaining", "0", "API rate limit exceeded", 403},
		{"error-422-validation-failed.recorded.json", "X-Github-Media-Type", "github.v3; format=json", `"message":"Validation Failed"`, 422},
	} {
		f, err := githubtest.Recorded(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Status != tc.status || f.Header[tc.header] != tc.value || !strings.Contains(f.Body, tc.body) || f.Header["Content-Encoding"] != "" {
			t.Errorf("%s: %d %q=%q, body %.80s", tc.name, f.Status, tc.header, f.Header[tc.header], f.Body)
		}
	}
	if _, err := githubtest.Recorded("no-such.json"); err == nil {
		t.Error("Recorded of a missing file succeeded")
	}

	s, _ := newSandbox(t)
	s.AddRepo("acme/api")
	f, _ := githubtest.Recorded("error-403-rate-limit-primary.docs.json")
	f.Method, f.PathPrefix = "GET", "/repos/acme/api/milestones"
	s.Inject(f)
	if a := do(t, s, "GET", "/repos/acme/api/milestones"); a.status != 403 || a.header.Get("X-RateLimit-Remaining") != "0" || !strings.Contains(a.body, "API rate limit exceeded") {
		t.Errorf("injected: %d %v %s", a.status, a.header, a.body)
	}
	if a := do(t, s, "GET", "/repos/acme/api/milestones"); a.status != 200 || s.PendingFaults() != 0 {
		t.Errorf("after the fault: %d, %d pending; want the real answer", a.status, s.PendingFaults())
	}
}

// Only /api/v3 is served, as on GitHub Enterprise Server.
func TestServesOnlyTheEnterprisePrefix(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t)
	s.AddRepo("acme/api")
	resp, err := client().Get(strings.TrimSuffix(s.URL, "/api/v3/") + "/repos/acme/api/milestones")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("outside /api/v3: %d, want 404", resp.StatusCode)
	}
}
