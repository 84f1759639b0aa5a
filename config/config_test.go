package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testEnv stands in for the process environment: the secrets the testdata
// files reference.
var testEnv = []string{
	"GITHUB_TOKEN=ghp_secret_token_value",
	"GITHUB_WEBHOOK_SECRET=whsec",
	"JIRA_EMAIL=jane@example.com",
	"JIRA_API_TOKEN=jira_secret_token",
	"JIRA_WEBHOOK_SECRET=jwhsec",
	"JIRA_CLIENT_SECRET=cs",
	"JIRA_REFRESH_TOKEN=rt",
}

func TestGoodFiles(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		file string
		want func() *Config
	}{
		{"design.yaml", func() *Config {
			c := Default()
			c.Timezone, c.Location = "Europe/Berlin", berlin
			c.Redis.URL = "redis://redis:6379/0"
			c.Commands.Allow = []string{"github:octocat", "jira:5b10ac8d82e05b22cc7d4ef5"}
			c.GitHub = &GitHub{BaseURL: "https://api.github.com/", Token: "ghp_secret_token_value",
				WebhookSecret: "whsec", Repos: []string{"acme/api", "acme/web"}, TrackingLabel: "slipwatch", CreateTrackingIssue: true, WriteInterval: Duration(time.Second), DiscoverEvery: Duration(DefaultGitHubDiscoverEvery)}
			c.Jira = &Jira{BaseURL: "https://acme.atlassian.net", Deployment: JiraAuto,
				Auth:          Auth{Email: "jane@example.com", APIToken: "jira_secret_token"},
				WebhookSecret: "jwhsec", Projects: []string{"PLAT"},
				Deliverables: Deliverables{Versions: true, JQL: DefaultJiraJQL}, CreateTrackingIssue: true, TrackingLabel: "slipwatch", TrackingIssueType: "Task", WriteInterval: Duration(DefaultJiraWriteInterval),
				DiscoverEvery: Duration(DefaultJiraDiscoverEvery), VersionsEvery: Duration(DefaultJiraVersionsEvery)}
			c.Links = []Link{{GitHub: "acme/api#milestone=v2.0", Jira: "PLAT/version=2.0"}}
			return c
		}},
		{"minimal-github.yaml", func() *Config {
			c := Default()
			c.Location = time.UTC
			c.GitHub = &GitHub{BaseURL: DefaultGitHubBaseURL, Token: "ghp_secret_token_value", Repos: []string{"acme/api"},
				TrackingLabel: DefaultGitHubTrackingLabel, CreateTrackingIssue: true, WriteInterval: Duration(DefaultGitHubWriteInterval), DiscoverEvery: Duration(DefaultGitHubDiscoverEvery)}
			return c
		}},
		{"app-sentinel.yaml", func() *Config {
			c := Default()
			c.Timezone, c.Location = "America/New_York", ny
			c.Redis.Mode, c.Redis.MasterName = RedisSentinel, "mymaster"
			c.Redis.Addrs = []string{"sentinel-0:26379", "sentinel-1:26379"}
			c.Redis.TLS = TLS{Enabled: true, ServerName: "redis.internal"}
			c.Poll.Interval = Duration(90 * time.Second)
			c.Slip.Settle = 0
			c.Baseline = BaselineDeclaredOnly
			c.StatusUpdate.Every = 0
			c.Digest.Every = 0
			c.Forecast.Window = Duration(14 * 24 * time.Hour)
			c.GitHub = &GitHub{BaseURL: "https://ghe.example.com/api/v3/",
				App:                   &App{ID: 1234, InstallationID: 5678, PrivateKeyFile: "/var/run/secrets/slipwatch/app.pem"},
				InsecureSkipSignature: true, Repos: []string{"acme/api"}, TrackingLabel: "slipwatch", WriteInterval: Duration(time.Second), DiscoverEvery: Duration(DefaultGitHubDiscoverEvery)}
			return c
		}},
		{"jira-oauth.yaml", func() *Config {
			c := Default()
			c.Location = time.UTC
			c.Jira = &Jira{BaseURL: "https://acme.atlassian.net", Deployment: JiraCloud,
				Auth: Auth{OAuth2: &OAuth2{ClientID: "abc", ClientSecret: "cs", RefreshToken: "rt",
					CloudID: "11111111-2222-3333-4444-555555555555", TokenURL: DefaultJiraOAuthTokenURL, APIURL: DefaultJiraOAuthAPIURL}},
				Projects:     []string{"PLAT", "OPS_2"},
				Deliverables: Deliverables{Versions: false, JQL: DefaultJiraJQL}, CreateTrackingIssue: true, TrackingLabel: "slipwatch", TrackingIssueType: "Task", WriteInterval: Duration(DefaultJiraWriteInterval),
				DiscoverEvery: Duration(DefaultJiraDiscoverEvery), VersionsEvery: Duration(DefaultJiraVersionsEvery)}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := Load(filepath.Join("testdata", "good", tt.file), testEnv)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want(), got, cmpopts.IgnoreUnexported(time.Location{}), cmp.Comparer(sameZone)); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func sameZone(a, b *time.Location) bool { return a.String() == b.String() }

// TestBadFiles checks every message, with its key path, against the .err
// file next to each bad config: the lines a user sees before exit 2.
func TestBadFiles(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/bad files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			_, err := Load(f, testEnv)
			if err == nil {
				t.Fatal("Load accepted a bad config")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want config.Errors", err)
			}
			want, rerr := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			if rerr != nil {
				// Files without .err only need to fail with a message
				// naming the config.
				if !strings.HasPrefix(err.Error(), "config: ") {
					t.Fatalf("error %q does not name the config", err)
				}
				return
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), err.Error()); diff != "" {
				t.Errorf("messages mismatch (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "ghp_secret_token_value") {
				t.Error("a secret value appears in the error")
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v, want it to name the file", err)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	d := decoder{vars: map[string]string{"A": "alpha", "EMPTY": ""}}
	tests := []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x-${A}-${A}", want: "x-alpha-alpha"},
		{in: "${B:-beta}", want: "beta"},
		{in: "${EMPTY:-dflt}", want: "dflt"},
		{in: "${EMPTY}", want: ""},
		{in: "${B:-}", want: ""},
		{in: "$${A}", want: "${A}"},
		{in: "cost $5", want: "cost $5"},
		{in: "${B}", err: "environment variable B is not set"},
		{in: "${A", err: "unclosed ${"},
		{in: "${1A}", err: "is not a variable reference"},
	}
	for _, tt := range tests {
		got, _, err := d.expand(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("expand(%q) err = %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("expand(%q) err = %v", tt.in, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEnvOverlay(t *testing.T) {
	t.Parallel()
	env := []string{
		"SLIPWATCH_REDIS_URL=rediss://:pw@redis.internal:6380/2",
		"SLIPWATCH_POLL_INTERVAL=42d",
		"SLIPWATCH_DRY_RUN=true",
		"SLIPWATCH_FORECAST_CONFIDENCE=0.9",
		"SLIPWATCH_FORECAST_RISK_BELOW=0.3",
		"SLIPWATCH_GITHUB_TOKEN=from-env",
		"SLIPWATCH_GITHUB_REPOS=acme/api, acme/web",
		"SLIPWATCH_COMMANDS_ALLOW=[github:octocat, \"jira:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077\"]",
		"SLIPWATCH_JIRA_BASE_URL=https://jira.example.com",
		"SLIPWATCH_JIRA_AUTH_PAT=pat-secret",
		"SLIPWATCH_JIRA_PROJECTS=PLAT",
		`SLIPWATCH_LINKS=[{github: "acme/api#milestone=v2.0", jira: "PLAT/issue=PLAT-12"}]`,
		// Kubernetes service links for Services named slipwatch and
		// slipwatch-redis: not settings, ignored.
		"SLIPWATCH_PORT=tcp://10.0.0.1:8080",
		"SLIPWATCH_SERVICE_HOST=10.0.0.1",
		"SLIPWATCH_SERVICE_PORT=8080",
		"SLIPWATCH_SERVICE_PORT_HTTP=8080",
		"SLIPWATCH_PORT_8080_TCP=tcp://10.0.0.1:8080",
		"SLIPWATCH_PORT_8080_TCP_ADDR=10.0.0.1",
		"SLIPWATCH_REDIS_PORT_6379_TCP_PROTO=tcp",
		"SLIPWATCH_CONFIG=/etc/slipwatch/config.yaml",
	}
	// The file sets the interval; the environment wins.
	c, err := Parse([]byte("poll: {interval: 1m}\n"), env)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"redis.url", c.Redis.URL, "rediss://:pw@redis.internal:6380/2"},
		{"poll.interval", c.Poll.Interval.D(), 42 * 24 * time.Hour},
		{"poll.max_interval follows a longer interval", c.Poll.MaxInterval.D(), 42 * 24 * time.Hour},
		{"dry_run", c.DryRun, true},
		{"forecast.confidence", c.Forecast.Confidence, 0.9},
		{"forecast.risk_below", c.Forecast.RiskBelow, 0.3},
		{"github.token", c.GitHub.Token.Value(), "from-env"},
		{"github.repos", c.GitHub.Repos, []string{"acme/api", "acme/web"}},
		{"github defaults", c.GitHub.TrackingLabel, DefaultGitHubTrackingLabel},
		{"commands.allow", c.Commands.Allow, []string{"github:octocat", "jira:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"}},
		{"jira.auth.pat", c.Jira.Auth.PAT.Value(), "pat-secret"},
		{"jira.projects", c.Jira.Projects, []string{"PLAT"}},
		{"links", c.Links, []Link{{GitHub: "acme/api#milestone=v2.0", Jira: "PLAT/issue=PLAT-12"}}},
	}
	for _, ck := range checks {
		if diff := cmp.Diff(ck.want, ck.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ck.name, diff)
		}
	}
}

func TestEnvOverlayErrors(t *testing.T) {
	t.Parallel()
	base := []string{"SLIPWATCH_GITHUB_TOKEN=t", "SLIPWATCH_GITHUB_REPOS=acme/api"}
	tests := []struct {
		env  string
		want string
	}{
		{"SLIPWATCH_POLL_INTERVAL=soon", "poll.interval: SLIPWATCH_POLL_INTERVAL is not a duration (use e.g. 90s, 5m, 168h, 42d)"},
		{"SLIPWATCH_SLIP_SETTLE=-1h", "slip.settle: SLIPWATCH_SLIP_SETTLE is negative (use 0s for none)"},
		{"SLIPWATCH_FORECAST_TRIALS=lots", "forecast.trials: SLIPWATCH_FORECAST_TRIALS is not a whole number"},
		{"SLIPWATCH_DRY_RUN=yes please", "dry_run: SLIPWATCH_DRY_RUN is not true or false"},
		{"SLIPWATCH_POLL_INTERVALL=5m", "SLIPWATCH_POLL_INTERVALL: not a slipwatch setting; did you mean SLIPWATCH_POLL_INTERVAL?"},
		{"SLIPWATCH_LINKS=[{github: x", "links: SLIPWATCH_LINKS is not a YAML list"},
		// The misspelt key alone: github, which it was meant to be, is
		// not also reported empty; jira, which was never given, is.
		{"SLIPWATCH_LINKS=[{githb: x}]", "links[0].githb: unknown key (line 1); did you mean \"github\"?\n" +
			"links[0].jira: \"\" is not KEY/version=<name> or KEY/issue=KEY-N"},
		// Values that parse are still validated.
		{"SLIPWATCH_FORECAST_CONFIDENCE=1.5", "forecast.confidence: 1.5 is not in (0,1)"},
		{"SLIPWATCH_POLL_MAX_INTERVAL=1m", "poll.max_interval: 1m0s is below poll.interval (5m0s)"},
		{"SLIPWATCH_FORECAST_RISK_BELOW=0", "forecast.risk_below: 0 is not in (0,1)"},
		{"SLIPWATCH_FORECAST_RISK_BELOW=1", "forecast.risk_below: 1 is not in (0,1)"},
		{"SLIPWATCH_FORECAST_RISK_BELOW=often", "forecast.risk_below: SLIPWATCH_FORECAST_RISK_BELOW is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(nil, append(slicesClone(base), tt.env))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// TestEnvVarsCoverSchema proves every leaf key has an environment name, so a
// Helm chart can set anything through env.
func TestEnvVarsCoverSchema(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"SLIPWATCH_REDIS_URL":                      "redis.url",
		"SLIPWATCH_POLL_INTERVAL":                  "poll.interval",
		"SLIPWATCH_POLL_MAX_INTERVAL":              "poll.max_interval",
		"SLIPWATCH_GITHUB_APP_PRIVATE_KEY":         "github.app.private_key",
		"SLIPWATCH_JIRA_AUTH_OAUTH2_REFRESH_TOKEN": "jira.auth.oauth2.refresh_token",
		"SLIPWATCH_JIRA_DELIVERABLES_JQL":          "jira.deliverables.jql",
		"SLIPWATCH_REDIS_TLS_INSECURE_SKIP_VERIFY": "redis.tls.insecure_skip_verify",
		"SLIPWATCH_GITHUB_PREVIOUS_WEBHOOK_SECRET": "github.previous_webhook_secret",
		"SLIPWATCH_LINKS":                          "links",
		"SLIPWATCH_STATUS_UPDATE_EVERY":            "status_update.every",
		"SLIPWATCH_SCOPE_WARN_GROWTH":              "scope.warn_growth",
		"SLIPWATCH_QUEUE_RECLAIM_IDLE":             "queue.reclaim_idle",
		"SLIPWATCH_JIRA_WEBHOOK_TOKEN":             "jira.webhook_token",
		"SLIPWATCH_GITHUB_CREATE_TRACKING_ISSUE":   "github.create_tracking_issue",
		"SLIPWATCH_JIRA_AUTH_OAUTH2_CLIENT_SECRET": "jira.auth.oauth2.client_secret",
		"SLIPWATCH_GITHUB_APP_INSTALLATION_ID":     "github.app.installation_id",
		"SLIPWATCH_FORECAST_MIN_SAMPLES":           "forecast.min_samples",
		"SLIPWATCH_FORECAST_RISK_BELOW":            "forecast.risk_below",
		"SLIPWATCH_SERVER_SHUTDOWN_GRACE":          "server.shutdown_grace",
		"SLIPWATCH_SERVER_API_TOKEN":               "server.api_token",
		"SLIPWATCH_SLIP_SETTLE":                    "slip.settle",
		"SLIPWATCH_JIRA_INSECURE_SKIP_SIGNATURE":   "jira.insecure_skip_signature",
		"SLIPWATCH_REDIS_MASTER_NAME":              "redis.master_name",
		"SLIPWATCH_GITHUB_INSECURE_SKIP_SIGNATURE": "github.insecure_skip_signature",
		"SLIPWATCH_JIRA_AUTH_OAUTH2_CLOUD_ID":      "jira.auth.oauth2.cloud_id",
		"SLIPWATCH_JIRA_PREVIOUS_WEBHOOK_SECRET":   "jira.previous_webhook_secret",
		"SLIPWATCH_JIRA_DELIVERABLES_VERSIONS":     "jira.deliverables.versions",
		"SLIPWATCH_JIRA_CREATE_TRACKING_ISSUE":     "jira.create_tracking_issue",
		"SLIPWATCH_GITHUB_APP_PRIVATE_KEY_FILE":    "github.app.private_key_file",
		"SLIPWATCH_JIRA_AUTH_API_TOKEN":            "jira.auth.api_token",
		"SLIPWATCH_REDIS_PASSWORD":                 "redis.password",
		"SLIPWATCH_TIMEZONE":                       "timezone",
		"SLIPWATCH_BASELINE":                       "baseline",
		"SLIPWATCH_DRY_RUN":                        "dry_run",
		"SLIPWATCH_COMMANDS_ALLOW":                 "commands.allow",
		"SLIPWATCH_LOG_FORMAT":                     "log.format",
		"SLIPWATCH_GITHUB_TRACKING_LABEL":          "github.tracking_label",
		"SLIPWATCH_GITHUB_WRITE_INTERVAL":          "github.write_interval",
		"SLIPWATCH_GITHUB_DISCOVER_EVERY":          "github.discover_every",
		"SLIPWATCH_GITHUB_BASE_URL":                "github.base_url",
		"SLIPWATCH_JIRA_DEPLOYMENT":                "jira.deployment",
		"SLIPWATCH_JIRA_DISCOVER_EVERY":            "jira.discover_every",
		"SLIPWATCH_JIRA_VERSIONS_EVERY":            "jira.versions_every",
		"SLIPWATCH_JIRA_AUTH_OAUTH2_TOKEN_URL":     "jira.auth.oauth2.token_url",
		"SLIPWATCH_JIRA_AUTH_OAUTH2_API_URL":       "jira.auth.oauth2.api_url",
		"SLIPWATCH_JIRA_AUTH_EMAIL":                "jira.auth.email",
		"SLIPWATCH_JIRA_AUTH_OAUTH2_CLIENT_ID":     "jira.auth.oauth2.client_id",
		"SLIPWATCH_JIRA_TRACKING_LABEL":            "jira.tracking_label",
		"SLIPWATCH_JIRA_TRACKING_ISSUE_TYPE":       "jira.tracking_issue_type",
		"SLIPWATCH_TRACK_RECORD_THREAD":            "track_record.thread",
		"SLIPWATCH_DIGEST_EVERY":                   "digest.every",
		"SLIPWATCH_JIRA_WRITE_INTERVAL":            "jira.write_interval",
		"SLIPWATCH_REDIS_TLS_CA_FILE":              "redis.tls.ca_file",
		"SLIPWATCH_REDIS_ADDRS":                    "redis.addrs",
		"SLIPWATCH_QUEUE_MAX_LENGTH":               "queue.max_length",
		"SLIPWATCH_FORECAST_WINDOW":                "forecast.window",
		"SLIPWATCH_GITHUB_WEBHOOK_SECRET":          "github.webhook_secret",
		"SLIPWATCH_SERVER_LISTEN":                  "server.listen",
		"SLIPWATCH_REDIS_PREFIX":                   "redis.prefix",
		"SLIPWATCH_GITHUB_APP_ID":                  "github.app.id",
		"SLIPWATCH_JIRA_PROJECTS":                  "jira.projects",
		"SLIPWATCH_REDIS_USERNAME":                 "redis.username",
		"SLIPWATCH_JIRA_BASE_URL":                  "jira.base_url",
		"SLIPWATCH_FORECAST_CONFIDENCE":            "forecast.confidence",
		"SLIPWATCH_FORECAST_TRIALS":                "forecast.trials",
		"SLIPWATCH_LOG_LEVEL":                      "log.level",
		"SLIPWATCH_MARKERS_KEY":                    "markers.key",
		"SLIPWATCH_MARKERS_PREVIOUS_KEYS":          "markers.previous_keys",
		"SLIPWATCH_QUEUE_WORKERS":                  "queue.workers",
		"SLIPWATCH_QUEUE_MAX_DELIVERIES":           "queue.max_deliveries",
		"SLIPWATCH_REDIS_MODE":                     "redis.mode",
		"SLIPWATCH_REDIS_DIAL_TIMEOUT":             "redis.dial_timeout",
		"SLIPWATCH_REDIS_READ_TIMEOUT":             "redis.read_timeout",
		"SLIPWATCH_REDIS_WRITE_TIMEOUT":            "redis.write_timeout",
		"SLIPWATCH_REDIS_TLS_ENABLED":              "redis.tls.enabled",
		"SLIPWATCH_REDIS_TLS_SERVER_NAME":          "redis.tls.server_name",
		"SLIPWATCH_GITHUB_TOKEN":                   "github.token",
		"SLIPWATCH_GITHUB_REPOS":                   "github.repos",
		"SLIPWATCH_JIRA_WEBHOOK_SECRET":            "jira.webhook_secret",
		"SLIPWATCH_JIRA_AUTH_PAT":                  "jira.auth.pat",
	}
	got := map[string]string{}
	for _, v := range EnvVars() {
		got[v.Name] = v.Path
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EnvVars mismatch (-want +got):\n%s", diff)
	}
}

func TestSecretRedacted(t *testing.T) {
	t.Parallel()
	c, err := Load("testdata/good/design.yaml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"ghp_secret_token_value", "whsec", "jira_secret_token", "jwhsec"}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "config", c, "token", c.GitHub.Token)
	var textBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&textBuf, nil)).Info("config", "token", c.GitHub.Token, "auth", c.Jira.Auth)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":         fmt.Sprintf("%v", c.GitHub),
		"%+v":        fmt.Sprintf("%+v", *c.GitHub),
		"%#v":        fmt.Sprintf("%#v", *c.GitHub),
		"%s":         fmt.Sprintf("%s", c.GitHub.Token),
		"%q":         fmt.Sprintf("%q", c.GitHub.Token),
		"%x":         fmt.Sprintf("%x", c.GitHub.Token),
		"%d":         fmt.Sprintf("%d", c.GitHub.Token),
		"json":       string(js),
		"slog json":  logBuf.String(),
		"slog text":  textBuf.String(),
		"errors.New": fmt.Errorf("auth %v failed", c.Jira.Auth).Error(),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s prints secret %q: %s", name, s, out)
			}
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not say [redacted]: %s", name, out)
		}
	}
	if c.GitHub.Token.Value() != "ghp_secret_token_value" {
		t.Error("Value does not return the secret")
	}
	if Secret("").String() != "" {
		t.Error("an unset secret should print as empty, to tell set from unset")
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"42d", 42 * 24 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"1w3d12h", 10*24*time.Hour + 12*time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"0", 0, false},
		{"-5m", 0, true},
		{"1d-5m", 0, true},
		{"106751d", 106751 * 24 * time.Hour, false},
		{"106752d", 0, true},  // past time.Duration: refused, not wrapped round
		{"15250w2d", 0, true}, // the same through weeks
		{"106751d23h47m16.854775807s", time.Duration(math.MaxInt64), false},
		{"106751d23h47m16.854775808s", 0, true}, // one nanosecond too many
		{"5", 0, true},
		{"d", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || got.D() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err %v", tt.in, got.D(), err, tt.want, tt.err)
		}
	}
	if s := Duration(42 * 24 * time.Hour).String(); s != "42d" {
		t.Errorf("String = %q, want 42d", s)
	}
}

