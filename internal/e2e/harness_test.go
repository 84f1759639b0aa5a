package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/redistest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// The configured secrets. Every byte the daemon prints is searched for
// them when its test ends.
const (
	ghToken       = "ghp_e2eToken0000SecretValue7f3a"
	hookSecret    = "e2e-webhook-secret-9f8e7d6c"
	redisPassword = "e2e-redis-password-5c4b3a21"

	jiraEmail      = "slipwatch@example.com"
	jiraAPIToken   = "ATATT3xE2eJiraApiToken0000a1b2c3"   // Cloud basic auth
	jiraPAT        = "NjE2e2eJiraPersonalAccessToken4d5e" // Data Center Bearer
	jiraHookSecret = "e2e-jira-webhook-secret-8a7b6c5d"   // signs X-Hub-Signature
	jiraHookToken  = "e2e-jira-webhook-token-3e4f5a6b"    // Data Center ?token=
)

// jiraBasic is the Authorization value Jira Cloud gets: the API token in
// base64 is as secret as the token.
var jiraBasic = base64.StdEncoding.EncodeToString([]byte(jiraEmail + ":" + jiraAPIToken))

var secrets = []string{ghToken, hookSecret, redisPassword, jiraAPIToken, jiraPAT, jiraHookSecret, jiraHookToken, jiraBasic}

const (
	repoName = "acme/api"
	bot      = "slipwatch-bot" // githubtest's token owner
	lead     = "lead-jane"     // in commands.allow
	stranger = "mallory"       // no permission on the repo
)

// world is one deployment: a Redis, a sandbox GitHub (or, with
// options.jira, a sandbox Jira instead) and a config file.
type world struct {
	t      *testing.T
	redis  *redistest.Server
	gh     *githubtest.Server // nil with options.jira
	jira   *jiratest.Server   // nil unless options.jira
	ed     *jiraEdition
	config string
	env    []string
}

// options change the config a world writes.
type options struct {
	extra   string       // more YAML at the top level
	grace   string       // server.shutdown_grace
	reclaim string       // queue.reclaim_idle: also the work deadline and half the claim TTL
	jira    *jiraEdition // a sandbox Jira of this edition and the jira: section instead of GitHub
	repos   []string     // GitHub repos watched besides repoName
}

func newWorld(t *testing.T, o options) *world {
	t.Helper()
	rs, err := redistest.StartWith(redistest.Options{Password: redisPassword})
	if errors.Is(err, redistest.ErrNoServer) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Stop)
	if o.grace == "" {
		o.grace = "5s"
	}
	if o.reclaim == "" {
		o.reclaim = "2s"
	}
	// Short intervals so the suite runs in CI: a poll every 10 s (the
	// minimum), dead replicas' work taken over after 2 s, and
	// writes 20 ms apart (the sandbox has no secondary limits). Polls
	// stay every 10 s while webhooks flow (poll.max_interval): the
	// scripts lean on the next poll to catch what a failed or killed
	// delivery's work left undone, within their 45 s.
	cfg := fmt.Sprintf(`timezone: UTC
redis:
  url: "redis://%s/0"
  password: "${E2E_REDIS_PASSWORD}"
  prefix: "e2e:"
  dial_timeout: 500ms
  read_timeout: 1s
  write_timeout: 1s
server: { listen: "127.0.0.1:0", shutdown_grace: %s }
poll: { interval: 10s, max_interval: 10s }
status_update: { every: 0 }
queue: { workers: 4, reclaim_idle: %s, max_deliveries: 1000 }
commands: { allow: ["github:%s"] }
log: { level: debug, format: json }
%s`, rs.Addr, o.grace, o.reclaim, lead, o.extra)
	w := &world{t: t, redis: rs, ed: o.jira, env: []string{"E2E_REDIS_PASSWORD=" + redisPassword}}
	if o.jira != nil {
		// A Jira world watches Jira only: its threads are all there is.
		cfg += w.addJira(*o.jira)
	} else {
		cfg += w.addGitHub(o.repos...)
	}
	path := filepath.Join(t.TempDir(), "slipwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w.config = path
	return w
}

// addGitHub starts the world's sandbox GitHub and returns the github:
// section of the config, watching repoName and more.
func (w *world) addGitHub(more ...string) string {
	w.gh = apispec.GitHubSandbox(w.t, nil)
	w.env = append(w.env, "E2E_GITHUB_TOKEN="+ghToken, "E2E_WEBHOOK_SECRET="+hookSecret)
	return fmt.Sprintf(`
github:
  base_url: "%s"
  token: "${E2E_GITHUB_TOKEN}"
  webhook_secret: "${E2E_WEBHOOK_SECRET}"
  repos: [%s]
  write_interval: 20ms
`, w.gh.URL, strings.Join(append([]string{repoName}, more...), ", "))
}

