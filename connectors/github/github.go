// Package github is slipwatch's GitHub connector: milestones are the
// deliverables, a labelled tracking issue in each milestone is the thread,
// and every GET goes through a conditional-request cache so that a repo
// where nothing changed costs 304s, which GitHub does not count.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"
	"golang.org/x/oauth2"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// Options are the connector's dependencies; zero fields take defaults.
type Options struct {
	Cache         httpx.Validators  // conditional-request store (nil: none)
	Transport     http.RoundTripper // base transport (nil: http.DefaultTransport)
	Logger        *slog.Logger
	Version       string           // for the User-Agent
	Now           func() time.Time // the clock (testdrive simulates one)
	Location      *time.Location   // the zone dates are counted in
	WindowDays    int              // throughput window
	Allow         []string         // commands.allow
	WriteInterval time.Duration    // pacing of writes (default 1 s)
	Retry         httpx.RetryOptions
	Counter       *httpx.Counter // optional request counter
}

// Client is the GitHub connector.
type Client struct {
	api   *gh.Client
	app   *gh.Client // JWT-authenticated, to learn the App's bot login
	cfg   *config.GitHub
	opt   Options
	repos map[string]string // lower-case → configured spelling

	mu      sync.Mutex
	self    string
	perms   map[string]permEntry // "owner/repo user" → may commit
	threads map[string]int       // milestone key → tracking issue number
}

type permEntry struct {
	ok bool
	at time.Time
}

// permTTL is how long a collaborator permission is trusted.
const permTTL = time.Hour

// New builds the connector. It does no network I/O.
func New(cfg *config.GitHub, opt Options) (*Client, error) {
	if opt.Transport == nil {
		opt.Transport = http.DefaultTransport
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.WindowDays <= 0 {
		opt.WindowDays = 42
	}
	if opt.WriteInterval == 0 {
		opt.WriteInterval = time.Second
	}
	c := &Client{cfg: cfg, opt: opt, repos: map[string]string{}, perms: map[string]permEntry{}, threads: map[string]int{}}
	for _, r := range cfg.Repos {
		c.repos[strings.ToLower(r)] = r
	}
	base := opt.Transport
	if opt.Counter != nil {
		base = opt.Counter.Count(base)
	}
	var auth http.RoundTripper
	var identity string
	apiURL := strings.TrimSuffix(cfg.BaseURL, "/") + "/"
	switch {
	case cfg.App != nil:
		key := []byte(cfg.App.PrivateKey.Value())
		if cfg.App.PrivateKeyFile != "" {
			b, err := os.ReadFile(cfg.App.PrivateKeyFile)
			if err != nil {
				return nil, fmt.Errorf("github.app.private_key_file: %w", err)
			}
			key = b
		}
		it, err := ghinstallation.New(base, cfg.App.ID, cfg.App.InstallationID, key)
		if err != nil {
			return nil, fmt.Errorf("github.app: the private key is not a PEM RSA key: %w", err)
		}
		it.BaseURL = strings.TrimSuffix(apiURL, "/")
		at, err := ghinstallation.NewAppsTransport(base, cfg.App.ID, key)
		if err != nil {
			return nil, fmt.Errorf("github.app: %w", err)
		}
		at.BaseURL = it.BaseURL
		auth = it
		identity = fmt.Sprintf("app:%d:%d", cfg.App.ID, cfg.App.InstallationID)
		appClient, err := newAPI(httpx.UserAgent(at, userAgent(opt.Version)), apiURL)
		if err != nil {
			return nil, err
		}
		c.app = appClient
	default:
		auth = &oauth2.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cfg.Token.Value()}), Base: base}
		identity = "token:" + cfg.Token.Value()
	}
	rt := httpx.Retry(auth, opt.Retry)
	rt = httpx.PaceWrites(rt, opt.WriteInterval)
	rt = httpx.Conditional(rt, opt.Cache, identity+"@"+apiURL)
	rt = httpx.UserAgent(rt, userAgent(opt.Version))
	api, err := newAPI(rt, apiURL)
	if err != nil {
		return nil, err
	}
	c.api = api
	return c, nil
}

func userAgent(v string) string {
	if v == "" {
		v = "dev"
	}
	return "slipwatch/" + v
}

func newAPI(rt http.RoundTripper, apiURL string) (*gh.Client, error) {
	client := gh.NewClient(&http.Client{Transport: rt, Timeout: 60 * time.Second})
	// base_url is the API root as given (GHES: https://ghe.example.com/api/v3/);
	// WithEnterpriseURLs would append api/v3/ to anything else.
	u, err := url.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("github.base_url: %w", err)
	}
	client.BaseURL = u
	return client, nil
}

