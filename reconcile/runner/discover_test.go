package runner

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/internal/apispec"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// queued takes every key on the stream, in order, and acks them.
func queued(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	for {
		msgs, err := st.Read(ctx, "test-reader", 100, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return keys
		}
		for _, m := range msgs {
			keys = append(keys, m.Key)
			if err := st.Ack(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// An organisation-wide config end to end: the poll looks the
// organisation's repositories up and polls what it found; a repository
// webhook has a new one looked up and listed at once; /readyz and check
// say what was found; a repository archived since is no longer polled,
// and its key left on the stream is done with, not parked.
func TestWildcardTeamsAreDiscoveredAndPolled(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh := apispec.GitHubSandbox(t, clk.Now)
	gh.AddOrg("acme")
	for _, r := range []githubtest.Repo{{Name: "acme/api"}, {Name: "acme/web"}, {Name: "acme/attic", Archived: true}} {
		gh.SetRepo(r)
		gh.AddMilestone(r.Name, githubtest.Milestone{Title: "v1", DueOn: clk.Now().AddDate(0, 1, 0)})
	}
	st := store.New(srv.Client(t), "discover:", store.Options{})
	conn, err := github.New(&config.GitHub{BaseURL: gh.URL, Token: "ghp_discover", WebhookSecret: convSecret,
		Repos: []string{"acme/*"}, DiscoverEvery: config.Duration(time.Hour), TrackingLabel: "slipwatch"},
		github.Options{Validators: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New([]Connector{conn}, st, reconcile.Settings{Location: time.UTC, Baseline: "first_seen", Window: 42, Trials: 100, Confidence: 0.85, MinSamples: 5},
		Options{Owner: "discoverer", Now: clk.Now, PollInterval: time.Hour, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}

	r.PollOnce(ctx)
	if got := queued(t, st); !slices.Equal(got, []string{"github:acme/api", "github:acme/web"}) {
		t.Errorf("first poll queued %v, want the two active repositories", got)
	}
	// Within discover_every no look-up, whatever the poll interval.
	gh.ResetCounts()
	clk.Add(30 * time.Minute)
	r.PollOnce(ctx)
	if n := gh.Hits("GET /orgs/acme/repos"); n != 0 {
		t.Errorf("%d look-ups within discover_every, want 0", n)
	}
	queued(t, st)

	h := r.Handler(nil)
	ready := func() string {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		b, _ := io.ReadAll(w.Body)
		return string(b)
	}
	if body := ready(); !strings.Contains(body, "github acme/*: 2 repositories\n") {
		t.Errorf("/readyz body %q, want what acme/* found", body)
	}

	// A repository is made: GitHub's webhook says so.
	gh.SetRepo(githubtest.Repo{Name: "acme/new"})
	gh.AddMilestone("acme/new", githubtest.Milestone{Title: "n1"})
	body := bytes.ReplaceAll(intakeFixture(t, "repository.created.json"), []byte("Octocoders/Hello-World"), []byte("acme/new"))
	mac := hmac.New(sha256.New, []byte(convSecret))
	mac.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "repository")
	req.Header.Set("X-GitHub-Delivery", "9a8b7c6d-0000-11f1-8000-000000000001")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusAccepted {
		t.Fatalf("repository webhook: %d %s", w.Code, w.Body)
	}
	keys := queued(t, st)
	if !slices.Equal(keys, []string{"discover:github"}) {
		t.Fatalf("the webhook queued %v, want the discovery key", keys)
	}
	if err := r.Process(ctx, keys[0]); err != nil {
		t.Fatalf("Process %s: %v", keys[0], err)
	}
	if got := queued(t, st); !slices.Equal(got, []string{"github:acme/new"}) {
		t.Errorf("discovery queued %v, want the new repository's listing", got)
	}
	if err := r.Process(ctx, "github:acme/new"); err != nil {
		t.Errorf("listing the new repository: %v", err)
	}
	if got := queued(t, st); !slices.Equal(got, []string{"github:acme/new/milestone/1"}) {
		t.Errorf("listing the new repository queued %v", got)
	}

	// acme/web is archived; its listing key, queued before, is done with.
	gh.SetRepo(githubtest.Repo{Name: "acme/web", Archived: true})
	clk.Add(time.Hour)
	res := r.Check(ctx, false)
	if err := res.Err(); err != nil {
		t.Fatalf("check: %v", err)
	}
	if len(res.Discovered) != 1 || res.Discovered[0].String() != "github acme/*: 2 repositories" {
		t.Errorf("check found %v, want acme/api and acme/new", res.Discovered)
	}
	if err := r.Process(ctx, "github:acme/web"); err != nil {
		t.Errorf("listing an archived repository: %v, want nothing to do", err)
	}
	if err := r.Process(ctx, "github:acme/web/milestone/1"); err != nil {
		t.Errorf("a deliverable of an archived repository: %v, want gone", err)
	}
}
