package jiratest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Issue is an issue in the sandbox. Fields are rendered as given: a
// request for fields the issue lacks gets them as null.
type Issue struct {
	ID     string
	Key    string
	Fields map[string]any
}

// AddIssue adds (or replaces) issue key with a fresh id and returns a
// copy of it.
func (s *Server) AddIssue(key string, fields map[string]any) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	is := &Issue{ID: strconv.Itoa(s.nextID), Key: key, Fields: copyMap(fields)}
	if is.Fields == nil {
		is.Fields = map[string]any{}
	}
	s.issues[key] = is
	return is.copy()
}

// SetIssueID gives issue key the id a payload names (a webhook delivery
// refers to its issue by id).
func (s *Server) SetIssueID(key, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issues[key]
	if is == nil {
		s.failf("SetIssueID: no issue %s", key)
		return
	}
	is.ID = id
}

// UpdateIssue changes issue key's fields in place. f runs with the
// server's lock held and must not call the Server.
func (s *Server) UpdateIssue(key string, f func(fields map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issues[key]
	if is == nil {
		s.failf("UpdateIssue: no issue %s", key)
		return
	}
	f(is.Fields)
}

// Issue is a copy of issue key.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issues[key]
	if is == nil {
		return Issue{}, false
	}
	return is.copy(), true
}

// Issues are copies of every issue, slipwatch's created ones included, in
// key order (PLAT-2 before PLAT-10): what a JQL func indexes.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, is := range s.issues {
		out = append(out, is.copy())
	}
	slices.SortFunc(out, func(a, b Issue) int { return compareKeys(a.Key, b.Key) })
	return out
}

// Created are the bodies of the issues created (POST /rest/api/2/issue),
// in order.
func (s *Server) Created() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, len(s.created))
	for i, m := range s.created {
		out[i] = copyMap(m)
	}
	return out
}

func (is *Issue) copy() Issue {
	return Issue{ID: is.ID, Key: is.Key, Fields: copyMap(is.Fields)}
}

// compareKeys orders issue keys by project, then number.
func compareKeys(a, b string) int {
	pa, na, _ := strings.Cut(a, "-")
	pb, nb, _ := strings.Cut(b, "-")
	if c := strings.Compare(pa, pb); c != 0 {
		return c
	}
	ia, errA := strconv.Atoi(na)
	ib, errB := strconv.Atoi(nb)
	if errA == nil && errB == nil && ia != ib {
		return ia - ib
	}
	return strings.Compare(na, nb)
}

// SetJQL makes a search for jql (exactly as sent) find keys, in that
// order. Every key must be an issue when the search is made.
func (s *Server) SetJQL(jql string, keys ...string) {
	keys = slices.Clone(keys)
	s.SetJQLFunc(jql, func() []string { return keys })
}

// SetJQLFunc makes a search for jql find the keys f returns then, as an
// up-to-date search index would. f is called without the server's lock
// held, so it may call Issues.
func (s *Server) SetJQLFunc(jql string, f func() []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jql[jql] = f
}

// RefuseJQL makes a search for jql answer 400 with Jira's message msg (a
// field that does not exist, a key that does not), whatever SetJQL says,
// until AllowJQL.
func (s *Server) RefuseJQL(jql, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[jql] = msg
}

// AllowJQL undoes RefuseJQL: jql is answered as SetJQL said.
func (s *Server) AllowJQL(jql string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.refused, jql)
}

// AskedJQL is every JQL searched for, in order.
func (s *Server) AskedJQL() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jqls)
}