// rdb is a client of the world's Redis.
func (w *world) rdb() *redis.Client { return w.redis.Client(w.t) }

// daemon is one `slipwatch run` process, restartable; out keeps the
// output of every run.
type daemon struct {
	t    *testing.T
	w    *world
	name string
	out  *output

	mu     sync.Mutex
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
	state  *os.ProcessState
	runs   int
}

// start runs a daemon and waits until it listens and is ready.
func (w *world) start(name string) *daemon {
	w.t.Helper()
	d := &daemon{t: w.t, w: w, name: name, out: &output{}}
	w.t.Cleanup(func() {
		d.kill()
		for _, s := range secrets {
			if bytes.Contains(d.out.bytes(), []byte(s)) {
				w.t.Errorf("%s printed a configured secret (%.6s…)", name, s)
			}
		}
		if w.t.Failed() {
			w.t.Logf("%s output (last 60 lines):\n%s", name, d.out.tail(60))
		}
		if dir := os.Getenv("E2E_LOGDIR"); dir != "" {
			// The whole output, for reading a failure at leisure.
			_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(w.t.Name(), "/", "_")+"-"+name+".log"), d.out.bytes(), 0o644)
		}
	})
	d.run()
	return d
}

func (d *daemon) run() {
	d.t.Helper()
	cmd := exec.Command(slipwatchBin, "run", "--config", d.w.config)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + d.t.TempDir()}, d.w.env...)
	listening := make(chan string, 1)
	lw := &lineWriter{out: d.out, onLine: func(line []byte) {
		var l struct{ Msg, Addr string }
		if json.Unmarshal(line, &l) == nil && l.Msg == "listening" {
			select {
			case listening <- l.Addr:
			default:
			}
		}
	}}
	cmd.Stdout, cmd.Stderr = lw, lw
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("start %s: %v", d.name, err)
	}
	exited := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.exited, d.state, d.addr = cmd, exited, nil, ""
	d.runs++
	d.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		d.mu.Lock()
		d.state = cmd.ProcessState
		d.mu.Unlock()
		close(exited)
	}()
	select {
	case addr := <-listening:
		d.mu.Lock()
		d.addr = addr
		d.mu.Unlock()
	case <-exited:
		d.t.Fatalf("%s exited at start:\n%s", d.name, d.out.tail(30))
	case <-time.After(15 * time.Second):
		d.t.Fatalf("%s did not listen within 15s:\n%s", d.name, d.out.tail(30))
	}
	waitFor(d.t, 15*time.Second, d.name+" ready", func() bool { return d.get("/readyz") == http.StatusOK })
}

