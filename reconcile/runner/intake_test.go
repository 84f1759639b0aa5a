package runner

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/connectors/jira"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/internal/apispec"
	"github.com/slipwatch/slipwatch/internal/redistest"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// The intake tests drive the webhook intake as a deployment runs it: the
// runner's handler over the real GitHub and Jira connectors and a real
// Redis store, served by net/http on a loopback port. Where an attacker
// does what no well-behaved client would (announce a body and not send
// it), the request is written by hand on a raw connection.

const (
	intakeSecret    = "intake-webhook-secret"
	intakeJiraEmail = "slipwatch@example.com"
	intakeJiraToken = "intake-jira-token"
	// answerWithin is how long a test waits for an answer that must come
	// without the body: far longer than it takes, far shorter than the
	// server's 15 s read timeout that the old code waited out.
	answerWithin = 5 * time.Second
)

func intakeFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signIntake(body []byte) string {
	mac := hmac.New(sha256.New, []byte(intakeSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// intake is one served handler and what a test looks at behind it.
type intake struct {
	addr   string // host:port
	rdb    redis.UniversalClient
	prefix string
	jira   *jiratest.Server
	reg    *prometheus.Registry

	// reached counts requests that got to their body (their first read
	// returned) or were answered without reading it; done counts handlers
	// that returned.
	reached, done atomic.Int64
}

// newIntake serves a runner over the real connectors and a store on rdb
// under prefix; edit tunes the runner's options.
func newIntake(t *testing.T, rdb redis.UniversalClient, prefix string, edit func(*Options)) *intake {
	t.Helper()
	in := &intake{rdb: rdb, prefix: prefix, reg: prometheus.NewRegistry()}
	gh, err := github.New(&config.GitHub{
		Token: "ghp_intake", WebhookSecret: intakeSecret, Repos: []string{"Codertocat/Hello-World"},
	}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in.jira = apispec.JiraSandbox(t, jiratest.Options{Cloud: true})
	in.jira.RequireAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(intakeJiraEmail+":"+intakeJiraToken)))
	// The issue comment_created.cloud.json is on (id 10040).
	in.jira.AddIssue("TES-41", map[string]any{
		"project": map[string]any{"id": "10000", "key": "TES"}, "issuetype": map[string]any{"name": "Task"},
		"labels": []string{"slipwatch"}, "fixVersions": []map[string]any{{"id": "10001", "name": "v2"}},
	})
	in.jira.SetIssueID("TES-41", "10040")
	in.jira.SetProject("11315", "PLAT") // jira-version_updated.json's project
	jc, err := jira.New(&config.Jira{
		BaseURL: in.jira.URL, Deployment: config.JiraCloud,
		Auth:          config.Auth{Email: intakeJiraEmail, APIToken: intakeJiraToken},
		WebhookSecret: intakeSecret, Projects: []string{"PLAT", "TES"},
		Deliverables: config.Deliverables{Versions: true, JQL: config.DefaultJiraJQL}, TrackingLabel: "slipwatch",
	}, jira.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(rdb, prefix, store.Options{})
	opt := Options{Owner: "intake", Metrics: NewMetrics(in.reg)}
	if edit != nil {
		edit(&opt)
	}
	r, err := New([]Connector{gh, jc}, st, reconcile.Settings{Location: time.UTC}, opt)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewServer(in.count(r.Handler(in.reg)))
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	in.addr = ln.Addr().String()
	return in
}

// count wraps the handler to tell the test when each request has got as
// far as it will without more bytes from the client.
func (in *intake) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var once sync.Once
		mark := func() { once.Do(func() { in.reached.Add(1) }) }
		// A shallow copy: net/http still sees its own body when it decides
		// whether to read what the handler left.
		r = r.WithContext(r.Context())
		r.Body = &firstRead{ReadCloser: r.Body, mark: mark}
		defer in.done.Add(1)
		defer mark()
		next.ServeHTTP(w, r)
	})
}

type firstRead struct {
	io.ReadCloser
	mark func()
}

func (f *firstRead) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	f.mark()
	return n, err
}

// reach waits until a counter reaches n; the deadline only catches a
// hang.
func reach(t *testing.T, what string, c *atomic.Int64, n int64) {
	t.Helper()
	waitFor(t, 2*time.Minute, fmt.Sprintf("%s: %d", what, n), func() bool { return c.Load() >= n })
}

