package githubtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

type repoItem struct {
	FullName string `json:"full_name"`
	Archived bool   `json:"archived"`
	Fork     bool   `json:"fork"`
	Private  bool   `json:"private"`
	Owner    struct {
		Login string `json:"login"`
		Type  string `json:"type"`
	} `json:"owner"`
	HasIssues bool   `json:"has_issues"`
	HTMLURL   string `json:"html_url"`
}

func names(t *testing.T, body string) []string {
	t.Helper()
	var items []repoItem
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("not a repository list: %v\n%s", err, body)
	}
	var out []string
	for _, it := range items {
		out = append(out, it.FullName)
	}
	return out
}

// An organisation's repositories come in GitHub's shape, newest first,
// paged by Link, with an ETag a second read answers 304; a user is no
// organisation, and only its public repositories are listed to others.
func TestRepositoryLists(t *testing.T) {
	t.Parallel()
	s, clk := newSandbox(t)
	s.AddOrg("Acme")
	for _, r := range []githubtest.Repo{
		{Name: "acme/api"}, {Name: "acme/web", Archived: true}, {Name: "acme/fork", Fork: true},
		{Name: "acme/secret", Private: true}, {Name: "acme/quiet", NoIssues: true},
		{Name: "octocat/hello"}, {Name: "octocat/private", Private: true},
	} {
		s.SetRepo(r)
		clk.add(time.Minute)
	}

	a := do(t, s, "GET", "/orgs/acme/repos?per_page=2")
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if diff := cmp.Diff([]string{"acme/quiet", "acme/secret"}, names(t, a.body)); diff != "" {
		t.Errorf("first page, newest first (-want +got):\n%s", diff)
	}
	link := a.header.Get("Link")
	if !strings.Contains(link, `page=2&per_page=2>; rel="next"`) || !strings.Contains(link, `page=3&per_page=2>; rel="last"`) {
		t.Errorf("Link %q, want next page 2 and last page 3", link)
	}
	var items []repoItem
	_ = json.Unmarshal([]byte(do(t, s, "GET", "/orgs/acme/repos?per_page=100").body), &items)
	got := map[string]repoItem{}
	for _, it := range items {
		got[it.FullName] = it
	}
	if len(got) != 5 || !got["acme/web"].Archived || !got["acme/fork"].Fork || !got["acme/secret"].Private ||
		got["acme/quiet"].HasIssues || !got["acme/api"].HasIssues || got["acme/api"].Owner.Type != "Organization" || got["acme/api"].Owner.Login != "acme" {
		t.Errorf("organisation's repositories: %+v", got)
	}
	if u := got["acme/api"].HTMLURL; u != "https://github.example/acme/api" {
		t.Errorf("html_url %q", u)
	}
	again := do(t, s, "GET", "/orgs/acme/repos?per_page=2", "If-None-Match", a.header.Get("ETag"))
	if again.status != http.StatusNotModified {
		t.Errorf("second read with the ETag: %d, want 304", again.status)
	}
	if a := do(t, s, "GET", "/orgs/octocat/repos"); a.status != http.StatusNotFound {
		t.Errorf("a user as an organisation: %d, want 404", a.status)
	}
	if diff := cmp.Diff([]string{"octocat/hello"}, names(t, do(t, s, "GET", "/users/octocat/repos").body)); diff != "" {
		t.Errorf("a user's repositories, to others (-want +got):\n%s", diff)
	}
	s.Self = "octocat"
	if diff := cmp.Diff([]string{"octocat/private", "octocat/hello"}, names(t, do(t, s, "GET", "/user/repos?type=owner").body)); diff != "" {
		t.Errorf("the token's own user's repositories (-want +got):\n%s", diff)
	}

	s.RenameRepo("acme/api", "acme/core")
	s.DeleteRepo("acme/web")
	if diff := cmp.Diff([]string{"acme/quiet", "acme/secret", "acme/fork", "acme/core"}, names(t, do(t, s, "GET", "/orgs/acme/repos").body)); diff != "" {
		t.Errorf("after a rename and a deletion (-want +got):\n%s", diff)
	}
}

// The installation's list answers only an installation token.
func TestInstallationRepositoriesNeedAnInstallationToken(t *testing.T) {
	t.Parallel()
	s, _ := newSandbox(t)
	s.SetRepo(githubtest.Repo{Name: "acme/api"})
	a := do(t, s, "GET", "/installation/repositories", "Authorization", "Bearer ghp_personal")
	if a.status != http.StatusForbidden || !strings.Contains(a.body, "installation access token") {
		t.Errorf("with a personal token: %d %s, want 403", a.status, a.body)
	}
}

// The issues list sorts by update when asked, newest first or oldest
// first; the repository's comments too.
func TestListsSortByUpdate(t *testing.T) {
	t.Parallel()
	s, clk := newSandbox(t)
	a := s.AddIssue("acme/api", githubtest.Issue{Title: "a"})
	clk.add(time.Minute)
	b := s.AddIssue("acme/api", githubtest.Issue{Title: "b"})
	clk.add(time.Minute)
	ca := s.AddComment("acme/api", a, "carol", "one")
	clk.add(time.Minute)
	s.AddComment("acme/api", b, "carol", "two")
	clk.add(time.Minute)
	s.UpdateIssue("acme/api", a, func(is *githubtest.Issue) { is.Title = "a, edited" }) // a: updated last
	s.EditComment("acme/api", ca, "one, edited", time.Time{})                           // one: created first, updated last

	titles := func(path string) []string {
		var items []struct {
			Title string `json:"title"`
			Body  string `json:"body"`
		}
		if err := json.Unmarshal([]byte(do(t, s, "GET", path).body), &items); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			if strings.Contains(path, "/comments") {
				out = append(out, it.Body)
			} else {
				out = append(out, it.Title)
			}
		}
		return out
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/repos/acme/api/issues?state=all", []string{"b", "a, edited"}},
		{"/repos/acme/api/issues?state=all&direction=asc", []string{"a, edited", "b"}},
		{"/repos/acme/api/issues?state=all&sort=updated&direction=desc", []string{"a, edited", "b"}},
		{"/repos/acme/api/issues?state=all&sort=updated&direction=asc", []string{"b", "a, edited"}},
		{"/repos/acme/api/issues/comments", []string{"one, edited", "two"}},
		{"/repos/acme/api/issues/comments?sort=updated&direction=desc", []string{"one, edited", "two"}},
		{"/repos/acme/api/issues/comments?sort=updated&direction=asc", []string{"two", "one, edited"}},
		{"/repos/acme/api/issues/comments?sort=created&direction=desc", []string{"two", "one, edited"}},
	} {
		if diff := cmp.Diff(tc.want, titles(tc.path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.path, diff)
		}
	}
}
