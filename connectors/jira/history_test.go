package jira

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// TestHistory: what `slipwatch backtest` reads of a project, with the
// queries the connector really sends (the sandbox's search index): the
// versions released since the start of the stretch and the epics resolved
// since, with their items, and the resolved issues per day from a
// forecast window before it.
func TestHistory(t *testing.T) {
	t.Parallel()
	for _, cloud := range []bool{true, false} {
		name := map[bool]string{true: "cloud", false: "data center"}[cloud]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := apispec.JiraSandbox(t, jiratest.Options{Cloud: cloud, Index: true, Fail: t.Errorf})
			project := map[string]any{"id": "10000", "key": "PLAT"}
			v2 := f.AddVersion("PLAT", jiratest.Version{Name: "2.0", Description: "Committed: 2026-02-15", ReleaseDate: "2026-02-20", Released: true, ProjectID: "10000"})
			v1 := f.AddVersion("PLAT", jiratest.Version{Name: "1.0", ReleaseDate: "2025-12-01", Released: true})
			v3 := f.AddVersion("PLAT", jiratest.Version{Name: "3.0", ReleaseDate: "2026-04-01"})
			issue := func(key, created, resolved string, extra map[string]any) {
				fields := map[string]any{"project": project, "created": created + "T09:00:00.000+0000", "status": openStatus(), "labels": []string{}}
				if resolved != "" {
					fields["resolutiondate"], fields["status"] = resolved+"T15:00:00.000+0000", doneStatus()
				}
				for k, v := range extra {
					fields[k] = v
				}
				f.AddIssue(key, fields)
			}
			in := func(id string) map[string]any {
				return map[string]any{"fixVersions": []any{map[string]any{"id": id, "name": id}}}
			}
			issue("PLAT-10", "2026-01-05", "2026-02-10", in(v2))
			issue("PLAT-11", "2026-01-20", "2026-02-18", in(v2))
			issue("PLAT-12", "2026-01-21", "", in(v2))
			issue("PLAT-13", "2026-01-02", "", map[string]any{"fixVersions": []any{map[string]any{"id": v2}}, "labels": []string{"slipwatch"}})
			issue("PLAT-14", "2025-10-01", "2025-11-30", in(v1))
			issue("PLAT-15", "2026-02-01", "2026-02-12", in(v3))
			// An epic resolved in the stretch, its child by parent (Cloud)
			// or Epic Link (Data Center).
			issue("PLAT-1", "2026-01-02", "2026-02-25", map[string]any{"summary": "Checkout v2", "duedate": "2026-02-20",
				"issuetype": map[string]any{"name": "Epic"}})
			link := map[string]any{"parent": map[string]any{"key": "PLAT-1"}}
			if !cloud {
				link = map[string]any{"Epic Link": "PLAT-1"}
			}
			issue("PLAT-20", "2026-01-03", "2026-02-22", link)

			c, _ := newTestClient(t, f, nil) // 2026-03-10
			begin := connectors.Date{Year: 2026, Month: 1, Day: 1}
			past, err := c.History(context.Background(), "plat", begin)
			if err != nil {
				t.Fatal(err)
			}
			if past.Team != "PLAT" || past.From.String() != "2025-11-21" || past.To.String() != "2026-03-10" {
				t.Errorf("past of %s: days %s..%s", past.Team, past.From, past.To)
			}
			counts := map[string]int{}
			for i, n := range past.Daily {
				if n > 0 {
					counts[past.From.AddDays(i).String()] = n
				}
			}
			want := map[string]int{"2025-11-30": 1, "2026-02-10": 1, "2026-02-12": 1, "2026-02-18": 1, "2026-02-22": 1, "2026-02-25": 1}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("resolved per day (-want +got):\n%s", diff)
			}
			type got struct {
				Key, Title, Description string
				Due                     string
				Items                   map[string]bool
			}
			var gots []got
			for _, d := range past.Deliverables {
				g := got{Key: d.Ref.Key(), Title: d.Title, Description: d.Description, Due: d.DueDate.String(), Items: map[string]bool{}}
				if !d.Closed {
					t.Errorf("%s is not closed", d.Ref)
				}
				for _, it := range d.Items {
					g.Items[it.ID] = it.Done()
				}
				gots = append(gots, g)
			}
			wantD := []got{
				{Key: "jira:PLAT/version/" + v2, Title: "2.0", Description: "Committed: 2026-02-15", Due: "2026-02-20",
					Items: map[string]bool{"PLAT-10": true, "PLAT-11": true, "PLAT-12": false}},
				{Key: "jira:PLAT/issue/PLAT-1", Title: "Checkout v2", Due: "2026-02-20", Items: map[string]bool{"PLAT-20": true}},
			}
			if diff := cmp.Diff(wantD, gots); diff != "" {
				t.Errorf("deliverables (-want +got):\n%s", diff)
			}
		})
	}
}
