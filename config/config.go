// Package config is slipwatch's configuration: the schema of DESIGN.md, its
// defaults, loading (strict YAML, ${VAR} expansion, a SLIPWATCH_* environment
// overlay) and one Validate that reports every problem with its key path.
//
// Loading never touches the network or Redis: a bad config is refused before
// the program does anything.
package config

import (
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/reconcile"
)

// Defaults. Every key that has a default names it here, and
// docs/configuration.md is tested against them.
const (
	DefaultTimezone           = "UTC"
	DefaultRedisURL           = "redis://localhost:6379/0"
	DefaultRedisPrefix        = "slipwatch:"
	DefaultRedisMode          = RedisStandalone
	DefaultRedisDialTimeout   = 5 * time.Second
	DefaultRedisReadTimeout   = 3 * time.Second
	DefaultRedisWriteTimeout  = 3 * time.Second
	DefaultServerListen       = ":8080"
	DefaultShutdownGrace      = 25 * time.Second
	DefaultPollInterval       = 5 * time.Minute
	DefaultPollMaxInterval    = time.Hour
	DefaultSlipSettle         = time.Hour
	DefaultBaseline           = BaselineFirstSeen
	DefaultForecastWindow     = reconcile.DefaultWindowDays * 24 * time.Hour
	DefaultForecastTrials     = 10000
	DefaultForecastConfidence = reconcile.DefaultConfidence
	DefaultForecastMinSamples = reconcile.DefaultMinSamples
	// DefaultForecastRiskBelow was chosen by the backtest
	// (docs/forecast.md, "at_risk").
	DefaultForecastRiskBelow    = reconcile.DefaultRiskBelow
	DefaultStatusUpdateEvery    = 168 * time.Hour
	DefaultScopeWarnGrowth      = 0.2
	DefaultQueueWorkers         = 4
	DefaultQueueMaxDeliveries   = 10
	DefaultQueueReclaimIdle     = 2 * time.Minute
	DefaultQueueMaxLength       = 100000
	DefaultLogLevel             = "info"
	DefaultLogFormat            = "json"
	DefaultGitHubBaseURL        = "https://api.github.com/"
	DefaultGitHubTrackingLabel  = "slipwatch"
	DefaultGitHubCreateTracking = true
	DefaultGitHubWriteInterval  = time.Second
	DefaultGitHubDiscoverEvery  = time.Hour
	DefaultJiraDeployment       = JiraAuto
	DefaultJiraVersions         = true
	DefaultJiraJQL              = "issuetype = Epic AND duedate is not EMPTY"
	DefaultJiraCreateTracking   = true
	DefaultJiraTrackingLabel    = "slipwatch"
	DefaultJiraTrackingType     = "Task"
	DefaultJiraWriteInterval    = 250 * time.Millisecond
	DefaultJiraDiscoverEvery    = time.Hour
	DefaultJiraVersionsEvery    = 30 * time.Minute
	DefaultJiraOAuthTokenURL    = "https://auth.atlassian.com/oauth/token"
	DefaultJiraOAuthAPIURL      = "https://api.atlassian.com/ex/jira/"
)

// DefaultDigestEvery is digest.every's default: a weekly digest, posted on
// track_record.thread when one is set.
const DefaultDigestEvery = 7 * 24 * time.Hour

// Baseline policies: how an undeclared deliverable gets its commitment.
const (
	BaselineFirstSeen    = "first_seen"    // the first due date slipwatch observes
	BaselineDeclaredOnly = "declared_only" // only declared dates count
)

// Redis deployment modes.
const (
	RedisStandalone = "standalone"
	RedisSentinel   = "sentinel"
	RedisCluster    = "cluster"
)

// JiraAllProjects, alone in jira.projects, watches every project the
// account can browse.
const JiraAllProjects = "*"

// Jira deployment types: Cloud has /rest/api/3/search/jql, Data Center keeps
// /rest/api/2/search; auto asks the server (serverInfo.deploymentType).
const (
	JiraAuto       = "auto"
	JiraCloud      = "cloud"
	JiraDataCenter = "datacenter"
)

// Config is the whole configuration. The yaml tags are the keys of the file;
// the environment overlay derives SLIPWATCH_<PATH> from them.
type Config struct {
	Timezone     string       `yaml:"timezone"`
	Redis        Redis        `yaml:"redis"`
	Server       Server       `yaml:"server"`
	Poll         Poll         `yaml:"poll"`
	Slip         Slip         `yaml:"slip"`
	DryRun       bool         `yaml:"dry_run"`
	Baseline     string       `yaml:"baseline"`
	Forecast     Forecast     `yaml:"forecast"`
	StatusUpdate StatusUpdate `yaml:"status_update"`
	TrackRecord  TrackRecord  `yaml:"track_record"`
	Digest       Digest       `yaml:"digest"`
	Scope        Scope        `yaml:"scope"`
	Commands     Commands     `yaml:"commands"`
	Markers      Markers      `yaml:"markers"`
	Queue        Queue        `yaml:"queue"`
	Log          Log          `yaml:"log"`
	GitHub       *GitHub      `yaml:"github"`
	Jira         *Jira        `yaml:"jira"`
	Links        []Link       `yaml:"links"`

	// Location is Timezone loaded; set by Validate.
	Location *time.Location `yaml:"-"`
}

