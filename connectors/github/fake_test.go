package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// fakeGitHub is a small GitHub Enterprise Server (API under /api/v3)
// holding repositories, milestones, issues and comments, answering in the
// shapes of testdata/rest (themselves copies of real payloads). It pages
// with Link headers, answers If-None-Match with 304 and counts what it
// answered, so tests can tell counted requests from free ones.
type fakeGitHub struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	now       time.Time
	repos     map[string]*fakeRepo
	perms     map[string]string // login → permission; missing = 404
	self      string
	token     string
	nextID    int64
	remaining int
	reset     time.Time
	tmpl      map[string]map[string]any

	sleeps             []time.Duration
	total, notModified int
	byEndpoint         map[string]int
	counted            map[string]int // non-304 answers by endpoint

	// override, when set, may answer a request itself (errors, limits);
	// it returns true when it did. Its answers are counted too.
	override func(w http.ResponseWriter, r *http.Request) bool
	// auth, when set, checks the Authorization header instead of the token.
	auth func(r *http.Request) bool
	// extra routes (App endpoints) tried before the built-in ones.
	extra func(w http.ResponseWriter, r *http.Request) bool
	// pushless: the token's account has no push access, so GitHub
	// silently drops the milestone and labels of the issues it creates.
	pushless bool
}

type fakeRepo struct {
	id         int64
	milestones []*fakeMilestone
	issues     []*fakeIssue
	comments   []*fakeComment
}

type fakeMilestone struct {
	number      int
	title, desc string
	state       string
	due         *time.Time
	created     time.Time
	updated     time.Time
	closed      *time.Time
}

type fakeIssue struct {
	number      int
	id          int64
	title       string
	milestone   int
	labels      []string
	state       string
	stateReason string
	pr          bool
	created     time.Time
	updated     time.Time
	closed      *time.Time
}

type fakeComment struct {
	id      int64
	issue   int
	user    string
	body    string
	created time.Time
	updated time.Time
}

const fakePrefix = "/api/v3"

func newFakeGitHub(t testing.TB) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{
		t:          t,
		now:        time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		repos:      map[string]*fakeRepo{},
		perms:      map[string]string{},
		self:       "slipwatch-bot",
		token:      "test-token",
		nextID:     1000,
		remaining:  5000,
		tmpl:       map[string]map[string]any{},
		byEndpoint: map[string]int{},
		counted:    map[string]int{},
	}
	f.reset = f.now.Add(time.Hour)
	for _, name := range []string{"milestone", "issue", "issue-comment", "user", "collaborator-permission"} {
		b, err := os.ReadFile(filepath.Join("githubtest", "testdata", "rest", name+".json"))
		if err != nil {
			t.Fatalf("template: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("template %s: %v", name, err)
		}
		f.tmpl[name] = m
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Now is the fake's clock, which tests share with the connector.
func (f *fakeGitHub) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Sleep records the wait and moves the clock on: waits cost no time.
func (f *fakeGitHub) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeGitHub) waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

func (f *fakeGitHub) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// counts is what the fake answered since the last reset.
type counts struct{ Total, NotModified, Counted int }

func (f *fakeGitHub) counts() counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return counts{f.total, f.notModified, f.total - f.notModified}
}

func (f *fakeGitHub) resetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.total, f.notModified = 0, 0
	f.byEndpoint = map[string]int{}
	f.counted = map[string]int{}
}

func (f *fakeGitHub) endpointCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.byEndpoint {
		out[k] = v
	}
	return out
}

// --- building the world ---

func (f *fakeGitHub) repo(full string) *fakeRepo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repoLocked(full)
}

func (f *fakeGitHub) repoLocked(full string) *fakeRepo {
	r := f.repos[full]
	if r == nil {
		f.nextID++
		r = &fakeRepo{id: f.nextID}
		f.repos[full] = r
	}
	return r
}

func (f *fakeGitHub) addMilestone(full, title string, due *time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repoLocked(full)
	m := &fakeMilestone{number: len(r.milestones) + 1, title: title, desc: "Milestone " + title, state: "open", due: due, created: f.now.Add(-400 * 24 * time.Hour), updated: f.now.Add(-300 * 24 * time.Hour)}
	r.milestones = append(r.milestones, m)
	return m.number
}

