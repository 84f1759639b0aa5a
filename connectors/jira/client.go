package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gojira "github.com/andygrunwald/go-jira"
	"golang.org/x/oauth2"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/connectors/internal/keyed"
)

// MarkerProperty is the comment entity property holding the marker.
const MarkerProperty = "slipwatch"

// How the connector pages and caches; nothing configures them.
const (
	// pageSize is maxResults of searches and comment lists.
	pageSize = 100
	// throughputTTL is how long a project's throughput is reused between
	// observations of its deliverables.
	throughputTTL = 5 * time.Minute
	// defaultWindowDays is forecast.window's default, for a caller that
	// does not say.
	defaultWindowDays = int(config.DefaultForecastWindow / (24 * time.Hour))
)

// maxPages bounds one search; past it the JQL matches more than slipwatch
// should page through on every poll, and saying so beats a silent cut.
const maxPages = 200

// TokenStore keeps the newest OAuth 2.0 refresh token where every replica
// and every restart finds it (the Redis store). GetToken returns "" when
// none is stored. SwapToken replaces old with new atomically and reports
// whether it did: false means the stored token is no longer old (another
// replica refreshed first). old "" means "nothing stored yet".
type TokenStore interface {
	GetToken(ctx context.Context, name string) (string, error)
	SwapToken(ctx context.Context, name, old, new string) (bool, error)
}

// Options are the connector's dependencies and settings. The zero value
// works (no validator cache, real clock, UTC, the config's defaults)
// except with OAuth, which needs Tokens.
type Options struct {
	// Validators is the conditional-request cache (the Redis store); nil:
	// none.
	Validators httpx.Validators
	// Tokens keeps rotated OAuth refresh tokens; required with
	// jira.auth.oauth2.
	Tokens TokenStore
	// Transport is the base transport under auth; nil: a clone of
	// http.DefaultTransport with a 30s response-header timeout.
	Transport http.RoundTripper
	Logger    *slog.Logger
	Version   string // User-Agent "slipwatch/<Version>"; default "dev"

	Now        func() time.Time
	Location   *time.Location // the configured time zone; default UTC
	WindowDays int            // forecast.window in days; default the config's
	// Allow are who may /commit: commands.allow's jira: entries without
	// the prefix (config.Commands.AllowFor). On Cloud an entry is an
	// account ID, compared exactly; on Data Center a user name or user
	// key, compared without regard to case. E-mail addresses never match.
	Allow []string

	// WriteInterval is the least time between two writes; default
	// jira.write_interval's.
	WriteInterval time.Duration
	// Observe receives every request that reaches Jira, for metrics.
	Observe func(httpx.Observation)

	// sleep replaces every wait (the HTTP layers', the OAuth settling):
	// tests run on a fake clock.
	sleep httpx.Sleeper
}

// Client is the Jira connector. It is safe for concurrent use.
type Client struct {
	jc       *gojira.Client
	cfg      *config.Jira
	o        Options
	log      *slog.Logger
	site     string            // where people open things: jira.base_url without a trailing slash
	projects map[string]string // upper-case key → as configured
	allow    map[string]bool   // as listed: Cloud account IDs
	allowDC  map[string]bool   // lower-case: Data Center user names and keys
	jql      string            // jira.deliverables.jql without ORDER BY; "" = no issue deliverables

	flavorMu sync.Mutex
	flavor   string // config.JiraCloud or config.JiraDataCenter once known

	selfMu sync.Mutex
	self   *gojira.User

	locks keyed.Mutex // per version, for EnsureThread

	mu          sync.Mutex
	threadOf    map[string]string                // version ref key → tracking issue key
	pinned      map[string]string                // version ref key → the tracking issue its record names (PinThread)
	markers     map[string]map[string]markerMemo // issue key → comment ID → marker read
	pending     map[string]map[string]string     // issue key → comment ID → marker not yet stored
	throughput  map[string]throughputMemo        // project key → last count
	projectKeys map[string]string                // project id → key
	noEpicLink  bool                             // Data Center without the "Epic Link" field
	describedBy map[string]describedBy           // issue key → who wrote its Committed: line
}

type markerMemo struct {
	updated string // the comment's "updated" when the marker was read
	marker  string
}

type throughputMemo struct {
	at time.Time
	t  connectors.Throughput
}

