package github

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

const (
	hello    = "Codertocat/Hello-World"
	hephaest = "HephaestusTest/TestRepository"
)

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func payload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// delivery builds a request as GitHub sends it (header names as in
// testdata/webhooks/_delivery-headers.milestone.json).
func delivery(event, id string, body []byte, signature string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitHub-Hookshot/123abc")
	r.Header.Set("X-Github-Hook-Id", "12312312")
	if event != "" {
		r.Header.Set("X-Github-Event", event)
	}
	if id != "" {
		r.Header.Set("X-GitHub-Delivery", id)
	}
	if signature != "" {
		r.Header.Set("X-Hub-Signature-256", signature)
	}
	return r
}

func webhookClient(t *testing.T, edit func(*config.GitHub, *Options)) *Client {
	t.Helper()
	cfg := &config.GitHub{
		BaseURL:               "https://api.github.com/",
		Token:                 "t",
		WebhookSecret:         "current-secret",
		PreviousWebhookSecret: "previous-secret",
		Repos:                 []string{hello, hephaest},
	}
	o := Options{}
	if edit != nil {
		edit(cfg, &o)
	}
	c, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseWebhookDecodesEvents(t *testing.T) {
	t.Parallel()
	ms := func(team string, n string) connectors.Ref {
		return connectors.Ref{Tracker: connectors.GitHub, Team: team, Kind: connectors.Milestone, ID: n}
	}
	tests := []struct {
		file, event string
		refs        []connectors.Ref
		teams       []string
	}{
		{"milestone.created.json", "milestone", []connectors.Ref{ms(hello, "1")}, []string{hello}},
		{"milestone.opened.json", "milestone", []connectors.Ref{ms(hephaest, "3")}, nil},
		{"milestone.edited.json", "milestone", []connectors.Ref{ms(hephaest, "3")}, nil},
		{"milestone.closed.json", "milestone", []connectors.Ref{ms(hello, "1")}, nil},
		{"milestone.deleted.json", "milestone", []connectors.Ref{ms(hello, "1")}, nil},
		{"issues.opened.json", "issues", []connectors.Ref{ms(hello, "1")}, nil},
		{"issues.edited.json", "issues", []connectors.Ref{ms(hello, "1")}, nil},
		{"issues.closed.json", "issues", nil, nil}, // the issue is in no milestone
		{"issues.milestoned.issue.json", "issues", []connectors.Ref{ms(hello, "1")}, nil},
		{"issues.demilestoned.issue.json", "issues", []connectors.Ref{ms(hello, "1")}, nil}, // the milestone it left
		{"issues.milestoned.json", "issues", []connectors.Ref{ms(hello, "1")}, nil},         // a pull request: an item too
		{"issues.demilestoned.json", "issues", []connectors.Ref{ms(hello, "1")}, nil},       // a pull request leaving the milestone
		{"pull_request.closed.json", "pull_request", nil, nil},                              // in no milestone
		{"pull_request.closed.milestone.json", "pull_request", []connectors.Ref{ms(hello, "1")}, nil},
		{"issue_comment.created.json", "issue_comment", []connectors.Ref{ms(hello, "1")}, nil},
		{"issue_comment.edited.json", "issue_comment", []connectors.Ref{ms(hello, "1")}, nil},
		{"issue_comment.created.pull-request.json", "issue_comment", nil, nil},
		{"ping.json", "ping", nil, nil},
		{"ping.json", "push", nil, nil}, // not an event slipwatch asked for: ignored, 202
	}
	c := webhookClient(t, nil)
	for _, tt := range tests {
		t.Run(tt.event+"/"+tt.file, func(t *testing.T) {
			t.Parallel()
			body := payload(t, tt.file)
			ev, err := c.ParseWebhook(delivery(tt.event, "0b989ba4-242f-11e5-81e1-c7b6966d2516", body, sign("current-secret", body)))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			want := connectors.WebhookEvent{Delivery: "0b989ba4-242f-11e5-81e1-c7b6966d2516", Event: tt.event, Refs: tt.refs, Teams: tt.teams,
				Digest: httpx.BodyDigest(body)}
			if diff := cmp.Diff(want, ev, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWebhookRefuses(t *testing.T) {
	t.Parallel()
	ms := payload(t, "milestone.closed.json")
	big := append(append([]byte(`{"action":"closed","pad":"`), bytes.Repeat([]byte("x"), httpx.MaxWebhookBytes)...), []byte(`"}`)...)
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"missing signature", delivery("milestone", "d1", ms, ""), http.StatusUnauthorized},
		{"wrong secret", delivery("milestone", "d1", ms, sign("guessed", ms)), http.StatusUnauthorized},
		{"signature of another body", delivery("milestone", "d1", ms, sign("current-secret", []byte("{}"))), http.StatusUnauthorized},
		{"sha1 signature", delivery("milestone", "d1", ms, "sha1=6dcb09b5b57875f334f61aebed695e2e4193db5e"), http.StatusUnauthorized},
		{"not hex", delivery("milestone", "d1", ms, "sha256=zz"), http.StatusUnauthorized},
		{"missing event", delivery("", "d1", ms, sign("current-secret", ms)), http.StatusBadRequest},
		{"missing delivery", delivery("milestone", "", ms, sign("current-secret", ms)), http.StatusBadRequest},
		{"delivery ID over 128 characters", delivery("milestone", strings.Repeat("d", 129), ms, sign("current-secret", ms)), http.StatusBadRequest},
		{"delivery ID with a space", delivery("milestone", "d 1", ms, sign("current-secret", ms)), http.StatusBadRequest},
		{"over 1 MiB", delivery("milestone", "d1", big, sign("current-secret", big)), http.StatusRequestEntityTooLarge},
		{"malformed JSON", delivery("milestone", "d1", []byte(`{"action":`), sign("current-secret", []byte(`{"action":`))), http.StatusBadRequest},
		{"milestone event without milestone", delivery("milestone", "d1", []byte(`{"repository":{"full_name":"Codertocat/Hello-World"}}`), sign("current-secret", []byte(`{"repository":{"full_name":"Codertocat/Hello-World"}}`))), http.StatusBadRequest},
	}
	plain := delivery("milestone", "d1", ms, sign("current-secret", ms))
	plain.Header.Set("Content-Type", "text/plain")
	tests = append(tests, struct {
		name   string
		req    *http.Request
		status int
	}{"text/plain", plain, http.StatusUnsupportedMediaType})
	c := webhookClient(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.ParseWebhook(tt.req)
			var we *httpx.WebhookError
			if !errors.As(err, &we) || we.Status != tt.status {
				t.Fatalf("error %v, want a WebhookError %d", err, tt.status)
			}
			if strings.Contains(we.Error(), "secret") && strings.Contains(we.Error(), "current-secret") {
				t.Errorf("refusal leaks the secret: %v", we)
			}
		})
	}
}

// unreadable is a body the test forbids reading.
type unreadable struct{ t *testing.T }

func (u unreadable) Read([]byte) (int, error) {
	u.t.Error("the body was read before the refusal")
	return 0, errors.New("not to be read")
}

// What can be refused without the body is refused before it is read: a
// slow sender holds no buffer, and is answered at once.
func TestParseWebhookRefusesBeforeReadingTheBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		event, id     string
		signature     string
		contentLength int64
		insecure      bool
		noSecret      bool
		status        int
	}{
		{name: "no signature", event: "milestone", id: "d1", status: http.StatusUnauthorized},
		{name: "sha1 signature", event: "milestone", id: "d1", signature: "sha1=6dcb09b5b57875f334f61aebed695e2e4193db5e", status: http.StatusUnauthorized},
		{name: "no secret configured", event: "milestone", id: "d1", signature: "sha256=" + strings.Repeat("0", 64), noSecret: true, status: http.StatusUnauthorized},
		{name: "announced over 1 MiB", event: "milestone", id: "d1", signature: "sha256=" + strings.Repeat("0", 64), contentLength: 25 << 20, status: http.StatusRequestEntityTooLarge},
		{name: "no event", id: "d1", signature: "sha256=" + strings.Repeat("0", 64), status: http.StatusBadRequest},
		{name: "delivery ID not printable ASCII", event: "milestone", id: "d\x01", signature: "sha256=" + strings.Repeat("0", 64), status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := webhookClient(t, func(g *config.GitHub, _ *Options) {
				if tt.noSecret {
					g.WebhookSecret, g.PreviousWebhookSecret = "", ""
				}
			})
			r := delivery(tt.event, tt.id, nil, tt.signature)
			r.Body = io.NopCloser(unreadable{t})
			r.ContentLength = 8000
			if tt.contentLength != 0 {
				r.ContentLength = tt.contentLength
			}
			_, err := c.ParseWebhook(r)
			var we *httpx.WebhookError
			if !errors.As(err, &we) || we.Status != tt.status {
				t.Fatalf("error %v, want a WebhookError %d", err, tt.status)
			}
		})
	}
}

