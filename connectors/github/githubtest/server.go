// Package githubtest is a sandbox GitHub REST API on a loopback port: the
// repos, milestones, issues and comments slipwatch reads and writes, with
// GitHub's payload shapes (built over real payloads in data/), Link
// pagination, ETags answered with 304, and injectable faults. Tests,
// testdrive and the benchmarks run the real connector against it.
package githubtest

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	//go:embed data/milestone.json
	baseMilestone []byte
	//go:embed data/issue.json
	baseIssue []byte
	//go:embed data/comment.json
	baseComment []byte
)

// Milestone is a milestone in the sandbox.
type Milestone struct {
	Number      int
	Title       string
	Description string
	State       string // open or closed
	DueOn       time.Time
	ClosedAt    time.Time
	UpdatedAt   time.Time // set by the sandbox on every change
}

// Issue is an issue (or, with PR set, a pull request).
type Issue struct {
	Number    int
	Title     string
	Milestone int
	Labels    []string
	CreatedAt time.Time
	ClosedAt  time.Time
	UpdatedAt time.Time // set by the sandbox on every change and comment
	PR        bool
	User      string
}

// Comment is an issue comment.
type Comment struct {
	ID        int64
	Issue     int
	User      string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Fault is an answer to give instead of the real one, or a way to spoil
// the real one.
type Fault struct {
	Method, PathPrefix string // which requests ("" matches all)
	Status             int    // answer this instead; 0: the real answer
	Header             map[string]string
	Body               string
	Times              int
	// Delay holds the answer back this long (the sandbox serves other
	// requests meanwhile): a tracker slower than the client's patience.
	Delay time.Duration
	// Reset sends the real answer's headers and half its body, then
	// resets the connection: a TCP reset mid-body. The request has been
	// acted on, as on a real server whose answer was lost.
	Reset bool
}

// apiPrefix is where GitHub Enterprise Server serves its REST API; a
// base_url other than api.github.com gets it, so the sandbox serves there.
const apiPrefix = "/api/v3"

// Server is the sandbox.
type Server struct {
	URL  string // API root, with a trailing slash
	Self string // the login the token belongs to

	mu       sync.Mutex
	srv      *httptest.Server
	now      func() time.Time
	repos    map[string]*repo
	perms    map[string]string // "owner/repo user" → permission
	faults   []*Fault
	requests int
	notMod   int
	writes   int
	nextID   int64
	onServe  func(Served)
}

// Served is one request the sandbox answered, for OnServe.
type Served struct {
	Method string
	Path   string // without the GHES /api/v3 prefix: "/repos/acme/api/issues/7/comments"
	Status int
	At     time.Time // wall clock when the answer was written, whatever the sandbox's clock
}

type repo struct {
	milestones map[int]*Milestone
	issues     map[int]*Issue
	comments   []*Comment
	next       int
}

// New starts a sandbox; now is its clock (nil: time.Now).
func New(now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{Self: "slipwatch-bot", now: now, repos: map[string]*repo{}, perms: map[string]string{}, nextID: 1000}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + apiPrefix + "/"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) repo(name string) *repo {
	r := s.repos[name]
	if r == nil {
		r = &repo{milestones: map[int]*Milestone{}, issues: map[int]*Issue{}}
		s.repos[name] = r
	}
	return r
}

// AddMilestone adds a milestone and returns its number.
func (s *Server) AddMilestone(repoName string, m Milestone) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoName)
	r.next++
	m.Number = r.next
	if m.State == "" {
		m.State = "open"
	}
	m.UpdatedAt = s.now()
	r.milestones[m.Number] = &m
	return m.Number
}

// UpdateMilestone changes a milestone in place.
func (s *Server) UpdateMilestone(repoName string, n int, f func(*Milestone)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.repo(repoName).milestones[n]
	f(m)
	m.UpdatedAt = s.now()
}

// AddIssue adds an issue and returns its number.
func (s *Server) AddIssue(repoName string, is Issue) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoName)
	r.next++
	is.Number = r.next
	if is.User == "" {
		is.User = "octocat"
	}
	is.UpdatedAt = s.now()
	r.issues[is.Number] = &is
	return is.Number
}