// issueOpts describe a new issue.
type issueOpts struct {
	milestone   int
	labels      []string
	pr          bool
	created     time.Time
	closed      *time.Time
	stateReason string
}

func (f *fakeGitHub) addIssue(full string, o issueOpts) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addIssueLocked(full, o)
}

func (f *fakeGitHub) addIssueLocked(full string, o issueOpts) int {
	r := f.repoLocked(full)
	f.nextID++
	if o.created.IsZero() {
		o.created = f.now
	}
	is := &fakeIssue{number: len(r.issues) + 1, id: f.nextID, title: "Issue", milestone: o.milestone, labels: o.labels, state: "open", pr: o.pr, created: o.created, updated: o.created}
	if o.closed != nil {
		is.state, is.closed, is.updated = "closed", o.closed, *o.closed
		is.stateReason = o.stateReason
		if is.stateReason == "" {
			is.stateReason = "completed"
		}
	}
	is.title = fmt.Sprintf("Issue %d", is.number)
	r.issues = append(r.issues, is)
	f.touchMilestoneLocked(r, o.milestone, is.updated)
	return is.number
}

func (f *fakeGitHub) touchMilestoneLocked(r *fakeRepo, number int, at time.Time) {
	if number <= 0 || number > len(r.milestones) {
		return
	}
	if m := r.milestones[number-1]; at.After(m.updated) {
		m.updated = at
	}
}

func (f *fakeGitHub) closeIssue(full string, number int, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repoLocked(full)
	is := r.issues[number-1]
	now := f.now
	is.state, is.closed, is.updated, is.stateReason = "closed", &now, now, reason
	f.touchMilestoneLocked(r, is.milestone, now)
}

func (f *fakeGitHub) setDue(full string, milestone int, due time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.repoLocked(full).milestones[milestone-1]
	m.due, m.updated = &due, f.now
}

func (f *fakeGitHub) addComment(full string, issue int, user, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addCommentLocked(full, issue, user, body, f.now)
}

func (f *fakeGitHub) addCommentAt(full string, issue int, user, body string, at time.Time) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addCommentLocked(full, issue, user, body, at)
}

func (f *fakeGitHub) addCommentLocked(full string, issue int, user, body string, at time.Time) int64 {
	r := f.repoLocked(full)
	f.nextID++
	r.comments = append(r.comments, &fakeComment{id: f.nextID, issue: issue, user: user, body: body, created: at, updated: at})
	if is := r.issues[issue-1]; at.After(is.updated) {
		is.updated = at
	}
	return f.nextID
}

func (f *fakeGitHub) issues(full string) []fakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeIssue
	for _, is := range f.repoLocked(full).issues {
		out = append(out, *is)
	}
	return out
}

func (f *fakeGitHub) commentsOn(full string, issue int) []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeComment
	for _, c := range f.repoLocked(full).comments {
		if c.issue == issue {
			out = append(out, *c)
		}
	}
	return out
}

// --- serving ---

