package jiratest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The site as a whole, beyond one project's versions and issues: Jira's own
// clock (which stamps every issue's "updated"), the searching user's time
// zone (which JQL date literals are read in), the projects the account can
// browse (GET /rest/api/3/project/search on Cloud, GET /rest/api/2/project
// on Data Center) and the field list (Data Center's "Epic Link").

// epicLinkID is the id Jira Software gives the Epic Link custom field in
// testdata/rest/field.server.json; a search asking for it gets the
// issue's "Epic Link" value.
const epicLinkID = "customfield_10008"

// siteState is the Server's part for the site; its zero value is a site
// on the real clock with every project browsable.
type siteState struct {
	now         func() time.Time // nil: time.Now
	zone        string           // the user's time zone; "" = the myself file's
	fileZone    *time.Location   // the myself file's, read once
	names       map[string]string
	unbrowsable map[string]bool
	noEpicLink  bool
	unindexed   map[string]bool // issues searches do not find yet
}

// SetNow sets Jira's clock: every change to an issue (an update, a
// comment written or edited) stamps the issue's "updated" with it, as Jira
// does. Default time.Now.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.site.now = now
}

// nowLocked is Jira's clock; called with the lock held.
func (s *Server) nowLocked() time.Time {
	if s.site.now != nil {
		return s.site.now()
	}
	return time.Now()
}

// SetTimeZone makes /myself name zone (an IANA name) as the user's time
// zone, and searches read JQL date literals in it. Default: the myself
// file's (UTC on Cloud, Europe/Berlin on Data Center).
//
// A name Go does not know is answered as given, and searches read it as
// UTC, as Jira falls back on its default zone.
func (s *Server) SetTimeZone(zone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.site.zone = zone
}

// userZone is the zone JQL literals are read in; called with the lock
// held. A name Go does not know reads as UTC, as Jira falls back to its
// default zone.
func (s *Server) userZone() *time.Location {
	if s.site.zone != "" {
		if loc, err := time.LoadLocation(s.site.zone); err == nil {
			return loc
		}
		return time.UTC
	}
	if s.site.fileZone == nil {
		s.site.fileZone = time.UTC
		if b, err := rest.ReadFile("testdata/rest/" + s.edition("myself")); err == nil {
			var me struct {
				TimeZone string `json:"timeZone"`
			}
			if json.Unmarshal(b, &me) == nil && me.TimeZone != "" {
				if loc, err := time.LoadLocation(me.TimeZone); err == nil {
					s.site.fileZone = loc
				}
			}
		}
	}
	return s.site.fileZone
}

// touchLocked stamps issue key's "updated" with at when at is later;
// called with the lock held.
func (s *Server) touchLocked(key string, at time.Time) {
	is := s.issues[key]
	if is == nil {
		return
	}
	if cur, ok := fieldTime(fmt.Sprint(is.Fields["updated"]), time.UTC); ok && is.Fields["updated"] != nil && !at.After(cur) {
		return
	}
	is.Fields["updated"] = at.Format(timeLayout)
}

// initialUpdated is the "updated" of an issue added without one: the
// latest of the instants it names, else Jira's clock now.
func (s *Server) initialUpdated(fields map[string]any) string {
	var last time.Time
	for _, f := range []string{"created", "resolutiondate", "statuscategorychangedate"} {
		if v, ok := fields[f].(string); ok {
			if t, ok := fieldTime(v, time.UTC); ok && t.After(last) {
				last = t
			}
		}
	}
	if last.IsZero() {
		last = s.nowLocked()
	}
	return last.Format(timeLayout)
}

// AddProject makes project key (named name; "" names it by its key) one
// the account can browse, and returns its id.
func (s *Server) AddProject(key, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.site.names == nil {
		s.site.names = map[string]string{}
	}
	if name == "" {
		name = key
	}
	s.site.names[key] = name
	return s.projectID(key)
}

// RemoveProject deletes project key, its versions and its issues, as a
// Jira administrator moving it to the trash.
func (s *Server) RemoveProject(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, k := range s.projects {
		if k == key {
			delete(s.projects, id)
		}
	}
	delete(s.versions, key)
	delete(s.site.names, key)
	for k := range s.issues {
		if p, _, _ := strings.Cut(k, "-"); p == key {
			delete(s.issues, k)
		}
	}
}

