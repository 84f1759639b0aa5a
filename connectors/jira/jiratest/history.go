package jiratest

import (
	"net/http"
	"strconv"
)

// History is one entry of an issue's changelog: who changed which fields
// when.
type History struct {
	Author  map[string]any // in the shape of the edition's users; nil: none (an anonymous change)
	Created string         // in Jira's format
	Items   []HistoryItem
}

// HistoryItem is one field's change in a History.
type HistoryItem struct {
	Field      string // "description", "duedate", …
	FromString string
	ToString   string
}

// EditDescription sets issue key's description to text as author at at,
// as Jira does: the field and the issue's updated change, and the
// changelog records who changed it from what to what.
func (s *Server) EditDescription(key string, author map[string]any, text, at string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issues[key]
	if is == nil {
		s.failf("EditDescription: no issue %s", key)
		return
	}
	from, _ := is.Fields["description"].(string)
	is.Fields["description"] = text
	is.Fields["updated"] = at
	s.histories[key] = append(s.histories[key], History{Author: copyMap(author), Created: at,
		Items: []HistoryItem{{Field: "description", FromString: from, ToString: text}}})
}

// AddHistory appends h to issue key's changelog (a change of another
// field, an automation's edit); the issue's fields are left as they are.
func (s *Server) AddHistory(key string, h History) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.Author = copyMap(h.Author)
	s.histories[key] = append(s.histories[key], h)
}

// renderHistories is issue key's changelog from start, at most n entries,
// as Jira renders them; called with the lock held.
func (s *Server) renderHistories(key string, start, n int) []map[string]any {
	all := s.histories[key]
	end := min(start+n, len(all))
	start = min(start, end)
	out := []map[string]any{}
	for i, h := range all[start:end] {
		items := []map[string]any{}
		for _, it := range h.Items {
			// A text field's change has no from/to ids: Jira sends them as
			// null, which its published schema does not allow, so the
			// sandbox leaves them out (docs/sandboxes.md); the connector
			// reads only the strings.
			items = append(items, map[string]any{"field": it.Field, "fieldtype": "jira", "fieldId": it.Field,
				"fromString": it.FromString, "toString": it.ToString})
		}
		m := map[string]any{"id": strconv.Itoa(10000 + start + i), "created": h.Created, "items": items}
		if h.Author != nil {
			m["author"] = h.Author
		}
		out = append(out, m)
	}
	return out
}

// changelog answers GET /rest/api/2/issue/{key}/changelog, a Cloud
// endpoint (oldest first, paged); Data Center before 9.0 has none, which
// the sandbox plays.
func (s *Server) changelog(w http.ResponseWriter, r *http.Request, key string) {
	if !s.cloud {
		jiraErr(w, http.StatusNotFound, "jiratest: Data Center has no /changelog; use expand=changelog")
		return
	}
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startAt"))
	limit, _ := strconv.Atoi(q.Get("maxResults"))
	s.mu.Lock()
	if limit <= 0 || limit > s.pageSize {
		limit = s.pageSize
	}
	_, exists := s.issues[key]
	total := len(s.histories[key])
	values := s.renderHistories(key, start, limit)
	b := marshal(map[string]any{"startAt": start, "maxResults": limit, "total": total,
		"isLast": start+len(values) >= total, "values": values})
	s.mu.Unlock()
	if !exists {
		s.file(w, http.StatusNotFound, "error-404.cloud.json", nil)
		return
	}
	writeBytes(w, http.StatusOK, b)
}