// kill sends SIGKILL (no cleanup, no drain) and waits for the exit.
func (d *daemon) kill() {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// restart is kill -9 and run again.
func (d *daemon) restart() {
	d.kill()
	d.run()
}

// terminate sends SIGTERM and returns the exit code and how long the exit
// took (-1 if it did not exit within limit, after which it is killed).
func (d *daemon) terminate(limit time.Duration) (int, time.Duration) {
	d.mu.Lock()
	cmd, exited := d.cmd, d.exited
	d.mu.Unlock()
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(limit):
		d.kill()
		return -1, time.Since(start)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state.ExitCode(), time.Since(start)
}

func (d *daemon) alive() bool {
	d.mu.Lock()
	exited := d.exited
	d.mu.Unlock()
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func (d *daemon) url(path string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return "http://" + d.addr + path
}

var client = &http.Client{Timeout: 15 * time.Second}

// get returns the status of GET path, 0 when the daemon does not answer.
func (d *daemon) get(path string) int {
	resp, err := client.Get(d.url(path))
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// getBody returns the body of GET path.
func (d *daemon) getBody(path string) (int, []byte) {
	resp, err := client.Get(d.url(path))
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// delivery is one webhook as GitHub sends it.
type delivery struct {
	event, id string
	body      []byte
}

func newDelivery(event string, payload any) delivery {
	body, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return delivery{event: event, id: newID(), body: body}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// request builds the POST GitHub would send, signed with the real secret.
func (d *daemon) request(dl delivery) *http.Request {
	req, err := http.NewRequest(http.MethodPost, d.url("/webhooks/github"), bytes.NewReader(dl.body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/e2e")
	req.Header.Set("X-GitHub-Event", dl.event)
	req.Header.Set("X-GitHub-Delivery", dl.id)
	req.Header.Set("X-Hub-Signature-256", sign(hookSecret, dl.body))
	return req
}

// send delivers dl and returns the status and body (0 when the daemon
// could not be reached).
func (d *daemon) send(dl delivery) (int, string) {
	return do(d.request(dl))
}

func do(req *http.Request) (int, string) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func repoPayload() map[string]any { return map[string]any{"full_name": repoName} }

// milestoneHook is the milestone event GitHub sends on a change.
func milestoneHook(action string, number int) delivery {
	return newDelivery("milestone", map[string]any{
		"action": action, "milestone": map[string]any{"number": number},
		"repository": repoPayload(), "sender": map[string]any{"login": "octocat"},
	})
}

// commentHook is the issue_comment event of a comment on a milestone's
// tracking issue.
func commentHook(issue, milestone int, body string) delivery {
	return newDelivery("issue_comment", map[string]any{
		"action":  "created",
		"issue":   map[string]any{"number": issue, "milestone": map[string]any{"number": milestone}},
		"comment": map[string]any{"body": body}, "repository": repoPayload(),
		"sender": map[string]any{"login": "octocat"},
	})
}

// newMilestone adds an open milestone due in days, with n open issues (no
// closed ones: no throughput, so no forecast and no at_risk).
func (w *world) newMilestone(title string, days, n int) int {
	due := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, days).Add(17 * time.Hour)
	ms := w.gh.AddMilestone(repoName, githubtest.Milestone{Title: title, DueOn: due})
	for i := range n {
		w.gh.AddIssue(repoName, githubtest.Issue{Title: fmt.Sprintf("%s task %d", title, i), Milestone: ms, CreatedAt: time.Now().AddDate(0, 0, -3)})
	}
	return ms
}

// tracking returns the tracking issues slipwatch opened for milestone ms.
func (w *world) tracking(ms int) []int {
	var out []int
	for _, is := range w.gh.Issues(repoName) {
		if is.Milestone == ms && is.User == bot && slices.Contains(is.Labels, "slipwatch") {
			out = append(out, is.Number)
		}
	}
	return out
}

// thread is what slipwatch wrote on one milestone's tracking issue(s).
type thread struct {
	issues   int                              // tracking issues it spans
	events   map[reconcile.EventKind][]string // kind → event IDs, one per comment
	statuses int                              // comments with a status marker
	bodies   []string                         // every comment on the thread
}

func (w *world) thread(ms int) thread {
	nums := w.tracking(ms)
	th := thread{issues: len(nums), events: map[reconcile.EventKind][]string{}}
	for _, n := range nums {
		for _, c := range w.gh.Comments(repoName, n) {
			th.bodies = append(th.bodies, c.Body)
			if c.User != bot {
				continue
			}
			for _, m := range reconcile.ParseMarkers(c.Body) {
				switch m.Kind {
				case reconcile.MarkerEvent:
					th.events[m.EventKind] = append(th.events[m.EventKind], m.ID)
				case reconcile.MarkerStatus:
					th.statuses++
				}
			}
		}
	}
	return th
}

// count is how many comments of a kind a thread holds: distinct events.
func (th thread) count(kind reconcile.EventKind) int {
	seen := map[string]bool{}
	for _, id := range th.events[kind] {
		seen[id] = true
	}
	return len(seen)
}

// expect is the comments a scenario expects: milestone → kind → count.
type expect map[int]map[reconcile.EventKind]int

func (e expect) add(ms int, kind reconcile.EventKind, n int) {
	if e[ms] == nil {
		e[ms] = map[reconcile.EventKind]int{}
	}
	e[ms][kind] += n
}

// figures are a scenario's result: comments expected / posted /
// duplicated / missing, plus threads with other than one status comment
// or one tracking issue.
type figures struct {
	Expected, Posted, Duplicated, Missing int
	BadThreads                            []string
	Dups                                  []string // "milestone 3: slipped 1a2b…" per extra comment
}

func (f figures) String() string {
	s := fmt.Sprintf("expected/posted/duplicated/missing = %d/%d/%d/%d", f.Expected, f.Posted, f.Duplicated, f.Missing)
	if len(f.BadThreads) > 0 {
		s += fmt.Sprintf("; bad threads: %v", f.BadThreads)
	}
	if len(f.Dups) > 0 {
		s += fmt.Sprintf("; duplicates: %v", f.Dups)
	}
	return s
}

func (f figures) ok() bool {
	return f.Posted == f.Expected && f.Duplicated == 0 && f.Missing == 0 && len(f.BadThreads) == 0
}

// tally counts event comments on every milestone's thread against e.
// Posted counts distinct events; a second comment for the same event ID is
// a duplicate; an expected comment not there is missing.
func (w *world) tally(e expect) figures {
	var f figures
	for ms, kinds := range e {
		f.add(fmt.Sprintf("milestone %d", ms), w.thread(ms), kinds)
	}
	return f
}

// add counts one thread, named name, against the comments it should
// hold (kind → count).
func (f *figures) add(name string, th thread, want map[reconcile.EventKind]int) {
	if th.issues != 1 {
		f.BadThreads = append(f.BadThreads, fmt.Sprintf("%s has %d tracking issues", name, th.issues))
	}
	if th.statuses != 1 {
		f.BadThreads = append(f.BadThreads, fmt.Sprintf("%s has %d status comments", name, th.statuses))
	}
	for kind, ids := range th.events {
		n := th.count(kind)
		f.Posted += n
		f.Duplicated += len(ids) - n
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				f.Dups = append(f.Dups, fmt.Sprintf("%s: %s %s", name, kind, id))
			}
			seen[id] = true
		}
	}
	for kind, n := range want {
		f.Expected += n
		f.Missing += max(0, n-th.count(kind))
	}
}

// converged reports whether every expected comment is there (duplicates
// and extras are judged by tally at the end).
func (w *world) converged(e expect, ms int) bool {
	th := w.thread(ms)
	if th.statuses == 0 {
		return false
	}
	for kind, want := range e[ms] {
		if th.count(kind) < want {
			return false
		}
	}
	return true
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(timeout, cond) {
		t.Fatalf("%s: not within %s", what, timeout)
	}
}

func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// output collects a process's output safely across goroutines.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.buf.Bytes())
}

// lines returns the output's JSON log lines decoded.
func (o *output) lines() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(o.bytes()))
	sc.Buffer(make([]byte, 0, 1<<20), 4<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (o *output) tail(n int) string {
	lines := strings.Split(strings.TrimRight(string(o.bytes()), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lineWriter passes output through and calls onLine per complete line.
type lineWriter struct {
	out     io.Writer
	onLine  func([]byte)
	mu      sync.Mutex
	partial []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.out.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.onLine(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

// metric returns the sum of a counter's samples whose labels contain
// every one of match, from /metrics.
func (d *daemon) metric(name string, match ...string) float64 {
	_, body := d.getBody("/metrics")
	var sum float64
	for line := range strings.SplitSeq(string(body), "\n") {
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(rest, m)
		}
		if !ok {
			continue
		}
		var v float64
		if i := strings.LastIndexByte(rest, ' '); i >= 0 {
			_, _ = fmt.Sscan(rest[i+1:], &v)
		}
		sum += v
	}
	return sum
}

// defaultSettle is slip.settle's default.
const defaultSettle = config.DefaultSlipSettle

// ageTarget waits until the record of key holds due date date, then
// moves back by d when it first saw that date, as if d had passed: the
// daemon's clock is the real one, and it announces a slip only once a new
// date has stood for slip.settle (defaultSettle: the worlds leave it
// unset). The version is bumped as the store's own CAS does, so a save
// racing with this one is redone on top of it.
func (w *world) ageTarget(key, date string, d time.Duration) {
	w.t.Helper()
	ctx := context.Background()
	rk := "e2e:rec:{" + key + "}"
	rdb := w.rdb()
	var err error
	aged := eventually(30*time.Second, func() bool {
		err = rdb.Watch(ctx, func(tx *redis.Tx) error {
			data, err := tx.HGet(ctx, rk, "data").Bytes()
			if err != nil {
				return fmt.Errorf("record %s: %w", key, err)
			}
			var rec reconcile.Record
			if err := json.Unmarshal(data, &rec); err != nil {
				return fmt.Errorf("record %s: %w", key, err)
			}
			last := len(rec.Targets) - 1
			if last < 0 || rec.Targets[last].Date.String() != date {
				return fmt.Errorf("record %s: due date not yet %s: %v", key, date, rec.Targets)
			}
			rec.Targets[last].At = rec.Targets[last].At.Add(-d)
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, rk, "data", b)
				p.HIncrBy(ctx, rk, "v", 1)
				return nil
			})
			return err
		}, rk)
		return err == nil
	})
	if !aged {
		w.t.Fatalf("age the due date of %s: %v", key, err)
	}
}

// flushAll empties the world's Redis, as an operator's mistake would.
func (w *world) flushAll() {
	w.t.Helper()
	if err := w.rdb().FlushAll(context.Background()).Err(); err != nil {
		w.t.Fatal(err)
	}
}
