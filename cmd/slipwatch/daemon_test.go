package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/redistest"
)

var redisSrv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, func(s *redistest.Server) { redisSrv = s }) }

func sandbox(t *testing.T) (*githubtest.Server, string) {
	t.Helper()
	if redisSrv == nil {
		t.Skip("no redis-server (see the warning above)")
	}
	gh := apispec.GitHubSandbox(t, nil)
	due := time.Now().UTC().AddDate(0, 0, 30).Truncate(24 * time.Hour).Add(8 * time.Hour)
	ms := gh.AddMilestone("acme/api", githubtest.Milestone{Title: "v2.0", DueOn: due})
	for i := range 6 {
		is := githubtest.Issue{Title: fmt.Sprint("task ", i), Milestone: ms, CreatedAt: time.Now().AddDate(0, 0, -20)}
		if i < 2 {
			is.ClosedAt = time.Now().AddDate(0, 0, -i-1)
		}
		gh.AddIssue("acme/api", is)
	}
	// The milestone the team delivered before: enough history for a
	// forecast (slipwatch says nothing about it, delivered before it came).
	before := gh.AddMilestone("acme/api", githubtest.Milestone{Title: "v1.9", State: "closed", ClosedAt: time.Now().AddDate(0, 0, -2)})
	for i := range 12 {
		gh.AddIssue("acme/api", githubtest.Issue{Title: fmt.Sprint("v1.9 task ", i), Milestone: before, CreatedAt: time.Now().AddDate(0, 0, -40),
			ClosedAt: time.Now().AddDate(0, 0, -2*i-3)})
	}
	cfg := fmt.Sprintf(`redis: { url: "redis://%s/0", prefix: "%s" }
server: { listen: "127.0.0.1:0", shutdown_grace: 5s }
log: { format: text }
github:
  base_url: %s
  token: ${GITHUB_TOKEN}
  webhook_secret: hooksecret
  repos: [acme/api]
`, redisSrv.Addr, redisSrv.Prefix(t), gh.URL)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return gh, path
}

