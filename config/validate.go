package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Limits of the values Validate accepts.
const (
	MinPollInterval   = 10 * time.Second
	MinForecastTrials = 100
	MaxForecastTrials = 1_000_000
	MinStatusEvery    = time.Hour
	MinDiscoverEvery  = time.Minute
)

// MinDigestEvery is the shortest digest.every other than 0.
const MinDigestEvery = time.Hour

var (
	repoName   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
	ownerAll   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/\*$`)
	projectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,49}$`)
	issueKey   = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,49}-[1-9][0-9]*$`)
)

// Validate checks the whole config and returns every problem as Errors,
// each naming its key. It also loads Location from Timezone.
func (c *Config) Validate() error {
	if es := c.check(nil); len(es) > 0 {
		return es
	}
	return nil
}

// findings gathers what Validate finds, leaving out what is about a key
// whose value loading refused: that key holds a default the user never
// chose, and a finding about it, or one that weighs it with other keys,
// would only bury the real problem.
type findings struct {
	errs    Errors
	refused []string
}

func (f *findings) add(path, format string, args ...any) {
	f.addAgainst(path, nil, format, args...)
}

// addAgainst is add for a finding that also rests on the keys in against:
// a link checked against github.repos, "set exactly one of token or app"
// resting on github.token and github.app.
func (f *findings) addAgainst(path string, against []string, format string, args ...any) {
	for _, r := range f.refused {
		if within(path, r) {
			return
		}
		for _, a := range against {
			if within(a, r) || within(r, a) {
				return
			}
		}
	}
	f.errs.add(path, format, args...)
}

// within reports whether path is key or under it; everything is under the
// whole file, "".
func within(path, key string) bool {
	return key == "" || path == key || strings.HasPrefix(path, key+".") || strings.HasPrefix(path, key+"[")
}

// check is Validate leaving out findings about the refused keys.
func (c *Config) check(refused []string) Errors {
	es := &findings{refused: refused}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		es.add("timezone", "%q is not an IANA time zone (e.g. UTC, Europe/Berlin)", c.Timezone)
	} else {
		c.Location = loc
	}
	c.Redis.validate(es)
	if _, port, err := net.SplitHostPort(c.Server.Listen); err != nil || port == "" {
		es.add("server.listen", "%q is not host:port (e.g. :8080)", c.Server.Listen)
	}
	positive(es, "server.shutdown_grace", c.Server.ShutdownGrace)
	c.Server.validateToken(es)
	if c.Poll.Interval.D() < MinPollInterval {
		es.add("poll.interval", "%s is below the minimum of %s (the trackers' quotas)", c.Poll.Interval, Duration(MinPollInterval))
	}
	switch {
	case c.Poll.MaxInterval >= c.Poll.Interval:
	case c.Poll.MaxInterval == Duration(DefaultPollMaxInterval):
		// The default follows a longer interval rather than refuse it.
		c.Poll.MaxInterval = c.Poll.Interval
	default:
		es.add("poll.max_interval", "%s is below poll.interval (%s)", c.Poll.MaxInterval, c.Poll.Interval)
	}
	if c.Slip.Settle < 0 {
		es.add("slip.settle", "%s is negative (0s announces a moved date at once)", c.Slip.Settle.D())
	}
	if c.Baseline != BaselineFirstSeen && c.Baseline != BaselineDeclaredOnly {
		es.add("baseline", "%q is not %s or %s", c.Baseline, BaselineFirstSeen, BaselineDeclaredOnly)
	}
	if c.Forecast.Window.D() < 24*time.Hour || c.Forecast.Window.D()%(24*time.Hour) != 0 {
		es.add("forecast.window", "%s is not a whole number of days (at least 1d)", c.Forecast.Window)
	}
	if c.Forecast.Trials < MinForecastTrials || c.Forecast.Trials > MaxForecastTrials {
		es.add("forecast.trials", "%d is not in [%d, %d]", c.Forecast.Trials, MinForecastTrials, MaxForecastTrials)
	}
	if !(c.Forecast.Confidence > 0 && c.Forecast.Confidence < 1) {
		es.add("forecast.confidence", "%g is not in (0,1)", c.Forecast.Confidence)
	}
	if !(c.Forecast.RiskBelow > 0 && c.Forecast.RiskBelow < 1) {
		es.add("forecast.risk_below", "%g is not in (0,1)", c.Forecast.RiskBelow)
	}
	if c.Forecast.MinSamples < 1 {
		es.add("forecast.min_samples", "%d is below 1", c.Forecast.MinSamples)
	}
	if e := c.StatusUpdate.Every.D(); e != 0 && e < MinStatusEvery {
		es.add("status_update.every", "%s is below %s (use 0 to turn updates off)", c.StatusUpdate.Every, Duration(MinStatusEvery))
	}
	if c.Scope.WarnGrowth < 0 {
		es.add("scope.warn_growth", "%g is negative (0.2 means warn at 20%% added scope)", c.Scope.WarnGrowth)
	}
	c.Commands.validate(es)
	c.Markers.validate(es)
	c.Queue.validate(es)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		es.add("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		es.add("log.format", "%q is not json or text", c.Log.Format)
	}
	if c.GitHub == nil && c.Jira == nil {
		es.addAgainst("config", []string{"github", "jira"}, "configure at least one tracker: github or jira")
	}
	if c.GitHub != nil {
		c.GitHub.validate(es)
	}
	if c.Jira != nil {
		c.Jira.validate(es)
	}
	c.validateLinks(es)
	c.validateTrackRecord(es)
	if e := c.Digest.Every.D(); e != 0 && e < MinDigestEvery {
		es.add("digest.every", "%s is below %s (use 0 to turn the digest off)", c.Digest.Every, Duration(MinDigestEvery))
	}
	return es.errs
}

// atLeast refuses a duration under min: a discovery or a versions read
// every few seconds would spend the budget polls need.
func atLeast(es *findings, path string, d Duration, min time.Duration) {
	if d.D() < min {
		es.add(path, "%s is under %s", d, Duration(min))
	}
}

// githubLogin is a GitHub login: letters, digits and single hyphens,
// at most 39 characters (an App's bot user adds "[bot]").
var githubLogin = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$`)

