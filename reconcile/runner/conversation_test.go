package runner

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

const convSecret = "conversation-webhook-secret"

// conversation is the daemon's parts over the sandbox GitHub API: the real
// connector over HTTP, the real store on redis-server, the runner.
type conversation struct {
	t     *testing.T
	gh    *githubtest.Server
	clk   *clock
	st    *store.Store
	ms    int
	hooks http.Handler
}

func newConversation(t *testing.T, prefix string, owner string, gh *githubtest.Server, clk *clock, every time.Duration) (*Runner, *conversation) {
	t.Helper()
	return newConversationKeys(t, prefix, owner, gh, clk, every, testMarkers)
}

// newConversationKeys is newConversation signing markers with keys.
func newConversationKeys(t *testing.T, prefix string, owner string, gh *githubtest.Server, clk *clock, every time.Duration, keys reconcile.MarkerKeys) (*Runner, *conversation) {
	t.Helper()
	st := store.New(srv.Client(t), prefix, store.Options{ReclaimIdle: 200 * time.Millisecond})
	conn, err := github.New(&config.GitHub{BaseURL: gh.URL, Token: "ghp_conversation", WebhookSecret: convSecret,
		Repos: []string{"acme/api"}, TrackingLabel: "slipwatch", CreateTrackingIssue: true},
		github.Options{Validators: st, Now: clk.Now, WriteInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New([]Connector{conn}, st, reconcile.Settings{Location: time.UTC, Baseline: "first_seen", Window: 42, Trials: 500,
		Confidence: 0.85, MinSamples: 5, StatusEvery: every, Settle: time.Hour, Markers: keys},
		Options{Owner: owner, Workers: 2, Now: clk.Now, readBlock: 50 * time.Millisecond, promoteEvery: 20 * time.Millisecond,
			backoffBase: 10 * time.Millisecond, backoffMax: 50 * time.Millisecond, PollInterval: time.Hour, MaxDeliveries: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, &conversation{t: t, gh: gh, clk: clk, st: st, hooks: r.Handler(nil)}
}

func sandbox(t *testing.T, clk *clock) (*githubtest.Server, int) {
	gh := apispec.GitHubSandbox(t, clk.Now)
	ms := gh.AddMilestone("acme/api", githubtest.Milestone{Title: "v2.0", DueOn: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)})
	for range 10 {
		gh.AddIssue("acme/api", githubtest.Issue{Title: "work", Milestone: ms, CreatedAt: clk.Now().AddDate(0, 0, -30)})
	}
	// Throughput: closed issues elsewhere in the repo over the window.
	for d := range 40 {
		at := clk.Now().AddDate(0, 0, -d-1)
		gh.AddIssue("acme/api", githubtest.Issue{Title: "done", CreatedAt: at.AddDate(0, 0, -3), ClosedAt: at})
	}
	gh.SetPermission("acme/api", "lead-jane", "write")
	gh.SetPermission("acme/api", "mallory", "read")
	return gh, ms
}

// thread is the tracking issue's number and its comments by slipwatch.
func (c *conversation) thread() (int, []githubtest.Comment) {
	c.t.Helper()
	for _, is := range c.gh.Issues("acme/api") {
		for _, l := range is.Labels {
			if l == "slipwatch" {
				var mine []githubtest.Comment
				for _, cm := range c.gh.Comments("acme/api", is.Number) {
					if cm.User == c.gh.Self {
						mine = append(mine, cm)
					}
				}
				return is.Number, mine
			}
		}
	}
	c.t.Fatal("no tracking issue")
	return 0, nil
}

// hook delivers an issue_comment webhook for the tracking issue, signed as
// GitHub signs it.
func (c *conversation) hook(delivery string, issue, milestone int) int {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"action":     "created",
		"repository": map[string]any{"full_name": "acme/api"},
		"issue":      map[string]any{"number": issue, "milestone": map[string]any{"number": milestone}},
		"comment":    map[string]any{"id": 1, "body": "/commit"},
		"sender":     map[string]any{"login": "lead-jane"},
	})
	mac := hmac.New(sha256.New, []byte(convSecret))
	mac.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "issue_comment")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	w := httptest.NewRecorder()
	c.hooks.ServeHTTP(w, req)
	return w.Code
}

func bodies(cs []githubtest.Comment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Body)
	}
	return out
}

