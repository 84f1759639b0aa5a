package jira

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// With jira.projects: ["*"] slipwatch watches every project the account
// can browse. Discover lists them (Cloud: GET /rest/api/3/project/search
// with action=browse, paged by startAt; Data Center: GET /rest/api/2/project,
// which answers the projects the user can browse in one array) once at the
// start and then every jira.discover_every, and project_created or
// project_deleted webhooks tell the replica that receives them at once. A
// project that vanishes between two lists is dropped at its next poll
// (List) when Jira answers that it does not exist.

// found is what discovery found.
type found struct {
	mu    sync.Mutex
	set   map[string]bool
	at    time.Time // last successful list
	err   error     // the last list's failure; nil when it worked
	again bool      // list again at the next Discover (a project webhook)
}

// keys are the projects found, sorted.
func (f *found) keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.set))
}

// DiscoverEvery is jira.discover_every with jira.projects: ["*"], 0
// without: there is nothing to discover.
func (c *Client) DiscoverEvery() time.Duration {
	if !c.all {
		return 0
	}
	if d := c.cfg.DiscoverEvery.D(); d > 0 {
		return d
	}
	return config.DefaultJiraDiscoverEvery
}

// Discoveries is what "*" found at its last list, for check and /readyz.
func (c *Client) Discoveries() []connectors.Discovery {
	if !c.all {
		return nil
	}
	f := &c.found
	f.mu.Lock()
	defer f.mu.Unlock()
	return []connectors.Discovery{{Pattern: config.JiraAllProjects, Teams: len(f.set), Noun: "projects", At: f.at, Err: f.err}}
}

// Discover lists the projects the account can browse, for jira.projects:
// ["*"], when jira.discover_every has passed since the last list or a
// project webhook asked for it, and returns the projects that joined;
// otherwise, and with a list of keys, it does nothing. A failure keeps the
// projects found before.
func (c *Client) Discover(ctx context.Context) ([]string, error) {
	if !c.all {
		return nil, nil
	}
	defer c.locks.Lock("discover")()
	now := c.o.Now()
	f := &c.found
	f.mu.Lock()
	due := f.at.IsZero() || f.again || now.Sub(f.at) >= c.DiscoverEvery() || now.Before(f.at)
	f.mu.Unlock()
	if !due {
		return nil, nil
	}
	keys, err := c.browsableProjects(ctx)
	if err != nil {
		err = fmt.Errorf("discover the Jira projects the account can browse: %w", err)
		f.mu.Lock()
		f.err = err
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Lock()
	var added, gone []string
	for k := range keys {
		if !f.set[k] {
			added = append(added, k)
		}
	}
	for k := range f.set {
		if !keys[k] {
			gone = append(gone, k)
		}
	}
	f.set, f.at, f.err, f.again = keys, now, nil, false
	f.mu.Unlock()
	for _, k := range gone {
		c.forgetIndex(k)
	}
	slices.Sort(added)
	if len(added) > 0 || len(gone) > 0 {
		slices.Sort(gone)
		c.log.InfoContext(ctx, "jira projects discovered", "projects", len(keys), "added", added, "gone", gone)
	}
	return added, nil
}

// browsableProjects are the keys of the projects the account can browse.
func (c *Client) browsableProjects(ctx context.Context) (map[string]bool, error) {
	cloud, err := c.cloud(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	add := func(ps []project) {
		for _, p := range ps {
			if p.Key == "" {
				continue
			}
			keys[p.Key] = true
			if p.ID != "" {
				c.rememberProject(string(p.ID), p.Key)
			}
		}
	}
	if !cloud {
		var ps []project
		if err := c.get(ctx, "rest/api/2/project", nil, &ps); err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		add(ps)
		return keys, nil
	}
	// Paged by startAt rather than by following nextPage, an absolute URL
	// on the site, which OAuth calls do not go to.
	for start, page := 0, 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("list projects: more than %d pages", maxPages)
		}
		q := url.Values{"action": {"browse"}, "startAt": {strconv.Itoa(start)}, "maxResults": {strconv.Itoa(pageSize)}}
		var res struct {
			IsLast bool      `json:"isLast"`
			Values []project `json:"values"`
		}
		if err := c.get(ctx, "rest/api/3/project/search", q, &res); err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		add(res.Values)
		start += len(res.Values)
		if res.IsLast || len(res.Values) == 0 {
			return keys, nil
		}
	}
}

// dropProject forgets a project Jira says is gone, until discovery finds
// it again.
func (c *Client) dropProject(key string) {
	c.found.mu.Lock()
	delete(c.found.set, key)
	c.found.mu.Unlock()
	c.forgetIndex(key)
}

// foundProject adds a project a webhook announced, and has the next
// Discover list again (the announcement is not trusted for more).
func (c *Client) foundProject(key string) {
	f := &c.found
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.set == nil {
		f.set = map[string]bool{}
	}
	f.set[key] = true
	f.again = true
}
