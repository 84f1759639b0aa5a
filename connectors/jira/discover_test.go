package jira

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

func allProjects(cfg *config.Jira, _ *Options) {
	cfg.Projects = []string{config.JiraAllProjects}
	cfg.WebhookSecret = hookSecret
}

// jira.projects: ["*"] watches the projects the account can browse, as
// Jira lists them (Cloud in pages, Data Center at once), listed again
// every jira.discover_every.
func TestDiscover(t *testing.T) {
	for _, cloud := range editions() {
		t.Run(edition(cloud), func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			f.SetPageSize(2)
			for _, k := range []string{"PLAT", "OPS", "WEB", "HR"} {
				f.AddProject(k, "")
			}
			f.SetBrowsable("HR", false) // listed to its administrators, not browsable
			c, clock := newTestClient(t, f, allProjects)
			ctx := context.Background()
			if got := c.Teams(); len(got) != 0 {
				t.Errorf("Teams before discovery = %v, want none", got)
			}
			if got := c.Discoveries()[0].String(); got != "*: not looked up yet" {
				t.Errorf("Discoveries before = %q", got)
			}
			n := f.Requests()
			added, err := c.Discover(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"OPS", "PLAT", "WEB"}, c.Teams()); diff != "" {
				t.Errorf("Teams (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.Teams(), added); diff != "" {
				t.Errorf("the first discovery's newcomers (-teams +added):\n%s", diff)
			}
			if got := c.Discoveries()[0].String(); got != "*: 3 projects" {
				t.Errorf("Discoveries = %q", got)
			}
			want := 2 // serverInfo, the list
			if cloud {
				want = 3 // serverInfo, two pages of two
				for _, q := range f.Queries("GET /rest/api/3/project/search") {
					if q.Get("action") != "browse" {
						t.Errorf("project search %v, want action=browse", q)
					}
				}
			}
			if got := f.Requests() - n; got != want {
				t.Errorf("discovery cost %d requests, want %d", got, want)
			}
			// Not due again for an hour.
			n = f.Requests()
			if _, err := c.Discover(ctx); err != nil {
				t.Fatal(err)
			}
			if got := f.Requests() - n; got != 0 {
				t.Errorf("a second discovery within discover_every cost %d requests", got)
			}
			f.RemoveProject("WEB")
			f.AddProject("API", "")
			clock.advance(config.DefaultJiraDiscoverEvery)
			added, err = c.Discover(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"API"}, added); diff != "" {
				t.Errorf("newcomers an hour later (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"API", "OPS", "PLAT"}, c.Teams()); diff != "" {
				t.Errorf("Teams an hour later (-want +got):\n%s", diff)
			}
			// A project this replica has not discovered is still Jira's to
			// answer for: another replica may have, or a webhook named it.
			f.AddProject("NEW", "")
			f.AddVersion("NEW", jiratest.Version{Name: "1.0", ReleaseDate: "2026-05-01"})
			refs, err := c.List(ctx, "NEW")
			if err != nil || len(refs) != 1 {
				t.Errorf("List(NEW) = %v, %v; want its version", refs, err)
			}
		})
	}
}

// The project lists in the shapes Atlassian publishes.
func TestDiscoverRealShapes(t *testing.T) {
	for _, cloud := range editions() {
		t.Run(edition(cloud), func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			for _, k := range []string{"AAA", "BBB", "ZED"} {
				f.AddProject(k, "")
			}
			if cloud {
				// A first page as the OpenAPI example has it (isLast false,
				// EX and ABC), then the sandbox's own from startAt=2: ZED.
				f.Queue("GET /rest/api/3/project/search", jiratest.Response{Status: 200, Body: "@project-search.cloud.json"})
			} else {
				f.Queue("GET /rest/api/2/project", jiratest.Response{Status: 200, Body: "@project-list.json"})
			}
			c, _ := newTestClient(t, f, allProjects)
			if _, err := c.Discover(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := []string{"ABC", "EX"}
			if cloud {
				want = []string{"ABC", "EX", "ZED"}
				if qs := f.Queries("GET /rest/api/3/project/search"); len(qs) != 2 || qs[1].Get("startAt") != "2" {
					t.Errorf("pages asked %v, want a second from startAt=2", qs)
				}
			}
			if diff := cmp.Diff(want, c.Teams()); diff != "" {
				t.Errorf("Teams (-want +got):\n%s", diff)
			}
			// The ids are remembered: a version webhook naming project
			// 10001 needs no look-up.
			if key, err := c.projectOf(context.Background(), "10001"); err != nil || key != "ABC" {
				t.Errorf("projectOf(10001) = %q, %v; want ABC", key, err)
			}
		})
	}
}