// render is is as a search or GET answers it, with only fields; called
// with the lock held.
func (s *Server) render(is *Issue, fields []string) map[string]any {
	out := map[string]any{"id": is.ID, "key": is.Key, "self": s.URL + "/rest/api/2/issue/" + is.ID}
	fs := map[string]any{}
	for _, name := range fields {
		if v, ok := is.Fields[name]; ok {
			fs[name] = v
		} else if name != "" && name != "id" && name != "key" {
			fs[name] = nil
		}
	}
	if len(fields) > 0 {
		out["fields"] = fs
	}
	return out
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	jql := q.Get("jql")
	s.mu.Lock()
	s.jqls = append(s.jqls, jql)
	find, ok := s.jql[jql]
	msg, refused := s.refused[jql]
	pageSize := s.pageSize
	s.mu.Unlock()
	if refused {
		jiraErr(w, http.StatusBadRequest, msg)
		return
	}
	if !ok && s.index {
		q, err := parseJQL(jql)
		if err != nil {
			jiraErr(w, http.StatusBadRequest, err.Error())
			return
		}
		find, ok = func() []string { return s.matching(q) }, true
	}
	if !ok {
		s.failf("no answer for JQL %q (SetJQL, or RefuseJQL for Jira's 400)", jql)
		jiraErr(w, http.StatusBadRequest, "Error in the JQL Query: the sandbox has no answer for it.")
		return
	}
	var fields []string
	if f := q.Get("fields"); f != "" {
		fields = strings.Split(f, ",")
	} else if s.cloud {
		// search/jql returns ids only unless asked for more.
		fields = []string{"id"}
	}
	limit, _ := strconv.Atoi(q.Get("maxResults"))
	if limit <= 0 || limit > pageSize {
		limit = pageSize
	}
	keys := find()
	start := 0
	if s.cloud {
		if tok := q.Get("nextPageToken"); tok != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(tok, "tok-"))
			if err != nil {
				jiraErr(w, http.StatusBadRequest, "bad nextPageToken")
				return
			}
			start = n
		}
	} else {
		start, _ = strconv.Atoi(q.Get("startAt"))
	}
	end := min(start+limit, len(keys))
	start = min(start, end)

	issues := []map[string]any{}
	s.mu.Lock()
	for _, k := range keys[start:end] {
		is := s.issues[k]
		if is == nil {
			s.mu.Unlock()
			s.failf("JQL %q names unknown issue %s", jql, k)
			jiraErr(w, http.StatusInternalServerError, "jiratest: unknown issue")
			return
		}
		issues = append(issues, s.render(is, fields))
	}
	var res map[string]any
	if s.cloud {
		res = map[string]any{"issues": issues, "isLast": end >= len(keys)}
		if end < len(keys) {
			res["nextPageToken"] = "tok-" + strconv.Itoa(end)
		}
	} else {
		res = map[string]any{"startAt": start, "maxResults": limit, "total": len(keys), "issues": issues}
	}
	b := marshal(res)
	s.mu.Unlock()
	writeBytes(w, http.StatusOK, b)
}

// matching are the keys of the issues q matches, in key order.
func (s *Server) matching(q query) []string {
	var keys []string
	for _, is := range s.Issues() {
		if q.match(is.Key, is.Fields) {
			keys = append(keys, is.Key)
		}
	}
	return keys
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, idOrKey string) {
	fields := strings.Split(r.URL.Query().Get("fields"), ",")
	s.mu.Lock()
	var b []byte
	for _, is := range s.issues {
		if is.Key == idOrKey || is.ID == idOrKey {
			out := s.render(is, fields)
			if slices.Contains(strings.Split(r.URL.Query().Get("expand"), ","), "changelog") {
				// Data Center sends the whole history here; Cloud at most
				// the first 100 entries (the sandbox plays Data Center's).
				hs := s.renderHistories(is.Key, 0, len(s.histories[is.Key]))
				out["changelog"] = map[string]any{"startAt": 0, "maxResults": len(hs), "total": len(hs), "histories": hs}
			}
			b = marshal(out)
			break
		}
	}
	s.mu.Unlock()
	if b == nil {
		s.file(w, http.StatusNotFound, "error-404.cloud.json", nil)
		return
	}
	writeBytes(w, http.StatusOK, b)
}

// maxSummary is the longest summary Jira takes, in characters.
const maxSummary = 255

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jiraErr(w, http.StatusBadRequest, "bad json")
		return
	}
	fields, _ := in["fields"].(map[string]any)
	proj, _ := fields["project"].(map[string]any)
	pk, _ := proj["key"].(string)
	if pk == "" || fields["summary"] == "" {
		s.file(w, http.StatusBadRequest, "error-400-field-errors.cloud.json", nil)
		return
	}
	if summary, _ := fields["summary"].(string); utf8.RuneCountInString(summary) > maxSummary {
		writeBytes(w, http.StatusBadRequest, marshal(map[string]any{"errorMessages": []string{},
			"errors": map[string]string{"summary": "Summary must be less than 255 characters."}}))
		return
	}
	s.mu.Lock()
	s.created = append(s.created, in)
	s.nextID++
	id := strconv.Itoa(s.nextID)
	key := fmt.Sprintf("%s-%d", pk, 900+len(s.created))
	stored := copyMap(fields)
	stored["created"] = s.clock.Format(timeLayout)
	s.issues[key] = &Issue{ID: id, Key: key, Fields: stored}
	s.mu.Unlock()
	writeBytes(w, http.StatusCreated, marshal(map[string]any{"id": id, "key": key, "self": s.URL + "/rest/api/2/issue/" + id}))
}
