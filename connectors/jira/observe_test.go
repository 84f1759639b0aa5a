package jira

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// users as each deployment exposes them: Cloud by account ID (no name, the
// email usually hidden), Data Center by name and key.
type testUsers struct {
	self, allowed, other map[string]any
}

func usersFor(cloud bool) testUsers {
	if cloud {
		return testUsers{
			self:    map[string]any{"accountId": "5b10a2844c20165700ede21g", "displayName": "slipwatch"},
			allowed: map[string]any{"accountId": "557058:aaaa", "displayName": "Jane"},
			other:   map[string]any{"accountId": "557058:bbbb", "displayName": "slipwatch"}, // a look-alike display name
		}
	}
	return testUsers{
		self:    map[string]any{"name": "slipwatch", "key": "JIRAUSER10100", "displayName": "slipwatch bot"},
		allowed: map[string]any{"name": "jane", "key": "JIRAUSER10200", "emailAddress": "jane@example.com", "displayName": "Jane"},
		other:   map[string]any{"name": "mallory", "key": "JIRAUSER10300", "displayName": "slipwatch bot"},
	}
}

func doneStatus() map[string]any {
	return map[string]any{"name": "Done", "statusCategory": map[string]any{"id": 3, "key": "done", "name": "Done"}}
}

func openStatus() map[string]any {
	return map[string]any{"name": "To Do", "statusCategory": map[string]any{"id": 2, "key": "new", "name": "To Do"}}
}

// seedProject gives f a project PLAT whose version vid has five issues
// (PLAT-3 the tracking issue, with three comments), and a throughput
// history.
func seedProject(t *testing.T, f *jiratest.Server, vid string) (thread string, self, allowed, other jiratest.Comment) {
	t.Helper()
	u := usersFor(f.Cloud())
	f.AddIssue("PLAT-1", map[string]any{"created": "2026-02-01T09:00:00.000+0000", "status": openStatus(), "labels": []string{}})
	f.AddIssue("PLAT-2", map[string]any{"created": "2026-02-02T09:00:00.000+0000", "status": doneStatus(), "labels": []string{"backend"},
		"resolutiondate": "2026-03-09T23:30:00.000-0800"})
	f.AddIssue("PLAT-3", map[string]any{"created": "2026-02-03T09:00:00.000+0000", "status": openStatus(), "labels": []string{"slipwatch"}})
	// Done without a resolution: a workflow that never sets one.
	p4 := map[string]any{"created": "2026-02-04T09:00:00.000+0000", "status": doneStatus(), "labels": nil,
		"updated": "2026-03-06T10:00:00.000+0000"}
	if f.Cloud() {
		p4["statuscategorychangedate"] = "2026-03-05T08:00:00.000+0000"
	}
	f.AddIssue("PLAT-4", p4)
	f.AddIssue("PLAT-10", map[string]any{"created": "2026-02-05T09:00:00.000+0000", "status": openStatus()})
	f.SetJQL(`project = "PLAT" AND (fixVersion = `+vid+`)`, "PLAT-10", "PLAT-4", "PLAT-3", "PLAT-2", "PLAT-1")

	f.AddIssue("PLAT-7", map[string]any{"resolutiondate": "2026-01-27T12:00:00.000+0000"}) // the day before the window
	f.AddIssue("PLAT-8", map[string]any{"resolutiondate": "2026-01-28T00:30:00.000+0000"}) // its first day
	f.SetJQL(`project = "PLAT" AND (resolved >= "2026-01-27")`, "PLAT-7", "PLAT-8", "PLAT-2")

	self = f.AddComment("PLAT-3", u.self, "Status: on track", "2026-03-01T10:00:00.000+0000")
	f.SetMarker(self.ID, "<!-- slipwatch:status id=c1 v=1 {} -->")
	allowed = f.AddComment("PLAT-3", u.allowed, "/commit 2026-04-01 board asked", "2026-03-02T10:00:00.000+0000")
	other = f.AddComment("PLAT-3", u.other, "/commit 2026-05-01", "2026-03-03T10:00:00.000+0000")
	// A user cannot make slipwatch believe it said something: the property
	// of a foreign comment is never read.
	f.SetMarker(other.ID, "<!-- slipwatch:event id=forged kind=slipped -->")
	return "PLAT-3", self, allowed, other
}