// A failed discovery keeps what was found; explicit project lists never
// discover.
func TestDiscoverFailureAndExplicitProjects(t *testing.T) {
	f := newFakeJira(t, true)
	f.AddProject("PLAT", "")
	c, clock := newTestClient(t, f, allProjects)
	ctx := context.Background()
	if _, err := c.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	clock.advance(config.DefaultJiraDiscoverEvery)
	f.Queue("GET /rest/api/3/project/search", jiratest.Response{Status: 403, Body: "@error-403.json"})
	if _, err := c.Discover(ctx); err == nil {
		t.Error("Discover after a 403 succeeded")
	}
	if diff := cmp.Diff([]string{"PLAT"}, c.Teams()); diff != "" {
		t.Errorf("Teams after a failed discovery (-want +got):\n%s", diff)
	}
	if got := c.Discoveries()[0].String(); !strings.HasPrefix(got, "*: 1 project (last look-up failed: ") {
		t.Errorf("Discoveries after a failure = %q", got)
	}

	g := newFakeJira(t, true)
	explicit, _ := newTestClient(t, g, nil)
	if _, err := explicit.Discover(ctx); err != nil || g.Requests() != 0 || explicit.DiscoverEvery() != 0 || explicit.Discoveries() != nil {
		t.Errorf("Discover with listed projects: %v after %d requests, want nothing to discover", err, g.Requests())
	}
	if diff := cmp.Diff([]string{"PLAT"}, explicit.Teams()); diff != "" {
		t.Errorf("Teams (-want +got):\n%s", diff)
	}
}

// project_created lists a new project at once; project_deleted and a
// project Jira no longer shows drop it.
func TestDiscoverWebhooksAndGoneProjects(t *testing.T) {
	f := newFakeJira(t, true)
	f.AddProject("PLAT", "")
	f.AddProject("OPS", "")
	c, _ := newTestClient(t, f, allProjects)
	ctx := context.Background()
	if _, err := c.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	id := f.AddProject("NEW", "")
	ev := deliver(t, c, map[string]any{"webhookEvent": "project_created", "project": map[string]any{"id": json.Number(id), "key": "NEW", "name": "New"}})
	if diff := cmp.Diff([]string{"NEW"}, ev.Teams); diff != "" {
		t.Errorf("project_created: teams to list (-want +got):\n%s", diff)
	}
	if !slices.Contains(c.Teams(), "NEW") {
		t.Errorf("Teams after project_created = %v", c.Teams())
	}
	// The announcement is checked against Jira at the next Discover.
	n := f.Hits("GET /rest/api/3/project/search")
	if _, err := c.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Hits("GET /rest/api/3/project/search") == n {
		t.Error("project_created did not have the next Discover list again")
	}
	deliver(t, c, map[string]any{"webhookEvent": "project_deleted", "project": map[string]any{"id": json.Number(id), "key": "NEW"}})
	if slices.Contains(c.Teams(), "NEW") {
		t.Errorf("Teams after project_deleted = %v", c.Teams())
	}

	// Deleted without a webhook: its next poll finds it gone.
	if _, err := c.List(ctx, "OPS"); err != nil {
		t.Fatal(err)
	}
	f.RemoveProject("OPS")
	refs, err := c.List(ctx, "OPS")
	if err != nil || refs != nil {
		t.Errorf("List of a deleted project = %v, %v; want nothing, no error", refs, err)
	}
	if slices.Contains(c.Teams(), "OPS") {
		t.Errorf("Teams after OPS vanished = %v", c.Teams())
	}
	// With listed projects a missing project stays an error.
	g := newFakeJira(t, true)
	listed, _ := newTestClient(t, g, nil)
	if _, err := listed.List(ctx, "PLAT"); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("List of a listed project Jira does not know = %v, want not found", err)
	}
}