func githubHeaders(event, id, signature string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/044aadd")
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", id)
	if signature != "" {
		h.Set("X-Hub-Signature-256", signature)
	}
	return h
}

func jiraHeaders(id, signature string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Atlassian Webhook HTTP Client")
	if id != "" {
		h.Set("X-Atlassian-Webhook-Identifier", id)
	}
	if signature != "" {
		h.Set("X-Hub-Signature", signature)
	}
	return h
}

// open writes a request's head announcing contentLength bytes, then only
// sent, and leaves the connection open (closed when t ends).
func (in *intake) open(t *testing.T, path string, h http.Header, contentLength int64, sent string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", in.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: slipwatch.example.com\r\n", path)
	_ = h.Write(&b)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", contentLength, sent)
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads the response on c, failing t unless it comes within
// answerWithin.
func answer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(answerWithin))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within %s while the body is still unsent: %v", answerWithin, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// post sends a complete delivery as a sender would.
func (in *intake) post(t *testing.T, path string, h http.Header, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+in.addr+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// liveHeap is the heap the last full collection kept.
func liveHeap() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

const mib = 1 << 20

// refusals is slipwatch_webhook_refusals_total by "tracker/reason"; every
// series the runner starts at zero is there.
func (in *intake) refusals(t *testing.T) map[string]float64 {
	t.Helper()
	fams, err := in.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "slipwatch_webhook_refusals_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			out[l["tracker"]+"/"+l["reason"]] = m.GetCounter().GetValue()
		}
	}
	return out
}

// 300 connections that each announce a 1 MiB delivery and send one byte
// must not cost the daemon their announced sizes: the chart gives it
// 256 MiB. Before the fix each took a 1 MiB buffer (about 300 MiB).
func TestIntakeSlowBodiesLeaveTheHeapNearIdle(t *testing.T) {
	needRedis(t)
	// Not parallel: it measures this process's live heap.
	in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
	ping := intakeFixture(t, "ping.json")
	// A real delivery first, so what the first one sets up for good (the
	// script, Redis connections) is in the baseline.
	if resp, body := in.post(t, "/webhooks/github", githubHeaders("ping", "warm-up", signIntake(ping)), ping); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("warm-up delivery: %d %q", resp.StatusCode, body)
	}
	idle := liveHeap()

	const conns = 300
	unchecked := "sha256=" + strings.Repeat("0", 64) // well formed; the body would fail it
	for i := range conns {
		in.open(t, "/webhooks/github", githubHeaders("ping", fmt.Sprintf("slow-%03d", i), unchecked), mib, "{")
	}
	reach(t, "requests at their body or answered", &in.reached, 1+conns)
	held := liveHeap()

	growth := held - idle
	t.Logf("live heap: %.1f MiB idle, %.1f MiB with %d connections each announcing 1 MiB and sending 1 byte: +%.1f MiB",
		float64(idle)/mib, float64(held)/mib, conns, float64(growth)/mib)
	if growth > 16*mib {
		t.Errorf("live heap grew by %.1f MiB for %d slow connections; want under 16 MiB", float64(growth)/mib, conns)
	}
}

