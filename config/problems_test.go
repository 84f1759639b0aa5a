package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEveryProblemAtOnce: decode, type, environment and validation problems
// come back together, one line each, so a user fixes a config in one go.
// And only real problems: a key whose value was refused is not reported a
// second time through the default it kept.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		env  []string
		want []string
	}{
		{
			name: "a bad duration beside a bad repo",
			file: "poll: {interval: fast}\ngithub: {token: t, repos: [acme/api, acme]}\n",
			want: []string{
				`poll.interval: "fast" is not a duration (use e.g. 90s, 5m, 168h, 42d) (line 1)`,
				`github.repos[1]: "acme" is not owner/name`,
			},
		},
		{
			name: "an unknown key beside a bad repo",
			file: "bogus_key: 1\ngithub: {token: t, repos: [acme]}\n",
			want: []string{
				`bogus_key: unknown key (line 1)`,
				`github.repos[0]: "acme" is not owner/name`,
			},
		},
		{
			name: "unknown key, wrong type, bad variable and bad value",
			file: "bogus_key: 1\npoll: {interval: fast}\nforecast: {confidence: 2}\ngithub: {token: t, repos: [acme/api, acme]}\n",
			env:  []string{"SLIPWATCH_FORECAST_TRIALS=lots"},
			want: []string{
				`bogus_key: unknown key (line 1)`,
				`poll.interval: "fast" is not a duration (use e.g. 90s, 5m, 168h, 42d) (line 2)`,
				`forecast.trials: SLIPWATCH_FORECAST_TRIALS is not a whole number`,
				`forecast.confidence: 2 is not in (0,1)`,
				`github.repos[1]: "acme" is not owner/name`,
			},
		},
		{
			name: "a bad variable beside a bad value in the file",
			file: "github: {token: t, repos: [acme]}\n",
			env:  []string{"SLIPWATCH_POLL_INTERVAL=fast"},
			want: []string{
				`poll.interval: SLIPWATCH_POLL_INTERVAL is not a duration (use e.g. 90s, 5m, 168h, 42d)`,
				`github.repos[0]: "acme" is not owner/name`,
			},
		},
		{
			name: "environment alone",
			env:  []string{"SLIPWATCH_GITHUB_TOKEN=t", "SLIPWATCH_GITHUB_REPOS=acme/api, acme", "SLIPWATCH_QUEUE_WORKERS=many", "SLIPWATCH_POLL_INTERVALL=1m"},
			want: []string{
				`SLIPWATCH_POLL_INTERVALL: not a slipwatch setting; did you mean SLIPWATCH_POLL_INTERVAL?`,
				`queue.workers: SLIPWATCH_QUEUE_WORKERS is not a whole number`,
				`github.repos[1]: "acme" is not owner/name`,
			},
		},
		{
			name: "a refused value is named once, not again as its default",
			file: "redis: {dial_timeout: soon}\ngithub: {token: t, repos: acme/api}\nlinks: [{github: \"acme/api#milestone=v1\", jira: PLAT/version=1}]\n",
			// Not "github.repos: list at least one", nor links[0].github
			// "is not in github.repos": repos was given, just not as a list.
			want: []string{
				`redis.dial_timeout: "soon" is not a duration (use e.g. 90s, 5m, 168h, 42d) (line 1)`,
				`github.repos: want a list (line 2)`,
				`links[0].jira: project "PLAT" is not in jira.projects`,
			},
		},
		{
			name: "an unset variable for the token is not also a missing token",
			file: "github: {token: ${NOT_SET_HERE}, repos: [acme/api], app: {id: 1}}\n",
			want: []string{
				`github.token: environment variable NOT_SET_HERE is not set (use ${NOT_SET_HERE:-default} for a default) (line 1)`,
				`github.app.installation_id: must be the installation's numeric ID`,
				`github.app: set exactly one of private_key_file or private_key`,
			},
		},
		{
			name: "one bad item of a list, the others still checked",
			file: "github: {token: t, repos: [acme/api, {name: x}, acme]}\n",
			want: []string{
				`github.repos[1]: want a single value, not a mapping (line 1)`,
				`github.repos[2]: "acme" is not owner/name`,
			},
		},
		{
			name: "a misspelt section is not also a missing tracker",
			file: "githb: {token: t, repos: [acme/api]}\nqueue: {workers: 0}\n",
			want: []string{
				`githb: unknown key (line 1); did you mean "github"?`,
				`queue.workers: 0 is not in [1, 256]`,
			},
		},
		{
			name: "a misspelt key beside the real one hides nothing",
			file: "github: {token: t, repos: [acme], repo: [acme/web]}\n",
			want: []string{
				`github.repo: unknown key (line 1); did you mean "repos"?`,
				`github.repos[0]: "acme" is not owner/name`,
			},
		},
		{
			name: "a section of the wrong kind",
			file: "github: [acme/api]\nlog: {level: loud}\n",
			want: []string{
				`github: want a mapping of keys (line 1)`,
				`log.level: "loud" is not debug, info, warn or error`,
			},
		},
		{
			name: "a file that is not YAML still has its variables checked",
			file: "github: [\n",
			env:  []string{"SLIPWATCH_DRY_RUN=perhaps"},
			want: []string{
				`config: not valid YAML: line 1: did not find expected node content`,
				`dry_run: SLIPWATCH_DRY_RUN is not true or false`,
			},
		},
		{
			name: "a file that is a list",
			file: "- github\n",
			want: []string{`config: want a mapping of keys (line 1)`},
		},
		{
			name: "a negative settle",
			file: "slip: {settle: -30m}\nbaseline: never\ngithub: {token: t, repos: [acme/api]}\n",
			want: []string{
				`slip.settle: "-30m" is negative (use 0s for none) (line 1)`,
				`baseline: "never" is not first_seen or declared_only`,
			},
		},
		{
			name: "a negative settle from the environment",
			env:  []string{"SLIPWATCH_GITHUB_TOKEN=t", "SLIPWATCH_GITHUB_REPOS=acme/api", "SLIPWATCH_SLIP_SETTLE=-1h"},
			want: []string{`slip.settle: SLIPWATCH_SLIP_SETTLE is negative (use 0s for none)`},
		},
		{
			name: "a settle that is no duration",
			file: "slip: {settle: [1h]}\ngithub: {token: t, repos: [acme/api]}\n",
			want: []string{`slip.settle: want a single value, not a list (line 1)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.file), tt.env)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", cfg)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want config.Errors", err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}
