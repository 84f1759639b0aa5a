package jiratest

import (
	"errors"
	"testing"
	"time"
)

func TestJQL(t *testing.T) {
	t.Parallel()
	epic := map[string]any{
		"project":   map[string]any{"id": "10000", "key": "PLAT"},
		"issuetype": map[string]any{"name": "Epic"},
		"duedate":   "2026-12-01",
		"status":    map[string]any{"name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}},
	}
	task := map[string]any{
		"project":        map[string]any{"id": "10000", "key": "PLAT"},
		"issuetype":      map[string]any{"name": "Task"},
		"fixVersions":    []any{map[string]any{"id": "10010", "name": "2.0"}},
		"labels":         []any{"slipwatch"},
		"resolutiondate": "2026-11-20T10:00:00.000+0000",
		"parent":         map[string]any{"key": "PLAT-1"},
		"Epic Link":      "PLAT-1",
	}
	tests := []struct {
		jql        string
		epic, task bool
	}{
		{`project = "PLAT" AND (issuetype = Epic AND duedate is not EMPTY)`, true, false},
		{`project = PLAT AND (fixVersion = 10010 AND labels = "slipwatch")`, false, true},
		{`project = "PLAT" AND (fixVersion = 10010)`, false, true},
		{`fixVersion = "2.0"`, false, true},
		{`project = "PLAT" AND (resolved >= "2026-11-20")`, false, true},
		// As in Jira: a date is its midnight, so 10:00 that day is after it.
		{`resolved > "2026-11-20"`, false, true},
		{`resolved > "2026-11-20 10:00"`, false, false},
		{`resolved is EMPTY`, true, false},
		{`parent = "PLAT-1" OR "Epic Link" = "PLAT-1"`, false, true},
		{`project = "PLAT" AND (key = "PLAT-1" AND (issuetype = Epic AND duedate is not EMPTY))`, true, false},
		{`project = "OPS" OR (issuetype != Epic)`, false, true},
		{`duedate <= "2026-12-01" ORDER BY duedate ASC`, true, false},
		{`statusCategory = indeterminate`, true, false},
		{`fixVersion in (10009, "10010")`, false, true},
		{`project = PLAT AND (fixVersion in (10010) OR parent in ("PLAT-7"))`, false, true},
		{`fixVersion not in (10010)`, false, false},
		{`project in (OPS, plat) AND issuetype not in (Task)`, true, false},
		// A key without a project field is in the project its key names.
		{`project = PLAT AND key = PLAT-1`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.jql, func(t *testing.T) {
			q, err := parseJQL(tt.jql)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.match("PLAT-1", epic); got != tt.epic {
				t.Errorf("epic: %v, want %v", got, tt.epic)
			}
			if got := q.match("PLAT-2", task); got != tt.task {
				t.Errorf("task: %v, want %v", got, tt.task)
			}
		})
	}
}

func TestJQLRefused(t *testing.T) {
	t.Parallel()
	for jql, want := range map[string]string{
		`"Sprint Goal" = x`:            "Field 'Sprint Goal' does not exist or you do not have permission to view it.",
		`project = "PLAT`:              `Error in the JQL Query: The quoted string 'PLAT' has not been completed.`,
		`labels ~ x`:                   "Error in the JQL Query: The operator '~' is not supported by the sandbox.",
		`fixVersion in 10010`:          "Error in the JQL Query: Expecting '(' after 'IN'.",
		`fixVersion in (10010 10011)`:  "Error in the JQL Query: Expecting ',' or ')' but got '10011'.",
		`project = PLAT AND`:           "Error in the JQL Query: Expecting a field name, an operator or a value but the query ended.",
		`(project = PLAT`:              "Error in the JQL Query: Expecting ')' before the end of the query.",
		`resolved >= startOfDay()`:     "Error in the JQL Query: functions are not supported by the sandbox.",
		`project = PLAT project = OPS`: "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'project'.",
	} {
		_, err := parseJQL(jql)
		var je *JQLError
		if !errors.As(err, &je) || je.Message != want {
			t.Errorf("parseJQL(%q) = %v, want %q", jql, err, want)
		}
	}
}

// Date literals are wall-clock times in the user's zone, to the minute;
// the field is an instant.
func TestJQLDates(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	// 09:30 UTC is 10:30 in Berlin and 01:30 in Los Angeles.
	issue := map[string]any{"updated": "2026-03-10T09:30:00.000+0000", "duedate": "2026-03-10"}
	tests := []struct {
		jql  string
		loc  *time.Location
		want bool
	}{
		{`updated >= "2026-03-10 09:30"`, time.UTC, true},
		{`updated >= "2026-03-10 09:31"`, time.UTC, false},
		{`updated >= "2026/03/10 10:30"`, berlin, true},
		{`updated >= "2026-03-10 10:31"`, berlin, false},
		{`updated >= "2026-03-10 01:30"`, la, true},
		{`updated >= "2026-03-10 09:30"`, la, false}, // 09:30 in LA is 17:30 UTC
		{`updated >= "2026-03-10"`, berlin, true},
		{`updated < "2026-03-10"`, la, false},
		{`updated > "2026-03-10"`, la, true}, // midnight in LA is 08:00 UTC
		{`duedate <= "2026-03-10"`, berlin, true},
	}
	for _, tt := range tests {
		q, err := parseJQLIn(tt.jql, tt.loc)
		if err != nil {
			t.Fatalf("%s: %v", tt.jql, err)
		}
		if got := q.match("PLAT-1", issue); got != tt.want {
			t.Errorf("%s in %s: %v, want %v", tt.jql, tt.loc, got, tt.want)
		}
	}
}