// What the sender must get right is checked before the body is read, so
// a refusal comes while the body is still unsent, not after the server's
// read timeout.
func TestIntakeRefusesBeforeTheBody(t *testing.T) {
	needRedis(t)
	t.Parallel()
	in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
	wellFormed := "sha256=" + strings.Repeat("0", 64)
	tests := []struct {
		name          string
		path          string
		header        http.Header
		contentLength int64
		status        int
		reason        string
	}{
		{name: "GitHub: a body announced over the 1 MiB limit", path: "/webhooks/github",
			header: githubHeaders("milestone", "d-large", wellFormed), contentLength: 25*mib + 1,
			status: http.StatusRequestEntityTooLarge, reason: "larger than"},
		{name: "GitHub: no signature", path: "/webhooks/github",
			header: githubHeaders("milestone", "d-unsigned", ""), contentLength: 8000,
			status: http.StatusUnauthorized, reason: "missing X-Hub-Signature-256 header"},
		{name: "GitHub: a signature not sha256=<hex>", path: "/webhooks/github",
			header: githubHeaders("milestone", "d-sha1", "sha1="+strings.Repeat("0", 40)), contentLength: 8000,
			status: http.StatusUnauthorized, reason: "X-Hub-Signature-256 is not sha256=<hex>"},
		{name: "GitHub: a delivery ID over 128 characters", path: "/webhooks/github",
			header: githubHeaders("milestone", strings.Repeat("a", 129), wellFormed), contentLength: 8000,
			status: http.StatusBadRequest, reason: "X-GitHub-Delivery"},
		{name: "Jira: neither signature nor token", path: "/webhooks/jira",
			header: jiraHeaders("j-unsigned", ""), contentLength: 8000,
			status: http.StatusUnauthorized, reason: "missing X-Hub-Signature or token"},
		{name: "Jira: a body announced over the limit", path: "/webhooks/jira",
			header: jiraHeaders("j-large", wellFormed), contentLength: 2 * mib,
			status: http.StatusRequestEntityTooLarge, reason: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := in.open(t, tt.path, tt.header, tt.contentLength, "")
			resp, body := answer(t, c)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.reason) {
				t.Errorf("answer %d %q, want %d saying %q", resp.StatusCode, body, tt.status, tt.reason)
			}
		})
	}
}

// deliveryKeys are the dedupe keys the store holds under in's prefix,
// with the memory each takes in Redis.
func (in *intake) deliveryKeys(t *testing.T) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]int64{}
	iter := in.rdb.Scan(ctx, 0, in.prefix+"{q}:delivery:*", 100).Iterator()
	for iter.Next(ctx) {
		n, err := in.rdb.MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[iter.Val()] = n
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A signed delivery replayed under new delivery IDs is one delivery: the
// IDs are not signed, so anyone who saw one delivery could otherwise queue
// it again and again, and fill Redis with the IDs.
func TestIntakeReplaysUnderNewIDsAreDuplicates(t *testing.T) {
	needRedis(t)
	t.Parallel()
	in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
	for _, tc := range []struct{ event, file string }{{"ping", "ping.json"}, {"milestone", "milestone.closed.json"}} {
		body := intakeFixture(t, tc.file)
		got := map[string]int{}
		for i := range 50 {
			id := fmt.Sprintf("%08x-242f-11e5-81e1-%012x", i, len(tc.event)) // GUID-shaped, as GitHub's
			resp, text := in.post(t, "/webhooks/github", githubHeaders(tc.event, id, signIntake(body)), body)
			got[fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(text))]++
		}
		want := map[string]int{"202 queued": 1, "202 duplicate": 49}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s replayed 50 times under new IDs: %v, want %v", tc.event, got, want)
		}
	}
	n, err := in.rdb.XLen(context.Background(), in.prefix+"{q}:stream").Result()
	if err != nil || n != 1 {
		t.Errorf("stream holds %d entries (%v), want 1: the milestone once", n, err)
	}
	keys := in.deliveryKeys(t)
	var bytes int64
	for _, size := range keys {
		bytes += size
	}
	t.Logf("100 signed deliveries (2 bodies × 50 IDs): %d dedupe keys, %d bytes in Redis", len(keys), bytes)
	if len(keys) > 4 {
		t.Errorf("%d dedupe keys after 2 distinct deliveries, want at most 2 each: %v", len(keys), keys)
	}
	for k, size := range keys {
		if size > 512 {
			t.Errorf("dedupe key %.80s takes %d bytes in Redis, want at most 512", k, size)
		}
		ttl, err := in.rdb.PTTL(context.Background(), k).Result()
		if err != nil || ttl <= 0 || ttl > store.DedupeWindow {
			t.Errorf("dedupe key %.80s expires in %v (%v), want within %v", k, ttl, err, store.DedupeWindow)
		}
	}
}

