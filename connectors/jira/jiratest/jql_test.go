package jiratest

import (
	"errors"
	"testing"
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
		{`resolved > "2026-11-20"`, false, false},
		{`resolved is EMPTY`, true, false},
		{`parent = "PLAT-1" OR "Epic Link" = "PLAT-1"`, false, true},
		{`project = "PLAT" AND (key = "PLAT-1" AND (issuetype = Epic AND duedate is not EMPTY))`, true, false},
		{`project = "OPS" OR (issuetype != Epic)`, false, true},
		{`duedate <= "2026-12-01" ORDER BY duedate ASC`, true, false},
		{`statusCategory = indeterminate`, true, false},
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
		`project in (PLAT, OPS)`:       "Error in the JQL Query: The operator 'in' is not supported by the sandbox.",
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
