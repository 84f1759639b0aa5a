package jira

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// epicsJQL is the deliverables JQL of the tests' config, in the project.
const epicsJQL = `project = "PLAT" AND (issuetype = Epic AND duedate is not EMPTY)`

// adfDescription is how Cloud's v3 search returns a description.
func adfDescription() map[string]any {
	para := func(text string) map[string]any {
		return map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}}
	}
	return map[string]any{"type": "doc", "version": 1, "content": []any{
		para("Checkout rewrite."),
		para("Committed: 2026-12-01"),
	}}
}

// seedEpic adds epic PLAT-12 and two children, linked as the edition
// links them: parent on Cloud, Epic Link on Data Center (link false: by
// parent, as on a Data Center without Jira Software).
func seedEpic(f *jiratest.Server, link bool) {
	desc := any("Checkout rewrite.\nCommitted: 2026-12-01")
	if f.Cloud() {
		desc = adfDescription()
	}
	f.AddIssue("PLAT-12", map[string]any{
		"summary": "Checkout v2", "description": desc, "duedate": "2026-06-30", "issuetype": map[string]any{"name": "Epic"},
		"created": "2026-01-05T09:00:00.000+0000", "status": openStatus(),
		"project": map[string]any{"id": "10000", "key": "PLAT"},
	})
	child := func(fields map[string]any) map[string]any {
		if link {
			fields["Epic Link"] = "PLAT-12"
		} else {
			fields["parent"] = map[string]any{"key": "PLAT-12"}
		}
		return fields
	}
	f.AddIssue("PLAT-13", child(map[string]any{"created": "2026-01-06T09:00:00.000+0000", "status": openStatus()}))
	f.AddIssue("PLAT-14", child(map[string]any{"created": "2026-01-07T09:00:00.000+0000", "status": doneStatus(), "resolutiondate": "2026-02-01T10:00:00.000+0100"}))
	// A story of the epic in another project counts too.
	f.AddIssue("WEB-3", child(map[string]any{"created": "2026-01-08T09:00:00.000+0000", "status": openStatus()}))
}

func TestObserveEpic(t *testing.T) {
	tests := []struct {
		name        string
		cloud       bool
		epicLink    bool // Data Center with Jira Software
		childrenJQL string
	}{
		{name: "cloud", cloud: true, childrenJQL: `parent in ("PLAT-12")`},
		{name: "datacenter", epicLink: true, childrenJQL: `parent in ("PLAT-12") OR cf[10008] in ("PLAT-12")`},
		{name: "datacenter without Epic Link", childrenJQL: `parent in ("PLAT-12")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, tt.cloud)
			seedEpic(f, tt.epicLink)
			if !tt.cloud && !tt.epicLink {
				f.SetEpicLink(false)
			}
			c, clock := newTestClient(t, f, nil)
			ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}
			got, err := c.Observe(context.Background(), ref)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			want := connectors.Snapshot{
				Deliverable: connectors.Deliverable{
					Ref: ref, Title: "Checkout v2", URL: f.URL + "/browse/PLAT-12",
					Description: "Checkout rewrite.\nCommitted: 2026-12-01",
					DueDate:     mustDate(t, "2026-06-30"),
					Items: []connectors.Item{
						{ID: "PLAT-13", CreatedAt: mustTime(t, "2026-01-06T09:00:00.000+0000")},
						{ID: "PLAT-14", CreatedAt: mustTime(t, "2026-01-07T09:00:00.000+0000"), ClosedAt: mustTime(t, "2026-02-01T10:00:00.000+0100")},
						{ID: "WEB-3", CreatedAt: mustTime(t, "2026-01-08T09:00:00.000+0000")},
					},
				},
				Thread: &connectors.Thread{ID: "PLAT-12", URL: f.URL + "/browse/PLAT-12"},
				// PLAT-14, resolved on the window's fifth day; WEB-3 is not PLAT's.
				Throughput: daily(mustDate(t, "2026-01-28"), mustDate(t, "2026-03-10"), map[int]int{4: 1}),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Observe (-want +got):\n%s", diff)
			}
			if asked := f.AskedJQL(); !slices.Contains(asked, tt.childrenJQL) || !slices.Contains(asked, epicsJQL) {
				t.Errorf("JQL asked %q, want %q and %q", asked, epicsJQL, tt.childrenJQL)
			}
			// The field list is read once, and only on Data Center; a
			// second full read (a day later) does not ask again.
			clock.advance(fullEvery + fullSpread)
			if _, err := c.Observe(context.Background(), ref); err != nil {
				t.Fatalf("Observe a day later: %v", err)
			}
			wantFields := 1
			if tt.cloud {
				wantFields = 0
			}
			if n := f.Hits("GET /rest/api/2/field"); n != wantFields {
				t.Errorf("field list read %d times, want %d", n, wantFields)
			}
		})
	}
}

func TestObserveEpicGone(t *testing.T) {
	ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}
	tests := []struct {
		name         string
		seed         func(f *jiratest.Server)
		wantNotFound bool
		wantTerminal bool
	}{
		{name: "deleted", seed: func(*jiratest.Server) {}, wantNotFound: true},
		{name: "due date cleared: no longer matches the JQL", seed: func(f *jiratest.Server) {
			f.AddIssue("PLAT-12", map[string]any{"project": map[string]any{"key": "PLAT"}, "issuetype": map[string]any{"name": "Epic"}})
		}, wantNotFound: true},
		{name: "moved to another project", seed: func(f *jiratest.Server) {
			f.AddIssue("PLAT-12", map[string]any{"project": map[string]any{"key": "OPS"}, "issuetype": map[string]any{"name": "Epic"}, "duedate": "2026-06-30"})
		}, wantNotFound: true},
		{name: "the configured JQL is broken", seed: func(f *jiratest.Server) {
			f.AddIssue("PLAT-12", map[string]any{"project": map[string]any{"key": "PLAT"}})
			f.RefuseJQL(epicsJQL, "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'EMPTY'.")
		}, wantTerminal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, true)
			tt.seed(f)
			c, _ := newTestClient(t, f, nil)
			_, err := c.Observe(context.Background(), ref)
			if got := errors.Is(err, connectors.ErrNotFound); got != tt.wantNotFound {
				t.Errorf("Observe = %v; ErrNotFound %v, want %v", err, got, tt.wantNotFound)
			}
			if got := errors.Is(err, connectors.ErrTerminal); got != tt.wantTerminal {
				t.Errorf("Observe = %v; ErrTerminal %v, want %v", err, got, tt.wantTerminal)
			}
		})
	}
}

// A search Jira refuses is an error in Jira's words, and the next
// observation tries again.
func TestChildrenSearchRefused(t *testing.T) {
	f := newFakeJira(t, false)
	seedEpic(f, true)
	const children = `parent in ("PLAT-12") OR cf[10008] in ("PLAT-12")`
	f.RefuseJQL(children, "The value 'PLAT-12' does not exist for the field 'parent'.")
	c, _ := newTestClient(t, f, nil)
	ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}
	_, err := c.Observe(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "does not exist for the field 'parent'") {
		t.Fatalf("Observe = %v, want Jira's 400", err)
	}
	f.AllowJQL(children)
	snap, err := c.Observe(context.Background(), ref)
	if err != nil {
		t.Fatalf("second Observe: %v", err)
	}
	if len(snap.Deliverable.Items) != 3 {
		t.Errorf("items %+v, want the three children", snap.Deliverable.Items)
	}
}
