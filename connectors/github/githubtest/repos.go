package githubtest

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type repo struct {
	milestones    map[int]*Milestone
	issues        map[int]*Issue
	comments      []*Comment
	nextMilestone int
	nextIssue     int
}

// repo is the named repository, made on first use. Called with the lock
// held.
func (s *Server) repo(name string) *repo {
	r := s.repos[name]
	if r == nil {
		r = &repo{milestones: map[int]*Milestone{}, issues: map[int]*Issue{}}
		s.repos[name] = r
	}
	return r
}

// AddRepo makes an empty repository (AddMilestone and AddIssue make theirs
// on first use).
func (s *Server) AddRepo(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(name)
}

// AddMilestone adds a milestone and returns its number: 1, 2, … in each
// repository.
func (s *Server) AddMilestone(repoName string, m Milestone) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repoName)
	r.nextMilestone++
	m.Number = r.nextMilestone
	if m.State == "" {
		m.State = "open"
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
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

// AddIssue adds an issue and returns its number: 1, 2, … in each
// repository, pull requests included.
func (s *Server) AddIssue(repoName string, is Issue) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addIssue(s.repo(repoName), is)
}

func (s *Server) addIssue(r *repo, is Issue) int {
	r.nextIssue++
	is.Number = r.nextIssue
	if is.User == "" {
		is.User = "octocat"
	}
	if is.CreatedAt.IsZero() {
		is.CreatedAt = s.now()
	}
	if is.UpdatedAt.IsZero() {
		is.UpdatedAt = s.now()
	}
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

// AddComment adds a comment by user on issue n, written now.
func (s *Server) AddComment(repoName string, n int, user, body string) int64 {
	return s.AddCommentAt(repoName, n, user, body, time.Time{})
}

// AddCommentAt adds a comment by user on issue n, written at (zero: now).
func (s *Server) AddCommentAt(repoName string, n int, user, body string, at time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.IsZero() {
		at = s.now()
	}
	return s.addComment(s.repo(repoName), n, user, body, at)
}

func (s *Server) addComment(r *repo, n int, user, body string, at time.Time) int64 {
	s.nextID++
	r.comments = append(r.comments, &Comment{ID: s.nextID, Issue: n, User: user, Body: body, CreatedAt: at, UpdatedAt: at})
	if is, ok := r.issues[n]; ok && at.After(is.UpdatedAt) {
		is.UpdatedAt = at
	}
	return s.nextID
}

// EditComment rewrites comment id's body at at (zero: now), as its
// author (or someone with write access) does on GitHub: its updated_at
// moves, its created_at and user stay, and the issue's updated_at moves
// with it. It reports whether there is such a comment.
func (s *Server) EditComment(repoName string, id int64, body string, at time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.IsZero() {
		at = s.now()
	}
	r := s.repo(repoName)
	for _, c := range r.comments {
		if c.ID == id {
			c.Body, c.UpdatedAt = body, at
			if is, ok := r.issues[c.Issue]; ok && at.After(is.UpdatedAt) {
				is.UpdatedAt = at
			}
			return true
		}
	}
	return false
}

// SetPermission sets user's permission on a repo (admin, write, read…).
// Logins are case-insensitive, as on GitHub.
func (s *Server) SetPermission(repoName, user, perm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perms[repoName+" "+strings.ToLower(user)] = perm
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
		is := *r.issues[k]
		is.Labels = slices.Clone(is.Labels)
		out = append(out, is)
	}
	return out
}

// answer serves r from the sandbox's state.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/user" && r.Method == http.MethodGet {
		u := s.template("authenticated-user.json")
		for k, v := range s.userJSON(s.Self) {
			u[k] = v
		}
		s.json(w, r, http.StatusOK, u)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "repos" {
		s.notFound(w, r)
		return
	}
	name := parts[1] + "/" + parts[2]
	rp, ok := s.repos[name]
	if !ok {
		s.notFound(w, r)
		return
	}
	rest := parts[3:]
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "milestones":
		var list []any
		for _, k := range slices.Sorted(maps.Keys(rp.milestones)) {
			m := rp.milestones[k]
			if st := q.Get("state"); st == "all" || st == m.State || (st == "" && m.State == "open") {
				list = append(list, s.milestoneJSON(name, rp, m))
			}
		}
		s.page(w, r, list)
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "milestones":
		n, _ := strconv.Atoi(rest[1])
		m, ok := rp.milestones[n]
		if !ok {
			s.notFound(w, r)
			return
		}
		s.json(w, r, http.StatusOK, s.milestoneJSON(name, rp, m))
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "issues":
		s.listIssues(w, r, name, rp)
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "issues":
		s.createIssue(w, r, name, rp)
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "issues" && rest[1] != "comments":
		n, _ := strconv.Atoi(rest[1])
		is, ok := rp.issues[n]
		if !ok {
			s.notFound(w, r)
			return
		}
		s.json(w, r, http.StatusOK, s.issueJSON(name, rp, is))
	case r.Method == http.MethodPatch && len(rest) == 2 && rest[0] == "issues":
		n, _ := strconv.Atoi(rest[1])
		s.editIssue(w, r, name, rp, n)
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "issues" && rest[1] == "comments":
		since, ok := s.since(w, r)
		if !ok {
			return
		}
		var list []any
		for _, c := range rp.comments {
			if !c.UpdatedAt.Before(since) {
				list = append(list, s.commentJSON(name, c))
			}
		}
		s.page(w, r, list)
	case len(rest) == 3 && rest[0] == "issues" && rest[2] == "comments":
		n, _ := strconv.Atoi(rest[1])
		if _, ok := rp.issues[n]; !ok {
			s.notFound(w, r)
			return
		}
		if r.Method == http.MethodPost {
			var req struct {
				Body string `json:"body"`
			}
			if json.NewDecoder(r.Body).Decode(&req) != nil || req.Body == "" {
				s.validationFailed(w, r)
				return
			}
			if utf8.RuneCountInString(req.Body) > MaxCommentChars {
				s.bodyTooLong(w, r)
				return
			}
			s.writes++
			s.addComment(rp, n, s.Self, req.Body, s.now())
			s.json(w, r, http.StatusCreated, s.commentJSON(name, rp.comments[len(rp.comments)-1]))
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
				if json.NewDecoder(r.Body).Decode(&req) != nil {
					s.validationFailed(w, r)
					return
				}
				if utf8.RuneCountInString(req.Body) > MaxCommentChars {
					s.bodyTooLong(w, r)
					return
				}
				s.writes++
				c.Body, c.UpdatedAt = req.Body, s.now()
				s.json(w, r, http.StatusOK, s.commentJSON(name, c))
				return
			}
		}
		s.notFound(w, r)
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "collaborators" && rest[2] == "permission":
		p, ok := s.perms[name+" "+strings.ToLower(rest[1])]
		if !ok {
			s.notFound(w, r)
			return
		}
		body := s.template("collaborator-permission.json")
		body["permission"], body["role_name"] = p, p
		u := s.userJSON(rest[1])
		u["role_name"] = p
		body["user"] = u
		s.json(w, r, http.StatusOK, body)
	default:
		s.notFound(w, r)
	}
}