// Redis is where slipwatch keeps its working state.
type Redis struct {
	// URL of a standalone server: redis://, rediss:// (TLS) or unix://.
	URL    string `yaml:"url"`
	Prefix string `yaml:"prefix"`
	// Mode is standalone (URL), sentinel (MasterName + Addrs) or cluster
	// (Addrs, any subset of the masters).
	Mode         string   `yaml:"mode"`
	Addrs        []string `yaml:"addrs"`
	MasterName   string   `yaml:"master_name"`
	Username     string   `yaml:"username"`
	Password     Secret   `yaml:"password"`
	TLS          TLS      `yaml:"tls"`
	DialTimeout  Duration `yaml:"dial_timeout"`
	ReadTimeout  Duration `yaml:"read_timeout"`
	WriteTimeout Duration `yaml:"write_timeout"`
}

// TLS configures TLS to Redis for sentinel and cluster modes (a standalone
// server uses rediss:// in its URL, and these settings refine it).
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Server is the one HTTP listener: webhooks, health, metrics, API.
type Server struct {
	Listen        string   `yaml:"listen"`
	ShutdownGrace Duration `yaml:"shutdown_grace"`

	// APIToken, when set, is the bearer token the pages (/, /commitments,
	// /track-record) and /api/v1 require; webhooks, probes and metrics
	// are not affected.
	APIToken Secret `yaml:"api_token"`
}

// MinAPITokenLength is the shortest server.api_token accepted: a token
// people could guess guards nothing.
const MinAPITokenLength = 16

// Poll paces the level-triggered poller.
type Poll struct {
	Interval Duration `yaml:"interval"`
	// MaxInterval is the longest a team goes unpolled: the interval of a
	// team whose webhooks are flowing (polling is then the safety net),
	// and the furthest a quiet team is stretched when the rate-limit
	// budget cannot cover every team at Interval.
	MaxInterval Duration `yaml:"max_interval"`
}

// Slip says when a moved date is news.
type Slip struct {
	// Settle is how long a moved due date (or a Committed: line) must
	// stand before slipped, pulled_in or a recommitment is announced, so a
	// date changed and changed back is no news. 0 announces on the first
	// pass that sees the move.
	Settle Duration `yaml:"settle"`
}

// Forecast tunes the Monte Carlo forecast.
type Forecast struct {
	Window     Duration `yaml:"window"`
	Trials     int      `yaml:"trials"`
	Confidence float64  `yaml:"confidence"`
	MinSamples int      `yaml:"min_samples"`
	// RiskBelow: at_risk when the chance of meeting the promise falls
	// below it.
	RiskBelow float64 `yaml:"risk_below"`
}

// StatusUpdate sets the cadence of the periodic update comment; 0 is off.
type StatusUpdate struct {
	Every Duration `yaml:"every"`
}

// TrackRecord places the monthly track-record comment.
type TrackRecord struct {
	// Thread is a GitHub issue ("acme/leadership#12", in a repo of
	// github.repos) or a Jira issue ("PLAT-100"); "" posts none.
	Thread string `yaml:"thread"`
}

// IsGitHub reports whether the thread is a GitHub issue (owner/name#N);
// otherwise it is a Jira issue key.
func (t TrackRecord) IsGitHub() bool { return strings.Contains(t.Thread, "#") }

// Digest sets the cadence of the digest on track_record.thread: what
// changed since the last one and every open promise.
type Digest struct {
	// Every is the period; 0 turns the digest off. Without
	// track_record.thread there is no digest, whatever it says.
	Every Duration `yaml:"every"`
}

// Scope sets when added scope is worth a warning.
type Scope struct {
	WarnGrowth float64 `yaml:"warn_growth"`
}

// Commands says who may talk to slipwatch on a thread.
type Commands struct {
	// Allow lists who may /commit, each entry naming its tracker:
	// "github:LOGIN" (on GitHub, write permission on the repo also
	// allows) or "jira:ACCOUNT_ID" (Cloud) / "jira:USERNAME" (Data
	// Center). An entry allows on its own tracker only.
	Allow []string `yaml:"allow"`
}

// The trackers a commands.allow entry can name, as its prefix.
const (
	AllowGitHub = "github"
	AllowJira   = "jira"
)

