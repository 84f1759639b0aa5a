package jira

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeJira is an httptest Jira that answers in the shapes of testdata/
// (versions, errors, myself, serverInfo come from there verbatim) and keeps
// just enough state for issues, comments and properties to be written and
// read back. It behaves as Cloud or as Data Center: each answers the other's
// search endpoint the way the real one does (Cloud: 410 Gone for the removed
// /rest/api/2/search; Data Center: 404 for /rest/api/3/search/jql), so a
// connector that picks the wrong one fails.
type fakeJira struct {
	t     *testing.T
	cloud bool
	srv   *httptest.Server

	// auth is the Authorization header every API request must carry
	// ("" accepts anything); authFn, when set, decides instead.
	auth   string
	authFn func(string) bool
	// prefix is stripped from paths (OAuth: /ex/jira/<cloud id>).
	prefix string
	// pageSize caps maxResults, so paging happens with a few issues.
	pageSize int
	// honourCreateProps: store "properties" given when a comment is
	// created or updated (Cloud documents it; the fake DC ignores it).
	honourCreateProps bool

	mu         sync.Mutex
	hits       map[string]int          // "METHOD /path" (path without prefix)
	queries    map[string][]url.Values // the same key → each request's query
	bodies     map[string][]string     // the same key → each request's body
	jqls       []string                // every JQL asked, in order
	queued     map[string][]cannedResponse
	versions   map[string]string // project key → testdata file of its versions list
	versionGet map[string]string // version id → testdata file
	projects   map[string]string // project id → key
	serverInfo string            // testdata file
	myself     string            // testdata file
	selfUser   map[string]any    // author of comments slipwatch writes
	issues     map[string]*fakeIssue
	jql        map[string]func() []string // JQL → issue keys
	jqlErr     map[string]string          // JQL → Jira's 400 message for it
	comments   map[string][]*fakeComment  // issue key → comments
	props      map[string]string          // comment id → marker
	created    []map[string]any           // bodies of POST /rest/api/2/issue
	nextID     int
	clock      time.Time
}

type cannedResponse struct {
	status int
	header map[string]string
	body   string
}

type fakeIssue struct {
	ID     string
	Key    string
	Fields map[string]any
}

type fakeComment struct {
	ID      string
	Author  map[string]any
	Body    string
	Created string
	Updated string
}

const jiraLayout = "2006-01-02T15:04:05.000-0700"

func newFakeJira(t *testing.T, cloud bool) *fakeJira {
	t.Helper()
	f := &fakeJira{
		t:          t,
		cloud:      cloud,
		pageSize:   100,
		hits:       map[string]int{},
		queries:    map[string][]url.Values{},
		bodies:     map[string][]string{},
		queued:     map[string][]cannedResponse{},
		versions:   map[string]string{},
		versionGet: map[string]string{},
		projects:   map[string]string{},
		issues:     map[string]*fakeIssue{},
		jql:        map[string]func() []string{},
		jqlErr:     map[string]string{},
		comments:   map[string][]*fakeComment{},
		props:      map[string]string{},
		nextID:     20000,
		clock:      time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC),
	}
	if cloud {
		f.serverInfo, f.myself = "serverInfo.cloud.json", "myself.cloud.json"
		f.selfUser = map[string]any{"accountId": "5b10a2844c20165700ede21g", "displayName": "slipwatch"}
		f.honourCreateProps = true
	} else {
		f.serverInfo, f.myself = "serverInfo.server.json", "myself.server.json"
		f.selfUser = map[string]any{"name": "slipwatch", "key": "JIRAUSER10100", "displayName": "slipwatch bot"}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return b
}

// queue makes the next request to "METHOD /path" answer with r (FIFO).
func (f *fakeJira) queue(key string, rs ...cannedResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued[key] = append(f.queued[key], rs...)
}

func (f *fakeJira) hit(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[key]
}

func (f *fakeJira) queriesOf(key string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries[key])
}

func (f *fakeJira) bodiesOf(key string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies[key])
}

func (f *fakeJira) askedJQL() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.jqls)
}

func (f *fakeJira) addIssue(key string, fields map[string]any) *fakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	is := &fakeIssue{ID: strconv.Itoa(f.nextID), Key: key, Fields: fields}
	f.issues[key] = is
	return is
}

