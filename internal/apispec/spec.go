// Package apispec holds the trackers' published API descriptions, trimmed
// (GitHub's for github.com and for GitHub Enterprise Server, from the npm
// package @octokit/openapi; Atlassian's Jira Cloud platform v3 description)
// and GitHub's official webhook examples (@octokit/webhooks-examples), and
// checks traffic against them: a request must be an operation the
// description documents (method, path, query parameter names and values,
// JSON body properties), an answer must match the response schema the
// description gives for its status.
//
// GitHubSandbox and JiraSandbox start the project's sandboxes with every
// exchange checked, failing the test that started them on a violation;
// tests use them instead of githubtest.New and jiratest.New (a test here
// fails on any other call). The data lives in this package's testdata and
// nothing but tests imports it, so the slipwatch binary (whose testdrive
// embeds githubtest) carries none of it.
//
// testdata/PROVENANCE.md says where each file comes from and the command
// that regenerates it (go run ./internal/apispec/trim).
package apispec

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/slipwatch/slipwatch/internal/apispec/openapi"
)

//go:embed testdata/*.json
var descriptions embed.FS

// The files in testdata and the names violations give them.
const (
	githubFile = "testdata/api.github.com.json"
	ghesFile   = "testdata/ghes-3.17.json"
	jiraFile   = "testdata/jira-cloud-platform-v3.json"
)

// Loaded once per test binary: they are read-only once built, and the
// GitHub ones take a moment to decode.
var (
	githubSpec = sync.OnceValues(func() (*openapi.Spec, error) { return load(githubFile, "github.com") })
	ghesSpec   = sync.OnceValues(func() (*openapi.Spec, error) { return load(ghesFile, "GHES 3.17") })
	jiraSpec   = sync.OnceValues(func() (*openapi.Spec, error) { return load(jiraFile, "Jira Cloud platform v3") })
)

// GitHub is GitHub's description of api.github.com.
func GitHub() (*openapi.Spec, error) { return githubSpec() }

// GHES is GitHub's description of GitHub Enterprise Server 3.17, the
// oldest release the checks hold the connector to.
func GHES() (*openapi.Spec, error) { return ghesSpec() }

// Jira is Atlassian's Jira Cloud platform REST API v3 description; the v2
// API, which slipwatch speaks, shares its paths (see JiraPath).
func Jira() (*openapi.Spec, error) { return jiraSpec() }

func load(file, name string) (*openapi.Spec, error) {
	b, err := descriptions.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("apispec: %w", err)
	}
	var f openapi.File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("apispec: %s: %w", file, err)
	}
	return openapi.NewSpec(name, f), nil
}

// JiraPath is where Atlassian's v3 description documents a v2 path: the
// two versions share their paths and differ in how rich text is written,
// which the v3 schemas leave untyped.
func JiraPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/rest/api/2/"); ok {
		return "/rest/api/3/" + rest
	}
	if p == "/rest/api/2" {
		return "/rest/api/3"
	}
	return p
}
