package apispec_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// recordingT is a test the sandbox helpers may fail: what they report is
// kept, and its cleanups run when finish is called.
type recordingT struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *recordingT) Helper() {}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (r *recordingT) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recordingT) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r.errs
}

func send(t *testing.T, method, target, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "slipwatch/test")
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestGitHubSandboxFailsTheTest proves the check wired into the sandbox
// fails the test that started it: for a request GitHub does not document,
// for one only github.com documents (the connector also speaks to GHES),
// and for an answer the sandbox gives that GitHub's schema refuses; and
// that documented traffic passes.
func TestGitHubSandboxFailsTheTest(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }
	run := func(do func(s *githubtest.Server)) []string {
		rt := &recordingT{TB: t}
		s := apispec.GitHubSandbox(rt, now)
		ms := s.AddMilestone("acme/api", githubtest.Milestone{Title: "v2.0", DueOn: now().AddDate(0, 1, 0)})
		s.AddIssue("acme/api", githubtest.Issue{Title: "work", Milestone: ms})
		do(s)
		return rt.finish()
	}
	tests := []struct {
		name string
		do   func(t *testing.T, s *githubtest.Server)
		want []string // substrings of the test's failures, in order
	}{
		{name: "documented traffic passes", do: func(t *testing.T, s *githubtest.Server) {
			send(t, "GET", s.URL+"repos/acme/api/issues?milestone=1&state=all&per_page=100", "")
			send(t, "POST", s.URL+"repos/acme/api/issues/1/comments", `{"body":"hello"}`)
			send(t, "GET", s.URL+"repos/acme/api/milestones/9", "") // 404, documented
		}},
		{name: "undocumented query parameter", do: func(t *testing.T, s *githubtest.Server) {
			send(t, "GET", s.URL+"repos/acme/api/milestones?state=all&fields=title", "")
		}, want: []string{
			"githubtest: 2 exchange(s) left the published API description",
			`github.com: request GET /repos/{owner}/{repo}/milestones (issues/list-milestones): query parameter "fields" is not documented`,
			`GHES 3.17: request GET /repos/{owner}/{repo}/milestones (issues/list-milestones): query parameter "fields" is not documented`,
		}},
		{name: "undocumented body property", do: func(t *testing.T, s *githubtest.Server) {
			send(t, "POST", s.URL+"repos/acme/api/issues", `{"title":"t","milestone":1,"color":"red"}`)
		}, want: []string{
			"githubtest: 2 exchange(s)",
			`github.com: request POST /repos/{owner}/{repo}/issues (issues/create): request body $: property "color" is not documented`,
			`GHES 3.17: request POST /repos/{owner}/{repo}/issues (issues/create): request body $: property "color" is not documented`,
		}},
		{name: "documented on github.com only", do: func(t *testing.T, s *githubtest.Server) {
			send(t, "GET", s.URL+"repos/acme/api/issues/1/sub_issues", "")
		}, want: []string{
			"githubtest: 1 exchange(s)",
			"GHES 3.17: GET /repos/acme/api/issues/1/sub_issues: no such operation is documented",
		}},
		{name: "an answer outside the schema", do: func(t *testing.T, s *githubtest.Server) {
			s.UpdateIssue("acme/api", 1, func(is *githubtest.Issue) { is.ClosedAt, is.StateReason = now(), "wontfix" })
			send(t, "GET", s.URL+"repos/acme/api/issues?state=closed", "")
		}, want: []string{
			"githubtest: 2 exchange(s)",
			`github.com: GET /repos/{owner}/{repo}/issues (issues/list-for-repo) answered 200: $[*].state_reason: "wontfix" is not one of`,
			`GHES 3.17: GET /repos/{owner}/{repo}/issues (issues/list-for-repo) answered 200: $[*].state_reason: "wontfix" is not one of`,
		}},
		{name: "an injected answer is the test's own", do: func(t *testing.T, s *githubtest.Server) {
			s.Inject(githubtest.Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"})
			send(t, "GET", s.URL+"repos/acme/api/milestones", "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(func(s *githubtest.Server) { tt.do(t, s) })
			checkFailures(t, got, tt.want)
		})
	}
}

// TestJiraSandboxFailsTheTest is TestGitHubSandboxFailsTheTest for Jira,
// whose v2 paths are checked against the v3 description.
func TestJiraSandboxFailsTheTest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(t *testing.T, s *jiratest.Server)
		want []string
	}{
		{name: "documented traffic passes", do: func(t *testing.T, s *jiratest.Server) {
			send(t, "GET", s.URL+"/rest/api/2/project/PLAT/versions", "")
			send(t, "GET", s.URL+"/rest/api/3/search/jql?"+url.Values{"jql": {"project = PLAT"}, "fields": {"duedate,status"}, "maxResults": {"100"}}.Encode(), "")
			send(t, "POST", s.URL+"/rest/api/2/issue/PLAT-1/comment", `{"body":"hello","properties":[{"key":"slipwatch","value":{"marker":"m"}}]}`)
			// Cloud's 410 for the search it removed is a listed difference.
			if status := send(t, "GET", s.URL+"/rest/api/2/search?jql=project+%3D+PLAT", ""); status != http.StatusGone {
				t.Errorf("GET /rest/api/2/search on Cloud: %d, want 410", status)
			}
		}},
		{name: "undocumented path", do: func(t *testing.T, s *jiratest.Server) {
			send(t, "GET", s.URL+"/rest/api/2/project/PLAT/releases", "")
		}, want: []string{
			"jiratest: 1 exchange(s)",
			"Jira Cloud platform v3: GET /rest/api/2/project/PLAT/releases: no such operation is documented",
		}},
		{name: "undocumented query parameter", do: func(t *testing.T, s *jiratest.Server) {
			send(t, "GET", s.URL+"/rest/api/3/search/jql?jql=project+%3D+PLAT&startAt=0", "")
		}, want: []string{
			"jiratest: 1 exchange(s)",
			`request GET /rest/api/3/search/jql (searchAndReconsileIssuesUsingJql): query parameter "startAt" is not documented`,
		}},
		{name: "an answer outside the schema", do: func(t *testing.T, s *jiratest.Server) {
			s.UpdateVersion("10100", func(v map[string]any) { v["released"] = "yes" })
			send(t, "GET", s.URL+"/rest/api/2/version/10100", "")
		}, want: []string{
			"jiratest: 1 exchange(s)",
			`GET /rest/api/3/version/{id} (getVersion) answered 200: $.released: string "yes", want boolean`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingT{TB: t}
			s := apispec.JiraSandbox(rt, jiratest.Options{Cloud: true, Index: true})
			s.AddIssue("PLAT-1", map[string]any{"project": map[string]any{"key": "PLAT"}})
			if id := s.AddVersion("PLAT", jiratest.Version{Name: "2.0", ReleaseDate: "2026-12-01"}); id != "10100" {
				t.Fatalf("version id %s", id)
			}
			tt.do(t, s)
			checkFailures(t, rt.finish(), tt.want)
		})
	}
}

// checkFailures compares a recorded test's failures with the wanted
// substrings, one for one.
func checkFailures(t *testing.T, got, want []string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.Contains(got[i], want[i])
	}
	if !ok {
		t.Errorf("the test's failures:\n%s", cmp.Diff(want, got))
	}
}
