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

const epicJQL = `project = "PLAT" AND (key = "PLAT-12" AND (issuetype = Epic AND duedate is not EMPTY))`

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

func seedEpic(f *jiratest.Server) {
	desc := any("Checkout rewrite.\nCommitted: 2026-12-01")
	if f.Cloud() {
		desc = adfDescription()
	}
	f.AddIssue("PLAT-12", map[string]any{
		"summary": "Checkout v2", "description": desc, "duedate": "2026-06-30",
		"created": "2026-01-05T09:00:00.000+0000", "status": openStatus(),
		"project": map[string]any{"id": "10000", "key": "PLAT"},
	})
	f.SetJQL(epicJQL, "PLAT-12")
	f.AddIssue("PLAT-13", map[string]any{"created": "2026-01-06T09:00:00.000+0000", "status": openStatus()})
	f.AddIssue("PLAT-14", map[string]any{"created": "2026-01-07T09:00:00.000+0000", "status": doneStatus(), "resolutiondate": "2026-02-01T10:00:00.000+0100"})
	f.SetJQL(`project = "PLAT" AND (resolved >= "2026-01-27")`)
}

func TestObserveEpic(t *testing.T) {
	tests := []struct {
		name       string
		cloud      bool
		epicLink   bool // Data Center with Jira Software
		wantJQL    []string
		secondJQLs []string
	}{
		{name: "cloud", cloud: true, wantJQL: []string{epicJQL, `parent = "PLAT-12"`}},
		{name: "datacenter", epicLink: true, wantJQL: []string{epicJQL, `parent = "PLAT-12" OR "Epic Link" = "PLAT-12"`}},
		{name: "datacenter without Epic Link", wantJQL: []string{epicJQL, `parent = "PLAT-12" OR "Epic Link" = "PLAT-12"`, `parent = "PLAT-12"`},
			// Remembered: the next observation asks parent alone.
			secondJQLs: []string{epicJQL, `parent = "PLAT-12"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, tt.cloud)
			seedEpic(f)
			switch {
			case tt.cloud:
				f.SetJQL(`parent = "PLAT-12"`, "PLAT-13", "PLAT-14")
			case tt.epicLink:
				f.SetJQL(`parent = "PLAT-12" OR "Epic Link" = "PLAT-12"`, "PLAT-14", "PLAT-13")
			default:
				f.RefuseJQL(`parent = "PLAT-12" OR "Epic Link" = "PLAT-12"`, "Field 'Epic Link' does not exist or you do not have permission to view it.")
				f.SetJQL(`parent = "PLAT-12"`, "PLAT-13", "PLAT-14")
			}
			c, _ := newTestClient(t, f, nil)
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
					},
				},
				Thread:     &connectors.Thread{ID: "PLAT-12", URL: f.URL + "/browse/PLAT-12"},
				Throughput: daily(mustDate(t, "2026-01-28"), mustDate(t, "2026-03-10"), nil),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Observe (-want +got):\n%s", diff)
			}
			asked := slices.DeleteFunc(f.AskedJQL(), func(s string) bool { return s == `project = "PLAT" AND (resolved >= "2026-01-27")` })
			if diff := cmp.Diff(tt.wantJQL, asked); diff != "" {
				t.Errorf("JQL asked (-want +got):\n%s", diff)
			}
			if tt.secondJQLs != nil {
				before := len(f.AskedJQL())
				if _, err := c.Observe(context.Background(), ref); err != nil {
					t.Fatalf("second Observe: %v", err)
				}
				again := slices.DeleteFunc(f.AskedJQL()[before:], func(s string) bool { return s == `project = "PLAT" AND (resolved >= "2026-01-27")` })
				if diff := cmp.Diff(tt.secondJQLs, again); diff != "" {
					t.Errorf("JQL asked the second time (-want +got):\n%s", diff)
				}
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
		{name: "deleted (JQL names a missing key: 400, then 404)", seed: func(f *jiratest.Server) {
			f.RefuseJQL(epicJQL, "An issue with key 'PLAT-12' does not exist for field 'key'.")
		}, wantNotFound: true},
		{name: "due date cleared: no longer matches the JQL", seed: func(f *jiratest.Server) {
			f.AddIssue("PLAT-12", map[string]any{"project": map[string]any{"key": "PLAT"}})
			f.SetJQL(epicJQL)
		}, wantNotFound: true},
		{name: "moved to another project", seed: func(f *jiratest.Server) {
			f.AddIssue("PLAT-12", map[string]any{"project": map[string]any{"key": "OPS"}})
			f.SetJQL(epicJQL)
		}, wantNotFound: true},
		{name: "the configured JQL is broken", seed: func(f *jiratest.Server) {
			f.AddIssue("PLAT-12", map[string]any{"project": map[string]any{"key": "PLAT"}})
			f.RefuseJQL(epicJQL, "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'EMPTY'.")
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

// Only Jira saying the field is missing turns Epic Link off; another 400
// is an error, and the next observation asks with Epic Link again.
func TestEpicLinkOtherError(t *testing.T) {
	f := newFakeJira(t, false)
	seedEpic(f)
	const both = `parent = "PLAT-12" OR "Epic Link" = "PLAT-12"`
	f.RefuseJQL(both, "The value 'PLAT-12' does not exist for the field 'parent'.")
	c, _ := newTestClient(t, f, nil)
	ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}
	_, err := c.Observe(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "does not exist for the field 'parent'") {
		t.Fatalf("Observe = %v, want Jira's 400", err)
	}
	f.AllowJQL(both)
	f.SetJQL(both, "PLAT-13")
	if _, err := c.Observe(context.Background(), ref); err != nil {
		t.Fatalf("second Observe: %v", err)
	}
}