func (f *fakeJira) setJQL(jql string, keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jql[jql] = func() []string { return keys }
}

func (f *fakeJira) addComment(issueKey string, author map[string]any, body, at string) *fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	c := &fakeComment{ID: strconv.Itoa(f.nextID), Author: author, Body: body, Created: at, Updated: at}
	f.comments[issueKey] = append(f.comments[issueKey], c)
	return c
}

func (f *fakeJira) marker(commentID string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.props[commentID]
	return m, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jiraErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
}

func (f *fakeJira) file(w http.ResponseWriter, status int, name string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(readTestdata(f.t, filepath.Join("../jiratest/testdata/rest", name)))
}

func (f *fakeJira) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if f.prefix != "" {
		rest, ok := strings.CutPrefix(p, f.prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		p = rest
	}
	key := r.Method + " " + p
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	f.mu.Lock()
	f.hits[key]++
	f.queries[key] = append(f.queries[key], r.URL.Query())
	f.bodies[key] = append(f.bodies[key], string(body))
	var canned *cannedResponse
	if q := f.queued[key]; len(q) > 0 {
		canned = &q[0]
		f.queued[key] = q[1:]
	}
	f.mu.Unlock()

	authz := r.Header.Get("Authorization")
	ok := f.auth == "" || authz == f.auth
	if f.authFn != nil {
		ok = f.authFn(authz)
	}
	if !ok {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write(readTestdata(f.t, "../jiratest/testdata/rest/error-401.cloud.txt"))
		return
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "slipwatch/") {
		jiraErr(w, http.StatusBadRequest, "fake: User-Agent "+ua+" is not slipwatch's")
		return
	}
	if canned != nil {
		for k, v := range canned.header {
			w.Header().Set(k, v)
		}
		if strings.HasPrefix(canned.body, "@") {
			f.file(w, canned.status, canned.body[1:])
			return
		}
		if canned.header["Content-Type"] == "" {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		}
		w.WriteHeader(canned.status)
		_, _ = io.WriteString(w, canned.body)
		return
	}

	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case p == "/rest/api/2/serverInfo":
		f.file(w, 200, f.serverInfo)
	case p == "/rest/api/2/myself":
		f.file(w, 200, f.myself)
	case p == "/rest/api/3/search/jql":
		if !f.cloud {
			http.NotFound(w, r)
			return
		}
		f.search(w, r)
	case p == "/rest/api/2/search":
		if f.cloud {
			jiraErr(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
			return
		}
		f.search(w, r)
	case len(seg) == 6 && seg[3] == "project" && seg[5] == "versions" && r.Method == http.MethodGet:
		name, ok := f.versions[seg[4]]
		if !ok {
			jiraErr(w, 404, "No project could be found with key '"+seg[4]+"'.")
			return
		}
		// Versions lists carry an ETag, so conditional requests can be
		// shown to work.
		etag := `"versions-` + name + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		f.file(w, 200, name)
	case len(seg) == 5 && seg[3] == "project" && r.Method == http.MethodGet:
		k, ok := f.projectByID(seg[4])
		if !ok {
			jiraErr(w, 404, "No project could be found with id '"+seg[4]+"'.")
			return
		}
		writeJSON(w, 200, map[string]any{"id": seg[4], "key": k, "name": k})
	case len(seg) == 5 && seg[3] == "version" && r.Method == http.MethodGet:
		f.version(w, seg[4])
	case p == "/rest/api/2/issue" && r.Method == http.MethodPost:
		f.createIssue(w, r)
	case len(seg) == 5 && seg[3] == "issue" && r.Method == http.MethodGet:
		f.getIssue(w, r, seg[4])
	case len(seg) == 6 && seg[3] == "issue" && seg[5] == "comment":
		f.commentList(w, r, seg[4])
	case len(seg) == 7 && seg[3] == "issue" && seg[5] == "comment" && r.Method == http.MethodPut:
		f.updateComment(w, r, seg[4], seg[6])
	case len(seg) == 7 && seg[3] == "comment" && seg[5] == "properties" && seg[6] == MarkerProperty:
		f.property(w, r, seg[4])
	default:
		jiraErr(w, 404, "fake: no route for "+key)
	}
}