// AllowFor is the identities commands.allow names for tracker (AllowGitHub
// or AllowJira), without the prefix, in the order listed: a connector is
// given its own entries only, so a name allowed on one tracker never
// allows the same name on the other.
func (c Commands) AllowFor(tracker string) []string {
	var out []string
	for _, a := range c.Allow {
		if t, id, ok := strings.Cut(a, ":"); ok && t == tracker && id != "" {
			out = append(out, id)
		}
	}
	return out
}

// Queue tunes the work queue and its workers.
type Queue struct {
	Workers       int      `yaml:"workers"`
	MaxDeliveries int      `yaml:"max_deliveries"` // a key that fails this often is parked
	ReclaimIdle   Duration `yaml:"reclaim_idle"`   // work a replica held this long is taken over
	MaxLength     int      `yaml:"max_length"`     // approximate stream cap
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// GitHub configures the GitHub connector (github.com or Enterprise Server).
type GitHub struct {
	BaseURL string `yaml:"base_url"`
	Token   Secret `yaml:"token"`
	App     *App   `yaml:"app"`
	// WebhookSecret verifies X-Hub-Signature-256. PreviousWebhookSecret is
	// also accepted while a secret is being rotated.
	WebhookSecret         Secret `yaml:"webhook_secret"`
	PreviousWebhookSecret Secret `yaml:"previous_webhook_secret"`
	// InsecureSkipSignature accepts unsigned webhooks. Only for a private
	// network behind something else that authenticates.
	InsecureSkipSignature bool `yaml:"insecure_skip_signature"`
	// Repos are owner/name, or owner/* for every repository of an
	// organisation or user the credential can see (not archived, not a
	// fork, issues on), looked up again every DiscoverEvery.
	Repos               []string `yaml:"repos"`
	DiscoverEvery       Duration `yaml:"discover_every"`
	TrackingLabel       string   `yaml:"tracking_label"`
	CreateTrackingIssue bool     `yaml:"create_tracking_issue"`
	// WriteInterval spaces content-creating requests: github.com's
	// secondary limits ask for a second; GitHub Enterprise Server with
	// rate limiting off (or a sandbox) can take less.
	WriteInterval Duration `yaml:"write_interval"`
}

// App is GitHub App installation auth.
type App struct {
	ID             int64  `yaml:"id"`
	InstallationID int64  `yaml:"installation_id"`
	PrivateKeyFile string `yaml:"private_key_file"`
	PrivateKey     Secret `yaml:"private_key"` // PEM, e.g. from SLIPWATCH_GITHUB_APP_PRIVATE_KEY
}

// Jira configures the Jira connector (Cloud or Data Center).
type Jira struct {
	BaseURL    string `yaml:"base_url"`
	Deployment string `yaml:"deployment"`
	Auth       Auth   `yaml:"auth"`
	// WebhookSecret verifies X-Hub-Signature (admin webhooks with a secret).
	WebhookSecret         Secret `yaml:"webhook_secret"`
	PreviousWebhookSecret Secret `yaml:"previous_webhook_secret"`
	// WebhookToken is for Data Center, whose webhooks cannot sign: the
	// webhook URL carries ?token=<WebhookToken>.
	WebhookToken          Secret       `yaml:"webhook_token"`
	InsecureSkipSignature bool         `yaml:"insecure_skip_signature"`
	Projects              []string     `yaml:"projects"`
	Deliverables          Deliverables `yaml:"deliverables"`
	CreateTrackingIssue   bool         `yaml:"create_tracking_issue"`
	TrackingLabel         string       `yaml:"tracking_label"`
	// TrackingIssueType names the issue type of a version's tracking
	// issue; projects that have no "Task" need another.
	TrackingIssueType string `yaml:"tracking_issue_type"`
	// WriteInterval spaces writes (comments, edits, properties, tracking
	// issues) so a burst stays clear of Jira's rate limits.
	WriteInterval Duration `yaml:"write_interval"`

	// DiscoverEvery is how often projects: ["*"] lists the projects the
	// account can browse (project webhooks also tell at once).
	DiscoverEvery Duration `yaml:"discover_every"`
	// VersionsEvery is how often a poll reads a project's versions list in
	// place of its change search: a release date moved or a version
	// released leaves no trace on the issues (version webhooks also tell
	// at once).
	VersionsEvery Duration `yaml:"versions_every"`
}

// AllProjects reports whether projects is ["*"]: every project the account
// can browse.
func (j *Jira) AllProjects() bool {
	return len(j.Projects) == 1 && j.Projects[0] == JiraAllProjects
}

// Auth is exactly one Jira auth mode.
type Auth struct {
	Email    string  `yaml:"email"`     // Cloud basic auth, with APIToken
	APIToken Secret  `yaml:"api_token"` // Cloud basic auth, with Email
	PAT      Secret  `yaml:"pat"`       // Data Center personal access token (Bearer)
	OAuth2   *OAuth2 `yaml:"oauth2"`    // Cloud OAuth 2.0 (3LO)
}

// OAuth2 is Jira Cloud OAuth 2.0 (3LO). The refresh token rotates on every
// refresh; the newest one is kept in Redis, and RefreshToken here is only the
// first one.
type OAuth2 struct {
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	RefreshToken Secret `yaml:"refresh_token"`
	CloudID      string `yaml:"cloud_id"`
	TokenURL     string `yaml:"token_url"`
	APIURL       string `yaml:"api_url"` // calls go to <api_url><cloud_id>
}

// Deliverables says which Jira things have dates worth watching.
type Deliverables struct {
	Versions bool   `yaml:"versions"`
	JQL      string `yaml:"jql"` // issues with a due date; empty = none
}

// Link ties a GitHub milestone and a Jira deliverable that are one promise.
type Link struct {
	GitHub string `yaml:"github"` // owner/name#milestone=<title>
	Jira   string `yaml:"jira"`   // KEY/version=<name> or KEY/issue=<KEY-N>
}

// Default is the configuration before the file and the environment apply.
// Tracker sections are absent: a tracker is configured by naming it.
func Default() *Config {
	return &Config{
		Timezone: DefaultTimezone,
		Redis: Redis{
			URL:          DefaultRedisURL,
			Prefix:       DefaultRedisPrefix,
			Mode:         DefaultRedisMode,
			DialTimeout:  Duration(DefaultRedisDialTimeout),
			ReadTimeout:  Duration(DefaultRedisReadTimeout),
			WriteTimeout: Duration(DefaultRedisWriteTimeout),
		},
		Server:   Server{Listen: DefaultServerListen, ShutdownGrace: Duration(DefaultShutdownGrace)},
		Poll:     Poll{Interval: Duration(DefaultPollInterval), MaxInterval: Duration(DefaultPollMaxInterval)},
		Slip:     Slip{Settle: Duration(DefaultSlipSettle)},
		Baseline: DefaultBaseline,
		Forecast: Forecast{Window: Duration(DefaultForecastWindow), Trials: DefaultForecastTrials, Confidence: DefaultForecastConfidence, MinSamples: DefaultForecastMinSamples,
			RiskBelow: DefaultForecastRiskBelow},
		StatusUpdate: StatusUpdate{Every: Duration(DefaultStatusUpdateEvery)},
		Digest:       Digest{Every: Duration(DefaultDigestEvery)},
		Scope:        Scope{WarnGrowth: DefaultScopeWarnGrowth},
		Queue:        Queue{Workers: DefaultQueueWorkers, MaxDeliveries: DefaultQueueMaxDeliveries, ReclaimIdle: Duration(DefaultQueueReclaimIdle), MaxLength: DefaultQueueMaxLength},
		Log:          Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}

// defaulter is implemented by sections that have defaults of their own,
// applied when the section first appears (in the file or the environment).
type defaulter interface{ setDefaults() }

func (g *GitHub) setDefaults() {
	g.BaseURL = DefaultGitHubBaseURL
	g.TrackingLabel = DefaultGitHubTrackingLabel
	g.CreateTrackingIssue = DefaultGitHubCreateTracking
	g.WriteInterval = Duration(DefaultGitHubWriteInterval)
	g.DiscoverEvery = Duration(DefaultGitHubDiscoverEvery)
}

func (j *Jira) setDefaults() {
	j.Deployment = DefaultJiraDeployment
	j.Deliverables = Deliverables{Versions: DefaultJiraVersions, JQL: DefaultJiraJQL}
	j.CreateTrackingIssue = DefaultJiraCreateTracking
	j.TrackingLabel = DefaultJiraTrackingLabel
	j.TrackingIssueType = DefaultJiraTrackingType
	j.WriteInterval = Duration(DefaultJiraWriteInterval)
	j.DiscoverEvery = Duration(DefaultJiraDiscoverEvery)
	j.VersionsEvery = Duration(DefaultJiraVersionsEvery)
}

func (o *OAuth2) setDefaults() {
	o.TokenURL = DefaultJiraOAuthTokenURL
	o.APIURL = DefaultJiraOAuthAPIURL
}

// WebhookSecrets are the secrets a GitHub webhook may be signed with,
// current first.
func (g *GitHub) WebhookSecrets() []Secret { return nonEmpty(g.WebhookSecret, g.PreviousWebhookSecret) }

// WebhookSecrets are the secrets a Jira webhook may be signed with, current
// first.
func (j *Jira) WebhookSecrets() []Secret { return nonEmpty(j.WebhookSecret, j.PreviousWebhookSecret) }

func nonEmpty(ss ...Secret) []Secret {
	var out []Secret
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
