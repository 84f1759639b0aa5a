// Package github is slipwatch's GitHub connector: milestones are the
// deliverables, a labelled tracking issue in each milestone is the thread,
// and the repository's closed issues are the team's throughput.
//
// It is built to run for months on one token. Every read is a conditional
// request through connectors/httpx, whose 304 answers GitHub does not count,
// and a repository is read as three lists per poll (its milestones, its
// issues closed since yesterday, its comments since yesterday; the day's
// first read adds the closed issues of the whole forecast window); a
// milestone's issues and its thread's comments are fetched again only when
// those lists say they changed. An unchanged repository therefore costs
// three 304s per poll and no counted request.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
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
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/connectors/internal/keyed"
)

// How the connector spends GitHub's quota and memory; nothing configures
// them.
const (
	// viewTTL: Observe re-reads a repository's lists when they are older
	// than this (List always re-reads them).
	viewTTL = 30 * time.Second
	// memoTTL: a milestone's issues and a thread's comments are re-read
	// (conditionally) at least this often even when nothing says they
	// changed, so a deleted comment is noticed.
	memoTTL = time.Hour
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
	repos   map[string]string // lower-case owner/name → as configured
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

	locks keyed.Mutex // per repo (view refresh) and per milestone (EnsureThread)

	mu       sync.Mutex
	views    map[string]*repoView   // by repo
	items    map[string]*itemsMemo  // by milestone key
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
		views:    map[string]*repoView{},
		items:    map[string]*itemsMemo{},
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

	stack := httpx.New(auth, httpx.Options{
		UserAgent:  ua,
		Validators: o.Validators,
		Cache:      httpx.CacheOptions{Identity: func(*http.Request) string { return identity }, Logger: c.log, TTL: datedListTTL},
		Limits:     httpx.LimitOptions{Reserve: reserve, Bucket: bucket},
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

// Teams are the configured repositories, owner/name.
func (c *Client) Teams() []string { return append([]string(nil), c.cfg.Repos...) }

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

// repo resolves team to the configured spelling and its owner and name.
func (c *Client) repo(team string) (full, owner, name string, err error) {
	full, ok := c.repos[strings.ToLower(team)]
	if !ok {
		return "", "", "", fmt.Errorf("repo %q is not in github.repos: %w", team, connectors.ErrTerminal)
	}
	owner, name, _ = strings.Cut(full, "/")
	return full, owner, name, nil
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

// datedListTTL keeps the validators of a since= list (recent comments,
// issues closed since yesterday) two days rather than the store's week:
// their URL names a day, so yesterday's entry is never asked for again
// once the day has turned.
func datedListTTL(r *http.Request) time.Duration {
	if r.URL.Query().Has("since") {
		return 48 * time.Hour
	}
	return 0
}