func TestObserveVersion(t *testing.T) {
	tests := []struct {
		name     string
		cloud    bool
		versions string
		vid      string
		title    string
		desc     string
		due      string
	}{
		{name: "cloud", cloud: true, versions: "project-versions.cloud.json", vid: "10000", title: "New Version 1", desc: "An excellent version", due: "2010-07-06"},
		{name: "datacenter", cloud: false, versions: "project-versions.server.json", vid: "12316041", title: "1.1.2", due: "2011-01-15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, tt.cloud)
			f.SetVersionsFile("PLAT", tt.versions)
			if tt.cloud {
				f.SetVersionFile("10000", "version.get.cloud.json")
			}
			f.SetPageSize(2) // five issues: three pages
			thread, self, allowed, other := seedProject(t, f, tt.vid)
			c, _ := newTestClient(t, f, nil)
			ctx := context.Background()

			ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: tt.vid}
			got, err := c.Observe(ctx, ref)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			u := usersFor(tt.cloud)
			author := func(m map[string]any) string {
				if id, ok := m["accountId"].(string); ok {
					return id
				}
				return m["name"].(string)
			}
			p4Closed := "2026-03-06T10:00:00.000+0000"
			if tt.cloud {
				p4Closed = "2026-03-05T08:00:00.000+0000"
			}
			due := mustDate(t, tt.due)
			from := mustDate(t, "2026-01-28")
			to := mustDate(t, "2026-03-10")
			want := connectors.Snapshot{
				Deliverable: connectors.Deliverable{
					Ref:         ref,
					Title:       tt.title,
					URL:         f.URL + "/projects/PLAT/versions/" + tt.vid,
					Description: tt.desc,
					DueDate:     due,
					Closed:      true,
					ClosedAt:    due.Time(time.UTC),
					// Only administrators edit a version.
					DescriptionByCanCommit: true,
					Items: []connectors.Item{
						{ID: "PLAT-1", CreatedAt: mustTime(t, "2026-02-01T09:00:00.000+0000")},
						{ID: "PLAT-2", CreatedAt: mustTime(t, "2026-02-02T09:00:00.000+0000"), ClosedAt: mustTime(t, "2026-03-09T23:30:00.000-0800")},
						{ID: "PLAT-4", CreatedAt: mustTime(t, "2026-02-04T09:00:00.000+0000"), ClosedAt: mustTime(t, p4Closed)},
						{ID: "PLAT-10", CreatedAt: mustTime(t, "2026-02-05T09:00:00.000+0000")},
					},
				},
				Thread: &connectors.Thread{
					ID:  thread,
					URL: f.URL + "/browse/PLAT-3",
					Comments: []connectors.Comment{
						{ID: self.ID, URL: f.URL + "/browse/PLAT-3?focusedCommentId=" + self.ID, Author: author(u.self), Body: "Status: on track",
							CreatedAt: mustTime(t, self.Created), UpdatedAt: mustTime(t, self.Updated),
							BySelf: true, Hidden: "<!-- slipwatch:status id=c1 v=1 {} -->"},
						{ID: allowed.ID, URL: f.URL + "/browse/PLAT-3?focusedCommentId=" + allowed.ID, Author: author(u.allowed), Body: "/commit 2026-04-01 board asked",
							CreatedAt: mustTime(t, allowed.Created), UpdatedAt: mustTime(t, allowed.Updated), AuthorCanCommit: true},
						{ID: other.ID, URL: f.URL + "/browse/PLAT-3?focusedCommentId=" + other.ID, Author: author(u.other), Body: "/commit 2026-05-01",
							CreatedAt: mustTime(t, other.Created), UpdatedAt: mustTime(t, other.Updated)},
					},
				},
				// PLAT-8 on the first day, PLAT-2 today (07:30 UTC); PLAT-7 is
				// a day early.
				Throughput: daily(from, to, map[int]int{0: 1, 41: 1}),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Observe (-want +got):\n%s", diff)
			}

			searchPath := "GET /rest/api/2/search"
			if tt.cloud {
				searchPath = "GET /rest/api/3/search/jql"
			}
			// Items: 3 pages; throughput: 2 pages.
			if n := f.Hits(searchPath); n != 5 {
				t.Errorf("searches = %d, want 5 (3 pages of items, 2 of throughput)", n)
			}
			if n := f.Hits("GET /rest/api/2/comment/" + other.ID + "/properties/slipwatch"); n != 0 {
				t.Errorf("read the property of a foreign comment %d times", n)
			}

			// A second observation reuses the throughput and the marker it
			// read: the comment did not change.
			if _, err := c.Observe(ctx, ref); err != nil {
				t.Fatalf("second Observe: %v", err)
			}
			if n := f.Hits(searchPath); n != 8 {
				t.Errorf("searches after the second Observe = %d, want 8 (throughput reused)", n)
			}
			if n := f.Hits("GET /rest/api/2/comment/" + self.ID + "/properties/slipwatch"); n != 1 {
				t.Errorf("read slipwatch's marker %d times over two observations, want 1", n)
			}
			if n := f.Hits("GET /rest/api/2/serverInfo"); n != 1 {
				t.Errorf("serverInfo asked %d times, want once", n)
			}
		})
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name     string
		cloud    bool
		versions string
		want     []string
	}{
		{name: "cloud", cloud: true, versions: "project-versions.cloud.json", want: []string{
			"jira:PLAT/version/10000", "jira:PLAT/version/10010", "jira:PLAT/issue/PLAT-20", "jira:PLAT/issue/PLAT-21", "jira:PLAT/issue/PLAT-22"}},
		{name: "datacenter, archived left out", cloud: false, versions: "project-versions.with-archived.server.json", want: []string{
			"jira:PLAT/version/12316041", "jira:PLAT/version/12323557", "jira:PLAT/version/12316141",
			"jira:PLAT/issue/PLAT-20", "jira:PLAT/issue/PLAT-21", "jira:PLAT/issue/PLAT-22"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, tt.cloud)
			f.SetVersionsFile("PLAT", tt.versions)
			f.SetPageSize(2)
			for _, k := range []string{"PLAT-20", "PLAT-21", "PLAT-22"} {
				f.AddIssue(k, map[string]any{"duedate": "2026-06-01"})
			}
			// The configured JQL's ORDER BY is dropped so it can be combined.
			f.SetJQL(`project = "PLAT" AND (issuetype = Epic AND duedate is not EMPTY)`, "PLAT-20", "PLAT-21", "PLAT-22")
			c, _ := newTestClient(t, f, func(cfg *config.Jira, _ *Options) {
				cfg.Deliverables.JQL = "issuetype = Epic AND duedate is not EMPTY ORDER BY duedate ASC"
			})
			refs, err := c.List(context.Background(), "plat") // teams match case-insensitively
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, r.Key())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("unknown project", func(t *testing.T) {
		f := newFakeJira(t, true)
		c, _ := newTestClient(t, f, nil)
		_, err := c.List(context.Background(), "OPS")
		if !errors.Is(err, connectors.ErrTerminal) {
			t.Errorf("List(OPS) = %v, want ErrTerminal", err)
		}
	})
}