// cloudAccountID is the shape of a Jira Cloud account ID, which holds a
// colon of its own ("557058:f58131cb-…"): written without "jira:", its
// first part is no tracker.
var cloudAccountID = regexp.MustCompile(`^[0-9]+:[0-9a-fA-F-]+$`)

// validate checks that every commands.allow entry names its tracker, so
// that a name allowed on Jira never allows the GitHub user of that name.
// The message shows the form to write.
func (c *Commands) validate(es *findings) {
	for i, a := range c.Allow {
		path := fmt.Sprintf("commands.allow[%d]", i)
		tracker, id, scoped := strings.Cut(a, ":")
		switch {
		case strings.TrimSpace(a) == "":
			es.add(path, "is empty")
		case strings.Contains(a, "@") && !scoped:
			es.add(path, "%q is an e-mail address, which slipwatch never matches (users can change theirs): write \"jira:<account id>\" (Cloud) or \"jira:<user name>\" (Data Center)", a)
		case !scoped:
			es.add(path, "%q names no tracker: write \"github:%s\" or \"jira:<account id>\"", a, a)
		case tracker != AllowGitHub && tracker != AllowJira && cloudAccountID.MatchString(a):
			es.add(path, "%q names no tracker: write \"jira:%s\" for a Jira Cloud account ID", a, a)
		case tracker != AllowGitHub && tracker != AllowJira:
			es.add(path, "%q names no tracker (%q is neither github nor jira): write \"github:<login>\" or \"jira:<account id>\"", a, tracker)
		case strings.TrimSpace(id) != id || id == "":
			es.add(path, "%q has no identity after %q (or spaces around it)", a, tracker+":")
		case tracker == AllowGitHub && !githubLogin.MatchString(id):
			es.add(path, "%q: %q is not a GitHub login", a, id)
		}
	}
}

func positive(es *findings, path string, d Duration) {
	if d <= 0 {
		es.add(path, "must be above 0")
	}
}