// A delivery ID is a key in Redis for 72 hours: only a sane one is taken.
func TestIntakeDeliveryIDs(t *testing.T) {
	needRedis(t)
	t.Parallel()
	in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
	ping := intakeFixture(t, "ping.json")
	comment := intakeFixture(t, "comment_created.cloud.json")
	tests := []struct {
		name   string
		jira   bool
		id     string
		status int
	}{
		{name: "a GitHub GUID", id: "0b989ba4-242f-11e5-81e1-c7b6966d2516", status: http.StatusAccepted},
		{name: "128 printable characters", id: strings.Repeat("A~", 64), status: http.StatusAccepted},
		{name: "129 characters", id: strings.Repeat("b", 129), status: http.StatusBadRequest},
		{name: "a space", id: "0b989ba4 242f", status: http.StatusBadRequest},
		{name: "not ASCII", id: "0b989ba4-é", status: http.StatusBadRequest},
		{name: "Jira: 129 characters", jira: true, id: strings.Repeat("c", 129), status: http.StatusBadRequest},
		{name: "Jira: a tab", jira: true, id: "a\tb", status: http.StatusBadRequest},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A body of its own each, so no case is another's duplicate.
			var resp *http.Response
			var text string
			if tt.jira {
				body := []byte(strings.Replace(string(comment), `"timestamp": 1550286678321`, fmt.Sprintf(`"timestamp": %d`, 1550286678321+i), 1))
				resp, text = in.post(t, "/webhooks/jira", jiraHeaders(tt.id, signIntake(body)), body)
			} else {
				body := []byte(strings.Replace(string(ping), "Anything added dilutes everything else.", fmt.Sprintf("zen %d", i), 1))
				resp, text = in.post(t, "/webhooks/github", githubHeaders("ping", tt.id, signIntake(body)), body)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("answer %d %q, want %d", resp.StatusCode, text, tt.status)
			}
		})
	}

	// A 512 KiB ID is refused by the server before any handler runs.
	body := []byte(strings.Replace(string(ping), "Anything added dilutes everything else.", "huge", 1))
	c := in.open(t, "/webhooks/github", githubHeaders("ping", strings.Repeat("d", 512<<10), signIntake(body)), int64(len(body)), string(body))
	if resp, text := answer(t, c); resp.StatusCode/100 != 4 {
		t.Errorf("512 KiB delivery ID: %d %q, want a 4xx", resp.StatusCode, text)
	}
	for k := range in.deliveryKeys(t) {
		if len(k) > len(in.prefix)+200 {
			t.Errorf("a dedupe key of %d bytes is stored", len(k))
		}
	}
}

// A delivery slipwatch could not take because a tracker or Redis was
// briefly away is answered 503 with Retry-After, so the sender delivers
// it again (Jira does not retry a 4xx), and it is not marked seen.
func TestIntakeTransientFailuresAre503(t *testing.T) {
	needRedis(t)
	t.Parallel()
	comment := intakeFixture(t, "comment_created.cloud.json")
	version := intakeFixture(t, "jira-version_updated.json")
	milestone := intakeFixture(t, "milestone.closed.json")
	unavailable := jiratest.Response{Status: http.StatusServiceUnavailable, Header: map[string]string{"Retry-After": "1"},
		Body: `{"errorMessages":["Service Unavailable"],"errors":{}}`}
	check := func(t *testing.T, resp *http.Response, text string) {
		t.Helper()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("answer %d (Retry-After %q) %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), text)
		}
	}

	t.Run("Jira answers 503 for the commented issue", func(t *testing.T) {
		t.Parallel()
		in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
		in.jira.Queue("GET /rest/api/2/issue/10040", unavailable, unavailable, unavailable, unavailable)
		resp, text := in.post(t, "/webhooks/jira", jiraHeaders("j-1", signIntake(comment)), comment)
		check(t, resp, text)
		// Jira redelivers under the same identifier: taken now.
		if resp, text := in.post(t, "/webhooks/jira", jiraHeaders("j-1", signIntake(comment)), comment); resp.StatusCode != http.StatusAccepted || !strings.Contains(text, "queued") {
			t.Errorf("redelivery once Jira is back: %d %q, want 202 queued", resp.StatusCode, text)
		}
	})
	t.Run("Jira answers 503 for a version's project", func(t *testing.T) {
		t.Parallel()
		in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
		in.jira.Queue("GET /rest/api/2/project/11315", unavailable, unavailable, unavailable, unavailable)
		resp, text := in.post(t, "/webhooks/jira", jiraHeaders("j-2", signIntake(version)), version)
		check(t, resp, text)
	})
	t.Run("Jira slower than the webhook deadline", func(t *testing.T) {
		t.Parallel()
		in := newIntake(t, srv.Client(t), srv.Prefix(t), func(o *Options) { o.webhookTimeout = 500 * time.Millisecond })
		// The connector would wait 10 s before asking again, three times.
		later := unavailable
		later.Header = map[string]string{"Retry-After": "10"}
		in.jira.Queue("GET /rest/api/2/issue/10040", later, later, later, later)
		resp, text := in.post(t, "/webhooks/jira", jiraHeaders("j-3", signIntake(comment)), comment)
		check(t, resp, text)
	})
	t.Run("Redis stopped", func(t *testing.T) {
		t.Parallel()
		own := redistest.StartFor(t)
		rdb := redis.NewClient(&redis.Options{Addr: own.Addr, ReadTimeout: time.Second, DialTimeout: time.Second})
		t.Cleanup(func() { _ = rdb.Close() })
		in := newIntake(t, rdb, "x:", nil)
		own.Kill()
		resp, text := in.post(t, "/webhooks/github", githubHeaders("milestone", "g-1", signIntake(milestone)), milestone)
		check(t, resp, text)
	})
	t.Run("Redis paused", func(t *testing.T) {
		t.Parallel()
		own := redistest.StartFor(t)
		rdb := redis.NewClient(&redis.Options{Addr: own.Addr, ReadTimeout: time.Second, DialTimeout: time.Second})
		t.Cleanup(func() { _ = rdb.Close() })
		in := newIntake(t, rdb, "x:", nil)
		if err := rdb.Do(context.Background(), "CLIENT", "PAUSE", 60000, "ALL").Err(); err != nil {
			t.Fatal(err)
		}
		resp, text := in.post(t, "/webhooks/github", githubHeaders("milestone", "g-2", signIntake(milestone)), milestone)
		check(t, resp, text)
	})
}

