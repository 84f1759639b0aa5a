package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfig: a config with every field wrong stops the binary before
// it does anything, exit 2, one line per problem naming its key, and no
// secret in what it prints.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	cfg := `timezone: Mars/Olympus
redis: { url: "http://nope", prefix: "", master_name: m, dial_timeout: 0s, read_timeout: 0s, write_timeout: 0s, password: "` + redisPassword + `" }
server: { listen: "8080", shutdown_grace: 0s }
poll: { interval: 1s }
baseline: whenever
forecast: { window: 36h, trials: 5, confidence: 1.5, min_samples: 0 }
status_update: { every: 1m }
scope: { warn_growth: -1 }
commands: { allow: ["", "jane"] }
queue: { workers: 0, max_deliveries: 0, reclaim_idle: 0s, max_length: 10 }
log: { level: loud, format: xml }
github:
  base_url: "ftp://github"
  token: "` + ghToken + `"
  app: { id: 0, installation_id: -1 }
  previous_webhook_secret: "` + hookSecret + `"
  repos: [acme, acme/api, ACME/API]
  tracking_label: ""
  write_interval: 0s
links:
  - { github: "acme/web#milestone=v1", jira: "nope" }
`
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"run", "check", "report"} {
		cmd := exec.Command(slipwatchBin, sub, "--config", path)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code != 2 {
			t.Errorf("%s: exit %d (%v), want 2", sub, code, err)
		}
		if code != 2 {
			t.Errorf("%s: exit %d, want 2:\n%s", sub, code, out)
		}
		text := string(out)
		for _, key := range []string{"timezone", "redis.url", "redis.prefix", "redis.master_name", "redis.dial_timeout",
			"redis.read_timeout", "redis.write_timeout", "server.listen", "server.shutdown_grace", "poll.interval",
			"baseline", "forecast.window", "forecast.trials", "forecast.confidence", "forecast.min_samples",
			"status_update.every", "scope.warn_growth", "commands.allow[0]", "queue.workers", "queue.max_deliveries",
			"queue.reclaim_idle", "queue.max_length", "log.level", "log.format", "github.base_url", "github:",
			"github.app.id", "github.app.installation_id", "github.repos[0]", "github.repos[2]",
			"github.tracking_label", "github.previous_webhook_secret", "github.write_interval"} {
			if !strings.Contains(text, key) {
				t.Errorf("%s: no line names %s", sub, key)
			}
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s: output shows a configured secret (%.6s…)", sub, s)
			}
		}
		if sub == "run" {
			t.Logf("slipwatch run with every field wrong: exit %d, %d lines", code, strings.Count(text, "\n"))
		}
	}

	// Values of the wrong type are reported first, with their lines, and
	// hide nothing: what validation finds in the rest follows.
	types := "redis: { write_timeout: soon, password: \"" + redisPassword + "\" }\nqueue: { workers: many }\ndry_run: maybe\nnot_a_key: 1\nlog: { level: loud }\n"
	if err := os.WriteFile(path, []byte(types), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(slipwatchBin, "run", "--config", path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Errorf("wrong types: exit %d, want 2:\n%s", code, out)
	}
	for _, key := range []string{"redis.write_timeout", "queue.workers", "dry_run", "not_a_key", "log.level", "configure at least one tracker"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("wrong types: no line names %s:\n%s", key, out)
		}
	}
	if strings.Contains(string(out), redisPassword) {
		t.Error("wrong types: output shows the Redis password")
	}
}