// SetBrowsable says whether the account has Browse Projects on project
// key (default true). An unbrowsable project is still listed to a caller
// that asks for projects it can merely view (action=view, Cloud's
// default), as for an administrator of it.
func (s *Server) SetBrowsable(key string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.site.unbrowsable == nil {
		s.site.unbrowsable = map[string]bool{}
	}
	s.site.unbrowsable[key] = !ok
}

// SetEpicLink says whether Data Center has Jira Software's Epic Link field
// (default true): without it the field list lacks it and a JQL naming it
// is refused, as on a Jira without Jira Software.
func (s *Server) SetEpicLink(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.site.noEpicLink = !ok
}

// SetIndexed says whether searches find issue key (default true): false
// plays a search index that lags the database, as Jira Cloud's may for a
// few seconds after an issue is created.
func (s *Server) SetIndexed(key string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.site.unindexed == nil {
		s.site.unindexed = map[string]bool{}
	}
	s.site.unindexed[key] = !ok
}

// DeleteIssue deletes issue key and its comments, as Jira does: nothing
// a search can find says so.
func (s *Server) DeleteIssue(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issues[key] == nil {
		s.failf("DeleteIssue: no issue %s", key)
	}
	delete(s.issues, key)
	delete(s.comments, key)
}

// Requests is how many requests the sandbox received in all.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		n += h
	}
	return n
}

// projectKeys are the projects of the site, by key: those added, those
// with a version list, those an id was given to. Called with the lock
// held.
func (s *Server) projectKeys() []string {
	set := map[string]bool{}
	for k := range s.site.names {
		set[k] = true
	}
	for k := range s.versions {
		set[k] = true
	}
	for _, k := range s.projects {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// projectKnown reports whether project key exists: listed, or holding an
// issue. Called with the lock held.
func (s *Server) projectKnown(key string) bool {
	if slices.Contains(s.projectKeys(), key) {
		return true
	}
	for k := range s.issues {
		if p, _, _ := strings.Cut(k, "-"); p == key {
			return true
		}
	}
	return false
}

// unknownProject is Jira's 400 for a JQL naming a project that does not
// exist (or that the account cannot see), "" when every named project
// exists. Called without the lock.
func (s *Server) unknownProject(q query) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var msg string
	var walk func(q query)
	walk = func(q query) {
		switch q := q.(type) {
		case and:
			for _, c := range q {
				walk(c)
			}
		case or:
			for _, c := range q {
				walk(c)
			}
		case clause:
			if q.field != "project" || q.empty || msg != "" {
				return
			}
			for _, v := range append([]string{q.value}, q.list...) {
				if v != "" && !s.projectKnown(strings.ToUpper(v)) && !slices.Contains(slices.Collect(maps.Keys(s.projects)), v) {
					msg = "The value '" + v + "' does not exist for the field 'project'."
					return
				}
			}
		}
	}
	walk(q)
	return msg
}

// siteRoute answers what site.go adds; false leaves the request to route.
func (s *Server) siteRoute(w http.ResponseWriter, r *http.Request, p string) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch p {
	case "/rest/api/2/myself":
		s.mu.Lock()
		zone := s.site.zone
		s.mu.Unlock()
		if zone == "" {
			return false
		}
		b, ok := s.readFile(s.edition("myself"))
		if !ok {
			jiraErr(w, http.StatusInternalServerError, "jiratest: no myself file")
			return true
		}
		var me map[string]any
		_ = json.Unmarshal(b, &me)
		me["timeZone"] = zone
		writeBytes(w, http.StatusOK, marshal(me))
	case "/rest/api/3/project/search", "/rest/api/2/project/search":
		if !s.cloud {
			jiraErr(w, http.StatusNotFound, "jiratest: Data Center has no project search; GET /rest/api/2/project lists projects")
			return true
		}
		s.projectSearch(w, r, p)
	case "/rest/api/2/project":
		s.mu.Lock()
		var list []map[string]any
		for _, k := range s.projectKeys() {
			if !s.site.unbrowsable[k] {
				list = append(list, s.renderProject(k))
			}
		}
		b := marshal(list)
		s.mu.Unlock()
		if list == nil {
			b = []byte("[]")
		}
		writeBytes(w, http.StatusOK, b)
	case "/rest/api/2/field":
		s.fieldList(w)
	default:
		return false
	}
	return true
}

