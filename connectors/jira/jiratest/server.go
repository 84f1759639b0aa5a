// Package jiratest is a sandbox Jira REST API on a loopback port, as Jira
// Cloud or as Jira Data Center: the versions, issues, comments and comment
// entity properties slipwatch reads and writes, JQL searches answered from
// what a test declares (or, with Options.Index, evaluated over the
// issues), and canned answers queued per request. Fixed
// answers (serverInfo, myself, errors, version lists) are real payloads
// from testdata/rest, embedded. The jira package's tests and the
// end-to-end tests run the real connector against it.
//
// Each edition answers the other's search endpoint the way the real one
// does (Cloud: 410 Gone for the removed /rest/api/2/search; Data Center: 404
// for /rest/api/3/search/jql), so a connector that picks the wrong one
// fails.
package jiratest

import (
	"bytes"
	"embed"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors/internal/answer"
)

//go:embed testdata/rest
var rest embed.FS

// MarkerProperty is the comment entity property key slipwatch writes its
// markers under (the jira package's MarkerProperty; a jira test checks
// they agree, as this package may not import that one).
const MarkerProperty = "slipwatch"

// timeLayout is how Jira writes instants.
const timeLayout = "2006-01-02T15:04:05.000-0700"

// Options configure New.
type Options struct {
	// Cloud makes the sandbox Jira Cloud; false, Data Center.
	Cloud bool
	// Fail receives mistakes in a test's setup that the sandbox notices
	// while serving (a JQL without an answer, a JQL naming an unknown
	// issue, a missing file). Tests pass t.Errorf; nil ignores them.
	Fail func(format string, args ...any)
	// Index answers a JQL without a declared answer (SetJQL, RefuseJQL)
	// by evaluating it over the issues, as a search index would; a JQL
	// it cannot run gets Jira's 400. Off, such a JQL is a setup mistake
	// (Fail), which keeps a unit test exact about what is asked.
	Index bool
}

// Response is a canned answer (see Queue).
type Response struct {
	Status int
	Header map[string]string
	// Body is sent as is, or, as "@<name>", the file testdata/rest/<name>.
	Body string
}

// Server is the sandbox. Its methods are safe for concurrent use.
type Server struct {
	URL string // where it serves, without a trailing slash

	cloud bool
	index bool
	fail  func(format string, args ...any)
	srv   *httptest.Server

	mu       sync.Mutex
	auth     string            // Authorization every request must carry; "" any
	authFn   func(string) bool // decides instead of auth when set
	prefix   string            // stripped from paths (OAuth: /ex/jira/<cloud id>)
	pageSize int               // caps maxResults, so few issues page
	self     map[string]any    // author of the comments slipwatch writes
	clock    time.Time         // when comments are written; an edit moves it a minute

	hits    map[string]int // "METHOD /path" (path without prefix)
	queries map[string][]url.Values
	bodies  map[string][]string
	queued  map[string][]Response
	writes  int

	versions    map[string][]map[string]any // project key → its version list, in order
	versionFile map[string]string           // version id → file answering GET /version/{id}
	projects    map[string]string           // project id → key
	nextVersion int

	issues    map[string]*Issue          // by key
	jql       map[string]func() []string // JQL → issue keys
	refused   map[string]string          // JQL → Jira's 400 message for it
	jqls      []string                   // every JQL asked, in order
	comments  map[string][]*Comment      // issue key → comments, oldest first
	histories map[string][]History       // issue key → changelog, oldest first
	markers   map[string]string          // comment id → marker
	created   []map[string]any           // bodies of POST /rest/api/2/issue
	nextID    int                        // issue and comment ids

	site    siteState // clock, time zone, project lists, fields (site.go)
	checker Checker
}

// Checker judges one exchange with the sandbox: the request as received
// (URL.Path without the prefix SetPrefix set, Body readable) and the
// answer as written (Body readable). canned says the answer is one a test
// queued (Queue) rather than the sandbox's own; it may be one no Jira
// would give. Requests outside the prefix are answered 404 and not passed
// on. internal/apispec judges them against Atlassian's published
// description.
type Checker func(req *http.Request, resp *http.Response, canned bool)

// SetChecker has c judge every exchange from now on (nil: none). c runs
// once the answer is written, without the sandbox's lock; it must be safe
// for concurrent use.
func (s *Server) SetChecker(c Checker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checker = c
}