// since reads the since= of a list: absent is the zero time, and one that
// is not an ISO 8601 instant is GitHub's 422.
func (s *Server) since(w http.ResponseWriter, r *http.Request) (time.Time, bool) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		s.validationFailed(w, r)
		return time.Time{}, false
	}
	return t, true
}

// listIssues answers GET /repos/{o}/{r}/issues with GitHub's filters
// (state, milestone as a number, "none" or "*", labels all of which must
// be present, since on updated_at) and its default order, newest first.
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, name string, rp *repo) {
	q := r.URL.Query()
	since, ok := s.since(w, r)
	if !ok {
		return
	}
	var labels []string
	if l := q.Get("labels"); l != "" {
		labels = strings.Split(l, ",")
	}
	var list []any
	for _, k := range slices.Backward(slices.Sorted(maps.Keys(rp.issues))) {
		is := rp.issues[k]
		open := is.ClosedAt.IsZero()
		switch st, ms := q.Get("state"), q.Get("milestone"); {
		case st == "closed" && open, (st == "" || st == "open") && !open:
		case ms == "none" && is.Milestone != 0, ms == "*" && is.Milestone == 0:
		case ms != "" && ms != "none" && ms != "*" && ms != strconv.Itoa(is.Milestone):
		case !since.IsZero() && updated(is).Before(since):
		case !hasLabels(is.Labels, labels):
		case is.PR && s.noPulls:
		default:
			list = append(list, s.issueJSON(name, rp, is))
		}
	}
	s.page(w, r, list)
}

func hasLabels(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, strings.TrimSpace(w)) }) {
			return false
		}
	}
	return true
}

// createIssue answers POST /repos/{o}/{r}/issues. Without push access the
// issue is made but its milestone and labels are dropped, as GitHub does.
func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, name string, rp *repo) {
	var req struct {
		Title     string   `json:"title"`
		Body      string   `json:"body"`
		Milestone int      `json:"milestone"`
		Labels    []string `json:"labels"`
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil || req.Title == "" {
		s.validationFailed(w, r)
		return
	}
	if !s.pushy {
		req.Milestone, req.Labels = 0, nil
	}
	s.writes++
	n := s.addIssue(rp, Issue{Title: req.Title, Body: req.Body, Milestone: req.Milestone, Labels: req.Labels, User: s.Self})
	s.json(w, r, http.StatusCreated, s.issueJSON(name, rp, rp.issues[n]))
}

// editIssue applies the state change of PATCH /repos/{o}/{r}/issues/{n},
// the only edit slipwatch makes to an issue.
func (s *Server) editIssue(w http.ResponseWriter, r *http.Request, name string, rp *repo, n int) {
	is, ok := rp.issues[n]
	if !ok {
		s.notFound(w, r)
		return
	}
	var req struct {
		State       string `json:"state"`
		StateReason string `json:"state_reason"`
	}
	if json.NewDecoder(r.Body).Decode(&req) != nil || (req.State != "open" && req.State != "closed") {
		s.validationFailed(w, r)
		return
	}
	s.writes++
	now := s.now()
	is.ClosedAt, is.StateReason, is.UpdatedAt = time.Time{}, req.StateReason, now
	if req.State == "closed" {
		is.ClosedAt = now
	}
	s.json(w, r, http.StatusOK, s.issueJSON(name, rp, is))
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

// page answers a list with per_page/page and GitHub's Link header.
func (s *Server) page(w http.ResponseWriter, r *http.Request, list []any) {
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
	last := max((len(list)+per-1)/per, 1)
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return `<` + s.srv.URL + apiPrefix + u.RequestURI() + `>; rel="` + rel + `"`
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
	from, to := min((page-1)*per, len(list)), min(page*per, len(list))
	out := list[from:to]
	if out == nil {
		out = []any{}
	}
	s.json(w, r, http.StatusOK, out)
}