// UpdateIssue changes an issue in place.
func (s *Server) UpdateIssue(repoName string, n int, f func(*Issue)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.repo(repoName).issues[n]
	f(is)
	is.UpdatedAt = s.now()
}

// AddComment adds a comment by user on issue n.
func (s *Server) AddComment(repoName string, n int, user, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addComment(s.repo(repoName), n, user, body)
}

func (s *Server) addComment(r *repo, n int, user, body string) int64 {
	s.nextID++
	now := s.now()
	r.comments = append(r.comments, &Comment{ID: s.nextID, Issue: n, User: user, Body: body, CreatedAt: now, UpdatedAt: now})
	if is, ok := r.issues[n]; ok {
		is.UpdatedAt = now
	}
	return s.nextID
}

// SetPermission sets user's permission on a repo (admin, write, read…).
func (s *Server) SetPermission(repoName, user, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perms[repoName+" "+user] = perm
}

// Comments returns the comments on issue n, oldest first.
func (s *Server) Comments(repoName string, n int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.repo(repoName).comments {
		if c.Issue == n {
			out = append(out, *c)
		}
	}
	return out
}

// Issues returns a repo's issues by number.
func (s *Server) Issues(repoName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	r := s.repo(repoName)
	for _, k := range slices.Sorted(maps.Keys(r.issues)) {
		out = append(out, *r.issues[k])
	}
	return out
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// PendingFaults is how many injected faults have not been used up.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// Counts returns requests served, how many were 304, and writes.
func (s *Server) Counts() (requests, notModified, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.notMod, s.writes
}

// OnServe has f told about every request once it is answered (nil: no
// one), so a benchmark can time the moment a write reaches "GitHub". f runs
// with the sandbox locked: it must be quick and must not call the Server.
func (s *Server) OnServe(f func(Served)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onServe = f
}

// statusWriter remembers the status a handler wrote, for OnServe.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = strings.TrimPrefix(r.URL.Path, apiPrefix)
	s.mu.Lock()
	on := s.onServe
	s.mu.Unlock()
	if on != nil {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		w = sw
		defer func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			on(Served{Method: r.Method, Path: r.URL.Path, Status: sw.status, At: time.Now()})
		}()
	}
	f := s.fault(r)
	if f == nil {
		s.answer(w, r)
		return
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			// The client gave up; like a real server, act on it anyway.
		}
	}
	switch {
	case f.Status != 0:
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
	case f.Reset:
		rec := httptest.NewRecorder()
		s.answer(rec, r)
		resetMidBody(w, rec)
	default:
		s.answer(w, r)
	}
}

// fault takes the first queued fault that matches r, counting it.
func (s *Server) fault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			if f.Status != 0 {
				s.requests++ // answer counts the others
			}
			return f
		}
	}
	return nil
}