func (r *Redis) validate(es *findings) {
	mode := []string{"redis.mode"}
	switch r.Mode {
	case RedisStandalone:
		u, err := url.Parse(r.URL)
		switch {
		case err != nil || r.URL == "":
			es.addAgainst("redis.url", mode, "is not a URL (e.g. redis://redis:6379/0)")
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
			es.add("redis.url", "scheme %q is not redis, rediss or unix", u.Scheme)
		case u.Scheme != "unix" && u.Host == "":
			es.add("redis.url", "has no host")
		}
		if len(r.Addrs) > 0 {
			es.addAgainst("redis.addrs", mode, "is for sentinel and cluster modes; standalone uses redis.url")
		}
	case RedisSentinel, RedisCluster:
		if len(r.Addrs) == 0 {
			es.addAgainst("redis.addrs", mode, "%s mode needs at least one host:port", r.Mode)
		}
		for i, a := range r.Addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				es.add(fmt.Sprintf("redis.addrs[%d]", i), "%q is not host:port", a)
			}
		}
		if r.Mode == RedisSentinel && r.MasterName == "" {
			es.add("redis.master_name", "sentinel mode needs the master's name")
		}
	default:
		es.add("redis.mode", "%q is not standalone, sentinel or cluster", r.Mode)
	}
	if r.Mode != RedisSentinel && r.MasterName != "" {
		es.addAgainst("redis.master_name", mode, "is only for sentinel mode")
	}
	if r.Prefix == "" {
		es.add("redis.prefix", "is empty (two deployments sharing a Redis would collide)")
	}
	if strings.ContainsAny(r.Prefix, "{}") {
		es.add("redis.prefix", "%q holds { or }, which would break the cluster hash tags", r.Prefix)
	}
	positive(es, "redis.dial_timeout", r.DialTimeout)
	positive(es, "redis.read_timeout", r.ReadTimeout)
	positive(es, "redis.write_timeout", r.WriteTimeout)
}

func (q *Queue) validate(es *findings) {
	if q.Workers < 1 || q.Workers > 256 {
		es.add("queue.workers", "%d is not in [1, 256]", q.Workers)
	}
	if q.MaxDeliveries < 1 {
		es.add("queue.max_deliveries", "%d is below 1", q.MaxDeliveries)
	}
	positive(es, "queue.reclaim_idle", q.ReclaimIdle)
	if q.MaxLength < 1000 {
		es.add("queue.max_length", "%d is below 1000", q.MaxLength)
	}
}

func httpURL(es *findings, path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		es.add(path, "%q is not an http(s) URL", s)
	}
}

func (g *GitHub) validate(es *findings) {
	httpURL(es, "github.base_url", g.BaseURL)
	auth := []string{"github.token", "github.app"}
	switch {
	case g.Token != "" && g.App != nil:
		es.addAgainst("github", auth, "set exactly one of token or app")
	case g.Token == "" && g.App == nil:
		es.addAgainst("github", auth, "set token or app (a GitHub App installation)")
	}
	if a := g.App; a != nil {
		if a.ID <= 0 {
			es.add("github.app.id", "must be the App's numeric ID")
		}
		if a.InstallationID <= 0 {
			es.add("github.app.installation_id", "must be the installation's numeric ID")
		}
		if (a.PrivateKeyFile == "") == (a.PrivateKey == "") {
			es.addAgainst("github.app", []string{"github.app.private_key_file", "github.app.private_key"},
				"set exactly one of private_key_file or private_key")
		}
	}
	if len(g.Repos) == 0 {
		es.add("github.repos", "list at least one owner/name (or owner/* for every repository of an organisation)")
	}
	seen := map[string]bool{}
	for i, r := range g.Repos {
		p := fmt.Sprintf("github.repos[%d]", i)
		switch {
		case !repoName.MatchString(r) && !ownerAll.MatchString(r):
			es.add(p, "%q is not owner/name", r)
		case seen[strings.ToLower(r)]:
			es.add(p, "%q is listed twice", r)
		}
		seen[strings.ToLower(r)] = true
	}
	// A config built in code without owner/* entries may leave it unset.
	if d := g.DiscoverEvery.D(); d < MinDiscoverEvery && (d != 0 || g.discovers()) {
		es.add("github.discover_every", "%s is below %s", d, MinDiscoverEvery)
	}
	positive(es, "github.write_interval", g.WriteInterval)
	if g.TrackingLabel == "" {
		es.add("github.tracking_label", "is empty (the tracking issue is found by it)")
	}
	if g.PreviousWebhookSecret != "" && g.WebhookSecret == "" {
		es.addAgainst("github.previous_webhook_secret", []string{"github.webhook_secret"}, "is set without github.webhook_secret")
	}
	if g.InsecureSkipSignature && g.WebhookSecret != "" {
		es.add("github.insecure_skip_signature", "is true while webhook_secret is set; choose one")
	}
}

