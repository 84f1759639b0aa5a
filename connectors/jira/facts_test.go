package jira

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// TestThroughputTeamFacts: the team-level facts come from the one search
// the throughput makes (its fields name the versions and parents): the
// versions and, on Cloud, the epics in progress, the share of completed
// work in one, and how they grew once begun. Data Center links epics by a
// custom field the search does not name, so there they are not counted.
func TestThroughputTeamFacts(t *testing.T) {
	t.Parallel()
	seed := func(f *jiratest.Server) {
		v := func(id string, released bool) []any {
			return []any{map[string]any{"id": id, "name": "v" + id, "released": released}}
		}
		epic := map[string]any{"key": "PLAT-5", "fields": map[string]any{"status": openStatus(),
			"issuetype": map[string]any{"name": "Epic", "hierarchyLevel": 1}}}
		story := map[string]any{"key": "PLAT-6", "fields": map[string]any{"status": openStatus(),
			"issuetype": map[string]any{"name": "Story", "hierarchyLevel": 0}}}
		issue := func(key, created, resolved string, fields map[string]any) {
			if fields == nil {
				fields = map[string]any{}
			}
			fields["created"], fields["resolutiondate"] = created+"T09:00:00.000+0000", resolved+"T12:00:00.000+0000"
			f.AddIssue(key, fields)
		}
		// Version 100 in progress: one planned, one added after its first
		// completion; version 99 released; an epic's child; a sub-task
		// of a story (no deliverable); support work.
		issue("PLAT-20", "2026-01-01", "2026-02-01", map[string]any{"fixVersions": v("100", false)})
		issue("PLAT-21", "2026-02-05", "2026-02-10", map[string]any{"fixVersions": v("100", false)})
		issue("PLAT-22", "2026-01-01", "2026-02-03", map[string]any{"fixVersions": v("99", true)})
		issue("PLAT-23", "2026-01-01", "2026-02-04", map[string]any{"parent": epic})
		issue("PLAT-25", "2026-01-01", "2026-02-07", map[string]any{"parent": story})
		issue("PLAT-24", "2026-01-01", "2026-02-06", nil)
		f.SetJQL(`project = "PLAT" AND (resolved >= "2026-01-27")`, "PLAT-20", "PLAT-21", "PLAT-22", "PLAT-23", "PLAT-24", "PLAT-25")
	}
	facts := func(tp connectors.Throughput) connectors.Throughput {
		return connectors.Throughput{Active: tp.Active, Assigned: tp.Assigned, ScopeAdded: tp.ScopeAdded, ScopePlannedClosed: tp.ScopePlannedClosed}
	}
	tests := []struct {
		name  string
		cloud bool
		edit  func(*config.Jira, *Options)
		want  connectors.Throughput
	}{
		{"cloud: versions and epics", true, nil, connectors.Throughput{Active: 2, Assigned: 4, ScopeAdded: 1, ScopePlannedClosed: 3}},
		{"data center: versions only", false, nil, connectors.Throughput{Active: 1, Assigned: 3, ScopeAdded: 1, ScopePlannedClosed: 2}},
		{"data center, epics only: unknown", false, func(c *config.Jira, _ *Options) { c.Deliverables.Versions = false }, connectors.Throughput{}},
		{"cloud, epics only", true, func(c *config.Jira, _ *Options) { c.Deliverables.Versions = false },
			connectors.Throughput{Active: 1, Assigned: 1, ScopePlannedClosed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, tt.cloud)
			seed(f)
			c, _ := newTestClient(t, f, tt.edit)
			tp, err := c.projectThroughput(context.Background(), "PLAT")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, facts(tp)); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			if tp.Total() != 6 {
				t.Errorf("throughput %d completed, want 6", tp.Total())
			}
		})
	}
}