// projectByID knows the projects set in f.projects and those whose
// versions list names the id.
func (f *fakeJira) projectByID(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, ok := f.projects[id]; ok {
		return k, true
	}
	for key, name := range f.versions {
		var vs []struct {
			ProjectID json.Number `json:"projectId"`
		}
		if err := json.Unmarshal(readTestdata(f.t, filepath.Join("../jiratest/testdata/rest", name)), &vs); err != nil {
			f.t.Errorf("fake: %s: %v", name, err)
		}
		for _, v := range vs {
			if v.ProjectID.String() == id {
				return key, true
			}
		}
	}
	return "", false
}

func (f *fakeJira) version(w http.ResponseWriter, id string) {
	if name, ok := f.versionGet[id]; ok {
		f.file(w, 200, name)
		return
	}
	for _, name := range f.versions {
		var vs []map[string]any
		if err := json.Unmarshal(readTestdata(f.t, filepath.Join("../jiratest/testdata/rest", name)), &vs); err != nil {
			f.t.Errorf("fake: %s: %v", name, err)
		}
		for _, v := range vs {
			if v["id"] == id {
				writeJSON(w, 200, v)
				return
			}
		}
	}
	jiraErr(w, 404, "Could not find version for id '"+id+"'")
}

func (f *fakeJira) render(is *fakeIssue, fields []string) map[string]any {
	out := map[string]any{"id": is.ID, "key": is.Key, "self": f.srv.URL + "/rest/api/2/issue/" + is.ID}
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

func (f *fakeJira) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	jql := q.Get("jql")
	f.mu.Lock()
	f.jqls = append(f.jqls, jql)
	fn, ok := f.jql[jql]
	msg, refused := f.jqlErr[jql]
	f.mu.Unlock()
	if refused {
		jiraErr(w, http.StatusBadRequest, msg)
		return
	}
	if !ok {
		f.t.Logf("fake: no answer for JQL %q", jql)
		jiraErr(w, http.StatusBadRequest, "Error in the JQL Query: the fake has no answer for it.")
		return
	}
	var fields []string
	if s := q.Get("fields"); s != "" {
		fields = strings.Split(s, ",")
	} else if f.cloud {
		fields = []string{"id"}
	}
	max, _ := strconv.Atoi(q.Get("maxResults"))
	if max <= 0 || max > f.pageSize {
		max = f.pageSize
	}
	keys := fn()
	start := 0
	if f.cloud {
		if tok := q.Get("nextPageToken"); tok != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(tok, "tok-"))
			if err != nil {
				jiraErr(w, 400, "bad nextPageToken")
				return
			}
			start = n
		}
	} else {
		start, _ = strconv.Atoi(q.Get("startAt"))
	}
	end := min(start+max, len(keys))
	start = min(start, end)
	var issues []map[string]any
	f.mu.Lock()
	for _, k := range keys[start:end] {
		is := f.issues[k]
		if is == nil {
			f.mu.Unlock()
			f.t.Errorf("fake: JQL %q names unknown issue %s", jql, k)
			jiraErr(w, 500, "fake: unknown issue")
			return
		}
		issues = append(issues, f.render(is, fields))
	}
	f.mu.Unlock()
	if issues == nil {
		issues = []map[string]any{}
	}
	if f.cloud {
		res := map[string]any{"issues": issues, "isLast": end >= len(keys)}
		if end < len(keys) {
			res["nextPageToken"] = "tok-" + strconv.Itoa(end)
		}
		writeJSON(w, 200, res)
		return
	}
	writeJSON(w, 200, map[string]any{"startAt": start, "maxResults": max, "total": len(keys), "issues": issues})
}

func (f *fakeJira) getIssue(w http.ResponseWriter, r *http.Request, idOrKey string) {
	f.mu.Lock()
	var found *fakeIssue
	for _, is := range f.issues {
		if is.Key == idOrKey || is.ID == idOrKey {
			found = is
		}
	}
	f.mu.Unlock()
	if found == nil {
		f.file(w, 404, "error-404.cloud.json")
		return
	}
	fields := strings.Split(r.URL.Query().Get("fields"), ",")
	f.mu.Lock()
	out := f.render(found, fields)
	f.mu.Unlock()
	writeJSON(w, 200, out)
}