// Tracker is GitHub.
func (c *Client) Tracker() connectors.Tracker { return connectors.GitHub }

// Teams are the configured repos.
func (c *Client) Teams() []string { return append([]string(nil), c.cfg.Repos...) }

// Self is the login slipwatch writes as: the token's user, or the App's
// bot ("<slug>[bot]"). Only its comments' markers are trusted.
func (c *Client) Self(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.self != "" {
		defer c.mu.Unlock()
		return c.self, nil
	}
	c.mu.Unlock()
	var login string
	if c.app != nil {
		a, _, err := c.app.Apps.Get(ctx, "")
		if err != nil {
			return "", mapErr("get the app", err)
		}
		login = a.GetSlug() + "[bot]"
	} else {
		u, _, err := c.api.Users.Get(ctx, "")
		if err != nil {
			return "", mapErr("get the authenticated user", err)
		}
		login = u.GetLogin()
	}
	c.mu.Lock()
	c.self = login
	c.mu.Unlock()
	return login, nil
}

func split(repo string) (string, string) {
	o, n, _ := strings.Cut(repo, "/")
	return o, n
}

// List returns the repo's milestones, open and closed.
func (c *Client) List(ctx context.Context, repo string) ([]connectors.Ref, error) {
	owner, name := split(repo)
	var refs []connectors.Ref
	opt := &gh.MilestoneListOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		ms, resp, err := c.api.Issues.ListMilestones(ctx, owner, name, opt)
		if err != nil {
			return nil, mapErr("list milestones of "+repo, err)
		}
		for _, m := range ms {
			refs = append(refs, connectors.Ref{Tracker: connectors.GitHub, Team: repo, Kind: connectors.Milestone, ID: strconv.Itoa(m.GetNumber())})
		}
		if resp.NextPage == 0 {
			return refs, nil
		}
		opt.Page = resp.NextPage
	}
}

// Observe reads a milestone, its issues, its thread and the repo's
// throughput.
func (c *Client) Observe(ctx context.Context, ref connectors.Ref) (connectors.Snapshot, error) {
	owner, name := split(ref.Team)
	num, err := strconv.Atoi(ref.ID)
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("%w: milestone %q is not a number", connectors.ErrTerminal, ref.ID)
	}
	m, _, err := c.api.Issues.GetMilestone(ctx, owner, name, num)
	if err != nil {
		return connectors.Snapshot{}, mapErr(fmt.Sprintf("get milestone %s#%d", ref.Team, num), err)
	}
	d := connectors.Deliverable{Ref: ref, Title: m.GetTitle(), URL: m.GetHTMLURL(), Description: m.GetDescription(),
		DueAt: m.GetDueOn().Time, Closed: m.GetState() == "closed", ClosedAt: m.GetClosedAt().Time}
	issues, err := c.listIssues(ctx, owner, name, &gh.IssueListByRepoOptions{Milestone: ref.ID, State: "all"})
	if err != nil {
		return connectors.Snapshot{}, fmt.Errorf("issues of milestone %s#%d: %w", ref.Team, num, err)
	}
	var tracking *gh.Issue
	for _, is := range issues {
		if is.IsPullRequest() {
			continue
		}
		if hasLabel(is, c.cfg.TrackingLabel) {
			if tracking == nil {
				tracking = is
			}
			continue
		}
		d.Items = append(d.Items, connectors.Item{ID: strconv.Itoa(is.GetNumber()), CreatedAt: is.GetCreatedAt().Time, ClosedAt: is.GetClosedAt().Time})
	}
	snap := connectors.Snapshot{Deliverable: d}
	if tracking != nil {
		c.mu.Lock()
		c.threads[ref.Key()] = tracking.GetNumber()
		c.mu.Unlock()
		th, err := c.thread(ctx, ref.Team, tracking)
		if err != nil {
			return connectors.Snapshot{}, err
		}
		snap.Thread = th
	}
	tp, err := c.throughput(ctx, owner, name)
	if err != nil {
		return connectors.Snapshot{}, err
	}
	snap.Throughput = tp
	return snap, nil
}

func hasLabel(is *gh.Issue, label string) bool {
	for _, l := range is.Labels {
		if strings.EqualFold(l.GetName(), label) {
			return true
		}
	}
	return false
}

