package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// naivePoller is the baseline of the API-cost section: a poller written
// the plain way, with no cache, no conditional request and no memory.
// Each poll of a repository reads its milestones, every milestone's issues,
// every tracking issue's comments and the forecast window's closed issues:
// everything an Observe of each milestone needs, read again every time.
type naivePoller struct {
	api    *gh.Client
	label  string
	window int
	now    func() time.Time

	mu    sync.Mutex
	kinds map[string]int // requests by kind
}

func newNaivePoller(cfg *config.GitHub, transport http.RoundTripper, now func() time.Time) (*naivePoller, error) {
	p := &naivePoller{label: cfg.TrackingLabel, window: int(config.DefaultForecastWindow / (24 * time.Hour)), now: now, kinds: map[string]int{}}
	client := gh.NewClient(&http.Client{Transport: &countKinds{next: transport, p: p}}).WithAuthToken(cfg.Token.Value())
	var err error
	if p.api, err = client.WithEnterpriseURLs(cfg.BaseURL, cfg.BaseURL); err != nil {
		return nil, err
	}
	return p, nil
}

// countKinds counts the naive poller's requests by what they are for.
type countKinds struct {
	next http.RoundTripper
	p    *naivePoller
}

func (c *countKinds) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "other"
	switch q := r.URL.Query(); {
	case strings.HasSuffix(r.URL.Path, "/milestones"):
		kind = "milestones"
	case strings.HasSuffix(r.URL.Path, "/comments"):
		kind = "thread"
	case q.Has("milestone"):
		kind = "milestone_issues"
	case strings.HasSuffix(r.URL.Path, "/issues"):
		kind = "issues"
	}
	c.p.mu.Lock()
	c.p.kinds[kind]++
	c.p.mu.Unlock()
	return c.next.RoundTrip(r)
}

// poll reads everything of one repository.
func (p *naivePoller) poll(ctx context.Context, full string) error {
	owner, name, _ := strings.Cut(full, "/")
	var milestones []*gh.Milestone
	for page := 1; page != 0; {
		ms, resp, err := p.api.Issues.ListMilestones(ctx, owner, name, &gh.MilestoneListOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 100, Page: page}})
		if err != nil {
			return fmt.Errorf("milestones of %s: %w", full, err)
		}
		milestones, page = append(milestones, ms...), resp.NextPage
	}
	issues := func(opt gh.IssueListByRepoOptions) ([]*gh.Issue, error) {
		var out []*gh.Issue
		opt.PerPage = 100
		for opt.Page = 1; opt.Page != 0; {
			is, resp, err := p.api.Issues.ListByRepo(ctx, owner, name, &opt)
			if err != nil {
				return nil, fmt.Errorf("issues of %s: %w", full, err)
			}
			out, opt.Page = append(out, is...), resp.NextPage
		}
		return out, nil
	}
	for _, m := range milestones {
		list, err := issues(gh.IssueListByRepoOptions{Milestone: fmt.Sprint(m.GetNumber()), State: "all"})
		if err != nil {
			return err
		}
		for _, is := range list {
			if is.IsPullRequest() || !labelled(is, p.label) {
				continue
			}
			for page := 1; page != 0; {
				_, resp, err := p.api.Issues.ListComments(ctx, owner, name, is.GetNumber(), &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100, Page: page}})
				if err != nil {
					return fmt.Errorf("comments of %s#%d: %w", full, is.GetNumber(), err)
				}
				page = resp.NextPage
			}
		}
	}
	from := connectors.DateOf(p.now(), time.UTC).AddDays(-(p.window - 1)).Time(time.UTC)
	_, err := issues(gh.IssueListByRepoOptions{State: "closed", Since: from})
	return err
}

func labelled(is *gh.Issue, label string) bool {
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), label) {
			return true
		}
	}
	return false
}

// cycle polls every repository, four at a time.
func (p *naivePoller) cycle(ctx context.Context, names []string) error {
	return eachRepo(names, func(name string) error { return p.poll(ctx, name) })
}

// eachRepo runs f for every repository (or Jira project), four at a time
// (the daemon's four workers), and returns the first error.
func eachRepo(names []string, f func(string) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	sem := make(chan struct{}, 4)
	for _, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := f(name); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// takeKinds returns the requests by kind since the last call.
func (p *naivePoller) takeKinds() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.kinds
	p.kinds = map[string]int{}
	return out
}