// projectSearch is Cloud's paged project search: startAt/maxResults
// (default 50, at most 100), isLast, nextPage; action=browse leaves out
// the projects the account cannot browse.
func (s *Server) projectSearch(w http.ResponseWriter, r *http.Request, p string) {
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startAt"))
	limit, err := strconv.Atoi(q.Get("maxResults"))
	if q.Get("maxResults") == "" {
		limit, err = 50, nil
	}
	if err != nil || start < 0 || limit < 0 {
		jiraErr(w, http.StatusBadRequest, "jiratest: bad startAt or maxResults")
		return
	}
	action := q.Get("action")
	switch action {
	case "", "view", "browse", "edit", "create":
	default:
		jiraErr(w, http.StatusBadRequest, "Invalid action: "+action)
		return
	}
	s.mu.Lock()
	limit = min(limit, 100, s.pageSize)
	var keys []string
	for _, k := range s.projectKeys() {
		if action == "browse" && s.site.unbrowsable[k] {
			continue
		}
		keys = append(keys, k)
	}
	end := min(start+limit, len(keys))
	start = min(start, end)
	values := []map[string]any{}
	for _, k := range keys[start:end] {
		values = append(values, s.renderProject(k))
	}
	page := func(at int) string {
		v := url.Values{"startAt": {strconv.Itoa(at)}, "maxResults": {strconv.Itoa(limit)}}
		if action != "" {
			v.Set("action", action)
		}
		return s.URL + p + "?" + v.Encode()
	}
	res := map[string]any{"self": page(start), "maxResults": limit, "startAt": start, "total": len(keys),
		"isLast": end >= len(keys), "values": values}
	if end < len(keys) {
		res["nextPage"] = page(end)
	}
	b := marshal(res)
	s.mu.Unlock()
	writeBytes(w, http.StatusOK, b)
}

// renderProject is project key as the project lists show it; called with
// the lock held.
func (s *Server) renderProject(key string) map[string]any {
	id := s.projectID(key)
	name := s.site.names[key]
	if name == "" {
		name = key
	}
	avatars := map[string]any{}
	for size, n := range map[string]string{"16x16": "xsmall", "24x24": "small", "32x32": "medium", "48x48": "large"} {
		avatars[size] = s.URL + "/secure/projectavatar?size=" + n + "&pid=" + id
	}
	m := map[string]any{"self": s.URL + "/rest/api/2/project/" + id, "id": id, "key": key, "name": name,
		"avatarUrls": avatars, "projectTypeKey": "software"}
	if s.cloud {
		m["expand"] = "description,lead,issueTypes,url,projectKeys,permissions,insight"
		m["simplified"], m["style"], m["isPrivate"], m["properties"] = false, "classic", false, map[string]any{}
	} else {
		m["expand"] = "description,lead,url,projectKeys"
		m["archived"] = false
	}
	return m
}

// fieldList is GET /rest/api/2/field: testdata/rest/field.server.json,
// without Epic Link on a Jira without Jira Software.
func (s *Server) fieldList(w http.ResponseWriter) {
	b, ok := s.readFile("field.server.json")
	if !ok {
		jiraErr(w, http.StatusInternalServerError, "jiratest: no field list")
		return
	}
	s.mu.Lock()
	drop := s.site.noEpicLink
	s.mu.Unlock()
	if drop {
		var fields []map[string]any
		_ = json.Unmarshal(b, &fields)
		fields = slices.DeleteFunc(fields, func(f map[string]any) bool { return f["id"] == epicLinkID })
		b = marshal(fields)
	}
	writeBytes(w, http.StatusOK, b)
}

// refuseEpicLink is Jira's 400 for a JQL naming Epic Link where there is
// no such field; "" when jql may run. Called without the lock.
func (s *Server) refuseEpicLink(jql string) string {
	s.mu.Lock()
	no := s.site.noEpicLink
	s.mu.Unlock()
	if l := strings.ToLower(jql); no && (strings.Contains(l, "epic link") || strings.Contains(l, "cf[10008]")) {
		return "Field 'Epic Link' does not exist or you do not have permission to view it."
	}
	return ""
}