// The digest names the body, whatever the delivery ID: a signed delivery
// replayed under new IDs is recognised.
func TestParseWebhookDigestNamesTheBody(t *testing.T) {
	t.Parallel()
	c := webhookClient(t, nil)
	ping, ms := payload(t, "ping.json"), payload(t, "milestone.closed.json")
	parse := func(event, id string, body []byte) connectors.WebhookEvent {
		t.Helper()
		ev, err := c.ParseWebhook(delivery(event, id, body, sign("current-secret", body)))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	a, b, other := parse("ping", "id-1", ping), parse("ping", "id-2", ping), parse("milestone", "id-1", ms)
	if a.Digest == "" || a.Digest != b.Digest || a.Digest == other.Digest {
		t.Errorf("digests %q (id-1), %q (id-2, same body), %q (another body)", a.Digest, b.Digest, other.Digest)
	}
}

func TestParseWebhookSecrets(t *testing.T) {
	t.Parallel()
	body := payload(t, "milestone.closed.json")
	tests := []struct {
		name      string
		secret    config.Secret
		previous  config.Secret
		insecure  bool
		signature string
		ok        bool
	}{
		{"current secret", "current-secret", "previous-secret", false, sign("current-secret", body), true},
		{"rotated: previous secret still accepted", "current-secret", "previous-secret", false, sign("previous-secret", body), true},
		{"rotation over: previous refused", "current-secret", "", false, sign("previous-secret", body), false},
		{"no secret, not insecure: refused", "", "", false, "", false},
		{"no secret, insecure: unsigned accepted", "", "", true, "", true},
		{"secret and insecure: unsigned still refused", "current-secret", "", true, "", false},
		{"secret and insecure: bad signature refused", "current-secret", "", true, sign("x", body), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := webhookClient(t, func(g *config.GitHub, _ *Options) {
				g.WebhookSecret, g.PreviousWebhookSecret, g.InsecureSkipSignature = tt.secret, tt.previous, tt.insecure
			})
			ev, err := c.ParseWebhook(delivery("milestone", "d1", body, tt.signature))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && len(ev.Refs) != 1 {
				t.Errorf("refs %v, want the milestone", ev.Refs)
			}
		})
	}
}

