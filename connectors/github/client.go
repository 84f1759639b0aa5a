// Package github is slipwatch's GitHub connector: milestones are the
// deliverables, a labelled tracking issue in each milestone is the thread,
// and the repository's closed issues and pull requests are the team's
// throughput. github.repos names repositories, or "owner/*" for every
// repository of an organisation or user (discover.go).
//
// It is built to watch a whole organisation on one token. Every read is a
// conditional request through connectors/httpx, whose 304 answers GitHub
// does not count, and a repository is kept in an index (index.go) that a
// poll brings up to date with three lists that say what changed: its
// milestones, the first page of its issues by last update, the first page
// of its comments by last update. An unchanged repository therefore costs
// three 304s per poll and no counted request, a changed one a counted
// request per list that changed, and Observe reads the index at no
// request. What each repository costs is measured by kind (cost.go).
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	// The version of go-github ghinstallation's options are written in.
	ghapp "github.com/google/go-github/v88/github"
	"golang.org/x/oauth2"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/budget"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/connectors/internal/keyed"
)

// How the connector spends GitHub's quota and memory; nothing configures
// them.
const (
	// viewTTL: Observe brings a repository's index up to date when the
	// last poll (or Observe) did so longer ago than this (List always
	// does). The poll interval is the freshness slipwatch promises;
	// webhooks and writes mark the index stale at once.
	viewTTL = 2 * time.Minute
	// permissionTTL is how long a collaborator permission is remembered:
	// a collaborator removed from the repository can commit for this long
	// at most (on a replica that saw no member webhook for it).
	permissionTTL = 5 * time.Minute
	// reserve is the part of the hourly quota left to people sharing the
	// token: below it requests wait for the reset.
	reserve = 100
	// defaultWindowDays is forecast.window's default, for a caller that
	// does not say.
	defaultWindowDays = int(config.DefaultForecastWindow / (24 * time.Hour))
)

// Options are the connector's dependencies and settings. The zero value
// works (no validator cache, real clock, UTC, the config's defaults).
type Options struct {
	// Validators is the conditional-request cache (the Redis store). nil:
	// every read is a full, counted request.
	Validators httpx.Validators
	// Transport is the base transport under auth; nil: a clone of
	// http.DefaultTransport with a 30s response-header timeout.
	Transport http.RoundTripper
	Logger    *slog.Logger
	Version   string // User-Agent "slipwatch/<Version>"; default "dev"

	Now        func() time.Time
	Location   *time.Location // the configured time zone; default UTC
	WindowDays int            // forecast.window in days; default the config's
	// Allow are the logins that may /commit regardless of their
	// permission: commands.allow's github: entries without the prefix
	// (config.Commands.AllowFor). Compared without regard to case.
	Allow []string

	// WriteInterval is the least time between two writes (GitHub asks for
	// at least a second between content-creating requests); default
	// github.write_interval's.
	WriteInterval time.Duration
	// Observe receives every request that reaches GitHub, for metrics.
	Observe func(httpx.Observation)

	// sleep replaces every wait of the HTTP layers: tests run on a fake
	// clock.
	sleep httpx.Sleeper
}

// Client is the GitHub connector. It is safe for concurrent use.
type Client struct {
	gh      *gh.Client
	cfg     *config.GitHub
	repos   map[string]string // listed repositories: lower-case owner/name → as configured
	owners  map[string]*owned // owner/* entries by lower-case owner (discover.go), guarded by disc
	label   string
	allow   map[string]bool // lower-case logins
	now     func() time.Time
	loc     *time.Location
	window  int
	o       Options
	log     *slog.Logger
	selfFn  func(context.Context) (string, error)
	maxHook int64

	selfMu sync.Mutex
	self   string

	locks keyed.Mutex // per repo (index refresh), per milestone (EnsureThread), discovery
	disc  sync.Mutex  // guards owners' contents
	costs costs       // what each repository cost (cost.go)

	mu       sync.Mutex
	index    map[string]*index      // by repo (index.go)
	threads  map[string]*threadMemo // by thread ID
	unsure   map[string]time.Time   // thread ID → until when its memo is not to be trusted
	threadOf map[string]int         // milestone key → tracking issue number, once known
	pinned   map[string]int         // milestone key → the tracking issue its record names (PinThread)
	noThread map[string]noThread    // milestone key → why no tracking issue can be made, for a while
	perms    map[string]permEntry   // repo + "\x00" + lower-case login
}

