package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/slipwatch/slipwatch/connectors"
)

// The parts of Jira's JSON slipwatch reads. Users and comments use
// go-jira's types; versions and issues have their own because go-jira's
// cannot hold what Jira actually sends (a releaseDate in epoch
// milliseconds, a v3 description in Atlassian Document Format).

// version is /rest/api/2/version/{id} and an element of
// /rest/api/2/project/{key}/versions.
type version struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	ReleaseDate json.RawMessage `json:"releaseDate"` // never userReleaseDate: that one is locale-formatted
	Released    bool            `json:"released"`
	Archived    bool            `json:"archived"`
	ProjectID   flexID          `json:"projectId"`
}

// releaseDate is the version's target date. Jira documents an ISO date,
// parsed strictly; one published Cloud example has epoch milliseconds,
// taken as an instant in loc.
func (v version) releaseDate(loc *time.Location) (connectors.Date, error) {
	raw := bytes.TrimSpace(v.ReleaseDate)
	if len(raw) == 0 || string(raw) == "null" {
		return connectors.Date{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return connectors.Date{}, fmt.Errorf("version %s releaseDate: %w", v.ID, err)
		}
		if s == "" {
			return connectors.Date{}, nil
		}
		d, err := connectors.ParseDate(s)
		if err != nil {
			return connectors.Date{}, fmt.Errorf("version %s releaseDate: %w", v.ID, err)
		}
		return d, nil
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return connectors.Date{}, fmt.Errorf("version %s releaseDate %s is neither a date nor epoch milliseconds", v.ID, raw)
	}
	return connectors.DateOf(time.UnixMilli(ms), loc), nil
}

// flexID is an id Jira sends as a number in one place and a string in
// another (projectId).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id %s: %w", b, err)
	}
	*f = flexID(n.String())
	return nil
}

// issue is an element of a search answer or /rest/api/2/issue/{key}.
type issue struct {
	ID     string      `json:"id"`
	Key    string      `json:"key"`
	Fields issueFields `json:"fields"`
}

type issueFields struct {
	Summary                  string       `json:"summary"`
	Description              richText     `json:"description"`
	DueDate                  string       `json:"duedate"`
	Created                  jiraTime     `json:"created"`
	Updated                  jiraTime     `json:"updated"`
	ResolutionDate           jiraTime     `json:"resolutiondate"`
	StatusCategoryChangeDate jiraTime     `json:"statuscategorychangedate"`
	Status                   *status      `json:"status"`
	Labels                   []string     `json:"labels"`
	FixVersions              []idName     `json:"fixVersions"`
	IssueType                *issueType   `json:"issuetype"`
	Project                  *project     `json:"project"`
	Creator                  *gojira.User `json:"creator"`
	Parent                   *parent      `json:"parent"`
}

type status struct {
	StatusCategory struct {
		Key string `json:"key"` // new, indeterminate, done, undefined
	} `json:"statusCategory"`
}

type idName struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Released bool   `json:"released"` // fixVersions: the version is released
}

// parent is an issue's parent as a search returns it: on Cloud an epic's
// children name it here, with its status and type.
type parent struct {
	Key    string `json:"key"`
	Fields struct {
		Status    *status    `json:"status"`
		IssueType *issueType `json:"issuetype"`
	} `json:"fields"`
}

type issueType struct {
	Name           string `json:"name"`
	Subtask        bool   `json:"subtask"`
	HierarchyLevel int    `json:"hierarchyLevel"` // Cloud: 1 for epics
}

type project struct {
	ID  flexID `json:"id"`
	Key string `json:"key"`
}

// done reports whether the issue is finished, and since when. Resolution
// is what Jira calls done; a workflow that reaches a done status without
// setting a resolution still counts, from when its status category
// changed (Cloud), else from its last update (older Data Center has no
// statuscategorychangedate).
func (f issueFields) done() (time.Time, bool) {
	if !f.ResolutionDate.IsZero() {
		return f.ResolutionDate.Time, true
	}
	if f.Status != nil && f.Status.StatusCategory.Key == "done" {
		if !f.StatusCategoryChangeDate.IsZero() {
			return f.StatusCategoryChangeDate.Time, true
		}
		if !f.Updated.IsZero() {
			return f.Updated.Time, true
		}
		return f.Created.Time, true
	}
	return time.Time{}, false
}

// jiraTime reads Jira's timestamps: "2019-02-15T19:11:18.321-0800" (an
// offset without a colon, not RFC 3339), or RFC 3339. Anything else is an
// error, not a zero time.
type jiraTime struct{ time.Time }

var timeLayouts = []string{
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
}

func parseJiraTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a Jira timestamp", s)
}

func (t *jiraTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp %s: %w", b, err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	p, err := parseJiraTime(s)
	if err != nil {
		return err
	}
	t.Time = p
	return nil
}

// richText is a description: wiki markup (REST v2, Data Center) or an
// Atlassian Document Format tree (REST v3, Cloud search), flattened to its
// text with one line per block so "Committed: 2026-12-01" stays a line.
// A document's code blocks and quotes keep their wiki form ({code},
// {quote}), so the core reads both alike and takes no promise from an
// example or a quotation.
type richText string

func (r *richText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*r = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = richText(s)
		return nil
	}
	var doc adfNode
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("description is neither text nor a document: %w", err)
	}
	var sb strings.Builder
	doc.text(&sb)
	*r = richText(strings.TrimRight(sb.String(), "\n"))
	return nil
}

type adfNode struct {
	Type    string    `json:"type"`
	Text    string    `json:"text"`
	Content []adfNode `json:"content"`
	Attrs   struct {
		Text string `json:"text"` // mentions, emoji
	} `json:"attrs"`
}

func (n adfNode) text(sb *strings.Builder) {
	switch n.Type {
	case "text":
		sb.WriteString(n.Text)
		return
	case "hardBreak":
		sb.WriteString("\n")
		return
	case "mention", "emoji", "status", "date":
		sb.WriteString(n.Attrs.Text)
		return
	case "codeBlock", "blockquote":
		open, close := "{code}\n", "\n{code}\n"
		if n.Type == "blockquote" {
			open, close = "{quote}\n", "{quote}\n"
		}
		sb.WriteString(open)
		for _, c := range n.Content {
			c.text(sb)
		}
		sb.WriteString(close)
		return
	}
	for _, c := range n.Content {
		c.text(sb)
	}
	switch n.Type {
	case "paragraph", "heading", "rule", "mediaSingle", "panel":
		sb.WriteString("\n")
	}
}

// issueNumber is the number of "PLAT-42", for ordering; 0 when there is none.
func issueNumber(key string) int {
	i := strings.LastIndexByte(key, '-')
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(key[i+1:])
	return n
}
