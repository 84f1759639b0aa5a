package apispec

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec/openapi"
)

// GitHubDifferences are the answers githubtest gives, as GitHub does,
// that GitHub's descriptions leave undocumented for the operation.
// docs/sandboxes.md lists them.
var GitHubDifferences = []openapi.Difference{
	{Status: http.StatusNotModified, Method: http.MethodGet,
		Reason: "a conditional GET whose ETag still matches is answered 304 Not Modified, which GitHub documents on a few operations only"},
	{Status: http.StatusUnauthorized,
		Reason: "a wrong credential is answered 401 Bad credentials on every operation, which GitHub documents on a few only"},
	{Status: http.StatusNotFound,
		Reason: "a repository, issue or comment that does not exist (or that the credential may not see) is answered 404 Not Found on every operation, which GitHub documents on most but not all"},
	{Status: http.StatusForbidden,
		Reason: "a request past the primary or a secondary rate limit is answered 403 on every operation (\"Rate limits for the REST API\"), which GitHub documents on some only; githubtest answers so once EnforceLimits is on"},
}

// githubAlias checks a request to /repositories/{id}/… as the
// /repos/{owner}/{repo}/… it stands for: GitHub's Link headers point
// there, and following them verbatim is what GitHub asks of clients,
// though its descriptions do not list those paths.
func githubAlias(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, "/repositories/")
	id, tail, found := strings.Cut(rest, "/")
	if !ok || !found || id == "" || strings.Trim(id, "0123456789") != "" {
		return "", false
	}
	return "/repos/{repository_id}/" + id + "/" + tail, true
}

// JiraDifferences are the answers jiratest gives, as Jira does, that
// Atlassian's description leaves undocumented for the operation.
// docs/sandboxes.md lists them.
var JiraDifferences = []openapi.Difference{
	{Status: http.StatusNotModified, Method: http.MethodGet, Path: "/rest/api/3/project/{projectIdOrKey}/versions",
		Reason: "a conditional GET of a project's versions whose ETag still matches is answered 304 Not Modified"},
	{Status: http.StatusGone, Method: http.MethodGet, Path: "/rest/api/3/search",
		Reason: "Jira Cloud answers the removed /rest/api/{2,3}/search 410 Gone; the description still lists it, as deprecated"},
	{Status: http.StatusNotFound, Method: http.MethodGet, Path: "/rest/api/3/search/jql",
		Reason: "Jira Data Center has no /rest/api/{2,3}/search/jql and answers 404; the description is Cloud's"},
}

// GitHubChecker checks GitHub traffic against both descriptions: the
// connector sends the same requests to github.com and to GHES, so each
// must be documented in both and each answer match both.
func GitHubChecker() (*openapi.Checker, error) {
	gh, err := GitHub()
	if err != nil {
		return nil, err
	}
	ghes, err := GHES()
	if err != nil {
		return nil, err
	}
	return openapi.NewChecker([]*openapi.Spec{gh, ghes}, openapi.Options{Alias: githubAlias, Differences: GitHubDifferences}), nil
}

// JiraChecker checks Jira traffic (v2 paths) against Atlassian's v3
// description.
func JiraChecker() (*openapi.Checker, error) {
	j, err := Jira()
	if err != nil {
		return nil, err
	}
	return openapi.NewChecker([]*openapi.Spec{j}, openapi.Options{Path: JiraPath, Differences: JiraDifferences}), nil
}

// GitHubSandbox is githubtest.New(now) for t, closed when t ends, with
// every exchange checked against GitHub's descriptions: t fails at its
// end on a request they do not document or an answer that does not match
// them.
func GitHubSandbox(t testing.TB, now func() time.Time) *githubtest.Server {
	t.Helper()
	c, err := GitHubChecker()
	if err != nil {
		t.Fatal(err)
	}
	s := githubtest.New(now)
	s.SetChecker(c.Check)
	t.Cleanup(func() {
		s.Close() // the last exchanges are checked before it returns
		Report(t, "githubtest", c)
	})
	return s
}

// JiraSandbox is jiratest.New(o) for t, closed when t ends, with every
// exchange checked against Atlassian's description, as GitHubSandbox.
func JiraSandbox(t testing.TB, o jiratest.Options) *jiratest.Server {
	t.Helper()
	c, err := JiraChecker()
	if err != nil {
		t.Fatal(err)
	}
	s := jiratest.New(o)
	s.SetChecker(c.Check)
	t.Cleanup(func() {
		s.Close()
		Report(t, "jiratest", c)
	})
	return s
}

// maxReported is how many violations a failing test lists.
const maxReported = 15

// Report fails t with the checker's violations, if any, and logs which
// operations' answers it checked.
func Report(t testing.TB, sandbox string, c *openapi.Checker) {
	t.Helper()
	if testing.Verbose() {
		ops := c.Operations()
		n := 0
		for _, k := range ops {
			n += k
		}
		t.Logf("%s: %d answers of %d operations checked: %s", sandbox, n, len(ops), strings.Join(slices.Sorted(maps.Keys(ops)), "; "))
	}
	v := c.Violations()
	if len(v) == 0 {
		return
	}
	t.Errorf("%s: %d exchange(s) left the published API description (see docs/sandboxes.md):", sandbox, len(v))
	for i, msg := range v {
		if i == maxReported {
			t.Errorf("… and %d more", len(v)-maxReported)
			break
		}
		t.Errorf("  %s", msg)
	}
}
