package jira

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

const (
	hookSecret    = "hook-secret-current"
	hookOldSecret = "hook-secret-previous"
	hookToken     = "hook-token-dc"
)

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func hookRequest(body []byte, query string, header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/jira"+query, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

// hookJira is a Jira that knows the issues the comment fixtures are on and
// the project of the version fixture.
func hookJira(t *testing.T) *jiratest.Server {
	f := newFakeJira(t, true)
	f.AddIssue("TES-41", map[string]any{
		"project": map[string]any{"id": "10000", "key": "TES"}, "issuetype": map[string]any{"name": "Task"},
		"labels": []string{"slipwatch"}, "fixVersions": []map[string]any{{"id": "10001", "name": "v2"}},
	})
	f.SetIssueID("TES-41", "10040") // comment_created.cloud.json is on issue 10040
	f.AddIssue("PLAT-12", map[string]any{
		"project": map[string]any{"id": "10002", "key": "PLAT"}, "issuetype": map[string]any{"name": "Epic"},
		"labels": []string{}, "duedate": "2026-07-15",
	})
	f.SetIssueID("PLAT-12", "10013") // comment_created.server.json's comment is on issue 10013
	f.SetProject("10002", "PLAT")
	return f
}

func hookClient(t *testing.T, f *jiratest.Server, edit func(*config.Jira)) *Client {
	c, _ := newTestClient(t, f, func(cfg *config.Jira, _ *Options) {
		cfg.Projects = []string{"PLAT", "TES", "KT"}
		cfg.WebhookSecret = hookSecret
		cfg.PreviousWebhookSecret = hookOldSecret
		if edit != nil {
			edit(cfg)
		}
	})
	return c
}

func TestParseWebhookDecoding(t *testing.T) {
	v := func(team, id string) connectors.Ref { return versionRef(team, id) }
	i := func(team, key string) connectors.Ref { return issueRef(team, key) }
	tests := []struct {
		file      string
		wantEvent string
		wantRefs  []connectors.Ref
		wantTeams []string
	}{
		// fixVersion moved from 10000 to 10001: both versions change.
		{file: "jira-issue_updated.fix-version.cloud.json", wantEvent: "jira:issue_updated", wantRefs: []connectors.Ref{v("TES", "10000"), v("TES", "10001")}},
		{file: "jira-issue_created.many-fields.cloud.json", wantEvent: "jira:issue_created", wantRefs: []connectors.Ref{v("KT", "10000"), v("KT", "10001")}},
		// A resolved issue in no version and no epic touches no deliverable.
		{file: "jira-issue_updated.resolved.server.json", wantEvent: "jira:issue_updated"},
		{file: "jira-issue_updated.duedate.derived.json", wantEvent: "jira:issue_updated", wantRefs: []connectors.Ref{i("PLAT", "PLAT-12")}},
		{file: "jira-issue_updated.epic-link.server.derived.json", wantEvent: "jira:issue_updated",
			wantRefs: []connectors.Ref{v("PLAT", "10300"), i("PLAT", "PLAT-5"), i("PLAT", "PLAT-6")}},
		{file: "jira-version_released.cloud.json", wantEvent: "jira:version_released", wantRefs: []connectors.Ref{v("PLAT", "10000")}},
		// Project 11315 is not watched (the fake does not even know it).
		{file: "jira-version_updated.json", wantEvent: "jira:version_updated"},
		// On a tracking issue: its version. On an epic: the epic.
		{file: "comment_created.cloud.json", wantEvent: "comment_created", wantRefs: []connectors.Ref{v("TES", "10001")}},
		{file: "comment_created.server.json", wantEvent: "comment_created", wantRefs: []connectors.Ref{i("PLAT", "PLAT-12")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			f := hookJira(t)
			c := hookClient(t, f, nil)
			body := readTestdata(t, filepath.Join("webhooks", tt.file))
			got, err := c.ParseWebhook(hookRequest(body, "", map[string]string{
				"X-Hub-Signature":                sign(hookSecret, body),
				"X-Atlassian-Webhook-Identifier": "delivery-1",
			}))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			want := connectors.WebhookEvent{Delivery: "delivery-1", Event: tt.wantEvent, Refs: tt.wantRefs, Teams: tt.wantTeams,
				Digest: httpx.BodyDigest(body)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("version created lists the project again", func(t *testing.T) {
		f := hookJira(t)
		c := hookClient(t, f, nil)
		body := bytes.Replace(readTestdata(t, "webhooks/jira-version_released.cloud.json"), []byte("jira:version_released"), []byte("jira:version_created"), 1)
		got, err := c.ParseWebhook(hookRequest(body, "", map[string]string{"X-Hub-Signature": sign(hookSecret, body), "X-Atlassian-Webhook-Identifier": "d"}))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"PLAT"}, got.Teams); diff != "" {
			t.Errorf("teams (-want +got):\n%s", diff)
		}
		// The project id is remembered: a second delivery asks Jira nothing.
		if _, err := c.ParseWebhook(hookRequest(body, "", map[string]string{"X-Hub-Signature": sign(hookSecret, body)})); err != nil {
			t.Fatal(err)
		}
		if n := f.Hits("GET /rest/api/2/project/10002"); n != 1 {
			t.Errorf("project looked up %d times, want 1", n)
		}
	})

	t.Run("comment in a project not watched", func(t *testing.T) {
		f := hookJira(t)
		c := hookClient(t, f, func(cfg *config.Jira) { cfg.Projects = []string{"PLAT"} })
		body := readTestdata(t, "webhooks/comment_created.cloud.json")
		ev, err := c.ParseWebhook(hookRequest(body, "", map[string]string{"X-Hub-Signature": sign(hookSecret, body)}))
		if err != nil || len(ev.Refs) != 0 {
			t.Errorf("ParseWebhook = %+v, %v; want no refs", ev, err)
		}
		if n := f.Hits("GET /rest/api/2/issue/10040"); n != 0 {
			t.Errorf("read the issue %d times for a project slipwatch does not watch", n)
		}
	})

	t.Run("Jira unreachable for a comment's issue", func(t *testing.T) {
		f := hookJira(t)
		f.Queue("GET /rest/api/2/issue/10040", jiratest.Response{Status: 401, Body: "@error-401.cloud.txt"})
		c := hookClient(t, f, nil)
		body := readTestdata(t, "webhooks/comment_created.cloud.json")
		_, err := c.ParseWebhook(hookRequest(body, "", map[string]string{"X-Hub-Signature": sign(hookSecret, body)}))
		var we *httpx.WebhookError
		if err == nil || errors.As(err, &we) {
			t.Errorf("ParseWebhook = %v, want an error that is not a WebhookError (so Jira redelivers)", err)
		}
	})
}

func TestParseWebhookVerification(t *testing.T) {
	body := readTestdata(t, "webhooks/jira-version_released.cloud.json")
	tests := []struct {
		name       string
		edit       func(*config.Jira)
		body       []byte
		query      string
		header     map[string]string
		wantStatus int // 0: accepted
	}{
		{name: "signed with the current secret", header: map[string]string{"X-Hub-Signature": sign(hookSecret, body)}},
		{name: "signed with the previous secret", header: map[string]string{"X-Hub-Signature": sign(hookOldSecret, body)}},
		{name: "wrong signature", header: map[string]string{"X-Hub-Signature": sign("guess", body)}, wantStatus: 401},
		{name: "signature of another body", header: map[string]string{"X-Hub-Signature": sign(hookSecret, []byte("{}"))}, wantStatus: 401},
		{name: "not sha256=<hex>", header: map[string]string{"X-Hub-Signature": "sha1=" + strings.Repeat("0", 40)}, wantStatus: 401},
		{name: "unsigned while a secret is set", wantStatus: 401},
		{name: "a token does not replace a configured signature", query: "?token=" + hookToken, wantStatus: 401},
		{name: "Data Center token", edit: func(c *config.Jira) { c.WebhookSecret, c.PreviousWebhookSecret, c.WebhookToken = "", "", hookToken }, query: "?token=" + hookToken},
		{name: "Data Center wrong token", edit: func(c *config.Jira) { c.WebhookSecret, c.PreviousWebhookSecret, c.WebhookToken = "", "", hookToken }, query: "?token=" + hookToken + "x", wantStatus: 401},
		{name: "Data Center without token", edit: func(c *config.Jira) { c.WebhookSecret, c.PreviousWebhookSecret, c.WebhookToken = "", "", hookToken }, wantStatus: 401},
		{name: "insecure_skip_signature", edit: func(c *config.Jira) { c.WebhookSecret, c.PreviousWebhookSecret, c.InsecureSkipSignature = "", "", true }},
		{name: "nothing configured", edit: func(c *config.Jira) { c.WebhookSecret, c.PreviousWebhookSecret = "", "" }, wantStatus: 401},
		{name: "oversized", body: append(append([]byte(`{"webhookEvent":"jira:version_updated","pad":"`), bytes.Repeat([]byte("x"), 1<<20)...), '"', '}'), wantStatus: 413},
		{name: "malformed", body: []byte(`{"webhookEvent":`), wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := hookJira(t)
			c := hookClient(t, f, tt.edit)
			b := body
			h := tt.header
			if tt.body != nil {
				b = tt.body
				h = map[string]string{"X-Hub-Signature": sign(hookSecret, b)}
			}
			_, err := c.ParseWebhook(hookRequest(b, tt.query, h))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				return
			}
			var we *httpx.WebhookError
			if !errors.As(err, &we) || we.Status != tt.wantStatus {
				t.Fatalf("ParseWebhook = %v, want a WebhookError %d", err, tt.wantStatus)
			}
			for _, secret := range []string{hookSecret, hookOldSecret, hookToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a secret", err)
				}
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
	dataCenter := func(c *config.Jira) { c.WebhookSecret, c.PreviousWebhookSecret, c.WebhookToken = "", "", hookToken }
	wellFormed := "sha256=" + strings.Repeat("0", 64)
	tests := []struct {
		name          string
		edit          func(*config.Jira)
		query         string
		header        map[string]string
		contentLength int64
		status        int
	}{
		{name: "unsigned while a secret is set", status: 401},
		{name: "not sha256=<hex>", header: map[string]string{"X-Hub-Signature": "sha1=" + strings.Repeat("0", 40)}, status: 401},
		{name: "Data Center wrong token", edit: dataCenter, query: "?token=" + hookToken + "x", status: 401},
		{name: "Data Center without token", edit: dataCenter, status: 401},
		{name: "nothing configured", edit: func(c *config.Jira) { c.WebhookSecret, c.PreviousWebhookSecret = "", "" }, header: map[string]string{"X-Hub-Signature": wellFormed}, status: 401},
		{name: "announced over 1 MiB", header: map[string]string{"X-Hub-Signature": wellFormed}, contentLength: 2 << 20, status: 413},
		{name: "Data Center token, announced over 1 MiB", edit: dataCenter, query: "?token=" + hookToken, contentLength: 2 << 20, status: 413},
		{name: "identifier over 128 characters", header: map[string]string{"X-Hub-Signature": wellFormed, "X-Atlassian-Webhook-Identifier": strings.Repeat("i", 129)}, status: 400},
		{name: "identifier with a space", header: map[string]string{"X-Hub-Signature": wellFormed, "X-Atlassian-Webhook-Identifier": "a b"}, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := hookJira(t)
			c := hookClient(t, f, tt.edit)
			r := hookRequest(nil, tt.query, tt.header)
			r.Body = io.NopCloser(unreadable{t})
			r.ContentLength = 8000
			if tt.contentLength != 0 {
				r.ContentLength = tt.contentLength
			}
			_, err := c.ParseWebhook(r)
			var we *httpx.WebhookError
			if !errors.As(err, &we) || we.Status != tt.status {
				t.Fatalf("ParseWebhook = %v, want a WebhookError %d", err, tt.status)
			}
		})
	}
}

func TestParseWebhookDelivery(t *testing.T) {
	f := hookJira(t)
	c := hookClient(t, f, nil)
	parse := func(body []byte, id string) connectors.WebhookEvent {
		t.Helper()
		h := map[string]string{"X-Hub-Signature": sign(hookSecret, body)}
		if id != "" {
			h["X-Atlassian-Webhook-Identifier"] = id
		}
		ev, err := c.ParseWebhook(hookRequest(body, "", h))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	released := readTestdata(t, "webhooks/jira-version_released.cloud.json")
	updated := readTestdata(t, "webhooks/jira-version_updated.json")

	// Jira keeps the identifier across retries: a redelivery is the same
	// delivery, whatever it carries.
	if a, b := parse(released, "abc-1"), parse(released, "abc-1"); a.Delivery != "abc-1" || b.Delivery != "abc-1" {
		t.Errorf("deliveries = %q, %q; want abc-1 both times", a.Delivery, b.Delivery)
	}
	// Without one (Data Center), a redelivery of the same body is the same
	// delivery and another event is not.
	a, b, other := parse(released, ""), parse(released, ""), parse(updated, "")
	if a.Delivery == "" || a.Delivery != b.Delivery || a.Delivery == other.Delivery || !strings.HasPrefix(a.Delivery, "sha256:") {
		t.Errorf("deliveries without identifier = %q, %q, %q", a.Delivery, b.Delivery, other.Delivery)
	}
	// The digest names the body whatever the identifier: a signed body
	// replayed under new identifiers is recognised.
	if x, y := parse(released, "abc-2"), parse(released, "abc-3"); x.Digest != a.Delivery || y.Digest != x.Digest {
		t.Errorf("digests of one body under two identifiers = %q, %q; want %q", x.Digest, y.Digest, a.Delivery)
	}

	unknown := []byte(`{"timestamp":1599604370956,"webhookEvent":"jira:worklog_updated","worklog":{"id":"1"}}`)
	ev := parse(unknown, "w-1")
	if diff := cmp.Diff(connectors.WebhookEvent{Delivery: "w-1", Event: "jira:worklog_updated", Digest: httpx.BodyDigest(unknown)}, ev); diff != "" {
		t.Errorf("unknown event (-want +got):\n%s", diff)
	}
}

func TestIssueIDFromCommentURL(t *testing.T) {
	tests := map[string]string{
		"http://sales-jira.example.com:8080/rest/api/2/issue/10013/comment/10082": "10013",
		"https://x.atlassian.net/jira/rest/api/2/issue/10040/comment/10019":       "10040",
		"https://x.atlassian.net/rest/api/2/comment/10019":                        "",
		"": "",
	}
	for in, want := range tests {
		if got := issueIDFromCommentURL(in); got != want {
			t.Errorf("issueIDFromCommentURL(%q) = %q, want %q", in, got, want)
		}
	}
}