// TestCheck: one pass prints the table and posts nothing; with --apply it
// posts the status and the commitment once.
func TestCheck(t *testing.T) {
	t.Parallel()
	gh, cfg := sandbox(t)
	bin := buildBinary(t, "")
	env := []string{"GITHUB_TOKEN=ghp_check_token"}
	stdout, stderr, code := runBinary(t, bin, env, "check", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"DELIVERABLE", "CHANCE", "acme/api milestone v2.0", "on_track", "2/6",
		"acme/api milestone v2.0: ", "likely by the promised ", "; this milestone gets "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if _, _, writes := gh.Counts(); writes != 0 {
		t.Fatalf("check without --apply wrote %d times", writes)
	}
	for range 2 {
		if _, stderr, code := runBinary(t, bin, env, "check", "--config", cfg, "--apply"); code != 0 {
			t.Fatalf("--apply: exit %d: %s", code, stderr)
		}
	}
	var comments int
	for _, is := range gh.Issues("acme/api") {
		if strings.HasPrefix(is.Title, "Delivery tracking:") {
			comments += len(gh.Comments("acme/api", is.Number))
		}
	}
	if comments != 2 {
		t.Errorf("two --apply passes left %d comments, want 2 (status and committed, once)", comments)
	}
	report, _, code := runBinary(t, bin, env, "report", "--config", cfg)
	if code != 0 || !strings.Contains(report, "github acme/api") || !strings.Contains(report, "PROMISES") {
		t.Errorf("report (exit %d):\n%s", code, report)
	}
	if strings.Contains(stderr, "ghp_check_token") {
		t.Error("the token leaked into the log")
	}
}

// TestRunServesAndStopsOnSIGTERM runs the daemon as users do and checks
// the probes, a signed webhook and a clean exit.
func TestRunServesAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	_, cfg := sandbox(t)
	addr := freeAddr(t)
	d := startDaemon(t, cfg, addr, "GITHUB_TOKEN=ghp_run_token", "SLIPWATCH_SERVER_LISTEN="+addr)
	cmd, stderr := d.cmd, &d.stderr
	get := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(20 * time.Second)
	for get("/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait() // the log is complete, and no longer written
			t.Fatalf("never ready; log:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c := get("/healthz"); c != http.StatusOK {
		t.Errorf("/healthz = %d", c)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	_, _ = metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"slipwatch_comments_posted_total{kind=\"slipped\"} 0", "slipwatch_comments_posted_total{kind=\"digest\"} 0", "slipwatch_webhook_deliveries_total", `slipwatch_redis_duration_seconds_count{op="ping"}`} {
		if !strings.Contains(metrics.String(), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// The API gives each open promise its chance and what explains it, in
	// the status comment's words, once the first poll has reconciled it.
	var api struct {
		Commitments []struct {
			Title, Chance, Why string
		} `json:"commitments"`
	}
	v2 := func() (chance, why string) {
		for _, c := range api.Commitments {
			if c.Title == "v2.0" {
				return c.Chance, c.Why
			}
		}
		return "", ""
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/api/v1/commitments"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&api)
			resp.Body.Close()
		}
		if c, _ := v2(); c != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if chance, why := v2(); !strings.Contains(chance, "likely by the promised ") || !strings.HasPrefix(why, "this milestone gets ") {
		t.Errorf("/api/v1/commitments: %+v, want v2.0's chance and why", api.Commitments)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/github", strings.NewReader(`{"zen":"x"}`))
	req.Header.Set("X-GitHub-Event", "ping")
	req.Header.Set("X-GitHub-Delivery", "d-1")
	req.Header.Set("X-Hub-Signature-256", "sha256=00")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad signature: %v %v", resp.StatusCode, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("did not stop within the grace period\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "ghp_run_token") || strings.Contains(stderr.String(), "hooksecret") {
		t.Error("a secret leaked into the log")
	}
}

// TestCheckJiraBesideGitHub: one check lists Jira versions and epics beside
// GitHub milestones, read through the real connectors; --apply gives each
// its thread once, with markers Jira readers do not see.
func TestCheckJiraBesideGitHub(t *testing.T) {
	t.Parallel()
	_, cfg := sandbox(t)
	jira := apispec.JiraSandbox(t, jiratest.Options{Cloud: true, Index: true, Fail: t.Errorf})
	jira.RequireAuth("Basic " + base64.StdEncoding.EncodeToString([]byte("bot@example.com:jira_check_token")))
	now := time.Now().UTC()
	day := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
	project := map[string]any{"id": "10000", "key": "PLAT"}
	version := jira.AddVersion("PLAT", jiratest.Version{Name: "2.0", ReleaseDate: day(30), ProjectID: "10000"})
	jira.AddIssue("PLAT-1", map[string]any{"project": project, "summary": "Checkout v2", "issuetype": map[string]any{"name": "Epic"},
		"duedate": day(40), "created": now.AddDate(0, 0, -30).Format("2006-01-02T15:04:05.000-0700"),
		"status": map[string]any{"name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}}})
	for i := range 4 {
		fields := map[string]any{"project": project, "summary": fmt.Sprint("task ", i), "issuetype": map[string]any{"name": "Task"},
			"fixVersions": []any{map[string]any{"id": version, "name": "2.0"}}, "parent": map[string]any{"key": "PLAT-1"},
			"created": now.AddDate(0, 0, -20).Format("2006-01-02T15:04:05.000-0700"),
			"status":  map[string]any{"name": "To Do", "statusCategory": map[string]any{"key": "new"}}}
		if i == 0 {
			fields["resolutiondate"] = now.AddDate(0, 0, -2).Format("2006-01-02T15:04:05.000-0700")
			fields["status"] = map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}}
		}
		jira.AddIssue(fmt.Sprint("PLAT-", 10+i), fields)
	}
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, `jira:
  base_url: %s
  auth: { email: bot@example.com, api_token: ${JIRA_API_TOKEN} }
  projects: [PLAT]
`, jira.URL)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	bin := buildBinary(t, "")
	env := []string{"GITHUB_TOKEN=ghp_check_token", "JIRA_API_TOKEN=jira_check_token"}
	stdout, stderr, code := runBinary(t, bin, env, "check", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"acme/api milestone v2.0", "PLAT version 2.0", "PLAT-1 Checkout v2", "1/4"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if n := jira.Writes(); n != 0 {
		t.Fatalf("check without --apply wrote %d times to Jira", n)
	}
	for range 2 {
		if _, stderr, code := runBinary(t, bin, env, "check", "--config", cfg, "--apply"); code != 0 {
			t.Fatalf("--apply: exit %d: %s", code, stderr)
		}
	}
	if n := len(jira.Created()); n != 1 {
		t.Errorf("%d issues created, want 1: the version's tracking issue", n)
	}
	threads := []string{"PLAT-1"}
	for _, is := range jira.Issues() {
		if strings.HasPrefix(is.Fields["summary"].(string), "Delivery tracking:") {
			threads = append(threads, is.Key)
		}
	}
	for _, key := range threads {
		cs := jira.Comments(key)
		if len(cs) != 2 {
			t.Errorf("%s: %d comments after two --apply passes, want 2 (status and committed, once)", key, len(cs))
		}
		for _, c := range cs {
			if c.Marker == "" || strings.Contains(c.Body, "slipwatch:") {
				t.Errorf("%s: comment %s: marker %q, body %q; want the marker in the property only", key, c.ID, c.Marker, c.Body)
			}
		}
	}
	report, _, code := runBinary(t, bin, env, "report", "--config", cfg)
	if code != 0 || !strings.Contains(report, "github acme/api") || !strings.Contains(report, "jira PLAT") {
		t.Errorf("report lacks a team (exit %d):\n%s", code, report)
	}
	if strings.Contains(stderr, "jira_check_token") {
		t.Error("the Jira token leaked into the log")
	}
}

// freeAddr is a loopback address with nothing listening on it, for a
// daemon to take.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// daemon is `slipwatch run` as a user starts it, serving on addr.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	stderr bytes.Buffer // read only once the process has exited
}

// startDaemon runs the binary with config cfg and env (PATH added); the
// test's end kills it if stop did not.
func startDaemon(t *testing.T, cfg, addr string, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, addr: addr, cmd: exec.Command(buildBinary(t, ""), "run", "--config", cfg)}
	d.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.cmd.Process.Kill() })
	return d
}

// waitUntil polls cond for 30 s; then the test fails with the daemon's log.
func (d *daemon) waitUntil(what string, cond func() bool) {
	d.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = d.cmd.Process.Kill()
			_ = d.cmd.Wait()
			d.t.Fatalf("%s never happened; log:\n%s", what, d.stderr.String())
		}
	}
}

// get is the body of GET path, "" when the daemon does not answer.
func (d *daemon) get(path string) string {
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// stop sends SIGTERM, wants a clean exit, and none of secrets in the log.
func (d *daemon) stop(secrets ...string) {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		d.t.Fatalf("exit after SIGTERM: %v\n%s", err, d.stderr.String())
	}
	for _, s := range secrets {
		if strings.Contains(d.stderr.String(), s) {
			d.t.Errorf("a secret (%d characters) leaked into the log", len(s))
		}
	}
}
