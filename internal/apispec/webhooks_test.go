package apispec_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/jira"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
	"github.com/slipwatch/slipwatch/internal/redistest"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/runner"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

const (
	githubSecret = "examples-github-secret"
	jiraSecret   = "examples-jira-secret"
)

// example is one official webhook example.
type example struct {
	event string // X-GitHub-Event
	n     int    // its place among the event's examples
	body  []byte
}

// githubExamples reads @octokit/webhooks-examples, as trimmed into
// testdata (see testdata/PROVENANCE.md).
func githubExamples(t *testing.T) []example {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "webhooks", "github-examples.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Name     string            `json:"name"`
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.NewDecoder(zr).Decode(&events); err != nil {
		t.Fatal(err)
	}
	var out []example
	for _, e := range events {
		for i, x := range e.Examples {
			out = append(out, example{event: e.Name, n: i, body: x})
		}
	}
	return out
}

// namedMilestones are the keys a GitHub example must put on the queue,
// by the design's contract rather than the connector's code: a milestone
// event names its milestone (and, when created, asks for its repository
// to be listed); an issues event names its issue's or pull request's
// milestone, and milestoned/demilestoned also the milestone it joined or
// left; a pull_request event that changes a milestone's counts (opened,
// closed, reopened, milestoned, demilestoned) does the same, since pull
// requests are items (docs/tracking.md); an issue_comment event names its
// issue's milestone, never a pull request's, whose comments are no
// thread. Other events and repositories not watched name nothing.
func namedMilestones(t *testing.T, x example, watched map[string]bool) []string {
	t.Helper()
	var p struct {
		Action     string `json:"action"`
		Repository *struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
		Milestone *struct{ Number int } `json:"milestone"`
		Issue     *struct {
			Milestone   *struct{ Number int } `json:"milestone"`
			PullRequest any                   `json:"pull_request"`
		} `json:"issue"`
		PullRequest *struct {
			Milestone *struct{ Number int } `json:"milestone"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(x.body, &p); err != nil {
		t.Fatalf("%s #%d: %v", x.event, x.n, err)
	}
	if p.Repository == nil || !watched[p.Repository.FullName] {
		return nil
	}
	repo := p.Repository.FullName
	key := func(n int) string { return fmt.Sprintf("github:%s/milestone/%d", repo, n) }
	var keys []string
	switch x.event {
	case "milestone":
		keys = append(keys, key(p.Milestone.Number))
		if p.Action == "created" {
			keys = append(keys, "github:"+repo)
		}
	case "pull_request":
		switch p.Action {
		case "opened", "closed", "reopened", "milestoned", "demilestoned":
		default:
			return nil
		}
		if p.PullRequest != nil && p.PullRequest.Milestone != nil {
			keys = append(keys, key(p.PullRequest.Milestone.Number))
		}
		if (p.Action == "milestoned" || p.Action == "demilestoned") && p.Milestone != nil {
			keys = append(keys, key(p.Milestone.Number))
		}
	case "issues", "issue_comment":
		if p.Issue == nil || (x.event == "issue_comment" && p.Issue.PullRequest != nil) {
			return nil
		}
		if p.Issue.Milestone != nil {
			keys = append(keys, key(p.Issue.Milestone.Number))
		}
		if x.event == "issues" && (p.Action == "milestoned" || p.Action == "demilestoned") && p.Milestone != nil {
			keys = append(keys, key(p.Milestone.Number))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// intake is the daemon's HTTP handler over the real connectors and a
// real Redis, and a reader of what it queued.
type intake struct {
	h     http.Handler
	st    *store.Store
	taken int // stream entries read so far
}

// redisSrv is the package's redis-server; nil without one (and CI unset).
var redisSrv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, func(s *redistest.Server) { redisSrv = s }) }

func newIntake(t *testing.T, conns ...runner.Connector) *intake {
	t.Helper()
	if redisSrv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	st := store.New(redisSrv.Client(t), redisSrv.Prefix(t), store.Options{})
	// Reading first creates the consumer group from the stream's start.
	if _, err := st.Read(context.Background(), "examples", 1, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(conns, st, reconcile.Settings{}, runner.Options{Owner: "examples"})
	if err != nil {
		t.Fatal(err)
	}
	return &intake{h: r.Handler(nil), st: st}
}

// post delivers body and returns the status and the keys it queued.
func (in *intake) post(t *testing.T, req *http.Request) (int, string, []string) {
	t.Helper()
	ctx := context.Background()
	w := httptest.NewRecorder()
	in.h.ServeHTTP(w, req)
	// The stream's length says how many entries to take: a read of an
	// empty stream blocks for a tenth of a second whatever it asks.
	stats, err := in.st.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for int64(in.taken+len(keys)) < stats.Length {
		msgs, err := in.st.Read(ctx, "examples", 100, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			t.Fatalf("the stream holds %d entries, %d read", stats.Length, in.taken+len(keys))
		}
		for _, m := range msgs {
			keys = append(keys, m.Key)
		}
	}
	in.taken += len(keys)
	slices.Sort(keys)
	return w.Code, strings.TrimSpace(w.Body.String()), slices.Compact(keys)
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestGitHubWebhookExamples sends every official GitHub webhook example,
// signed, through the daemon's handler, as JSON and as the form encoding a
// webhook can be set to: each is accepted (202), never refused, and those
// naming a watched milestone queue its key.
func TestGitHubWebhookExamples(t *testing.T) {
	t.Parallel()
	examples := githubExamples(t)
	events := map[string]bool{}
	watched := map[string]bool{}
	for _, x := range examples {
		events[x.event] = true
		var p struct {
			Repository *struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
		}
		_ = json.Unmarshal(x.body, &p)
		if p.Repository != nil && p.Repository.FullName != "" {
			watched[p.Repository.FullName] = true
		}
	}
	// One repository stays unwatched, so its deliveries are ignored.
	unwatched := "octo-org/octo-repo"
	delete(watched, unwatched)
	if len(examples) < 300 || len(events) < 50 {
		t.Fatalf("only %d examples of %d events: is testdata complete?", len(examples), len(events))
	}
	gh, err := github.New(&config.GitHub{BaseURL: "https://ghe.example.com/api/v3/", Token: "unused", WebhookSecret: githubSecret,
		Repos: slices.Sorted(func(yield func(string) bool) {
			for r := range watched {
				if !yield(r) {
					return
				}
			}
		})}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := newIntake(t, gh)

	accepted, queued := 0, 0
	for i, x := range examples {
		want := namedMilestones(t, x, watched)
		for _, form := range []bool{false, true} {
			body, ct := x.body, "application/json"
			if form {
				body, ct = []byte(url.Values{"payload": {string(x.body)}}.Encode()), "application/x-www-form-urlencoded"
			}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
			req.Header.Set("X-GitHub-Event", x.event)
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", 2*i+btoi(form)))
			req.Header.Set("X-Hub-Signature-256", sign(githubSecret, body))
			status, answer, keys := in.post(t, req)
			if status != http.StatusAccepted && status != http.StatusNoContent {
				t.Errorf("%s #%d (%s): %d %q, want 202 or 204", x.event, x.n, ct, status, answer)
				continue
			}
			accepted++
			if diff := cmp.Diff(want, keys); diff != "" {
				t.Errorf("%s #%d (%s): queued keys (-want +got):\n%s", x.event, x.n, ct, diff)
			}
			if len(keys) > 0 {
				queued++
			}
		}
	}
	if queued == 0 {
		t.Error("no example queued a key: the check proves nothing")
	}
	t.Logf("%d examples of %d events, as JSON and as a form: %d deliveries accepted, %d queued a milestone's key",
		len(examples), len(events), accepted, queued)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestJiraWebhookFixtures sends every Jira webhook fixture, signed as Jira
// signs (X-Hub-Signature), through the daemon's handler with the jira
// connector over the sandbox (which the comment and version events make
// it read), on both editions: each is accepted, and queues the keys of
// the deliverables it names.
func TestJiraWebhookFixtures(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		// The comment is on issue 10040, TES-41 below: a tracking issue
		// of version 10000.
		"comment_created.cloud.json": {"jira:TES/version/10000"},
		// Data Center names only the comment; its URL names issue 10013,
		// the epic TES-7 below.
		"comment_created.server.json": {"jira:TES/issue/TES-7"},
		// Created in fix versions 10000 and 10001.
		"jira-issue_created.many-fields.cloud.json": {"jira:KT/version/10000", "jira:KT/version/10001"},
		// Moved from fix version 10000 to 10001: both change.
		"jira-issue_updated.fix-version.cloud.json": {"jira:TES/version/10000", "jira:TES/version/10001"},
		// Resolved stories without a version or a due date: no deliverable.
		"jira-issue_updated.resolved.cloud.json":  nil,
		"jira-issue_updated.resolved.server.json": nil,
		// Versions of projects 10002 (TES) and 11315 (KT).
		"jira-version_released.cloud.json": {"jira:TES/version/10000"},
		"jira-version_updated.json":        {"jira:KT/version/12550"},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "jira", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Jira webhook fixtures: %v", err)
	}
	for _, ed := range []struct {
		name  string
		cloud bool
	}{{"cloud", true}, {"datacenter", false}} {
		t.Run(ed.name, func(t *testing.T) {
			t.Parallel()
			j := apispec.JiraSandbox(t, jiratest.Options{Cloud: ed.cloud, Fail: t.Errorf})
			j.AddIssue("TES-41", map[string]any{"project": map[string]any{"id": "10002", "key": "TES"}, "issuetype": map[string]any{"name": "Task"},
				"labels": []string{"slipwatch"}, "fixVersions": []map[string]any{{"id": "10000", "name": "1.0"}}})
			j.SetIssueID("TES-41", "10040")
			j.AddIssue("TES-7", map[string]any{"project": map[string]any{"id": "10002", "key": "TES"}, "issuetype": map[string]any{"name": "Epic"},
				"labels": []string{}, "duedate": "2026-07-15"})
			j.SetIssueID("TES-7", "10013")
			j.SetProject("10002", "TES")
			j.SetProject("11315", "KT")
			cfg := &config.Jira{BaseURL: j.URL, Deployment: config.JiraDataCenter, Auth: config.Auth{PAT: "unused"},
				WebhookSecret: jiraSecret, Projects: []string{"TES", "KT"}, TrackingLabel: "slipwatch",
				Deliverables: config.Deliverables{Versions: true, JQL: config.DefaultJiraJQL}}
			if ed.cloud {
				cfg.Deployment, cfg.Auth = config.JiraCloud, config.Auth{Email: "bot@example.com", APIToken: "unused"}
			}
			c, err := jira.New(cfg, jira.Options{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			in := newIntake(t, c)
			for i, f := range files {
				name := filepath.Base(f)
				body, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				wantKeys, ok := want[name]
				if !ok {
					t.Errorf("%s: a fixture this test does not know: say which keys it names", name)
				}
				req := httptest.NewRequest(http.MethodPost, "/webhooks/jira", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Atlassian-Webhook-Identifier", fmt.Sprintf("jira-%s-%d", ed.name, i))
				req.Header.Set("X-Hub-Signature", sign(jiraSecret, body))
				status, answer, keys := in.post(t, req)
				if status != http.StatusAccepted && status != http.StatusNoContent {
					t.Errorf("%s: %d %q, want 202 or 204", name, status, answer)
					continue
				}
				if diff := cmp.Diff(wantKeys, keys); diff != "" {
					t.Errorf("%s: queued keys (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// TestRefusedExampleFails proves the webhook test can fail: an example
// whose signature does not match is refused with a 4xx, which the test
// reports.
func TestRefusedExampleFails(t *testing.T) {
	t.Parallel()
	gh, err := github.New(&config.GitHub{Token: "unused", WebhookSecret: githubSecret, Repos: []string{"Codertocat/Hello-World"}}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := newIntake(t, gh)
	x := githubExamples(t)[0]
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(x.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", x.event)
	req.Header.Set("X-GitHub-Delivery", "refused-1")
	req.Header.Set("X-Hub-Signature-256", sign("another secret", x.body))
	status, _, keys := in.post(t, req)
	if status/100 != 4 || len(keys) != 0 {
		t.Errorf("wrongly signed example: %d, keys %v; want a 4xx and nothing queued", status, keys)
	}
}
