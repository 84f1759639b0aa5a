package jira

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gojira "github.com/andygrunwald/go-jira"
)

// Who wrote an issue's "Committed:" line. The line counts only when that
// person may commit (commands.allow), as a /commit does; Jira lets anyone
// with "Edit Issues" edit a description. The issue's changelog says who
// changed the description and keeps the text before and after, so the
// author of the line is whoever last changed a line that mentions
// "committed" (the core parses the line itself; an edit elsewhere in the
// description is not an edit of the promise). A line there since the
// issue was created is its creator's.
//
// A version has no changelog, and Jira records nobody as the editor of
// its description; only project and Jira administrators (Administer
// Projects, Administer Jira) may edit a version at all, so a version's
// line is taken as theirs: see observeVersion.

// describedBy is who last changed an issue's Committed: line, as read
// while the issue's "updated" was updated.
type describedBy struct {
	updated time.Time
	by      string
	can     bool
}

// history is one changelog entry (Cloud's /changelog values, Data
// Center's changelog.histories).
type history struct {
	Author  *gojira.User `json:"author"`
	Created jiraTime     `json:"created"`
	Items   []struct {
		Field      string `json:"field"`
		FieldID    string `json:"fieldId"`
		FromString string `json:"fromString"`
		ToString   string `json:"toString"`
	} `json:"items"`
}

// committedLines are the lines of s that mention "committed", trimmed:
// what an edit must change to be an edit of the promise.
func committedLines(s string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(strings.ToLower(line), "committed") {
			b.WriteString(strings.TrimSpace(line))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// lineAuthor is who wrote the Committed: line of issue is, and whether
// they may commit; "", false when the description mentions no such line.
// It is read once per version of the issue (its "updated").
func (c *Client) lineAuthor(ctx context.Context, is issue) (string, bool, error) {
	if committedLines(string(is.Fields.Description)) == "" {
		return "", false, nil
	}
	c.mu.Lock()
	m, ok := c.describedBy[is.Key]
	c.mu.Unlock()
	if ok && !is.Fields.Updated.IsZero() && m.updated.Equal(is.Fields.Updated.Time) {
		return m.by, m.can, nil
	}
	hs, creator, err := c.changelog(ctx, is)
	if err != nil {
		return "", false, fmt.Errorf("who wrote the Committed: line of %s: %w", is.Key, err)
	}
	// Newest first; Jira lists oldest first, and a stable sort keeps
	// entries of one instant in Jira's order.
	slices.SortStableFunc(hs, func(a, b history) int { return b.Created.Compare(a.Created.Time) })
	author := creator
	found := false
	for _, h := range hs {
		for _, it := range h.Items {
			if (it.FieldID == "description" || it.Field == "description") && committedLines(it.FromString) != committedLines(it.ToString) {
				author, found = h.Author, true
				break
			}
		}
		if found {
			break
		}
	}
	by, can := "", false
	if author != nil {
		by, can = userID(author), c.canCommit(author)
	}
	c.mu.Lock()
	c.describedBy[is.Key] = describedBy{updated: is.Fields.Updated.Time, by: by, can: can}
	c.mu.Unlock()
	return by, can, nil
}

// changelog is issue is's change history and its creator. Cloud pages
// /changelog oldest first; the newest entries are what matter, so it
// reads the last page first and goes back only while no description
// change was found. Data Center (whose /changelog is missing before
// 9.x) sends the whole history with expand=changelog.
func (c *Client) changelog(ctx context.Context, is issue) ([]history, *gojira.User, error) {
	cloud, err := c.cloud(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !cloud {
		var res struct {
			Fields struct {
				Creator *gojira.User `json:"creator"`
			} `json:"fields"`
			Changelog struct {
				Histories []history `json:"histories"`
			} `json:"changelog"`
		}
		q := url.Values{"fields": {"creator"}, "expand": {"changelog"}}
		if err := c.get(ctx, "rest/api/2/issue/"+url.PathEscape(is.Key), q, &res); err != nil {
			return nil, nil, fmt.Errorf("read the changelog: %w", err)
		}
		return res.Changelog.Histories, res.Fields.Creator, nil
	}
	type page struct {
		StartAt int       `json:"startAt"`
		Total   int       `json:"total"`
		Values  []history `json:"values"`
	}
	read := func(start, n int) (page, error) {
		var p page
		q := url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {strconv.Itoa(n)}}
		if err := c.get(ctx, "rest/api/2/issue/"+url.PathEscape(is.Key)+"/changelog", q, &p); err != nil {
			return p, fmt.Errorf("read the changelog: %w", err)
		}
		return p, nil
	}
	first, err := read(0, pageSize)
	if err != nil {
		return nil, nil, err
	}
	// The pages after the first, from the newest back, until one holds a
	// change of the description. Jira may page by fewer than asked: the
	// first page says by how many.
	all, have := first.Values, len(first.Values)
	for end, n := first.Total, 1; end > have && have > 0; end, n = end-have, n+1 {
		if n == maxPages {
			return nil, nil, fmt.Errorf("read the changelog: more than %d pages", maxPages)
		}
		start := max(end-have, have)
		p, err := read(start, end-start)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, p.Values...)
		if touchesDescription(p.Values) || len(p.Values) == 0 {
			break
		}
	}
	return all, is.Fields.Creator, nil
}

// touchesDescription reports whether any of hs changed the description.
func touchesDescription(hs []history) bool {
	for _, h := range hs {
		for _, it := range h.Items {
			if it.FieldID == "description" || it.Field == "description" {
				return true
			}
		}
	}
	return false
}