func (f *fakeGitHub) apiURL() string { return f.srv.URL + fakePrefix }

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	f.route(rec, r)
	f.mu.Lock()
	defer f.mu.Unlock()
	ep := r.Method + " " + endpoint(fakePrefix+"/", r)
	f.total++
	f.byEndpoint[ep]++
	if rec.status == http.StatusNotModified {
		f.notModified++
	} else {
		f.counted[ep]++
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (f *fakeGitHub) setOverride(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.override = fn
}

func (f *fakeGitHub) setExtra(fn func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.extra = fn
}

func (f *fakeGitHub) setAuth(fn func(r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = fn
}

func (f *fakeGitHub) route(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	override, extra, auth, token := f.override, f.extra, f.auth, f.token
	f.mu.Unlock()
	if override != nil && override(w, r) {
		return
	}
	if extra != nil && extra(w, r) {
		return
	}
	authorised := r.Header.Get("Authorization") == "Bearer "+token
	if auth != nil {
		authorised = auth(r)
	}
	if !authorised {
		f.writeJSON(w, r, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, fakePrefix+"/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	seg := strings.Split(path, "/")
	switch {
	case r.Method == http.MethodGet && path == "user":
		u := f.render("user", nil)
		u["login"] = f.self
		f.writeJSON(w, r, http.StatusOK, u)
	case len(seg) >= 3 && seg[0] == "repos":
		f.routeRepo(w, r, seg[1]+"/"+seg[2], seg[3:])
	case len(seg) >= 2 && seg[0] == "repositories":
		// Link headers may point here, as GitHub's do.
		id, _ := strconv.ParseInt(seg[1], 10, 64)
		for full, repo := range f.reposSnapshot() {
			if repo.id == id {
				f.routeRepo(w, r, full, seg[2:])
				return
			}
		}
		f.notFound(w, r)
	default:
		f.notFound(w, r)
	}
}

func (f *fakeGitHub) reposSnapshot() map[string]*fakeRepo {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]*fakeRepo{}
	for k, v := range f.repos {
		out[k] = v
	}
	return out
}

func (f *fakeGitHub) routeRepo(w http.ResponseWriter, r *http.Request, full string, seg []string) {
	f.mu.Lock()
	_, exists := f.repos[full]
	f.mu.Unlock()
	if !exists {
		f.notFound(w, r)
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && len(seg) == 1 && seg[0] == "milestones":
		f.listMilestones(w, r, full, q)
	case r.Method == http.MethodGet && len(seg) == 2 && seg[0] == "milestones":
		n, _ := strconv.Atoi(seg[1])
		f.mu.Lock()
		repo := f.repos[full]
		var body map[string]any
		if n > 0 && n <= len(repo.milestones) {
			body = f.milestoneJSONLocked(full, repo, repo.milestones[n-1])
		}
		f.mu.Unlock()
		if body == nil {
			f.notFound(w, r)
			return
		}
		f.writeJSON(w, r, http.StatusOK, body)
	case r.Method == http.MethodGet && len(seg) == 1 && seg[0] == "issues":
		f.listIssues(w, r, full, q)
	case r.Method == http.MethodPost && len(seg) == 1 && seg[0] == "issues":
		f.createIssue(w, r, full)
	case r.Method == http.MethodGet && len(seg) == 2 && seg[0] == "issues" && seg[1] == "comments":
		f.listComments(w, r, full, 0, q)
	case r.Method == http.MethodGet && len(seg) == 3 && seg[0] == "issues" && seg[2] == "comments":
		n, _ := strconv.Atoi(seg[1])
		f.listComments(w, r, full, n, q)
	case r.Method == http.MethodPost && len(seg) == 3 && seg[0] == "issues" && seg[2] == "comments":
		n, _ := strconv.Atoi(seg[1])
		f.createComment(w, r, full, n)
	case r.Method == http.MethodPatch && len(seg) == 2 && seg[0] == "issues":
		n, _ := strconv.Atoi(seg[1])
		f.editIssue(w, r, full, n)
	case r.Method == http.MethodPatch && len(seg) == 3 && seg[0] == "issues" && seg[1] == "comments":
		id, _ := strconv.ParseInt(seg[2], 10, 64)
		f.editComment(w, r, full, id)
	case r.Method == http.MethodGet && len(seg) == 3 && seg[0] == "collaborators" && seg[2] == "permission":
		f.mu.Lock()
		perm, ok := f.perms[strings.ToLower(seg[1])]
		f.mu.Unlock()
		if !ok {
			f.notFound(w, r)
			return
		}
		body := f.render("collaborator-permission", nil)
		body["permission"] = perm
		body["role_name"] = perm
		body["user"].(map[string]any)["login"] = seg[1]
		f.writeJSON(w, r, http.StatusOK, body)
	default:
		f.notFound(w, r)
	}
}

func (f *fakeGitHub) listMilestones(w http.ResponseWriter, r *http.Request, full string, q url.Values) {
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	f.mu.Lock()
	repo := f.repos[full]
	var out []any
	for _, m := range repo.milestones {
		if state == "all" || m.state == state {
			out = append(out, f.milestoneJSONLocked(full, repo, m))
		}
	}
	f.mu.Unlock()
	f.writePage(w, r, out)
}

func (f *fakeGitHub) listIssues(w http.ResponseWriter, r *http.Request, full string, q url.Values) {
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var since time.Time
	if s := q.Get("since"); s != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, s); err != nil {
			f.writeJSON(w, r, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []any{map[string]any{"resource": "Issue", "field": "since", "code": "invalid"}}})
			return
		}
	}
	var labels []string
	if l := q.Get("labels"); l != "" {
		labels = strings.Split(l, ",")
	}
	f.mu.Lock()
	repo := f.repos[full]
	var picked []*fakeIssue
	for _, is := range repo.issues {
		switch ms := q.Get("milestone"); {
		case state != "all" && is.state != state:
		case ms == "none" && is.milestone != 0, ms == "*" && is.milestone == 0:
		case ms != "" && ms != "none" && ms != "*" && ms != strconv.Itoa(is.milestone):
		case !since.IsZero() && is.updated.Before(since):
		case !hasLabels(is.labels, labels):
		default:
			picked = append(picked, is)
		}
	}
	// GitHub's default order: newest first.
	slices.SortFunc(picked, func(a, b *fakeIssue) int { return b.number - a.number })
	var out []any
	for _, is := range picked {
		out = append(out, f.issueJSONLocked(full, repo, is))
	}
	f.mu.Unlock()
	f.writePage(w, r, out)
}

