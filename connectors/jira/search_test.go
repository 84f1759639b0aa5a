package jira

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

func keysOf(iss []issue) []string {
	var ks []string
	for _, is := range iss {
		ks = append(ks, is.Key)
	}
	return ks
}

// The pages are served as Jira shapes them (jiratest/testdata/rest/search-jql.*,
// search.v2.*): the connector must follow nextPageToken until isLast on
// Cloud, startAt until total on Data Center.
func TestSearchPaging(t *testing.T) {
	t.Run("cloud nextPageToken", func(t *testing.T) {
		f := newFakeJira(t, true)
		const path = "GET /rest/api/3/search/jql"
		f.Queue(path,
			jiratest.Response{Status: 200, Body: "@search-jql.page1.json"},
			jiratest.Response{Status: 200, Body: "@search-jql.page2.json"},
			jiratest.Response{Status: 200, Body: "@search-jql.last.json"})
		c, _ := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.Deployment = config.JiraCloud })
		got, err := c.search(context.Background(), `project = "TES"`, []string{"summary", "status"})
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		if diff := cmp.Diff([]string{"TES-41", "TES-43", "TES-42"}, keysOf(got)); diff != "" {
			t.Errorf("issues (-want +got):\n%s", diff)
		}
		if got[1].Fields.Status.StatusCategory.Key != "done" {
			t.Errorf("TES-43 status category = %q, want done", got[1].Fields.Status.StatusCategory.Key)
		}
		var tokens []string
		for _, q := range f.Queries(path) {
			tokens = append(tokens, q.Get("nextPageToken"))
			if q.Get("jql") != `project = "TES"` || q.Get("fields") != "summary,status" || q.Get("maxResults") != "100" {
				t.Errorf("query = %v", q)
			}
		}
		if diff := cmp.Diff([]string{"", "opaque-token-page-2", "opaque-token-page-3"}, tokens); diff != "" {
			t.Errorf("page tokens sent (-want +got):\n%s", diff)
		}
		if n := f.Hits("GET /rest/api/2/serverInfo"); n != 0 {
			t.Errorf("serverInfo asked %d times with deployment: cloud", n)
		}
	})

	t.Run("cloud token handed out twice", func(t *testing.T) {
		f := newFakeJira(t, true)
		const path = "GET /rest/api/3/search/jql"
		f.Queue(path,
			jiratest.Response{Status: 200, Body: "@search-jql.page1.json"},
			jiratest.Response{Status: 200, Body: "@search-jql.page1.json"})
		c, _ := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.Deployment = config.JiraCloud })
		_, err := c.search(context.Background(), `project = "TES"`, nil)
		if err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("search = %v, want an error about a repeated page token", err)
		}
	})

	t.Run("datacenter startAt", func(t *testing.T) {
		f := newFakeJira(t, false)
		const path = "GET /rest/api/2/search"
		f.Queue(path,
			jiratest.Response{Status: 200, Body: "@search.v2.page1.json"},
			jiratest.Response{Status: 200, Body: "@search.v2.page2.json"})
		c, _ := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.Deployment = config.JiraDataCenter })
		got, err := c.search(context.Background(), `project = "BULK"`, []string{"summary"})
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		if diff := cmp.Diff([]string{"BULK-61", "BULK-62", "BULK-47"}, keysOf(got)); diff != "" {
			t.Errorf("issues (-want +got):\n%s", diff)
		}
		var starts []string
		for _, q := range f.Queries(path) {
			starts = append(starts, q.Get("startAt"))
		}
		if diff := cmp.Diff([]string{"0", "1"}, starts); diff != "" {
			t.Errorf("startAt sent (-want +got):\n%s", diff)
		}
	})

	t.Run("datacenter empty page ends", func(t *testing.T) {
		f := newFakeJira(t, false)
		f.Queue("GET /rest/api/2/search",
			jiratest.Response{Status: 200, Body: "@search.v2.page1.json"},
			jiratest.Response{Status: 200, Body: `{"startAt":1,"maxResults":50,"total":3,"issues":[]}`})
		c, _ := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.Deployment = config.JiraDataCenter })
		got, err := c.search(context.Background(), `project = "BULK"`, nil)
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		if diff := cmp.Diff([]string{"BULK-61"}, keysOf(got)); diff != "" {
			t.Errorf("issues (-want +got):\n%s", diff)
		}
	})
}

func TestDeploymentDetection(t *testing.T) {
	tests := []struct {
		deploymentType string
		wantPath       string
		wantErr        bool
	}{
		{deploymentType: "Cloud", wantPath: "GET /rest/api/3/search/jql"},
		{deploymentType: "Server", wantPath: "GET /rest/api/2/search"},
		{deploymentType: "DataCenter", wantPath: "GET /rest/api/2/search"},
		{deploymentType: "Mainframe", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.deploymentType, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, tt.deploymentType == "Cloud")
			f.Queue("GET /rest/api/2/serverInfo", jiratest.Response{Status: 200, Body: `{"baseUrl":"x","version":"1","deploymentType":"` + tt.deploymentType + `"}`})
			f.AddIssue("PLAT-1", map[string]any{})
			f.SetJQL(`project = "PLAT"`, "PLAT-1")
			c, _ := newTestClient(t, f, nil)
			for range 2 {
				_, err := c.search(context.Background(), `project = "PLAT"`, nil)
				if tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), "jira.deployment") {
						t.Fatalf("search = %v, want an error pointing at jira.deployment", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("search: %v", err)
				}
			}
			if n := f.Hits(tt.wantPath); n != 2 {
				t.Errorf("%s hit %d times, want 2", tt.wantPath, n)
			}
			if n := f.Hits("GET /rest/api/2/serverInfo"); n != 1 {
				t.Errorf("serverInfo asked %d times, want once", n)
			}
		})
	}
}