// TestConversationCommands: commands on the tracking issue are answered
// once each, by the rules a team lead would expect.
func TestConversationCommands(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	r, c := newConversation(t, srv.Prefix(t), "A", gh, clk, 0)
	ctx := context.Background()
	r.PollOnce(ctx)
	drain(t, r, c.st)
	issue, first := c.thread()
	if len(first) != 2 {
		t.Fatalf("first cycle posted %d comments, want status and committed:\n%s", len(first), strings.Join(bodies(first), "\n---\n"))
	}

	clk.Add(time.Hour)
	gh.AddComment("acme/api", issue, "lead-jane", "SSO joined the scope.\n/commit 2026-12-15 SSO added to scope")
	gh.AddComment("acme/api", issue, "mallory", "/commit 2026-12-20")
	gh.AddComment("acme/api", issue, "lead-jane", "/commit 2026-10-01")
	gh.AddComment("acme/api", issue, "lead-jane", "/slipwatch help")
	gh.AddComment("acme/api", issue, "lead-jane", "Thanks all, see you at the review.")
	for range 2 { // GitHub redelivers: one delivery ID, one reconcile
		if code := c.hook("d-1", issue, ms); code != http.StatusAccepted {
			t.Fatalf("webhook = %d, want 202", code)
		}
	}
	drain(t, r, c.st)
	clk.Add(time.Hour)
	_ = c.st.Enqueue(ctx, "github:acme/api/milestone/"+strconv.Itoa(ms)) // and the next poll
	drain(t, r, c.st)

	_, all := c.thread()
	got := bodies(all[len(first):])
	want := []string{
		"Recommitted from 2026-12-01 to 2026-12-15 by lead-jane. Reason: SSO added to scope",
		"mallory may not record a commitment here",
		"2026-10-01 is in the past",
		"/commit YYYY-MM-DD", // help
	}
	if len(got) != 5 {
		t.Fatalf("got %d new comments, want 5 (4 replies, 1 recommitted event):\n%s", len(got), strings.Join(got, "\n---\n"))
	}
	joined := strings.Join(got, "\n---\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("no comment says %q:\n%s", w, joined)
		}
	}
	kinds := map[reconcile.EventKind]int{}
	for _, b := range got {
		for _, m := range reconcile.ParseMarkers(b) {
			kinds[m.EventKind]++
		}
	}
	if kinds[reconcile.EvReply] != 4 || kinds[reconcile.EvRecommitted] != 1 {
		t.Errorf("markers of the new comments = %v, want 4 replies and 1 recommitted", kinds)
	}
	recs, _ := r.records(ctx)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	if cur, _ := recs[0].Commitment(); cur.Date.String() != "2026-12-15" || cur.By != "lead-jane" || cur.Reason != "SSO added to scope" {
		t.Errorf("current commitment = %+v", cur)
	}
}

// TestWeeklyUpdateOnce: the periodic update is posted once per period,
// whatever the number of replicas, and again after a restart it is not
// repeated.
func TestWeeklyUpdateOnce(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	prefix := srv.Prefix(t)
	a, ca := newConversation(t, prefix, "A", gh, clk, 7*24*time.Hour)
	b, cb := newConversation(t, prefix, "B", gh, clk, 7*24*time.Hour)
	ctx := context.Background()
	key := "github:acme/api/milestone/" + strconv.Itoa(ms)
	_ = ca.st.Enqueue(ctx, key)
	drain(t, a, ca.st)

	clk.Add(8 * 24 * time.Hour) // into the next weekly period
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Process(ctx, key) }()
	_ = b.Process(ctx, key)
	<-done
	// Whatever lost the race above (busy, or saw the post) goes again.
	_ = a.Process(ctx, key)
	_ = b.Process(ctx, key)
	// A restart: a new runner on the same Redis.
	c2, _ := newConversation(t, prefix, "A2", gh, clk, 7*24*time.Hour)
	_ = c2.Process(ctx, key)

	_, mine := cb.thread()
	n := 0
	for _, cm := range mine {
		for _, m := range reconcile.ParseMarkers(cm.Body) {
			if m.EventKind == reconcile.EvStatusUpdate {
				n++
			}
		}
	}
	if n != 1 {
		t.Errorf("%d status updates posted in one period, want 1", n)
	}
}