// New builds the connector for cfg. It reads the App private key (file or
// PEM) but makes no request.
func New(cfg *config.GitHub, o Options) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("github: no configuration")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.WindowDays <= 0 {
		o.WindowDays = defaultWindowDays
	}
	if o.WriteInterval <= 0 {
		o.WriteInterval = config.DefaultGitHubWriteInterval
	}
	if o.Transport == nil {
		o.Transport = httpx.DefaultTransport()
	}

	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = config.DefaultGitHubBaseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("github.base_url %q is not a URL", baseURL)
	}
	enterprise := !strings.EqualFold(u.Host, "api.github.com")
	// The URL go-github will use: GHES serves the API under /api/v3/.
	apiBase := u
	if enterprise {
		probe, err := gh.NewClient(nil).WithEnterpriseURLs(baseURL, baseURL)
		if err != nil {
			return nil, fmt.Errorf("github.base_url %q: %w", baseURL, err)
		}
		apiBase = probe.BaseURL
	}
	apiRoot := strings.TrimRight(apiBase.String(), "/")

	c := &Client{
		cfg:      cfg,
		repos:    map[string]string{},
		label:    cfg.TrackingLabel,
		allow:    map[string]bool{},
		now:      o.Now,
		loc:      o.Location,
		window:   o.WindowDays,
		o:        o,
		log:      o.Logger.With("tracker", string(connectors.GitHub)),
		maxHook:  httpx.MaxWebhookBytes,
		owners:   map[string]*owned{},
		costs:    costs{byRepo: map[string]*Cost{}},
		index:    map[string]*index{},
		threads:  map[string]*threadMemo{},
		unsure:   map[string]time.Time{},
		threadOf: map[string]int{},
		pinned:   map[string]int{},
		noThread: map[string]noThread{},
		perms:    map[string]permEntry{},
	}
	if c.label == "" {
		c.label = config.DefaultGitHubTrackingLabel
	}
	for _, r := range cfg.Repos {
		if owner := patternOwner(r); owner != "" {
			c.owners[strings.ToLower(owner)] = &owned{pattern: r, repos: map[string]string{}}
			continue
		}
		c.repos[strings.ToLower(r)] = r
	}
	for _, a := range o.Allow {
		c.allow[strings.ToLower(a)] = true
	}

	ua := "slipwatch/" + o.Version
	var auth http.RoundTripper
	var identity string
	switch {
	case cfg.App != nil:
		key, err := appKey(cfg.App)
		if err != nil {
			return nil, err
		}
		itr, err := ghinstallation.New(o.Transport, cfg.App.ID, cfg.App.InstallationID, key)
		if err != nil {
			return nil, fmt.Errorf("github.app: %w", err)
		}
		itr.BaseURL = apiRoot
		// Without options ghinstallation posts the body "null", which
		// GitHub takes but does not document (the body is an object):
		// ask for a token for every repository the installation has.
		itr.InstallationTokenOptions = &ghapp.InstallationTokenOptions{}
		auth = itr
		identity = fmt.Sprintf("app:%d/installation:%d", cfg.App.ID, cfg.App.InstallationID)
		atr, err := ghinstallation.NewAppsTransport(o.Transport, cfg.App.ID, key)
		if err != nil {
			return nil, fmt.Errorf("github.app: %w", err)
		}
		atr.BaseURL = apiRoot
		appClient, err := newGitHub(httpx.NewUserAgent(atr, ua), enterprise, baseURL)
		if err != nil {
			return nil, err
		}
		c.selfFn = func(ctx context.Context) (string, error) {
			app, _, err := appClient.Apps.Get(ctx, "")
			if err != nil {
				return "", c.wrap("get the app's own login", err)
			}
			// Installation tokens write as the app's bot user.
			return app.GetSlug() + "[bot]", nil
		}
	case cfg.Token != "":
		auth = &oauth2.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cfg.Token.Value()}), Base: o.Transport}
		identity = "token:" + httpx.Fingerprint(cfg.Token.Value())
		c.selfFn = func(ctx context.Context) (string, error) {
			u, _, err := c.gh.Users.Get(ctx, "")
			if err != nil {
				return "", c.wrap("get the token's own login", err)
			}
			return u.GetLogin(), nil
		}
	default:
		return nil, errors.New("github: neither token nor app is configured")
	}

	// The meter sits right above the credential, below the cache: it sees
	// each request as sent and each 304 as GitHub answered it.
	stack := httpx.New(&meterTransport{next: auth, costs: &c.costs}, httpx.Options{
		UserAgent:  ua,
		Validators: o.Validators,
		Cache:      httpx.CacheOptions{Identity: func(*http.Request) string { return identity }, Logger: c.log},
		Limits:     httpx.LimitOptions{Reserve: reserve, Bucket: budget.GitHubResource},
		Pace:       &httpx.PaceOptions{Interval: o.WriteInterval},
		Endpoint:   func(r *http.Request) string { return endpoint(apiBase.Path, r) },
		Observe:    o.Observe,
		Now:        o.Now,
		Sleep:      o.sleep,
		Logger:     c.log,
	})
	c.gh, err = newGitHub(stack, enterprise, baseURL)
	if err != nil {
		return nil, err
	}
	c.gh.UserAgent = ua
	return c, nil
}

func newGitHub(rt http.RoundTripper, enterprise bool, baseURL string) (*gh.Client, error) {
	client := gh.NewClient(&http.Client{Transport: rt})
	if !enterprise {
		return client, nil
	}
	client, err := client.WithEnterpriseURLs(baseURL, baseURL)
	if err != nil {
		return nil, fmt.Errorf("github.base_url %q: %w", baseURL, err)
	}
	return client, nil
}

