package jiratest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// Cloud pages the projects the account can browse as a PageBeanProject;
// Data Center lists them in one array. Either way a project without
// Browse Projects is left out of what slipwatch asks for.
func TestProjectLists(t *testing.T) {
	t.Parallel()
	for _, cloud := range []bool{true, false} {
		s := newServer(t, cloud)
		s.SetPageSize(2)
		for _, k := range []string{"WEB", "API", "OPS", "HR", "PLAT"} {
			s.AddProject(k, "Project "+k)
		}
		s.SetBrowsable("HR", false)
		s.RemoveProject("WEB")
		want := []string{"API", "OPS", "PLAT"}
		if !cloud {
			status, _, body := do(t, s, http.MethodGet, "/rest/api/2/project", nil, "")
			var list []struct{ ID, Key, Name string }
			if err := json.Unmarshal([]byte(body), &list); err != nil || status != http.StatusOK {
				t.Fatalf("datacenter list: %d %s %v", status, body, err)
			}
			var got []string
			for _, p := range list {
				got = append(got, p.Key)
				if p.ID == "" || p.Name != "Project "+p.Key {
					t.Errorf("datacenter project %+v lacks its id or name", p)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("datacenter projects (-want +got):\n%s", diff)
			}
			if status, _, _ := do(t, s, http.MethodGet, "/rest/api/3/project/search", nil, ""); status != http.StatusNotFound {
				t.Errorf("datacenter project search: %d, want 404", status)
			}
			continue
		}
		var got []string
		path := "/rest/api/3/project/search?action=browse&maxResults=50"
		for pages := 0; path != ""; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			status, _, body := do(t, s, http.MethodGet, path, nil, "")
			var page struct {
				IsLast   bool   `json:"isLast"`
				NextPage string `json:"nextPage"`
				Total    int    `json:"total"`
				Values   []struct {
					Key string `json:"key"`
				} `json:"values"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil || status != http.StatusOK {
				t.Fatalf("cloud page: %d %s %v", status, body, err)
			}
			if page.Total != 3 || len(page.Values) > 2 {
				t.Errorf("page of %d with total %d, want at most 2 of 3", len(page.Values), page.Total)
			}
			for _, v := range page.Values {
				got = append(got, v.Key)
			}
			path = ""
			if !page.IsLast {
				u, err := url.Parse(page.NextPage)
				if err != nil {
					t.Fatal(err)
				}
				path = u.RequestURI()
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cloud projects (-want +got):\n%s", diff)
		}
		// Viewing (the default action) lists what the account administers
		// without browsing it.
		_, _, body := do(t, s, http.MethodGet, "/rest/api/3/project/search?maxResults=50", nil, "")
		var all struct {
			Total int `json:"total"`
		}
		_ = json.Unmarshal([]byte(body), &all)
		if all.Total != 4 {
			t.Errorf("action=view total %d, want 4 (HR included)", all.Total)
		}
	}
}

// Jira stamps "updated" on every change to an issue, comments included,
// with its own clock; a version moving does not touch its issues.
func TestUpdatedStamps(t *testing.T) {
	t.Parallel()
	s := apispec.JiraSandbox(t, jiratest.Options{Cloud: true, Index: true, Fail: t.Errorf})
	var mu sync.Mutex
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	s.SetNow(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	updated := func(key string) string {
		is, _ := s.Issue(key)
		return is.Fields["updated"].(string)
	}
	s.AddIssue("PLAT-1", map[string]any{"created": "2026-02-01T09:00:00.000+0000", "resolutiondate": "2026-03-01T09:00:00.000+0000"})
	s.AddIssue("PLAT-2", nil)
	if got := updated("PLAT-1"); got != "2026-03-01T09:00:00.000+0000" {
		t.Errorf("seeded issue updated %s, want its latest instant", got)
	}
	if got := updated("PLAT-2"); got != "2026-03-10T12:00:00.000+0000" {
		t.Errorf("new issue updated %s, want now", got)
	}
	advance(time.Minute)
	s.UpdateIssue("PLAT-1", func(f map[string]any) { f["labels"] = []string{"x"} })
	if got := updated("PLAT-1"); got != "2026-03-10T12:01:00.000+0000" {
		t.Errorf("after an update: %s", got)
	}
	advance(time.Minute)
	status, _, _ := do(t, s, http.MethodPost, "/rest/api/2/issue/PLAT-2/comment", nil, `{"body":"hi"}`)
	if status != http.StatusCreated || updated("PLAT-2") != "2026-03-10T12:02:00.000+0000" {
		t.Errorf("after a comment: %d, updated %s", status, updated("PLAT-2"))
	}
	s.AddComment("PLAT-1", map[string]any{"accountId": "x"}, "old", "2026-01-01T00:00:00.000+0000")
	if got := updated("PLAT-1"); got != "2026-03-10T12:01:00.000+0000" {
		t.Errorf("a comment written in the past moved updated to %s", got)
	}

	// Date literals are read in the user's zone: 13:01 in Berlin is 12:01 UTC.
	s.SetTimeZone("Europe/Berlin")
	_, _, me := do(t, s, http.MethodGet, "/rest/api/2/myself", nil, "")
	var self struct {
		TimeZone  string `json:"timeZone"`
		AccountID string `json:"accountId"`
	}
	if err := json.Unmarshal([]byte(me), &self); err != nil || self.TimeZone != "Europe/Berlin" || self.AccountID == "" {
		t.Errorf("myself = %s (%v), want the user with timeZone Europe/Berlin", me, err)
	}
	for jql, want := range map[string][]string{
		`updated >= "2026-03-10 13:01"`: {"PLAT-1", "PLAT-2"},
		`updated >= "2026-03-10 13:02"`: {"PLAT-2"},
		`updated >= "2026-03-10 12:02"`: {"PLAT-1", "PLAT-2"}, // read as Berlin time: an hour earlier
	} {
		_, _, body := do(t, s, http.MethodGet, "/rest/api/3/search/jql?fields=updated&jql="+url.QueryEscape(jql), nil, "")
		var res struct {
			Issues []struct{ Key string } `json:"issues"`
		}
		_ = json.Unmarshal([]byte(body), &res)
		var got []string
		for _, is := range res.Issues {
			got = append(got, is.Key)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", jql, got, want)
		}
	}
}

// Data Center's field list names Jira Software's Epic Link; a search
// asking for its id gets the epic's key. Without Jira Software neither.
func TestEpicLinkField(t *testing.T) {
	t.Parallel()
	s := apispec.JiraSandbox(t, jiratest.Options{Index: true, Fail: t.Errorf})
	s.AddIssue("PLAT-2", map[string]any{"Epic Link": "PLAT-1"})
	fieldIDs := func() []string {
		_, _, body := do(t, s, http.MethodGet, "/rest/api/2/field", nil, "")
		var fs []struct {
			ID     string `json:"id"`
			Schema struct {
				Custom string `json:"custom"`
			} `json:"schema"`
		}
		if err := json.Unmarshal([]byte(body), &fs); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range fs {
			ids = append(ids, f.ID+" "+f.Schema.Custom)
		}
		return ids
	}
	if got := fieldIDs(); !slices.Contains(got, "customfield_10008 com.pyxis.greenhopper.jira:gh-epic-link") {
		t.Errorf("fields %v lack Epic Link", got)
	}
	status, _, body := do(t, s, http.MethodGet, "/rest/api/2/search?fields=customfield_10008&jql="+url.QueryEscape(`cf[10008] in (PLAT-1)`), nil, "")
	if status != http.StatusOK || !json.Valid([]byte(body)) || !strings.Contains(body, `"customfield_10008":"PLAT-1"`) {
		t.Errorf("search by cf[10008]: %d %s", status, body)
	}
	s.SetEpicLink(false)
	if got := fieldIDs(); slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "customfield_10008") }) {
		t.Errorf("fields %v still list Epic Link", got)
	}
	if status, _, _ := do(t, s, http.MethodGet, "/rest/api/2/search?jql="+url.QueryEscape(`"Epic Link" = PLAT-1`), nil, ""); status != http.StatusBadRequest {
		t.Errorf("Epic Link JQL without Jira Software: %d, want 400", status)
	}
}
