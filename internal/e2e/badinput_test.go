package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebhookBadInput is the bad-input matrix against the running
// daemon's webhook endpoint: each request gets its exact status, and the
// daemon logs why (the secret-free log is checked when the test ends).
func TestWebhookBadInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	d := w.start("daemon")
	ms := w.newMilestone("v1.0", 30, 3)

	valid := milestoneHook("edited", ms)
	signed := func(event, body string) *http.Request {
		return d.request(delivery{event: event, id: newID(), body: []byte(body)})
	}
	with := func(r *http.Request, f func(*http.Request)) *http.Request { f(r); return r }
	huge := `{"action":"edited","milestone":{"number":` + strconv.Itoa(ms) + `,"title":"` + strings.Repeat("x", 900<<10) +
		`"},"repository":{"full_name":"` + repoName + `"}}`

	tests := []struct {
		name   string
		req    *http.Request
		status int
		log    string // the log line's msg
		reason string // and its reason, when refused
	}{
		{"valid", d.request(valid), 202, "webhook queued", ""},
		{"replayed delivery", d.request(valid), 202, "duplicate delivery ignored", ""},
		{"bad signature", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) {
			r.Header.Set("X-Hub-Signature-256", sign("guessed-secret", valid.body))
		}), 401, "webhook refused", "signature does not match"},
		{"signature not hex", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", "sha256=zz") }),
			401, "webhook refused", "not sha256=<hex>"},
		{"missing signature", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) { r.Header.Del("X-Hub-Signature-256") }),
			401, "webhook refused", "missing X-Hub-Signature-256"},
		{"missing event header", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) { r.Header.Del("X-GitHub-Event") }),
			400, "webhook refused", "missing X-GitHub-Event"},
		{"missing delivery header", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) { r.Header.Del("X-GitHub-Delivery") }),
			400, "webhook refused", "missing X-GitHub-Delivery"},
		{"wrong content type", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }),
			415, "webhook refused", "content type"},
		{"malformed JSON", signed("milestone", `{"action":"edited","milestone":`), 400, "webhook refused", "not valid JSON"},
		{"JSON array", signed("milestone", `[1,2,3]`), 400, "webhook refused", "not valid JSON"},
		{"repository of the wrong type", signed("milestone", `{"repository":"acme/api"}`), 400, "webhook refused", "not valid JSON"},
		{"milestone number as a string", signed("milestone", `{"milestone":{"number":"7"},"repository":{"full_name":"acme/api"}}`), 400, "webhook refused", "not valid JSON"},
		{"milestone event without a milestone", signed("milestone", `{"action":"edited","repository":{"full_name":"acme/api"}}`), 400, "webhook refused", "without a milestone"},
		{"huge field value under the cap", signed("milestone", huge), 202, "webhook queued", ""},
		{"unknown event", signed("deployment", `{"action":"created","repository":{"full_name":"acme/api"}}`), 202, "webhook queued", ""},
		{"repository not watched", signed("milestone", `{"action":"edited","milestone":{"number":1},"repository":{"full_name":"evil/repo"}}`), 202, "webhook queued", ""},
		{"tracker not configured", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) { r.URL.Path = "/webhooks/jira" }),
			404, "", ""},
		{"GET on the webhook", with(d.request(milestoneHook("edited", ms)), func(r *http.Request) { r.Method = http.MethodGet }), 405, "", ""},
	}
	for _, tt := range tests {
		// One at a time: each is matched with the log line it causes.
		before := len(d.out.lines())
		code, body := do(tt.req)
		if code != tt.status {
			t.Errorf("%s: %d %q, want %d", tt.name, code, body, tt.status)
			continue
		}
		if tt.log == "" {
			continue
		}
		if !eventually(5*time.Second, func() bool { return hasLog(d.out.lines()[before:], tt.log, tt.reason) }) {
			t.Errorf("%s: no log line %q with %q", tt.name, tt.log, tt.reason)
		}
	}

	// Over the cap: 413, and the daemon stops reading early (no unbounded
	// io.ReadAll) — it reads 1 MiB of a 64 MiB body, not all of it.
	var sent atomic.Int64
	body := &countingReader{r: io.LimitReader(zeros{}, 64<<20), n: &sent}
	req, _ := http.NewRequest(http.MethodPost, d.url("/webhooks/github"), body)
	req.ContentLength = 64 << 20
	for k, v := range d.request(valid).Header {
		req.Header[k] = v
	}
	code, _ := do(req)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("64 MiB body: %d, want 413", code)
	}
	if n := sent.Load(); n > 16<<20 {
		t.Errorf("64 MiB body: the daemon read %d bytes before answering", n)
	} else {
		t.Logf("64 MiB body: 413 after %d bytes were sent", n)
	}
	if !d.alive() || d.get("/healthz") != http.StatusOK {
		t.Fatal("the daemon did not survive the bad input")
	}
}

func hasLog(lines []map[string]any, msg, reason string) bool {
	for _, l := range lines {
		if l["msg"] == msg && (reason == "" || strings.Contains(str(l["reason"]), reason)) {
			return true
		}
	}
	return false
}

func str(v any) string { s, _ := v.(string); return s }

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
