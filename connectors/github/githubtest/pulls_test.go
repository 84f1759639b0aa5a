package githubtest_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// TestPullRequestsAsGitHubListsThem: the issues API lists pull requests
// with the issues, each marked by a pull_request object whose merged_at
// tells a merge from a close; the milestone counts them with its issues.
func TestPullRequestsAsGitHubListsThem(t *testing.T) {
	t.Parallel()
	s, clk := newSandbox(t)
	ms := s.AddMilestone("acme/api", githubtest.Milestone{Title: "v1"})
	merged := clk.Now().Add(-time.Hour)
	s.AddIssue("acme/api", githubtest.Issue{Title: "issue", Milestone: ms})
	s.AddIssue("acme/api", githubtest.Issue{Title: "merged", Milestone: ms, PR: true, ClosedAt: merged, MergedAt: merged})
	s.AddIssue("acme/api", githubtest.Issue{Title: "abandoned", Milestone: ms, PR: true, ClosedAt: merged})
	s.AddIssue("acme/api", githubtest.Issue{Title: "open", Milestone: ms, PR: true})

	type pull struct {
		URL      string  `json:"url"`
		HTMLURL  string  `json:"html_url"`
		DiffURL  string  `json:"diff_url"`
		PatchURL string  `json:"patch_url"`
		MergedAt *string `json:"merged_at"`
	}
	var list []struct {
		Number  int             `json:"number"`
		HTMLURL string          `json:"html_url"`
		Pull    json.RawMessage `json:"pull_request"`
	}
	if err := json.Unmarshal([]byte(do(t, s, "GET", "/repos/acme/api/issues?state=all&milestone=1").body), &list); err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, is := range list {
		if is.Pull == nil {
			got[is.Number] = "issue"
			if strings.Contains(is.HTMLURL, "/pull/") {
				t.Errorf("issue %d at %s", is.Number, is.HTMLURL)
			}
			continue
		}
		var p pull
		if err := json.Unmarshal(is.Pull, &p); err != nil {
			t.Fatal(err)
		}
		want := "https://github.example/acme/api/pull/" + strconv.Itoa(is.Number)
		if p.HTMLURL != want || is.HTMLURL != want || p.DiffURL != want+".diff" || p.PatchURL != want+".patch" || !strings.HasSuffix(p.URL, "/repos/acme/api/pulls/"+strconv.Itoa(is.Number)) {
			t.Errorf("pull request %d: %+v at %s", is.Number, p, is.HTMLURL)
		}
		switch {
		case p.MergedAt == nil:
			got[is.Number] = "pull request, not merged"
		case *p.MergedAt == merged.UTC().Format(time.RFC3339):
			got[is.Number] = "pull request, merged"
		default:
			got[is.Number] = "pull request, merged at " + *p.MergedAt
		}
	}
	want := map[int]string{1: "issue", 2: "pull request, merged", 3: "pull request, not merged", 4: "pull request, not merged"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("issues of the milestone (-want +got):\n%s", diff)
	}

	var m struct {
		Open   int `json:"open_issues"`
		Closed int `json:"closed_issues"`
	}
	if err := json.Unmarshal([]byte(do(t, s, "GET", "/repos/acme/api/milestones/1").body), &m); err != nil {
		t.Fatal(err)
	}
	if m.Open != 2 || m.Closed != 2 {
		t.Errorf("milestone counts %d open, %d closed; want 2 and 2, pull requests included", m.Open, m.Closed)
	}
}