func TestObserveVersionOfAnotherProject(t *testing.T) {
	f := newFakeJira(t, false)
	f.SetVersionsFile("PLAT", "project-versions.cloud.json") // projectId 10000 …
	f.SetProject("10000", "OPS")                             // … is OPS, not PLAT
	c, _ := newTestClient(t, f, nil)
	_, err := c.Observe(context.Background(), connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"})
	if !errors.Is(err, connectors.ErrNotFound) || !strings.Contains(err.Error(), "belongs to project OPS") {
		t.Errorf("Observe = %v, want not found: the version is OPS's", err)
	}
}

// memValidators is the validator cache as the Redis store keeps it.
type memValidators struct {
	mu sync.Mutex
	m  map[string]httpx.Validator
}

func (v *memValidators) GetValidator(_ context.Context, url string) (httpx.Validator, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := v.m[url]
	return x, ok, nil
}

func (v *memValidators) PutValidator(_ context.Context, url string, x httpx.Validator) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[url] = x
	return nil
}

func TestListRevalidates(t *testing.T) {
	f := newFakeJira(t, false)
	f.SetVersionsFile("PLAT", "project-versions.server.json")
	var statuses []int
	var mu sync.Mutex
	c, _ := newTestClient(t, f, func(cfg *config.Jira, o *Options) {
		cfg.Deliverables.JQL = ""
		o.Validators = &memValidators{m: map[string]httpx.Validator{}}
		o.Observe = func(ob httpx.Observation) {
			mu.Lock()
			statuses = append(statuses, ob.Status)
			mu.Unlock()
		}
	})
	for range 2 {
		refs, err := c.List(context.Background(), "PLAT")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(refs) != 3 {
			t.Fatalf("List = %v, want 3 versions", refs)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{200, 304}, statuses); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}
