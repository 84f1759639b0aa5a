package github

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// rediscoverAfter is the least time between two look-ups of an owner's
// repositories made because a repository of that owner was asked for and
// not known: a key of a repository made moments ago, or a webhook another
// replica's discovery already acted on.
const rediscoverAfter = time.Minute

// owned is what discovery found of one owner whose every repository is
// watched (github.repos: "owner/*").
type owned struct {
	pattern string            // as configured: "acme/*"
	kind    string            // "org" or "user", once known
	repos   map[string]string // lower-case owner/name → as GitHub spells it
	at      time.Time         // the last refresh that worked
	err     error             // the last refresh's failure, nil when it worked
	tried   time.Time         // the last refresh, worked or not
}

// errUndiscovered marks a repository of a watched owner that discovery
// has not found.
var errUndiscovered = errors.New("not among the repositories discovered")

// patternOwner is the owner of an "owner/*" entry, or "".
func patternOwner(entry string) string {
	owner, ok := strings.CutSuffix(entry, "/*")
	if !ok {
		return ""
	}
	return owner
}

// DiscoverEvery is how often the runner should call Discover
// (github.discover_every); 0 when no entry of github.repos is owner/*.
func (c *Client) DiscoverEvery() time.Duration {
	if len(c.owners) == 0 {
		return 0
	}
	if d := c.cfg.DiscoverEvery.D(); d > 0 {
		return d
	}
	return config.DefaultGitHubDiscoverEvery
}