func (f *fakeJira) createIssue(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jiraErr(w, 400, "bad json")
		return
	}
	fields, _ := in["fields"].(map[string]any)
	proj, _ := fields["project"].(map[string]any)
	pk, _ := proj["key"].(string)
	if pk == "" || fields["summary"] == "" {
		f.file(w, 400, "error-400-field-errors.cloud.json")
		return
	}
	f.mu.Lock()
	f.created = append(f.created, in)
	f.nextID++
	id := strconv.Itoa(f.nextID)
	key := fmt.Sprintf("%s-%d", pk, 900+len(f.created))
	stored := map[string]any{}
	for k, v := range fields {
		stored[k] = v
	}
	stored["created"] = f.clock.Format(jiraLayout)
	f.issues[key] = &fakeIssue{ID: id, Key: key, Fields: stored}
	f.mu.Unlock()
	writeJSON(w, 201, map[string]any{"id": id, "key": key, "self": f.srv.URL + "/rest/api/2/issue/" + id})
}

func (f *fakeJira) renderComment(issueKey string, c *fakeComment) map[string]any {
	return map[string]any{
		"self":         f.srv.URL + "/rest/api/2/issue/" + issueKey + "/comment/" + c.ID,
		"id":           c.ID,
		"author":       c.Author,
		"updateAuthor": c.Author,
		"body":         c.Body,
		"created":      c.Created,
		"updated":      c.Updated,
	}
}

func (f *fakeJira) commentList(w http.ResponseWriter, r *http.Request, key string) {
	f.mu.Lock()
	_, exists := f.issues[key]
	f.mu.Unlock()
	if !exists {
		f.file(w, 404, "error-404.cloud.json")
		return
	}
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		start, _ := strconv.Atoi(q.Get("startAt"))
		max, _ := strconv.Atoi(q.Get("maxResults"))
		if max <= 0 || max > f.pageSize {
			max = f.pageSize
		}
		f.mu.Lock()
		all := f.comments[key]
		end := min(start+max, len(all))
		start = min(start, end)
		page := []map[string]any{}
		for _, c := range all[start:end] {
			page = append(page, f.renderComment(key, c))
		}
		total := len(all)
		f.mu.Unlock()
		writeJSON(w, 200, map[string]any{"startAt": start, "maxResults": max, "total": total, "comments": page})
	case http.MethodPost:
		var in struct {
			Body       string `json:"body"`
			Properties []struct {
				Key   string         `json:"key"`
				Value map[string]any `json:"value"`
			} `json:"properties"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			f.file(w, 400, "error-400-message.cloud.json")
			return
		}
		at := f.clock.Format(jiraLayout)
		c := f.addComment(key, f.selfUser, in.Body, at)
		f.mu.Lock()
		if f.honourCreateProps {
			for _, p := range in.Properties {
				if p.Key == MarkerProperty {
					f.props[c.ID], _ = p.Value["marker"].(string)
				}
			}
		}
		out := f.renderComment(key, c)
		f.mu.Unlock()
		writeJSON(w, 201, out)
	default:
		jiraErr(w, 405, "method")
	}
}

func (f *fakeJira) updateComment(w http.ResponseWriter, r *http.Request, key, id string) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		jiraErr(w, 400, "bad json")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.comments[key] {
		if c.ID == id {
			c.Body = in.Body
			f.clock = f.clock.Add(time.Minute)
			c.Updated = f.clock.Format(jiraLayout)
			writeJSON(w, 200, f.renderComment(key, c))
			return
		}
	}
	jiraErr(w, 404, "Can not find a comment for the id: "+id+".")
}

func (f *fakeJira) property(w http.ResponseWriter, r *http.Request, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	known := false
	for _, cs := range f.comments {
		for _, c := range cs {
			known = known || c.ID == id
		}
	}
	if !known {
		jiraErr(w, 404, "Comment not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		m, ok := f.props[id]
		if !ok {
			jiraErr(w, 404, "The property with key 'slipwatch' does not exist.")
			return
		}
		writeJSON(w, 200, map[string]any{"key": MarkerProperty, "value": map[string]string{"marker": m}})
	case http.MethodPut:
		var v map[string]any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			jiraErr(w, 400, "The property value must be valid JSON.")
			return
		}
		_, existed := f.props[id]
		f.props[id], _ = v["marker"].(string)
		if existed {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	default:
		jiraErr(w, 405, "method")
	}
}
