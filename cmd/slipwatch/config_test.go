package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/reconcile"
)

// TestBinaryReportsEveryConfigProblem: whatever mix of problems a config
// has (unknown keys, values of the wrong type, bad variables, values that
// fail validation), the binary prints every one, one line each, and exits 2
// having done nothing.
func TestBinaryReportsEveryConfigProblem(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t, "")
	const token = "ghp_never_printed_0019"
	type badConfig struct {
		name string
		file string // "" runs without --config, from SLIPWATCH_* alone
		env  []string
		want []string
	}
	tests := []badConfig{
		{
			name: "a bad duration beside a bad repo",
			file: "poll: { interval: fast }\ngithub: { token: ${GITHUB_TOKEN}, repos: [acme/api, acme] }\n",
			want: []string{
				`poll.interval: "fast" is not a duration (use e.g. 90s, 5m, 168h, 42d) (line 1)`,
				`github.repos[1]: "acme" is not owner/name`,
			},
		},
		{
			name: "an unknown key beside a bad repo",
			file: "bogus_key: true\ngithub: { token: ${GITHUB_TOKEN}, repos: [acme] }\n",
			want: []string{
				`bogus_key: unknown key (line 1)`,
				`github.repos[0]: "acme" is not owner/name`,
			},
		},
		{
			name: "a negative settle, a bad variable and a bad value",
			file: "slip: { settle: -1h }\nforecast: { confidence: 1.5 }\ngithub: { token: ${GITHUB_TOKEN}, repos: [acme/api] }\n",
			env:  []string{"SLIPWATCH_QUEUE_WORKERS=lots"},
			want: []string{
				`slip.settle: "-1h" is negative (use 0s for none) (line 1)`,
				`queue.workers: SLIPWATCH_QUEUE_WORKERS is not a whole number`,
				`forecast.confidence: 1.5 is not in (0,1)`,
			},
		},
		{
			name: "commands.allow entries without their tracker",
			file: "commands: { allow: [jsmith, \"557058:f58131cb\", \"jane@example.com\", \"github:octocat\"] }\ngithub: { token: ${GITHUB_TOKEN}, repos: [acme/api] }\n",
			want: []string{
				`commands.allow[0]: "jsmith" names no tracker: write "github:jsmith" or "jira:<account id>"`,
				`commands.allow[1]: "557058:f58131cb" names no tracker: write "jira:557058:f58131cb" for a Jira Cloud account ID`,
				`commands.allow[2]: "jane@example.com" is an e-mail address, which slipwatch never matches (users can change theirs): write "jira:<account id>" (Cloud) or "jira:<user name>" (Data Center)`,
			},
		},
		{
			name: "settings from the environment alone",
			env: []string{"SLIPWATCH_GITHUB_TOKEN=" + token, "SLIPWATCH_GITHUB_REPOS=acme/api, acme",
				"SLIPWATCH_SLIP_SETTLE=soon", "SLIPWATCH_DRY_RUNN=true"},
			want: []string{
				`slipwatch: no --config and no $SLIPWATCH_CONFIG; settings came from SLIPWATCH_* variables only`,
				`SLIPWATCH_DRY_RUNN: not a slipwatch setting; did you mean SLIPWATCH_DRY_RUN?`,
				`slip.settle: SLIPWATCH_SLIP_SETTLE is not a duration (use e.g. 90s, 5m, 168h, 42d)`,
				`github.repos[1]: "acme" is not owner/name`,
			},
		},
	}
	// The page's example, so that it shows what the binary prints.
	file, env, lines, code := docExample(t)
	if code != exitUsage {
		t.Errorf("docs/configuration.md shows exit %d for a bad config", code)
	}
	tests = append(tests, badConfig{"docs/configuration.md example", file, env, lines})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"check"}
			if tt.file != "" {
				path := filepath.Join(t.TempDir(), "bad.yaml")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", path)
			}
			stdout, stderr, code := runBinary(t, bin, append([]string{"GITHUB_TOKEN=" + token}, tt.env...), args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if diff := cmp.Diff(tt.want, strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")); diff != "" {
				t.Errorf("stderr lines (-want +got):\n%s", diff)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Contains(stderr, token) {
				t.Error("the token leaked into the output")
			}
		})
	}
}

// docExample is the example of docs/configuration.md ("every problem is
// reported at once"): the file, the variables set on the command line, the
// lines the page shows and the exit code it shows.
func docExample(t *testing.T) (file string, env, lines []string, code int) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```\n$ cat bad.yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/configuration.md has no `$ cat bad.yaml` example")
	}
	file, rest, _ = strings.Cut(block, "$ ")
	cmdLine, rest, _ := strings.Cut(rest, "\n")
	output, codeLine, _ := strings.Cut(rest, "$ echo $?\n")
	if code, err = strconv.Atoi(strings.TrimSpace(codeLine)); err != nil {
		t.Fatalf("no exit code after `$ echo $?`: %q", codeLine)
	}
	fields := strings.Fields(cmdLine)
	for len(fields) > 0 && strings.Contains(fields[0], "=") {
		env = append(env, fields[0])
		fields = fields[1:]
	}
	if want := []string{"slipwatch", "check", "--config", "bad.yaml"}; !slices.Equal(fields, want) {
		t.Fatalf("the example runs %q, want %q", fields, want)
	}
	return file, env, strings.Split(strings.TrimSuffix(output, "\n"), "\n"), code
}

// TestSettingsSettle: slip.settle reaches the core as it was written, 0s
// included (the core reads 0 as "announce at once").
func TestSettingsSettle(t *testing.T) {
	t.Parallel()
	const gh = "github: { token: t, repos: [acme/api] }\n"
	for _, tt := range []struct {
		file string
		want time.Duration
	}{
		{gh, config.DefaultSlipSettle},
		{"slip: { settle: 0s }\n" + gh, 0},
		{"slip: { settle: 90m }\n" + gh, 90 * time.Minute},
	} {
		cfg, err := config.Parse([]byte(tt.file), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := settings(cfg).Settle; got != tt.want {
			t.Errorf("%q: Settings.Settle = %v, want %v", tt.file, got, tt.want)
		}
	}
}

// TestSettingsRiskBelow: forecast.risk_below reaches the core, by default
// the value the backtest chose.
func TestSettingsRiskBelow(t *testing.T) {
	t.Parallel()
	const gh = "github: { token: t, repos: [acme/api] }\n"
	for _, tt := range []struct {
		file string
		want float64
	}{
		{gh, reconcile.DefaultRiskBelow},
		{"forecast: { risk_below: 0.3 }\n" + gh, 0.3},
	} {
		cfg, err := config.Parse([]byte(tt.file), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := settings(cfg).RiskBelow; got != tt.want {
			t.Errorf("%q: Settings.RiskBelow = %v, want %v", tt.file, got, tt.want)
		}
	}
}