// resetMidBody writes rec's status, headers (with the full length) and
// half its body, then closes the connection with a TCP RST.
func resetMidBody(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("githubtest: the server cannot hijack connections")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	body := rec.Body.Bytes()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_ = rec.Header().Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

// answer serves r from the sandbox's state.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Hour).Unix(), 10))
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.URL.Path == "/user" && r.Method == http.MethodGet {
		s.json(w, r, http.StatusOK, map[string]any{"login": s.Self, "id": 1, "type": "User"})
		return
	}
	if len(parts) < 4 || parts[0] != "repos" {
		s.notFound(w)
		return
	}
	name := parts[1] + "/" + parts[2]
	rp, ok := s.repos[name]
	if !ok {
		s.notFound(w)
		return
	}
	rest := parts[3:]
	switch {
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "milestones":
		var list []any
		for _, k := range slices.Sorted(maps.Keys(rp.milestones)) {
			m := rp.milestones[k]
			if st := r.URL.Query().Get("state"); st == "all" || st == m.State || (st == "" && m.State == "open") {
				list = append(list, s.milestoneJSON(name, rp, m))
			}
		}
		s.page(w, r, list)
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "milestones":
		n, _ := strconv.Atoi(rest[1])
		m, ok := rp.milestones[n]
		if !ok {
			s.notFound(w)
			return
		}
		s.json(w, r, http.StatusOK, s.milestoneJSON(name, rp, m))
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "issues":
		q := r.URL.Query()
		var since time.Time
		if v := q.Get("since"); v != "" {
			since, _ = time.Parse(time.RFC3339, v)
		}
		var list []any
		for _, k := range slices.Sorted(maps.Keys(rp.issues)) {
			is := rp.issues[k]
			open := is.ClosedAt.IsZero()
			switch st := q.Get("state"); {
			case st == "closed" && open, (st == "" || st == "open") && !open:
				continue
			}
			if ms := q.Get("milestone"); ms != "" && ms != strconv.Itoa(is.Milestone) {
				continue
			}
			if l := q.Get("labels"); l != "" && !slices.Contains(is.Labels, l) {
				continue
			}
			if !since.IsZero() && updated(is).Before(since) {
				continue
			}
			list = append(list, s.issueJSON(name, rp, is))
		}
		s.page(w, r, list)
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "issues":
		var req struct {
			Title     string   `json:"title"`
			Body      string   `json:"body"`
			Milestone int      `json:"milestone"`
			Labels    []string `json:"labels"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Title == "" {
			s.json(w, r, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed"})
			return
		}
		s.writes++
		rp.next++
		is := &Issue{Number: rp.next, Title: req.Title, Milestone: req.Milestone, Labels: req.Labels, CreatedAt: s.now(), User: s.Self}
		rp.issues[is.Number] = is
		s.json(w, r, http.StatusCreated, s.issueJSON(name, rp, is))
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "issues" && rest[1] == "comments":
		var since time.Time
		if v := r.URL.Query().Get("since"); v != "" {
			since, _ = time.Parse(time.RFC3339, v)
		}
		var list []any
		for _, c := range rp.comments {
			if since.IsZero() || !c.UpdatedAt.Before(since) {
				list = append(list, s.commentJSON(name, c))
			}
		}
		s.page(w, r, list)
	case len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments":
		n, _ := strconv.Atoi(rest[1])
		if _, ok := rp.issues[n]; !ok {
			s.notFound(w)
			return
		}
		if r.Method == http.MethodPost {
			var req struct {
				Body string `json:"body"`
			}
			if json.NewDecoder(r.Body).Decode(&req) != nil || req.Body == "" {
				s.json(w, r, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed"})
				return
			}
			s.writes++
			id := s.addComment(rp, n, s.Self, req.Body)
			s.json(w, r, http.StatusCreated, s.commentJSON(name, rp.comments[len(rp.comments)-1]))
			_ = id
			return
		}
		var list []any
		for _, c := range rp.comments {
			if c.Issue == n {
				list = append(list, s.commentJSON(name, c))
			}
		}
		s.page(w, r, list)
	case r.Method == http.MethodPatch && len(rest) == 3 && rest[0] == "issues" && rest[1] == "comments":
		id, _ := strconv.ParseInt(rest[2], 10, 64)
		for _, c := range rp.comments {
			if c.ID == id {
				var req struct {
					Body string `json:"body"`
				}
				_ = json.NewDecoder(r.Body).Decode(&req)
				s.writes++
				c.Body, c.UpdatedAt = req.Body, s.now()
				s.json(w, r, http.StatusOK, s.commentJSON(name, c))
				return
			}
		}
		s.notFound(w)
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "collaborators" && rest[2] == "permission":
		p, ok := s.perms[name+" "+rest[1]]
		if !ok {
			s.notFound(w)
			return
		}
		s.json(w, r, http.StatusOK, map[string]any{"permission": p, "user": map[string]any{"login": rest[1]}})
	default:
		s.notFound(w)
	}
}

func updated(is *Issue) time.Time {
	t := is.CreatedAt
	for _, u := range []time.Time{is.ClosedAt, is.UpdatedAt} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

func (s *Server) notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`))
}