// One delivery more than a tracker's handlers may run at once is answered
// 503 at once rather than queued behind them: senders that send slowly on
// purpose cannot pile up handlers, nor starve the other tracker, and the
// slots come back when they go.
func TestIntakeFullIs503AtOnce(t *testing.T) {
	needRedis(t)
	t.Parallel()
	in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
	wellFormed := "sha256=" + strings.Repeat("0", 64)
	var slow []net.Conn
	for i := range webhookConcurrency {
		slow = append(slow, in.open(t, "/webhooks/github", githubHeaders("ping", fmt.Sprintf("slow-%d", i), wellFormed), mib, "{"))
	}
	reach(t, "slow requests at their body", &in.reached, webhookConcurrency)

	resp, text := answer(t, in.open(t, "/webhooks/github", githubHeaders("ping", "one-more", wellFormed), mib, "{"))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(text, "too many deliveries") {
		t.Errorf("delivery over the bound: %d (Retry-After %q) %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), text)
	}
	version := intakeFixture(t, "jira-version_updated.json")
	if resp, text := in.post(t, "/webhooks/jira", jiraHeaders("j-1", signIntake(version)), version); resp.StatusCode != http.StatusAccepted {
		t.Errorf("Jira delivery while GitHub's handlers are full: %d %q, want 202", resp.StatusCode, text)
	}

	for _, c := range slow {
		_ = c.Close()
	}
	reach(t, "handlers done", &in.done, webhookConcurrency+2)
	ping := intakeFixture(t, "ping.json")
	if resp, text := in.post(t, "/webhooks/github", githubHeaders("ping", "after", signIntake(ping)), ping); resp.StatusCode != http.StatusAccepted || !strings.Contains(text, "queued") {
		t.Errorf("delivery once the slow senders left: %d %q, want 202 queued", resp.StatusCode, text)
	}
	if got := in.refusals(t)["github/busy"]; got != 1 {
		t.Errorf("slipwatch_webhook_refusals_total{tracker=github,reason=busy} = %v, want 1", got)
	}
}

// Refusals are counted by tracker and a bounded reason, every series there
// from the start.
func TestIntakeRefusalsCounted(t *testing.T) {
	needRedis(t)
	t.Parallel()
	in := newIntake(t, srv.Client(t), srv.Prefix(t), nil)
	want := map[string]float64{}
	for _, tr := range []string{"github", "jira"} {
		for _, r := range refusalReasons {
			want[tr+"/"+r] = 0
		}
	}
	if diff := cmp.Diff(want, in.refusals(t)); diff != "" {
		t.Fatalf("series at start (-want +got):\n%s", diff)
	}
	ping := intakeFixture(t, "ping.json")
	in.post(t, "/webhooks/github", githubHeaders("ping", "p-1", ""), ping)
	in.post(t, "/webhooks/github", githubHeaders("ping", "p-2", signIntake([]byte("{}"))), ping)
	in.post(t, "/webhooks/github", githubHeaders("ping", strings.Repeat("x", 200), signIntake(ping)), ping)
	big := []byte(`{"zen":"` + strings.Repeat("x", mib) + `"}`)
	in.post(t, "/webhooks/github", githubHeaders("ping", "p-3", signIntake(big)), big)
	// slipwatch's own Jira account may not read the project: not the
	// sender's fault.
	in.jira.Queue("GET /rest/api/2/project/11315", jiratest.Response{Status: http.StatusForbidden,
		Body: `{"errorMessages":["You do not have the permission to see the specified project."],"errors":{}}`})
	version := intakeFixture(t, "jira-version_updated.json")
	in.post(t, "/webhooks/jira", jiraHeaders("v-1", signIntake(version)), version)
	want["github/unauthorized"], want["github/bad_request"], want["github/too_large"], want["jira/tracker_unavailable"] = 2, 1, 1, 1
	if diff := cmp.Diff(want, in.refusals(t)); diff != "" {
		t.Errorf("refusals (-want +got):\n%s", diff)
	}
}

// Only what the sender got wrong is a 4xx; whatever is slipwatch's to fix
// or wait out is a 503 with Retry-After.
func TestRefusalOf(t *testing.T) {
	t.Parallel()
	trackerDown := fmt.Errorf("jira webhook d-1: read the commented issue 10040: %w", errors.New("GET /rest/api/2/issue/10040: 503 Service Unavailable"))
	tests := []struct {
		name string
		err  error
		want refusal
	}{
		{"bad signature", &httpx.WebhookError{Status: 401, Reason: "signature does not match"},
			refusal{status: 401, reason: "signature does not match", label: "unauthorized"}},
		{"too large", &httpx.WebhookError{Status: 413, Reason: "body larger than the limit"},
			refusal{status: 413, reason: "body larger than the limit", label: "too_large"}},
		{"bad delivery ID", &httpx.WebhookError{Status: 400, Reason: "X-GitHub-Delivery is longer than 128 characters"},
			refusal{status: 400, reason: "X-GitHub-Delivery is longer than 128 characters", label: "bad_request"}},
		{"content type", &httpx.WebhookError{Status: 415, Reason: "content type is neither"},
			refusal{status: 415, reason: "content type is neither", label: "bad_request"}},
		{"a connector's own 503", &httpx.WebhookError{Status: 503, Reason: "try later"},
			refusal{status: 503, reason: "try later", label: "tracker_unavailable", retryAfter: "30"}},
		{"every handler busy", errIntakeFull,
			refusal{status: 503, reason: "too many deliveries at once, retry later", label: "busy", retryAfter: "5"}},
		{"tracker look-up failed", trackerDown,
			refusal{status: 503, reason: "tracker unavailable, retry later", label: "tracker_unavailable", retryAfter: "30"}},
		{"tracker look-up out of time", fmt.Errorf("read project 11315: %w", context.DeadlineExceeded),
			refusal{status: 503, reason: "tracker unavailable, retry later", label: "tracker_unavailable", retryAfter: "30"}},
		{"Redis failed", &queueError{err: errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")},
			refusal{status: 503, reason: "queue unavailable, retry later", label: "redis_unavailable", retryAfter: "30"}},
		{"Redis out of time", &queueError{err: context.DeadlineExceeded},
			refusal{status: 503, reason: "queue unavailable, retry later", label: "redis_unavailable", retryAfter: "30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, refusalOf(tt.err), cmp.AllowUnexported(refusal{})); diff != "" {
				t.Errorf("refusalOf (-want +got):\n%s", diff)
			}
		})
	}
}