func TestParseWebhookExposesTheDeliveryForDedupe(t *testing.T) {
	t.Parallel()
	c := webhookClient(t, nil)
	body := payload(t, "issue_comment.created.json")
	var ids []string
	for range 2 { // GitHub redelivers with the same ID
		ev, err := c.ParseWebhook(delivery("issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958", body, sign("current-secret", body)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.Delivery)
	}
	if ids[0] != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || ids[0] != ids[1] {
		t.Errorf("delivery IDs %v, want the header's, both times", ids)
	}
}

func TestParseWebhookFormEncodedAndSmallerCap(t *testing.T) {
	t.Parallel()
	json := payload(t, "milestone.closed.json")
	form := []byte("payload=" + url.QueryEscape(string(json)))
	c := webhookClient(t, nil)
	r := delivery("milestone", "d1", form, sign("current-secret", form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ev, err := c.ParseWebhook(r)
	if err != nil || len(ev.Refs) != 1 {
		t.Errorf("form-encoded delivery: %v %v", ev, err)
	}

	small := webhookClient(t, nil)
	small.maxHook = 1024
	_, err = small.ParseWebhook(delivery("milestone", "d1", json, sign("current-secret", json)))
	var we *httpx.WebhookError
	if !errors.As(err, &we) || we.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("over a 1 KiB cap: %v, want 413", err)
	}
}

func TestParseWebhookIgnoresOtherRepos(t *testing.T) {
	t.Parallel()
	c := webhookClient(t, func(g *config.GitHub, _ *Options) { g.Repos = []string{"acme/api"} })
	body := payload(t, "milestone.created.json")
	ev, err := c.ParseWebhook(delivery("milestone", "d1", body, sign("current-secret", body)))
	if err != nil || len(ev.Refs) != 0 || len(ev.Teams) != 0 {
		t.Errorf("delivery for an unwatched repo: %+v, %v; want nothing to do", ev, err)
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMilestoneDueDateMoveIsLoggedAsEvidence(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	c := webhookClient(t, func(_ *config.GitHub, o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	body := payload(t, "milestone.edited.json")
	if _, err := c.ParseWebhook(delivery("milestone", "d1", body, sign("current-secret", body))); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"milestone due date changed", "from=2025-11-30T01:00:00.000+01:00", "to=2026-01-14T08:00:00Z", "HephaestusTest/TestRepository#milestone=3"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "current-secret") {
		t.Errorf("log leaks the secret")
	}
}

func TestWebhookMakesTheNextObserveReadAgain(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if _, err := c.Observe(ctx, milestoneRef(repo, w.ms)); err != nil {
		t.Fatal(err)
	}
	// A comment arrives, and its webhook, well within the view TTL.
	f.AddComment(repo, w.tracking, "alice", "/commit 2026-04-30")
	body := []byte(`{"action":"created","issue":{"number":4,"milestone":{"number":1}},"comment":{"id":1},"repository":{"full_name":"acme/api"}}`)
	ev, err := c.ParseWebhook(delivery("issue_comment", "d1", body, sign("current-secret", body)))
	if err != nil || len(ev.Refs) != 1 {
		t.Fatalf("ParseWebhook: %+v %v", ev, err)
	}
	snap, err := c.Observe(ctx, ev.Refs[0])
	if err != nil {
		t.Fatal(err)
	}
	cms := snap.Thread.Comments
	if last := cms[len(cms)-1]; last.Body != "/commit 2026-04-30" {
		t.Errorf("the comment the webhook announced is not observed: last is %q", last.Body)
	}
}