func (c *Client) listIssues(ctx context.Context, owner, name string, opt *gh.IssueListByRepoOptions) ([]*gh.Issue, error) {
	opt.PerPage = 100
	var all []*gh.Issue
	for {
		is, resp, err := c.api.Issues.ListByRepo(ctx, owner, name, opt)
		if err != nil {
			return nil, mapErr("list issues of "+owner+"/"+name, err)
		}
		all = append(all, is...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opt.Page = resp.NextPage
	}
}

// throughput counts the repo's issues closed per day over the window.
// since= is the start of the window's first day, so the URL is the same
// all day and its validator keeps matching.
func (c *Client) throughput(ctx context.Context, owner, name string) (connectors.Throughput, error) {
	today := connectors.DateOf(c.opt.Now(), c.opt.Location)
	from := today.AddDays(-(c.opt.WindowDays - 1))
	issues, err := c.listIssues(ctx, owner, name, &gh.IssueListByRepoOptions{State: "closed", Since: from.Time(c.opt.Location)})
	if err != nil {
		return connectors.Throughput{}, fmt.Errorf("throughput of %s/%s: %w", owner, name, err)
	}
	var closed []time.Time
	for _, is := range issues {
		if !is.IsPullRequest() && is.ClosedAt != nil {
			closed = append(closed, is.GetClosedAt().Time)
		}
	}
	return connectors.CountThroughput(closed, from, today, c.opt.Location), nil
}

func (c *Client) thread(ctx context.Context, repo string, is *gh.Issue) (*connectors.Thread, error) {
	owner, name := split(repo)
	self, err := c.Self(ctx)
	if err != nil {
		return nil, err
	}
	th := &connectors.Thread{ID: fmt.Sprintf("%s#%d", repo, is.GetNumber()), URL: is.GetHTMLURL()}
	opt := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := c.api.Issues.ListComments(ctx, owner, name, is.GetNumber(), opt)
		if err != nil {
			return nil, mapErr("list comments of "+th.ID, err)
		}
		for _, cm := range cs {
			login := cm.GetUser().GetLogin()
			com := connectors.Comment{ID: strconv.FormatInt(cm.GetID(), 10), URL: cm.GetHTMLURL(), Author: login, Body: cm.GetBody(),
				CreatedAt: cm.GetCreatedAt().Time, UpdatedAt: cm.GetUpdatedAt().Time, BySelf: strings.EqualFold(login, self)}
			if com.BySelf {
				com.Hidden = com.Body
			} else if strings.Contains(com.Body, "/commit") {
				// Permission is only looked up for comments that need it.
				ok, err := c.mayCommit(ctx, repo, login)
				if err != nil {
					return nil, err
				}
				com.AuthorCanCommit = ok
			}
			th.Comments = append(th.Comments, com)
		}
		if resp.NextPage == 0 {
			return th, nil
		}
		opt.Page = resp.NextPage
	}
}

// mayCommit: listed in commands.allow, or write permission or better.
func (c *Client) mayCommit(ctx context.Context, repo, login string) (bool, error) {
	for _, a := range c.opt.Allow {
		if strings.EqualFold(a, login) {
			return true, nil
		}
	}
	key := strings.ToLower(repo + " " + login)
	c.mu.Lock()
	e, ok := c.perms[key]
	c.mu.Unlock()
	if ok && c.opt.Now().Sub(e.at) < permTTL {
		return e.ok, nil
	}
	owner, name := split(repo)
	p, _, err := c.api.Repositories.GetPermissionLevel(ctx, owner, name, login)
	var ok2 bool
	switch {
	case err != nil && errors.Is(mapErr("", err), connectors.ErrNotFound):
		ok2 = false // not a collaborator
	case err != nil:
		return false, mapErr("permission of "+login+" on "+repo, err)
	default:
		switch p.GetPermission() {
		case "admin", "maintain", "write":
			ok2 = true
		}
	}
	c.mu.Lock()
	c.perms[key] = permEntry{ok: ok2, at: c.opt.Now()}
	c.mu.Unlock()
	return ok2, nil
}

// EnsureThread finds the milestone's tracking issue or, when
// create_tracking_issue is on, creates it. It searches by label first, so
// a retry after an ambiguous create finds the first one.
func (c *Client) EnsureThread(ctx context.Context, d connectors.Deliverable) (*connectors.Thread, error) {
	owner, name := split(d.Ref.Team)
	found, err := c.listIssues(ctx, owner, name, &gh.IssueListByRepoOptions{Milestone: d.Ref.ID, State: "all", Labels: []string{c.cfg.TrackingLabel}})
	if err != nil {
		return nil, err
	}
	for _, is := range found {
		if !is.IsPullRequest() {
			return c.thread(ctx, d.Ref.Team, is)
		}
	}
	if !c.cfg.CreateTrackingIssue {
		return nil, nil
	}
	num, _ := strconv.Atoi(d.Ref.ID)
	is, _, err := c.api.Issues.Create(ctx, owner, name, &gh.IssueRequest{
		Title:     gh.String("Delivery tracking: " + d.Title),
		Body:      gh.String(trackingBody(d.Title)),
		Milestone: gh.Int(num),
		Labels:    &[]string{c.cfg.TrackingLabel},
	})
	if err != nil {
		return nil, mapErr("create the tracking issue of "+d.Ref.Key(), err)
	}
	c.opt.Logger.Info("tracking issue created", "commitment", d.Ref.Key(), "issue", is.GetNumber())
	return &connectors.Thread{ID: fmt.Sprintf("%s#%d", d.Ref.Team, is.GetNumber()), URL: is.GetHTMLURL()}, nil
}

