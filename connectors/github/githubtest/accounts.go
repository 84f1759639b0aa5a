package githubtest

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Repo is a repository's settings as GitHub's repository lists show
// them. A repository the sandbox made on first use (AddMilestone,
// AddIssue, AddRepo) is a public, active, non-fork repository with issues.
type Repo struct {
	Name      string // owner/name
	Private   bool
	Fork      bool
	Archived  bool
	Disabled  bool
	NoIssues  bool      // has_issues false
	CreatedAt time.Time // zero: when SetRepo first saw it
}

// accounts is what the sandbox knows of owners and repository settings,
// for the repository lists slipwatch's discovery reads.
type accounts struct {
	orgs         map[string]bool  // lower-case login
	settings     map[string]*Repo // by owner/name
	ids          map[string]int64 // stable repository IDs by owner/name
	installation []string         // the installation's repositories; nil: all
}

func (a *accounts) init() {
	if a.orgs == nil {
		a.orgs, a.settings, a.ids = map[string]bool{}, map[string]*Repo{}, map[string]int64{}
	}
}

// AddOrg makes login an organisation: GET /orgs/{login}/repos answers
// for it (and 404 for any other login, as for a user). Logins are
// case-insensitive, as on GitHub.
func (s *Server) AddOrg(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct.init()
	s.acct.orgs[strings.ToLower(login)] = true
}

// SetRepo makes the repository r.Name if need be and sets its settings.
func (s *Server) SetRepo(r Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct.init()
	s.repo(r.Name)
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
		if old := s.acct.settings[r.Name]; old != nil {
			r.CreatedAt = old.CreatedAt
		}
	}
	s.acct.settings[r.Name] = &r
}

// DeleteRepo removes a repository and everything in it.
func (s *Server) DeleteRepo(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct.init()
	delete(s.repos, name)
	delete(s.acct.settings, name)
}

// RenameRepo renames (or, to another owner, transfers) a repository; its
// milestones, issues and comments go with it, as on GitHub.
func (s *Server) RenameRepo(from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct.init()
	if r, ok := s.repos[from]; ok {
		s.repos[to] = r
		delete(s.repos, from)
	}
	if st, ok := s.acct.settings[from]; ok {
		st.Name = to
		s.acct.settings[to] = st
		delete(s.acct.settings, from)
	}
	if id, ok := s.acct.ids[from]; ok {
		s.acct.ids[to] = id
		delete(s.acct.ids, from)
	}
}

// SetInstallationRepos says which repositories the App's installation
// may see (GET /installation/repositories, repository_selection
// "selected"); nil: all of them ("all", the default).
func (s *Server) SetInstallationRepos(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct.init()
	s.acct.installation = slices.Clone(names)
}

// settingsOf is a repository's settings. Called with the lock held.
func (s *Server) settingsOf(name string) Repo {
	s.acct.init()
	if st, ok := s.acct.settings[name]; ok {
		return *st
	}
	return Repo{Name: name}
}

// repoID is a repository's stable ID. Called with the lock held.
func (s *Server) repoID(name string) int64 {
	s.acct.init()
	id, ok := s.acct.ids[name]
	if !ok {
		id = 500000 + int64(len(s.acct.ids))
		s.acct.ids[name] = id
	}
	return id
}

// answerAccounts answers the repository lists of an organisation, a user,
// the authenticated user and an App installation, and reports whether r
// was one of them. Called with the lock held.
func (s *Server) answerAccounts(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case len(parts) == 3 && parts[0] == "orgs" && parts[2] == "repos":
		s.acct.init()
		if !s.acct.orgs[strings.ToLower(parts[1])] {
			s.notFound(w, r)
			return true
		}
		typ := cmp.Or(q.Get("type"), "all")
		s.repoList(w, r, "minimal-repository.json", func(st Repo) bool {
			if !ownedBy(st.Name, parts[1]) {
				return false
			}
			switch typ {
			case "public":
				return !st.Private
			case "private":
				return st.Private
			case "forks":
				return st.Fork
			case "sources":
				return !st.Fork
			}
			return true
		})
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "repos":
		// Public repositories only, whoever asks.
		s.repoList(w, r, "minimal-repository.json", func(st Repo) bool { return ownedBy(st.Name, parts[1]) && !st.Private })
	case len(parts) == 2 && parts[0] == "user" && parts[1] == "repos":
		typ := cmp.Or(q.Get("type"), "all")
		s.repoList(w, r, "installation-repositories.json", func(st Repo) bool {
			mine := ownedBy(st.Name, s.Self)
			switch typ {
			case "owner":
				return mine
			case "member":
				return !mine
			case "public":
				return !st.Private
			case "private":
				return st.Private
			}
			return true
		})
	case len(parts) == 2 && parts[0] == "installation" && parts[1] == "repositories":
		_, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if s.app == nil || !s.tokens[cred] {
			s.json(w, r, http.StatusForbidden, map[string]any{
				"message":           "You must authenticate with an installation access token in order to list repositories for an installation.",
				"documentation_url": "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation",
			})
			return true
		}
		s.installationRepos(w, r)
	default:
		return false
	}
	return true
}