// New builds the connector for cfg. It makes no request.
func New(cfg *config.Jira, o Options) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("jira: no configuration")
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
		o.WriteInterval = config.DefaultJiraWriteInterval
	}
	if o.sleep == nil {
		o.sleep = httpx.Sleep
	}
	if o.Transport == nil {
		o.Transport = httpx.DefaultTransport()
	}
	site, err := parseBase("jira.base_url", cfg.BaseURL)
	if err != nil {
		return nil, err
	}

	c := &Client{
		cfg:         cfg,
		o:           o,
		log:         o.Logger.With("tracker", string(connectors.Jira)),
		site:        strings.TrimRight(site, "/"),
		projects:    map[string]string{},
		allow:       map[string]bool{},
		allowDC:     map[string]bool{},
		describedBy: map[string]describedBy{},
		jql:         stripOrderBy(cfg.Deliverables.JQL),
		threadOf:    map[string]string{},
		pinned:      map[string]string{},
		markers:     map[string]map[string]markerMemo{},
		pending:     map[string]map[string]string{},
		throughput:  map[string]throughputMemo{},
		projectKeys: map[string]string{},
	}
	for _, p := range cfg.Projects {
		c.projects[strings.ToUpper(p)] = p
	}
	for _, a := range o.Allow {
		if a != "" {
			c.allow[a] = true
			c.allowDC[strings.ToLower(a)] = true
		}
	}
	switch cfg.Deployment {
	case config.JiraCloud, config.JiraDataCenter:
		c.flavor = cfg.Deployment
	}

	ua := "slipwatch/" + o.Version
	apiBase := site
	var auth http.RoundTripper
	var identity string
	a := cfg.Auth
	switch {
	case a.OAuth2 != nil:
		if o.Tokens == nil {
			return nil, errors.New("jira.auth.oauth2 needs a token store for the rotating refresh token")
		}
		apiBase, err = parseBase("jira.auth.oauth2.api_url", oauthAPIURL(a.OAuth2))
		if err != nil {
			return nil, err
		}
		src := newRotatingSource(a.OAuth2, o.Tokens, &http.Client{Transport: userAgent(o.Transport, ua)}, c.log, o.sleep)
		auth = &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, src), Base: o.Transport}
		identity = "oauth2:" + a.OAuth2.ClientID + "@" + a.OAuth2.CloudID
		c.flavor = config.JiraCloud // 3LO exists only on Cloud
	case a.PAT != "":
		auth = &gojira.PATAuthTransport{Token: a.PAT.Value(), Transport: o.Transport}
		identity = "pat:" + httpx.Fingerprint(a.PAT.Value())
	case a.Email != "" && a.APIToken != "":
		auth = &gojira.BasicAuthTransport{Username: a.Email, Password: a.APIToken.Value(), Transport: o.Transport}
		identity = "basic:" + strings.ToLower(a.Email) + ":" + httpx.Fingerprint(a.APIToken.Value())
	default:
		return nil, errors.New("jira.auth: none of email+api_token, pat, oauth2 is set")
	}

	stack := c.transport(auth, identity, ua)
	c.jc, err = gojira.NewClient(&http.Client{Transport: stack}, apiBase)
	if err != nil {
		return nil, fmt.Errorf("jira: %w", err)
	}
	return c, nil
}