func (j *Jira) validate(es *findings) {
	httpURL(es, "jira.base_url", j.BaseURL)
	switch j.Deployment {
	case JiraAuto, JiraCloud, JiraDataCenter:
	default:
		es.add("jira.deployment", "%q is not auto, cloud or datacenter", j.Deployment)
	}
	a := j.Auth
	auth := []string{"jira.auth"}
	modes := 0
	if a.Email != "" || a.APIToken != "" {
		modes++
		if a.Email == "" || a.APIToken == "" {
			es.addAgainst("jira.auth", []string{"jira.auth.email", "jira.auth.api_token"}, "email and api_token go together")
		}
	}
	if a.PAT != "" {
		modes++
	}
	if a.OAuth2 != nil {
		modes++
	}
	if modes != 1 {
		es.addAgainst("jira.auth", auth, "set exactly one of email+api_token, pat, oauth2")
	}
	if o := a.OAuth2; o != nil {
		if o.ClientID == "" {
			es.add("jira.auth.oauth2.client_id", "is empty")
		}
		if o.ClientSecret == "" {
			es.add("jira.auth.oauth2.client_secret", "is empty")
		}
		if o.RefreshToken == "" {
			es.add("jira.auth.oauth2.refresh_token", "is empty (the first refresh token of the 3LO grant)")
		}
		if o.CloudID == "" {
			es.add("jira.auth.oauth2.cloud_id", "is empty (from /oauth/token/accessible-resources)")
		}
		httpURL(es, "jira.auth.oauth2.token_url", o.TokenURL)
		httpURL(es, "jira.auth.oauth2.api_url", o.APIURL)
		if j.Deployment == JiraDataCenter {
			es.addAgainst("jira.auth.oauth2", []string{"jira.deployment"}, "3LO OAuth is for Jira Cloud; Data Center uses pat")
		}
	}
	if len(j.Projects) == 0 {
		es.add("jira.projects", `list at least one project key, or "*" for every project the account can browse`)
	}
	seen := map[string]bool{}
	for i, p := range j.Projects {
		path := fmt.Sprintf("jira.projects[%d]", i)
		switch {
		case p == JiraAllProjects && len(j.Projects) > 1:
			es.add(path, `"*" (every project the account can browse) stands alone; drop the other keys`)
		case p == JiraAllProjects:
		case !projectKey.MatchString(p):
			es.add(path, "%q is not a Jira project key (e.g. PLAT) or \"*\"", p)
		case seen[p]:
			es.add(path, "%q is listed twice", p)
		}
		seen[p] = true
	}
	atLeast(es, "jira.discover_every", j.DiscoverEvery, time.Minute)
	atLeast(es, "jira.versions_every", j.VersionsEvery, time.Minute)
	if !j.Deliverables.Versions && strings.TrimSpace(j.Deliverables.JQL) == "" {
		es.addAgainst("jira.deliverables", []string{"jira.deliverables"}, "watches nothing: set versions: true or a jql")
	}
	if j.TrackingLabel == "" || strings.ContainsAny(j.TrackingLabel, " \t") {
		es.add("jira.tracking_label", "%q is not a Jira label (non-empty, no spaces)", j.TrackingLabel)
	}
	positive(es, "jira.write_interval", j.WriteInterval)
	if strings.TrimSpace(j.TrackingIssueType) == "" {
		es.add("jira.tracking_issue_type", "is empty (name an issue type of the projects, e.g. Task)")
	}
	if j.PreviousWebhookSecret != "" && j.WebhookSecret == "" {
		es.addAgainst("jira.previous_webhook_secret", []string{"jira.webhook_secret"}, "is set without jira.webhook_secret")
	}
	if j.InsecureSkipSignature && (j.WebhookSecret != "" || j.WebhookToken != "") {
		es.add("jira.insecure_skip_signature", "is true while webhook_secret or webhook_token is set; choose one")
	}
}

// LinkGitHub is a parsed links[].github.
type LinkGitHub struct{ Repo, Milestone string }

// LinkJira is a parsed links[].jira: a version by name or an issue by key.
type LinkJira struct{ Project, Version, Issue string }

// ParseLinkGitHub parses "owner/name#milestone=<title>".
func ParseLinkGitHub(s string) (LinkGitHub, error) {
	repo, ms, ok := strings.Cut(s, "#milestone=")
	if !ok || !repoName.MatchString(repo) || strings.TrimSpace(ms) == "" {
		return LinkGitHub{}, fmt.Errorf("%q is not owner/name#milestone=<title>", s)
	}
	return LinkGitHub{Repo: repo, Milestone: ms}, nil
}