// New starts a sandbox; Close stops it.
func New(o Options) *Server {
	s := &Server{
		cloud:       o.Cloud,
		index:       o.Index,
		fail:        o.Fail,
		pageSize:    100,
		clock:       time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC),
		hits:        map[string]int{},
		queries:     map[string][]url.Values{},
		bodies:      map[string][]string{},
		queued:      map[string][]Response{},
		versions:    map[string][]map[string]any{},
		versionFile: map[string]string{},
		projects:    map[string]string{},
		nextVersion: 10100,
		issues:      map[string]*Issue{},
		jql:         map[string]func() []string{},
		refused:     map[string]string{},
		comments:    map[string][]*Comment{},
		histories:   map[string][]History{},
		markers:     map[string]string{},
		nextID:      20000,
	}
	// The users of myself.{cloud,server}.json.
	if o.Cloud {
		s.self = map[string]any{"accountId": "5b10a2844c20165700ede21g", "displayName": "slipwatch"}
	} else {
		s.self = map[string]any{"name": "slipwatch", "key": "JIRAUSER10100", "displayName": "slipwatch bot"}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server, waiting for the requests it is answering.
func (s *Server) Close() { s.srv.Close() }

// Cloud tells whether the sandbox is Jira Cloud.
func (s *Server) Cloud() bool { return s.cloud }

// Self is the user the credentials belong to (as /myself answers): the
// author of the comments slipwatch writes.
func (s *Server) Self() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.self)
}

// RequireAuth makes every request carry this Authorization header; ""
// accepts any. Others are answered 401 as Jira Cloud does, in plain text.
func (s *Server) RequireAuth(header string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = header
}

// AuthFunc decides which Authorization headers are accepted, instead of
// RequireAuth (OAuth: access tokens a token server issued). It is called
// without the server's lock held.
func (s *Server) AuthFunc(f func(authorization string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authFn = f
}

// SetPrefix serves the API under p only, as Atlassian's OAuth gateway
// serves a site under /ex/jira/<cloud id>. Request keys (Hits, Queue…)
// leave it out.
func (s *Server) SetPrefix(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefix = p
}

// SetPageSize caps the page size of searches and comment lists (default
// 100), so that paging happens with a handful of issues.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SetProject makes GET /project/{id} answer with key. A project whose
// versions list names its id is known without it; SetProject wins over
// that.
func (s *Server) SetProject(id, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects[id] = key
}

// SetClock sets when the next comment is written; each edit of a comment
// moves the clock on a minute.
func (s *Server) SetClock(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = t
}

// Queue makes the next requests to key ("METHOD /path", the path without
// the prefix) answer rs, one each, in order, before the sandbox's own
// answers. Authentication is checked first.
func (s *Server) Queue(key string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued[key] = append(s.queued[key], rs...)
}

// Hits is how many requests key ("METHOD /path") received.
func (s *Server) Hits(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[key]
}

// Queries are the query strings of key's requests, in order.
func (s *Server) Queries(key string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]url.Values, len(s.queries[key]))
	for i, q := range s.queries[key] {
		out[i] = cloneValues(q)
	}
	return out
}

// Bodies are the bodies of key's requests, in order.
func (s *Server) Bodies(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies[key])
}

// Writes is how many POST, PUT and DELETE requests were answered 2xx.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (s *Server) failf(format string, args ...any) {
	if s.fail != nil {
		s.fail("jiratest: "+format, args...)
	}
}

// readFile is testdata/rest/<name>; a missing one is the test's mistake.
func (s *Server) readFile(name string) ([]byte, bool) {
	b, err := rest.ReadFile(path.Join("testdata/rest", name))
	if err != nil {
		s.failf("%v", err)
		return nil, false
	}
	return b, true
}

// statusWriter remembers the status, so that writes can be counted.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serve(rw http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	prefix, auth, authFn, checker := s.prefix, s.auth, s.authFn, s.checker
	s.mu.Unlock()
	p, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.NotFound(rw, r)
		return
	}
	key := r.Method + " " + p
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))

	s.mu.Lock()
	s.hits[key]++
	s.queries[key] = append(s.queries[key], r.URL.Query())
	s.bodies[key] = append(s.bodies[key], string(body))
	var canned *Response
	if q := s.queued[key]; len(q) > 0 {
		canned = &q[0]
		s.queued[key] = q[1:]
	}
	s.mu.Unlock()

	if checker != nil {
		rec := &answer.Recorder{ResponseWriter: rw}
		rw = rec
		defer func() {
			req := r.Clone(r.Context())
			req.URL.Path = p
			req.Body = io.NopCloser(bytes.NewReader(body))
			checker(req, rec.Response(), canned != nil)
		}()
	}
	w := &statusWriter{ResponseWriter: rw}
	defer func() {
		if (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete) && w.status/100 == 2 {
			s.mu.Lock()
			s.writes++
			s.mu.Unlock()
		}
	}()

	authz := r.Header.Get("Authorization")
	accepted := auth == "" || authz == auth
	if authFn != nil {
		accepted = authFn(authz)
	}
	if !accepted {
		s.file(w, http.StatusUnauthorized, "error-401.cloud.txt", nil)
		return
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "slipwatch/") {
		jiraErr(w, http.StatusBadRequest, "jiratest: User-Agent "+ua+" is not slipwatch's")
		return
	}
	if canned != nil {
		s.answer(w, *canned)
		return
	}
	s.route(w, r, p, key)
}