func hasLabels(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

func (f *fakeGitHub) listComments(w http.ResponseWriter, r *http.Request, full string, issue int, q url.Values) {
	var since time.Time
	if s := q.Get("since"); s != "" {
		since, _ = time.Parse(time.RFC3339, s)
	}
	f.mu.Lock()
	repo := f.repos[full]
	if issue > len(repo.issues) {
		f.mu.Unlock()
		f.notFound(w, r)
		return
	}
	var out []any
	for _, c := range repo.comments {
		if (issue == 0 || c.issue == issue) && !c.updated.Before(since) {
			out = append(out, f.commentJSONLocked(full, c))
		}
	}
	f.mu.Unlock()
	f.writePage(w, r, out)
}

func (f *fakeGitHub) createIssue(w http.ResponseWriter, r *http.Request, full string) {
	var req struct {
		Title     string   `json:"title"`
		Body      string   `json:"body"`
		Milestone *int     `json:"milestone"`
		Labels    []string `json:"labels"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Title == "" {
		f.writeRecorded(w, r, "error-422-validation-failed.recorded.json")
		return
	}
	f.mu.Lock()
	ms := 0
	if req.Milestone != nil {
		ms = *req.Milestone
	}
	labels := req.Labels
	if f.pushless {
		ms, labels = 0, nil
	}
	n := f.addIssueLocked(full, issueOpts{milestone: ms, labels: labels})
	repo := f.repos[full]
	repo.issues[n-1].title = req.Title
	body := f.issueJSONLocked(full, repo, repo.issues[n-1])
	f.mu.Unlock()
	f.writeJSON(w, r, http.StatusCreated, body)
}

// editIssue applies the state change of PATCH /repos/{owner}/{repo}/issues/{n}
// (the only edit slipwatch makes to an issue).
func (f *fakeGitHub) editIssue(w http.ResponseWriter, r *http.Request, full string, n int) {
	var req struct {
		State       string `json:"state"`
		StateReason string `json:"state_reason"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || (req.State != "open" && req.State != "closed") {
		f.writeRecorded(w, r, "error-422-validation-failed.recorded.json")
		return
	}
	f.mu.Lock()
	repo := f.repos[full]
	if repo == nil || n <= 0 || n > len(repo.issues) {
		f.mu.Unlock()
		f.notFound(w, r)
		return
	}
	is := repo.issues[n-1]
	now := f.now
	is.state, is.stateReason, is.updated = req.State, req.StateReason, now
	is.closed = nil
	if req.State == "closed" {
		is.closed = &now
	}
	body := f.issueJSONLocked(full, repo, is)
	f.mu.Unlock()
	f.writeJSON(w, r, http.StatusOK, body)
}

func (f *fakeGitHub) createComment(w http.ResponseWriter, r *http.Request, full string, issue int) {
	var req struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Body == "" {
		f.writeRecorded(w, r, "error-422-validation-failed.recorded.json")
		return
	}
	f.mu.Lock()
	repo := f.repos[full]
	if issue <= 0 || issue > len(repo.issues) {
		f.mu.Unlock()
		f.notFound(w, r)
		return
	}
	id := f.addCommentLocked(full, issue, f.self, req.Body, f.now)
	body := f.commentJSONLocked(full, repo.comments[len(repo.comments)-1])
	f.mu.Unlock()
	_ = id
	f.writeJSON(w, r, http.StatusCreated, body)
}

func (f *fakeGitHub) editComment(w http.ResponseWriter, r *http.Request, full string, id int64) {
	var req struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.writeRecorded(w, r, "error-422-validation-failed.recorded.json")
		return
	}
	f.mu.Lock()
	var found *fakeComment
	for _, c := range f.repos[full].comments {
		if c.id == id {
			found = c
		}
	}
	if found == nil {
		f.mu.Unlock()
		f.notFound(w, r)
		return
	}
	found.body, found.updated = req.Body, f.now
	body := f.commentJSONLocked(full, found)
	f.mu.Unlock()
	f.writeJSON(w, r, http.StatusOK, body)
}

// --- rendering in the real shapes ---

func (f *fakeGitHub) render(name string, _ any) map[string]any {
	return deepCopy(f.tmpl[name]).(map[string]any)
}

// deepCopy copies a decoded JSON value, so each answer starts from a
// pristine template.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func (f *fakeGitHub) milestoneJSONLocked(full string, repo *fakeRepo, m *fakeMilestone) map[string]any {
	j := f.render("milestone", nil)
	open, closed := 0, 0
	for _, is := range repo.issues {
		if is.milestone == m.number {
			if is.state == "open" {
				open++
			} else {
				closed++
			}
		}
	}
	api := f.apiURL() + "/repos/" + full
	j["url"] = fmt.Sprintf("%s/milestones/%d", api, m.number)
	j["html_url"] = fmt.Sprintf("%s/%s/milestone/%d", f.srv.URL, full, m.number)
	j["labels_url"] = fmt.Sprintf("%s/milestones/%d/labels", api, m.number)
	j["id"] = repo.id*1000 + int64(m.number)
	j["number"] = m.number
	j["state"] = m.state
	j["title"] = m.title
	j["description"] = m.desc
	j["open_issues"] = open
	j["closed_issues"] = closed
	j["created_at"] = ts(m.created)
	j["updated_at"] = ts(m.updated)
	j["closed_at"] = tsp(m.closed)
	j["due_on"] = tsp(m.due)
	return j
}