// ParseLinkJira parses "KEY/version=<name>" or "KEY/issue=KEY-N".
func ParseLinkJira(s string) (LinkJira, error) {
	bad := fmt.Errorf("%q is not KEY/version=<name> or KEY/issue=KEY-N", s)
	proj, rest, ok := strings.Cut(s, "/")
	if !ok || !projectKey.MatchString(proj) {
		return LinkJira{}, bad
	}
	switch {
	case strings.HasPrefix(rest, "version="):
		v := strings.TrimPrefix(rest, "version=")
		if strings.TrimSpace(v) == "" {
			return LinkJira{}, bad
		}
		return LinkJira{Project: proj, Version: v}, nil
	case strings.HasPrefix(rest, "issue="):
		k := strings.TrimPrefix(rest, "issue=")
		if !issueKey.MatchString(k) || !strings.HasPrefix(k, proj+"-") {
			return LinkJira{}, bad
		}
		return LinkJira{Project: proj, Issue: k}, nil
	}
	return LinkJira{}, bad
}

func (c *Config) validateLinks(es *findings) {
	seenGH := map[string]bool{}
	seenJira := map[string]bool{}
	for i, l := range c.Links {
		p := fmt.Sprintf("links[%d]", i)
		gh, err := ParseLinkGitHub(l.GitHub)
		switch {
		case err != nil:
			es.add(p+".github", "%v", err)
		case c.GitHub == nil || !c.GitHub.Watches(gh.Repo):
			es.addAgainst(p+".github", []string{"github.repos"}, "repo %q is not in github.repos", gh.Repo)
		case seenGH[strings.ToLower(l.GitHub)]:
			es.add(p+".github", "%q is linked twice", l.GitHub)
		}
		seenGH[strings.ToLower(l.GitHub)] = true
		jl, err := ParseLinkJira(l.Jira)
		switch {
		case err != nil:
			es.add(p+".jira", "%v", err)
		case c.Jira == nil || (!c.Jira.AllProjects() && !containsFold(c.Jira.Projects, jl.Project)):
			es.addAgainst(p+".jira", []string{"jira.projects"}, "project %q is not in jira.projects", jl.Project)
		case seenJira[l.Jira]:
			es.add(p+".jira", "%q is linked twice", l.Jira)
		}
		seenJira[l.Jira] = true
	}
}

func (c *Config) validateTrackRecord(es *findings) {
	th := c.TrackRecord.Thread
	if th == "" {
		return
	}
	const path = "track_record.thread"
	if repo, num, ok := strings.Cut(th, "#"); ok {
		n, err := strconv.Atoi(num)
		switch {
		case !repoName.MatchString(repo) || err != nil || n <= 0:
			es.add(path, "%q is not owner/name#number (a GitHub issue) or a Jira issue key", th)
		case c.GitHub == nil || !c.GitHub.Watches(repo):
			es.addAgainst(path, []string{"github.repos"}, "repo %q is not in github.repos", repo)
		}
		return
	}
	switch {
	case !issueKey.MatchString(th):
		es.add(path, "%q is not owner/name#number (a GitHub issue) or a Jira issue key", th)
	case c.Jira == nil:
		es.addAgainst(path, []string{"jira"}, "%q is a Jira issue, and jira is not configured", th)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// Watches reports whether github.repos covers repo (owner/name): listed
// by name, or under an owner/* entry of its owner. Whether discovery
// finds it (not archived, not a fork) is known only at run time.
func (g *GitHub) Watches(repo string) bool {
	owner, _, _ := strings.Cut(repo, "/")
	return containsFold(g.Repos, repo) || containsFold(g.Repos, owner+"/*")
}

// discovers reports whether an entry of github.repos is owner/*.
func (g *GitHub) discovers() bool {
	for _, r := range g.Repos {
		if strings.HasSuffix(r, "/*") {
			return true
		}
	}
	return false
}

// validateToken refuses an api_token that is too short to guard anything
// or that an Authorization header cannot carry. The message never shows
// the token.
func (s Server) validateToken(es *findings) {
	t := s.APIToken.Value()
	switch {
	case t == "":
	case len(t) < MinAPITokenLength:
		es.add("server.api_token", "is %d characters; use at least %d (e.g. openssl rand -hex 32)", len(t), MinAPITokenLength)
	case strings.IndexFunc(t, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
		es.add("server.api_token", "holds spaces or control or non-ASCII characters, which an Authorization header cannot carry")
	}
}