func (s *Server) answer(w http.ResponseWriter, c Response) {
	if name, ok := strings.CutPrefix(c.Body, "@"); ok {
		s.file(w, c.Status, name, c.Header)
		return
	}
	for k, v := range c.Header {
		w.Header().Set(k, v)
	}
	if c.Header["Content-Type"] == "" {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	}
	w.WriteHeader(c.Status)
	_, _ = io.WriteString(w, c.Body)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, p, key string) {
	if s.siteRoute(w, r, p) {
		return
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	get := r.Method == http.MethodGet
	switch {
	case p == "/rest/api/2/serverInfo":
		s.file(w, http.StatusOK, s.edition("serverInfo"), nil)
	case p == "/rest/api/2/myself":
		s.file(w, http.StatusOK, s.edition("myself"), nil)
	case p == "/rest/api/3/search/jql":
		if !s.cloud {
			http.NotFound(w, r)
			return
		}
		s.search(w, r)
	case p == "/rest/api/2/search":
		if s.cloud {
			jiraErr(w, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.")
			return
		}
		s.search(w, r)
	case len(seg) == 6 && seg[3] == "project" && seg[5] == "versions" && get:
		s.versionList(w, r, seg[4])
	case len(seg) == 5 && seg[3] == "project" && get:
		s.project(w, seg[4])
	case len(seg) == 5 && seg[3] == "version" && get:
		s.version(w, seg[4])
	case p == "/rest/api/2/issue" && r.Method == http.MethodPost:
		s.createIssue(w, r)
	case len(seg) == 5 && seg[3] == "issue" && get:
		s.getIssue(w, r, seg[4])
	case len(seg) == 6 && seg[3] == "issue" && seg[5] == "changelog" && get:
		s.changelog(w, r, seg[4])
	case len(seg) == 6 && seg[3] == "issue" && seg[5] == "comment":
		s.commentList(w, r, seg[4])
	case len(seg) == 7 && seg[3] == "issue" && seg[5] == "comment" && r.Method == http.MethodPut:
		s.updateComment(w, r, seg[4], seg[6])
	case len(seg) == 7 && seg[3] == "comment" && seg[5] == "properties" && seg[6] == MarkerProperty:
		s.property(w, r, seg[4])
	default:
		jiraErr(w, http.StatusNotFound, "jiratest: no route for "+key)
	}
}

// edition is the file of what for this edition: serverInfo.cloud.json…
func (s *Server) edition(what string) string {
	if s.cloud {
		return what + ".cloud.json"
	}
	return what + ".server.json"
}

// file answers testdata/rest/<name>: JSON unless header or a .txt name
// says otherwise.
func (s *Server) file(w http.ResponseWriter, status int, name string, header map[string]string) {
	b, ok := s.readFile(name)
	if !ok {
		jiraErr(w, http.StatusInternalServerError, "jiratest: no file "+name)
		return
	}
	ct := "application/json;charset=UTF-8"
	if strings.HasSuffix(name, ".txt") {
		ct = "text/plain;charset=UTF-8"
	}
	w.Header().Set("Content-Type", ct)
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// marshal is v's JSON; called with the lock held, so that the state it
// renders cannot change meanwhile.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a test's own values can get here (a field that is not
		// JSON); say so in the answer.
		b, _ = json.Marshal(map[string]any{"errorMessages": []string{"jiratest: " + err.Error()}})
	}
	return b
}

func writeBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = io.WriteString(w, "\n")
}

func jiraErr(w http.ResponseWriter, status int, msg string) {
	writeBytes(w, status, marshal(map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}}))
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// deepCopy copies the JSON-like values tests put in fields, so that what
// the sandbox hands out and what it keeps are never shared.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	case []map[string]any:
		if v == nil {
			return v
		}
		out := make([]map[string]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x).(map[string]any)
		}
		return out
	case []string:
		return slices.Clone(v)
	default:
		return v
	}
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return deepCopy(m).(map[string]any)
}