func trackingBody(title string) string {
	return "slipwatch keeps the delivery date of this milestone honest here: the date promised to leadership, " +
		"the current due date, a forecast from the team's pace, and a warning when they drift apart.\n\n" +
		"Commands (in a comment on this issue):\n" +
		"- `/commit YYYY-MM-DD [reason]` records the date promised to leadership (write permission needed)\n" +
		"- `/slipwatch status` answers with the current status\n" +
		"- `/slipwatch help` lists the commands\n\n" +
		"Please keep this issue open and labelled; it is how slipwatch finds the milestone's thread."
}

func threadNumber(th *connectors.Thread) (string, string, int, error) {
	repo, n, ok := strings.Cut(th.ID, "#")
	num, err := strconv.Atoi(n)
	if !ok || err != nil {
		return "", "", 0, fmt.Errorf("%w: thread %q is not owner/name#number", connectors.ErrTerminal, th.ID)
	}
	owner, name := split(repo)
	return owner, name, num, nil
}

// Post writes a comment with its marker (an HTML comment, which GitHub
// does not render).
func (c *Client) Post(ctx context.Context, th *connectors.Thread, body, marker string) (connectors.Comment, error) {
	owner, name, num, err := threadNumber(th)
	if err != nil {
		return connectors.Comment{}, err
	}
	text := body + "\n\n" + marker
	cm, _, err := c.api.Issues.CreateComment(ctx, owner, name, num, &gh.IssueComment{Body: &text})
	if err != nil {
		return connectors.Comment{}, mapErr("comment on "+th.ID, err)
	}
	return connectors.Comment{ID: strconv.FormatInt(cm.GetID(), 10), URL: cm.GetHTMLURL(), Body: text, Hidden: text, BySelf: true, CreatedAt: cm.GetCreatedAt().Time}, nil
}

// Edit rewrites slipwatch's own comment (the status comment).
func (c *Client) Edit(ctx context.Context, th *connectors.Thread, commentID, body, marker string) (connectors.Comment, error) {
	owner, name, _, err := threadNumber(th)
	if err != nil {
		return connectors.Comment{}, err
	}
	id, err := strconv.ParseInt(commentID, 10, 64)
	if err != nil {
		return connectors.Comment{}, fmt.Errorf("%w: comment id %q", connectors.ErrTerminal, commentID)
	}
	text := body + "\n\n" + marker
	cm, _, err := c.api.Issues.EditComment(ctx, owner, name, id, &gh.IssueComment{Body: &text})
	if err != nil {
		return connectors.Comment{}, mapErr("edit comment "+commentID+" on "+th.ID, err)
	}
	return connectors.Comment{ID: commentID, URL: cm.GetHTMLURL(), Body: text, Hidden: text, BySelf: true}, nil
}

// mapErr turns go-github's errors into the connectors' vocabulary, keeping
// GitHub's message.
func mapErr(what string, err error) error {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	var crl *connectors.RateLimitError
	switch {
	case errors.As(err, &crl):
		return fmt.Errorf("%s: %w", what, err)
	case errors.As(err, &rl):
		return &connectors.RateLimitError{Retry: rl.Rate.Reset.Time, Err: fmt.Errorf("%s: %s", what, rl.Message)}
	case errors.As(err, &ab):
		retry := time.Now().Add(time.Minute)
		if ab.RetryAfter != nil {
			retry = time.Now().Add(*ab.RetryAfter)
		}
		return &connectors.RateLimitError{Retry: retry, Err: fmt.Errorf("%s: %s", what, ab.Message)}
	case errors.As(err, &er) && er.Response != nil:
		msg := er.Message
		for _, e := range er.Errors {
			msg += "; " + e.Message + " " + e.Field + " " + e.Code
		}
		switch er.Response.StatusCode {
		case http.StatusNotFound, http.StatusGone:
			return fmt.Errorf("%s: %s: %w", what, msg, connectors.ErrNotFound)
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity:
			return fmt.Errorf("%s: %d %s: %w", what, er.Response.StatusCode, msg, connectors.ErrTerminal)
		}
		return fmt.Errorf("%s: %d %s", what, er.Response.StatusCode, msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}