// TestDefaultsNamed guards the rule that every default is a named constant:
// Default() must equal what the constants say.
func TestDefaultsNamed(t *testing.T) {
	t.Parallel()
	d := Default()
	if d.Forecast.Window.D() != DefaultForecastWindow || d.Poll.Interval.D() != DefaultPollInterval ||
		d.Redis.Prefix != DefaultRedisPrefix || d.Server.Listen != DefaultServerListen {
		t.Errorf("Default() disagrees with the Default* constants: %+v", d)
	}
	var g GitHub
	g.setDefaults()
	if !reflect.DeepEqual(g, GitHub{BaseURL: DefaultGitHubBaseURL, TrackingLabel: DefaultGitHubTrackingLabel, CreateTrackingIssue: true, WriteInterval: Duration(DefaultGitHubWriteInterval), DiscoverEvery: Duration(DefaultGitHubDiscoverEvery)}) {
		t.Errorf("GitHub defaults = %+v", g)
	}
}

// TestExpansionCannotRewriteTheFile: a value full of YAML syntax stays one
// value; it cannot add keys or end the mapping it sits in.
func TestExpansionCannotRewriteTheFile(t *testing.T) {
	t.Parallel()
	evil := "x }\nredis: {url: \"redis://evil:1/0\"} # '"
	c, err := Parse([]byte("github: { token: ${EVIL}, repos: [acme/api] }\n"), []string{"EVIL=" + evil})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.GitHub.Token.Value() != evil {
		t.Errorf("token = %q, want the variable verbatim", c.GitHub.Token.Value())
	}
	if c.Redis.URL != DefaultRedisURL {
		t.Errorf("redis.url = %q: the value rewrote the document", c.Redis.URL)
	}
}