// Discover looks up the repositories of every owner/* entry of
// github.repos: every repository of that organisation or user the
// credential can see (GET /orgs/{org}/repos; for a user GET
// /users/{user}/repos, or GET /user/repos when the user is the token's
// own; for a GitHub App GET /installation/repositories), less archived and
// disabled ones, forks and repositories with issues turned off (see
// watchable). Each request is conditional: an organisation whose
// repositories did not change costs 304s. It returns the repositories
// that joined since the last look-up, so the caller can poll them at
// once. An owner whose look-up fails keeps what it had: an outage must
// not stop the watch of a whole organisation.
func (c *Client) Discover(ctx context.Context) ([]string, error) {
	if len(c.owners) == 0 {
		return nil, nil
	}
	defer c.locks.Lock("discover")()
	var installation []*gh.Repository
	var instErr error
	if c.cfg.App != nil {
		installation, instErr = c.installationRepos(ctx)
	}
	var added []string
	var errs []error
	for _, lower := range slices.Sorted(maps.Keys(c.owners)) {
		found, kind, err := installation, "", instErr
		if c.cfg.App == nil {
			found, kind, err = c.ownerRepos(ctx, lower)
		}
		a, err := c.settle(ctx, lower, kind, found, err)
		added = append(added, a...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	slices.Sort(added)
	return added, errors.Join(errs...)
}

// settle records one owner's look-up and logs what changed.
func (c *Client) settle(ctx context.Context, lower, kind string, found []*gh.Repository, err error) ([]string, error) {
	c.disc.Lock()
	defer c.disc.Unlock()
	o := c.owners[lower]
	o.tried = c.now()
	if err != nil {
		o.err = fmt.Errorf("discover the repositories of %s: %w", o.pattern, err)
		c.log.WarnContext(ctx, "repository discovery failed; keeping what was found before", "pattern", o.pattern, "repos", len(o.repos), "err", err)
		return nil, o.err
	}
	if kind != "" {
		o.kind = kind
	}
	repos := map[string]string{}
	for _, r := range found {
		full := r.GetFullName()
		if owner, _, _ := strings.Cut(full, "/"); strings.EqualFold(owner, lower) && watchable(r) {
			repos[strings.ToLower(full)] = full
		}
	}
	var added, removed []string
	for k, full := range repos {
		if _, ok := o.repos[k]; !ok {
			added = append(added, full)
		}
	}
	for k, full := range o.repos {
		if _, ok := repos[k]; !ok {
			removed = append(removed, full)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	first := o.at.IsZero()
	o.repos, o.at, o.err = repos, c.now(), nil
	switch {
	case first:
		c.log.InfoContext(ctx, "discovered repositories", "pattern", o.pattern, "repos", len(repos))
	case len(added)+len(removed) > 0:
		c.log.InfoContext(ctx, "repositories changed", "pattern", o.pattern, "repos", len(repos), "added", added, "removed", removed)
	}
	if len(removed) > 0 {
		c.forgetRepos(removed)
	}
	return added, nil
}

// forgetRepos drops what the connector remembers of repositories no
// longer watched; their records stay in Redis.
func (c *Client) forgetRepos(repos []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, full := range repos {
		delete(c.index, full)
		for id := range c.threads {
			if strings.HasPrefix(id, full+"#") {
				delete(c.threads, id)
			}
		}
	}
}

// watchable says whether a discovered repository is watched: not
// archived (read-only: nothing can be promised there any more), not
// disabled, not a fork (a fork's issues are off unless someone turned
// them on, and its work is tracked upstream: list it by name to watch
// it), and with issues on (the tracking issue is an issue).
func watchable(r *gh.Repository) bool {
	return !r.GetArchived() && !r.GetDisabled() && !r.GetFork() && (r.HasIssues == nil || r.GetHasIssues())
}

// ownerRepos lists the repositories of owner (lower-case), an
// organisation or a user, as the token sees them.
func (c *Client) ownerRepos(ctx context.Context, lower string) ([]*gh.Repository, string, error) {
	c.disc.Lock()
	o := c.owners[lower]
	kind, owner := o.kind, strings.TrimSuffix(o.pattern, "/*")
	c.disc.Unlock()
	ctx = withTag(ctx, o.pattern, KindDiscovery)
	list := func(u string) ([]*gh.Repository, error) {
		return listAll[*gh.Repository](ctx, c, u)
	}
	if kind != "user" {
		repos, err := list("orgs/" + url.PathEscape(owner) + "/repos?type=all&per_page=" + strconv.Itoa(pageSize))
		if err = c.wrap("list the repositories of organisation "+owner, err); !isNotFound(err) {
			return repos, "org", err
		}
	}
	// Not an organisation: a user. GitHub lists only a user's public
	// repositories to others, and the token's own user's private ones too.
	self, err := c.Self(ctx)
	if err != nil {
		return nil, "", err
	}
	u := "users/" + url.PathEscape(owner) + "/repos?type=owner&per_page=" + strconv.Itoa(pageSize)
	if strings.EqualFold(self, owner) {
		u = "user/repos?type=owner&per_page=" + strconv.Itoa(pageSize)
	}
	repos, err := list(u)
	return repos, "user", c.wrap("list the repositories of user "+owner, err)
}

// installationRepos lists every repository the App's installation can
// see.
func (c *Client) installationRepos(ctx context.Context) ([]*gh.Repository, error) {
	ctx = withTag(ctx, "installation", KindDiscovery)
	var out []*gh.Repository
	next := "installation/repositories?per_page=" + strconv.Itoa(pageSize)
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("list the installation's repositories: more than %d pages", maxPages)
		}
		req, err := c.gh.NewRequest(http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		if req.URL.Host != c.gh.BaseURL.Host || req.URL.Scheme != c.gh.BaseURL.Scheme {
			return nil, fmt.Errorf("next page %s is not on %s", req.URL.Redacted(), c.gh.BaseURL.Host)
		}
		var body struct {
			Repositories []*gh.Repository `json:"repositories"`
		}
		resp, err := c.gh.Do(ctx, req, &body)
		if err != nil {
			return nil, c.wrap("list the installation's repositories", err)
		}
		out = append(out, body.Repositories...)
		next = nextLink(resp.Header.Values("Link"))
	}
	return out, nil
}

// Discoveries says what each owner/* entry of github.repos found, in
// the order of the config, for `slipwatch check` and /readyz.
func (c *Client) Discoveries() []connectors.Discovery {
	c.disc.Lock()
	defer c.disc.Unlock()
	var out []connectors.Discovery
	for _, entry := range c.cfg.Repos {
		owner := patternOwner(entry)
		if owner == "" {
			continue
		}
		o := c.owners[strings.ToLower(owner)]
		out = append(out, connectors.Discovery{Pattern: o.pattern, Teams: len(o.repos), Noun: "repositories", At: o.at, Err: o.err})
	}
	return out
}

// discovered is the spelling of a discovered repository, if it is one.
func (c *Client) discovered(lower string) (string, bool) {
	owner, _, _ := strings.Cut(lower, "/")
	c.disc.Lock()
	defer c.disc.Unlock()
	o := c.owners[owner]
	if o == nil {
		return "", false
	}
	full, ok := o.repos[lower]
	return full, ok
}

// rediscover looks the owner of team up again when team is a repository
// of a watched owner that discovery has not found and the last look-up is
// more than rediscoverAfter ago. It reports whether it looked.
func (c *Client) rediscover(ctx context.Context, team string) bool {
	owner, _, _ := strings.Cut(strings.ToLower(team), "/")
	c.disc.Lock()
	o := c.owners[owner]
	due := o != nil && c.now().Sub(o.tried) >= rediscoverAfter
	c.disc.Unlock()
	if !due {
		return false
	}
	_, _ = c.Discover(ctx) // failures are logged and kept in Discoveries
	return true
}

// resolve is repo, looking the owner's repositories up again first when
// team belongs to a watched owner but was not found (see rediscover).
func (c *Client) resolve(ctx context.Context, team string) (full, owner, name string, err error) {
	full, owner, name, err = c.repo(team)
	if errors.Is(err, errUndiscovered) && c.rediscover(ctx, team) {
		full, owner, name, err = c.repo(team)
	}
	return full, owner, name, err
}