// page answers a list with per_page/page and a Link header, as GitHub does.
func (s *Server) page(w http.ResponseWriter, r *http.Request, list []any) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 || per > 100 {
		per = 30
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page <= 0 {
		page = 1
	}
	last := max((len(list)+per-1)/per, 1)
	from, to := min((page-1)*per, len(list)), min(page*per, len(list))
	if page < last {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		next := *r.URL
		next.RawQuery = q.Encode()
		q.Set("page", strconv.Itoa(last))
		lastURL := *r.URL
		lastURL.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next", <%s%s>; rel="last"`, s.srv.URL+apiPrefix, next.RequestURI(), s.srv.URL+apiPrefix, lastURL.RequestURI()))
	}
	out := list[from:to]
	if out == nil {
		out = []any{}
	}
	s.json(w, r, http.StatusOK, out)
}

// json writes v with an ETag, answering 304 when the client has it.
func (s *Server) json(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if r.Method == http.MethodGet && status == http.StatusOK {
		h := sha256.Sum256(append([]byte(w.Header().Get("Link")), body...))
		etag := `W/"` + hex.EncodeToString(h[:16]) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			s.notMod++
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func base(raw []byte) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) milestoneJSON(name string, rp *repo, m *Milestone) map[string]any {
	j := base(baseMilestone)
	open, closed := 0, 0
	for _, is := range rp.issues {
		if is.Milestone == m.Number {
			if is.ClosedAt.IsZero() {
				open++
			} else {
				closed++
			}
		}
	}
	api := strings.TrimSuffix(s.URL, "/")
	j["url"] = fmt.Sprintf("%s/repos/%s/milestones/%d", api, name, m.Number)
	j["html_url"] = fmt.Sprintf("https://github.example/%s/milestone/%d", name, m.Number)
	j["id"], j["number"], j["title"], j["description"], j["state"] = 100000+m.Number, m.Number, m.Title, m.Description, m.State
	j["open_issues"], j["closed_issues"] = open, closed
	j["due_on"], j["closed_at"], j["updated_at"] = ts(m.DueOn), ts(m.ClosedAt), ts(m.UpdatedAt)
	return j
}

func (s *Server) issueJSON(name string, rp *repo, is *Issue) map[string]any {
	j := base(baseIssue)
	api := strings.TrimSuffix(s.URL, "/")
	j["url"] = fmt.Sprintf("%s/repos/%s/issues/%d", api, name, is.Number)
	j["html_url"] = fmt.Sprintf("https://github.example/%s/issues/%d", name, is.Number)
	j["id"], j["number"], j["title"] = 200000+is.Number, is.Number, is.Title
	j["state"] = "open"
	if !is.ClosedAt.IsZero() {
		j["state"] = "closed"
	}
	j["created_at"], j["updated_at"], j["closed_at"] = ts(is.CreatedAt), ts(updated(is)), ts(is.ClosedAt)
	labels := []any{}
	for i, l := range is.Labels {
		labels = append(labels, map[string]any{"id": 300000 + i, "name": l, "color": "ededed"})
	}
	j["labels"] = labels
	j["user"] = map[string]any{"login": is.User, "id": 7, "type": "User"}
	if m, ok := rp.milestones[is.Milestone]; ok {
		j["milestone"] = s.milestoneJSON(name, rp, m)
	} else {
		j["milestone"] = nil
	}
	delete(j, "pull_request")
	if is.PR {
		j["pull_request"] = map[string]any{"url": fmt.Sprintf("%s/repos/%s/pulls/%d", api, name, is.Number)}
	}
	return j
}

func (s *Server) commentJSON(name string, c *Comment) map[string]any {
	j := base(baseComment)
	j["id"], j["body"] = c.ID, c.Body
	j["html_url"] = fmt.Sprintf("https://github.example/%s/issues/%d#issuecomment-%d", name, c.Issue, c.ID)
	j["url"] = fmt.Sprintf("%s/repos/%s/issues/comments/%d", strings.TrimSuffix(s.URL, "/"), name, c.ID)
	j["issue_url"] = fmt.Sprintf("%s/repos/%s/issues/%d", strings.TrimSuffix(s.URL, "/"), name, c.Issue)
	j["created_at"], j["updated_at"] = ts(c.CreatedAt), ts(c.UpdatedAt)
	j["user"] = map[string]any{"login": c.User, "id": 8, "type": "User"}
	return j
}