// oauthAPIURL is where 3LO calls go: <api_url><cloud_id>.
func oauthAPIURL(o *config.OAuth2) string {
	base := o.APIURL
	if base == "" {
		base = config.DefaultJiraOAuthAPIURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + url.PathEscape(o.CloudID)
}

func parseBase(key, s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s %q is not an http(s) URL", key, s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// Tracker is connectors.Jira.
func (c *Client) Tracker() connectors.Tracker { return connectors.Jira }

// Teams are the configured project keys.
func (c *Client) Teams() []string { return append([]string(nil), c.cfg.Projects...) }

// project resolves team to its configured spelling.
func (c *Client) project(team string) (string, error) {
	p, ok := c.projects[strings.ToUpper(team)]
	if !ok {
		return "", fmt.Errorf("project %q is not in jira.projects: %w", team, connectors.ErrTerminal)
	}
	return p, nil
}

// Self is slipwatch's own identity: the account ID on Cloud, the user name
// on Data Center (from /rest/api/2/myself). It is read once; a failure is
// not remembered.
func (c *Client) Self(ctx context.Context) (string, error) {
	u, err := c.selfUser(ctx)
	if err != nil {
		return "", err
	}
	if u.AccountID != "" {
		return u.AccountID, nil
	}
	return u.Name, nil
}

func (c *Client) selfUser(ctx context.Context) (*gojira.User, error) {
	c.selfMu.Lock()
	defer c.selfMu.Unlock()
	if c.self != nil {
		return c.self, nil
	}
	var u gojira.User
	if err := c.get(ctx, "rest/api/2/myself", nil, &u); err != nil {
		return nil, fmt.Errorf("get the credential's own user: %w", err)
	}
	if u.AccountID == "" && u.Name == "" && u.Key == "" {
		return nil, errors.New("get the credential's own user: /myself named no accountId, name or key")
	}
	c.self = &u
	return c.self, nil
}

// sameUser reports whether a and b are one Jira user: the account ID on
// Cloud, the user key (stable across renames) or else the name on Data
// Center.
func sameUser(a, b *gojira.User) bool {
	switch {
	case a.AccountID != "" || b.AccountID != "":
		return a.AccountID == b.AccountID
	case a.Key != "" && b.Key != "":
		return a.Key == b.Key
	}
	return a.Name != "" && a.Name == b.Name
}

// canCommit reports whether commands.allow names u: on Cloud (a user
// with an account ID) by that ID, exactly; on Data Center by user name or
// user key (which survives a rename), without regard to case, as Data
// Center compares them. Never by e-mail address, which users can often
// change themselves, nor by display name, which anyone chooses.
func (c *Client) canCommit(u *gojira.User) bool {
	if u.AccountID != "" {
		return c.allow[u.AccountID]
	}
	return (u.Name != "" && c.allowDC[strings.ToLower(u.Name)]) || (u.Key != "" && c.allowDC[strings.ToLower(u.Key)])
}

// userID is how slipwatch names u: the account ID on Cloud, the user
// name on Data Center.
func userID(u *gojira.User) string {
	if u.AccountID != "" {
		return u.AccountID
	}
	return u.Name
}

// cloud reports whether the instance is Jira Cloud: from jira.deployment,
// or asked once of /rest/api/2/serverInfo.
func (c *Client) cloud(ctx context.Context) (bool, error) {
	c.flavorMu.Lock()
	defer c.flavorMu.Unlock()
	if c.flavor == "" {
		var info struct {
			DeploymentType string `json:"deploymentType"`
		}
		if err := c.get(ctx, "rest/api/2/serverInfo", nil, &info); err != nil {
			return false, fmt.Errorf("detect the Jira deployment (set jira.deployment to skip): %w", err)
		}
		switch strings.ToLower(info.DeploymentType) {
		case "cloud":
			c.flavor = config.JiraCloud
		case "server", "datacenter":
			c.flavor = config.JiraDataCenter
		default:
			return false, fmt.Errorf("detect the Jira deployment: unknown deploymentType %q (set jira.deployment)", info.DeploymentType)
		}
		c.log.InfoContext(ctx, "jira deployment detected", "deployment", c.flavor)
	}
	return c.flavor == config.JiraCloud, nil
}

// get sends a GET and decodes the answer into out.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, nil, out)
}

// do sends one request through go-jira's client and decodes a 2xx answer
// into out (nil: discard). A non-2xx answer becomes an *APIError with
// Jira's own words, or a *connectors.RateLimitError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	u := path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := c.jc.NewRequestWithContext(ctx, method, u, in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.jc.Do(req, nil)
	if resp == nil || resp.Response == nil {
		if err == nil {
			err = errors.New("no response")
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return classify(newAPIError(method, "/"+strings.TrimLeft(path, "/"), resp.StatusCode, body), resp.Header, c.o.Now())
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

// browse is where a person opens an issue.
func (c *Client) browse(key string) string { return c.site + "/browse/" + url.PathEscape(key) }

// stripOrderBy drops a trailing ORDER BY from a configured JQL so it can
// be combined with other clauses; ordering is slipwatch's business.
func stripOrderBy(jql string) string {
	s := strings.TrimSpace(jql)
	if i := strings.LastIndex(strings.ToLower(s), "order by"); i >= 0 && !strings.ContainsAny(s[i:], `"')`) {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// quote makes s a JQL string literal.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