func ownedBy(full, login string) bool {
	owner, _, _ := strings.Cut(full, "/")
	return strings.EqualFold(owner, login)
}

// visible is every repository's settings in the order GitHub lists an
// organisation's by default: newest first. Called with the lock held.
func (s *Server) visible(keep func(Repo) bool) []Repo {
	var out []Repo
	for _, name := range slices.Sorted(maps.Keys(s.repos)) {
		if st := s.settingsOf(name); keep(st) {
			out = append(out, st)
		}
	}
	slices.SortStableFunc(out, func(a, b Repo) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(s.repoID(b.Name), s.repoID(a.Name)))
	})
	return out
}

// repoList answers a paged repository list (sort created, the default,
// newest first, or full_name, A to Z).
func (s *Server) repoList(w http.ResponseWriter, r *http.Request, template string, keep func(Repo) bool) {
	repos := s.visible(keep)
	q := r.URL.Query()
	if q.Get("sort") == "full_name" {
		slices.SortStableFunc(repos, func(a, b Repo) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
		if q.Get("direction") == "desc" {
			slices.Reverse(repos)
		}
	} else if q.Get("direction") == "asc" {
		slices.Reverse(repos)
	}
	s.pageOf(w, r, len(repos), func(i int) any { return s.repoJSON(template, repos[i]) })
}

// installationRepos answers GET /installation/repositories: an object
// with total_count and one page of repositories.
func (s *Server) installationRepos(w http.ResponseWriter, r *http.Request) {
	sel := s.acct.installation
	repos := s.visible(func(st Repo) bool { return sel == nil || slices.Contains(sel, st.Name) })
	// The page's items, wrapped as GitHub wraps them.
	rec := &pageCapture{}
	s.pageInto(rec, r, len(repos), func(i int) any { return s.repoJSON("installation-repositories.json", repos[i]) })
	body := s.template("installation-repositories.json")
	body["total_count"] = len(repos)
	body["repositories"] = rec.items
	selection := "all"
	if sel != nil {
		selection = "selected"
	}
	body["repository_selection"] = selection
	if rec.link != "" {
		w.Header().Set("Link", rec.link)
	}
	s.json(w, r, http.StatusOK, body)
}

// repoJSON fills a repository template ("minimal-repository.json", or the
// first repository of "installation-repositories.json") for st.
func (s *Server) repoJSON(template string, st Repo) map[string]any {
	j := s.template(template)
	if template == "installation-repositories.json" {
		j = j["repositories"].([]any)[0].(map[string]any)
	}
	owner, name, _ := strings.Cut(st.Name, "/")
	api := strings.TrimSuffix(s.URL, "/")
	// Every URL of the example names octocat/Hello-World.
	j = rewriteStrings(j, strings.NewReplacer(
		"https://api.github.com/repos/octocat/Hello-World", api+"/repos/"+st.Name,
		"https://api.github.com/users/octocat", api+"/users/"+owner,
		"https://github.com/octocat/Hello-World", htmlBase+st.Name,
		"git:github.com/octocat/Hello-World.git", "git:github.example/"+st.Name+".git",
		"git@github.com:octocat/Hello-World.git", "git@github.example:"+st.Name+".git",
		"https://github.com/octocat", htmlBase+owner,
	)).(map[string]any)
	j["id"], j["name"], j["full_name"] = s.repoID(st.Name), name, st.Name
	if o, ok := j["owner"].(map[string]any); ok {
		o["login"] = owner
		o["type"] = "User"
		if s.acct.orgs[strings.ToLower(owner)] {
			o["type"] = "Organization"
		}
	}
	j["private"], j["fork"], j["archived"], j["disabled"], j["has_issues"] = st.Private, st.Fork, st.Archived, st.Disabled, !st.NoIssues
	j["visibility"] = "public"
	if st.Private {
		j["visibility"] = "private"
	}
	j["created_at"], j["updated_at"], j["pushed_at"] = ts(st.CreatedAt), ts(st.CreatedAt), ts(st.CreatedAt)
	j["description"] = fmt.Sprintf("The %s repository", name)
	return j
}

func rewriteStrings(v any, r *strings.Replacer) any {
	switch v := v.(type) {
	case string:
		return r.Replace(v)
	case map[string]any:
		for k, x := range v {
			v[k] = rewriteStrings(x, r)
		}
	case []any:
		for i, x := range v {
			v[i] = rewriteStrings(x, r)
		}
	}
	return v
}

// pageCapture takes the page a list answer would have written, so the
// installation list can wrap it in its object.
type pageCapture struct {
	items []any
	link  string
}