func (f *fakeGitHub) issueJSONLocked(full string, repo *fakeRepo, is *fakeIssue) map[string]any {
	j := f.render("issue", nil)
	api := f.apiURL() + "/repos/" + full
	j["id"] = is.id
	j["url"] = fmt.Sprintf("%s/issues/%d", api, is.number)
	j["repository_url"] = api
	j["comments_url"] = fmt.Sprintf("%s/issues/%d/comments", api, is.number)
	j["html_url"] = fmt.Sprintf("%s/%s/issues/%d", f.srv.URL, full, is.number)
	j["number"] = is.number
	j["title"] = is.title
	j["state"] = is.state
	j["created_at"] = ts(is.created)
	j["updated_at"] = ts(is.updated)
	j["closed_at"] = tsp(is.closed)
	if is.stateReason != "" {
		j["state_reason"] = is.stateReason
	} else {
		j["state_reason"] = nil
	}
	labels := []any{}
	for _, l := range is.labels {
		labels = append(labels, map[string]any{"id": 1, "name": l, "color": "ededed", "default": false, "url": api + "/labels/" + l})
	}
	j["labels"] = labels
	n := 0
	for _, c := range repo.comments {
		if c.issue == is.number {
			n++
		}
	}
	j["comments"] = n
	if is.milestone > 0 {
		j["milestone"] = f.milestoneJSONLocked(full, repo, repo.milestones[is.milestone-1])
	} else {
		j["milestone"] = nil
	}
	if is.pr {
		j["pull_request"] = map[string]any{"url": fmt.Sprintf("%s/pulls/%d", api, is.number)}
	} else {
		delete(j, "pull_request")
	}
	return j
}