// appKey is the App's PEM private key, from the config or its file.
func appKey(app *config.App) ([]byte, error) {
	if app.PrivateKey != "" {
		return []byte(app.PrivateKey.Value()), nil
	}
	if app.PrivateKeyFile == "" {
		return nil, errors.New("github.app: neither private_key nor private_key_file is set")
	}
	b, err := os.ReadFile(app.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("github.app.private_key_file: %w", err)
	}
	return b, nil
}

// Tracker is connectors.GitHub.
func (c *Client) Tracker() connectors.Tracker { return connectors.GitHub }

// Teams are the repositories watched, owner/name: those listed in
// github.repos and those its owner/* entries discovered (Discover), each
// once, sorted.
func (c *Client) Teams() []string {
	seen := map[string]string{}
	for lower, full := range c.repos {
		seen[lower] = full
	}
	c.disc.Lock()
	for _, o := range c.owners {
		for lower, full := range o.repos {
			if _, listed := seen[lower]; !listed {
				seen[lower] = full
			}
		}
	}
	c.disc.Unlock()
	out := slices.Collect(maps.Values(seen))
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

// Self is the login slipwatch writes as: the token's user, or the App's
// bot ("<slug>[bot]"). It is read once; a failure is not remembered.
func (c *Client) Self(ctx context.Context) (string, error) {
	c.selfMu.Lock()
	defer c.selfMu.Unlock()
	if c.self != "" {
		return c.self, nil
	}
	s, err := c.selfFn(ctx)
	if err != nil {
		return "", err
	}
	c.self = s
	return s, nil
}

// repo resolves team to the spelling of the config or of discovery and
// its owner and name. A repository of a watched owner that discovery has
// not found (archived, a fork, gone) is not found; one of no watched owner
// is a terminal error.
func (c *Client) repo(team string) (full, owner, name string, err error) {
	full, ok := c.watched(team)
	if !ok {
		o, _, _ := strings.Cut(strings.ToLower(team), "/")
		c.disc.Lock()
		w := c.owners[o]
		c.disc.Unlock()
		if w != nil {
			return "", "", "", fmt.Errorf("repo %q is %w of %s slipwatch can see (archived, a fork, issues off, or gone): %w",
				team, errUndiscovered, w.pattern, connectors.ErrNotFound)
		}
		return "", "", "", fmt.Errorf("repo %q is not in github.repos: %w", team, connectors.ErrTerminal)
	}
	owner, name, _ = strings.Cut(full, "/")
	return full, owner, name, nil
}

// watched is the spelling of a watched repository, listed or discovered.
func (c *Client) watched(team string) (string, bool) {
	lower := strings.ToLower(team)
	if full, ok := c.repos[lower]; ok {
		return full, true
	}
	return c.discovered(lower)
}

// wrap turns a go-github error into the connectors' vocabulary: what
// failed, on which object, and whether waiting or retrying can help.
func (c *Client) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var rl *connectors.RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var primary *gh.RateLimitError
	if errors.As(err, &primary) {
		// go-github refused locally: it remembers an exhausted quota.
		return fmt.Errorf("%s: %w", op, &connectors.RateLimitError{Retry: primary.Rate.Reset.Time, Err: err})
	}
	var secondary *gh.AbuseRateLimitError
	if errors.As(err, &secondary) {
		wait := time.Minute
		if secondary.RetryAfter != nil && *secondary.RetryAfter > 0 {
			wait = *secondary.RetryAfter
		}
		return fmt.Errorf("%s: %w", op, &connectors.RateLimitError{Retry: c.now().Add(wait), Err: err})
	}
	var tokenErr *ghinstallation.HTTPError
	if errors.As(err, &tokenErr) && tokenErr.Response != nil {
		switch tokenErr.Response.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
			// The App's key, ID or installation is wrong: no retry fixes it.
			return fmt.Errorf("%s: get an installation token: %w: %w", op, connectors.ErrTerminal, err)
		}
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && tooLarge(er) {
		return fmt.Errorf("%s: %w: %w", op, connectors.ErrTooLarge, err)
	}
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusNotFound, http.StatusGone:
			return fmt.Errorf("%s: %w: %w", op, connectors.ErrNotFound, err)
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity:
			return fmt.Errorf("%s: %w: %w", op, connectors.ErrTerminal, err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// tooLarge reports whether GitHub refused a write for its size: 413, or
// the 422 whose error on the body says "body is too long (maximum is
// 65536 characters)".
func tooLarge(er *gh.ErrorResponse) bool {
	switch er.Response.StatusCode {
	case http.StatusRequestEntityTooLarge:
		return true
	case http.StatusUnprocessableEntity:
		for _, e := range er.Errors {
			if strings.EqualFold(e.Field, "body") && strings.Contains(strings.ToLower(e.Message), "too long") {
				return true
			}
		}
	}
	return false
}