func (f *fakeGitHub) commentJSONLocked(full string, c *fakeComment) map[string]any {
	j := f.render("issue-comment", nil)
	api := f.apiURL() + "/repos/" + full
	j["id"] = c.id
	j["url"] = fmt.Sprintf("%s/issues/comments/%d", api, c.id)
	j["html_url"] = fmt.Sprintf("%s/%s/issues/%d#issuecomment-%d", f.srv.URL, full, c.issue, c.id)
	j["issue_url"] = fmt.Sprintf("%s/issues/%d", api, c.issue)
	j["body"] = c.body
	j["user"].(map[string]any)["login"] = c.user
	j["created_at"] = ts(c.created)
	j["updated_at"] = ts(c.updated)
	return j
}

// writePage answers one page of items with GitHub's Link header.
func (f *fakeGitHub) writePage(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(p int, rel string) string {
		q2 := r.URL.Query()
		q2.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, f.srv.URL, r.URL.Path, q2.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo, hi := min((page-1)*per, len(items)), min(page*per, len(items))
	out := items[lo:hi]
	if out == nil {
		out = []any{}
	}
	f.writeJSON(w, r, http.StatusOK, out)
}

// writeJSON answers v with an ETag, 304 when If-None-Match matches, and
// GitHub's rate-limit headers (a 304 spends nothing).
func (f *fakeGitHub) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Errorf("fake: marshal: %v", err)
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	ok := status == http.StatusOK
	notModified := ok && r.Method == http.MethodGet && r.Header.Get("If-None-Match") == etag
	f.mu.Lock()
	if !notModified {
		f.remaining--
	}
	remaining, reset := f.remaining, f.reset
	f.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if ok && r.Method == http.MethodGet {
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	}
	if notModified {
		h.Del("Link")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func (f *fakeGitHub) notFound(w http.ResponseWriter, r *http.Request) {
	f.writeRecorded(w, r, "error-404-not-found.recorded.json")
}

// writeRecorded answers with a recorded error from testdata/rest.
func (f *fakeGitHub) writeRecorded(w http.ResponseWriter, r *http.Request, name string) {
	status, header, body := recordedResponse(f.t, name)
	for k, vs := range header {
		if strings.EqualFold(k, "content-encoding") || strings.EqualFold(k, "content-length") {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	w.Write(body)
}

// recordedResponse reads the three recorded shapes in testdata/rest:
// {status_code, headers, body}, {status, headers, body} (documented
// examples) and octokit's {status, rawHeaders, response}.
func recordedResponse(t testing.TB, name string) (int, http.Header, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("githubtest", "testdata", "rest", name))
	if err != nil {
		t.Fatalf("recorded response: %v", err)
	}
	var rec struct {
		StatusCode int               `json:"status_code"`
		Status     int               `json:"status"`
		Headers    map[string]string `json:"headers"`
		RawHeaders []string          `json:"rawHeaders"`
		Body       json.RawMessage   `json:"body"`
		Response   json.RawMessage   `json:"response"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("recorded response %s: %v", name, err)
	}
	h := http.Header{}
	for k, v := range rec.Headers {
		h.Set(k, v)
	}
	for i := 0; i+1 < len(rec.RawHeaders); i += 2 {
		h.Add(rec.RawHeaders[i], rec.RawHeaders[i+1])
	}
	status := rec.StatusCode
	if status == 0 {
		status = rec.Status
	}
	// In octokit's recordings "body" is the request's; the answer is
	// "response".
	body := []byte(rec.Body)
	if rec.RawHeaders != nil {
		body = []byte(rec.Response)
	}
	return status, h, body
}

// memValidators is an in-memory validator store.
type memValidators struct {
	mu sync.Mutex
	m  map[string]httpx.Validator
}

func newMemValidators() *memValidators { return &memValidators{m: map[string]httpx.Validator{}} }

func (s *memValidators) GetValidator(_ context.Context, key string) (httpx.Validator, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *memValidators) PutValidator(_ context.Context, key string, v httpx.Validator) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = v
	return nil
}
