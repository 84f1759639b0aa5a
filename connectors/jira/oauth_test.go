package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// tokenServer is an Atlassian-style token endpoint with rotating refresh
// tokens: each refresh token works once; presenting it again is refused
// with invalid_grant.
type tokenServer struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	live     map[string]bool // refresh tokens not yet spent
	access   map[string]bool // access tokens issued
	n        int
	reused   []string // spent or unknown refresh tokens presented
	accepted []string // refresh tokens exchanged, in order
}

func newTokenServer(t *testing.T, seed ...string) *tokenServer {
	ts := &tokenServer{t: t, live: map[string]bool{}, access: map[string]bool{}}
	for _, s := range seed {
		ts.live[s] = true
	}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.srv.Close)
	return ts
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	if r.URL.Path != "/oauth/token" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		json.NewDecoder(r.Body).Decode(&in) != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	if in["grant_type"] != "refresh_token" || in["client_id"] != "client-1" || in["client_secret"] != "client-secret" {
		writeJSON(w, 401, map[string]string{"error": "access_denied", "error_description": "Unauthorized"})
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	rt := in["refresh_token"]
	if !ts.live[rt] {
		ts.reused = append(ts.reused, rt)
		writeJSON(w, 403, map[string]string{"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
		return
	}
	delete(ts.live, rt)
	ts.accepted = append(ts.accepted, rt)
	ts.n++
	next, access := fmt.Sprintf("refresh-%d", ts.n), fmt.Sprintf("access-%d", ts.n)
	ts.live[next] = true
	ts.access[access] = true
	writeJSON(w, 200, map[string]any{"access_token": access, "refresh_token": next, "expires_in": 3600, "token_type": "Bearer", "scope": "read:jira-work write:jira-work offline_access"})
}

func (ts *tokenServer) validAccess(authz string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	return ok && ts.access[tok]
}

func (ts *tokenServer) state() (live []string, reused []string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for k := range ts.live {
		live = append(live, k)
	}
	return live, append([]string(nil), ts.reused...)
}

// memTokens is the token store as the Redis store behaves: an atomic
// compare-and-swap per name. holdReads makes the first n reads wait for
// each other, so n replicas are sure to start from the same token.
type memTokens struct {
	mu     sync.Mutex
	tokens map[string]string
	swaps  int

	hold    int
	arrived int
	release chan struct{}
}

func newMemTokens() *memTokens { return &memTokens{tokens: map[string]string{}} }

func (m *memTokens) holdReads(n int) {
	m.hold, m.release = n, make(chan struct{})
}

func (m *memTokens) GetToken(ctx context.Context, name string) (string, error) {
	m.mu.Lock()
	if m.hold > 0 && m.arrived < m.hold {
		m.arrived++
		if m.arrived == m.hold {
			close(m.release)
		}
		ch := m.release
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	return m.tokens[name], nil
}

func (m *memTokens) SwapToken(_ context.Context, name, old, new string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens[name] != old {
		return false, nil
	}
	m.tokens[name] = new
	m.swaps++
	return true, nil
}

func (m *memTokens) get(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[name]
}

func oauthConfig(f *jiratest.Server, ts *tokenServer, refresh string) *config.OAuth2 {
	return &config.OAuth2{
		ClientID: "client-1", ClientSecret: "client-secret", RefreshToken: config.Secret(refresh),
		CloudID: "cloud-1", TokenURL: ts.srv.URL + "/oauth/token", APIURL: f.URL + "/ex/jira/",
	}
}

// newOAuthReplica is one slipwatch process using 3LO against f.
func newOAuthReplica(t *testing.T, f *jiratest.Server, ts *tokenServer, store TokenStore, refresh string) *Client {
	t.Helper()
	c, _ := newTestClient(t, f, func(cfg *config.Jira, o *Options) {
		cfg.BaseURL = "https://acme.atlassian.net"
		cfg.Auth = config.Auth{OAuth2: oauthConfig(f, ts, refresh)}
		o.Tokens = store
		// The replica that lost the race waits for the winner's swap, which
		// happens in another goroutine: its waits must let time pass.
		o.sleep = func(ctx context.Context, d time.Duration) error {
			time.Sleep(d / 10) // 5s of settling is half a second here
			return ctx.Err()
		}
	})
	return c
}

func oauthJira(t *testing.T, ts *tokenServer) *jiratest.Server {
	f := newFakeJira(t, true)
	f.SetPrefix("/ex/jira/cloud-1")
	f.AuthFunc(ts.validAccess)
	return f
}

func TestOAuthRotation(t *testing.T) {
	ts := newTokenServer(t, "refresh-0")
	f := oauthJira(t, ts)
	store := newMemTokens()
	store.holdReads(2)
	name := TokenName(&config.OAuth2{ClientID: "client-1", CloudID: "cloud-1"})

	// Two replicas start together from the configured refresh token; the
	// server takes it once.
	a := newOAuthReplica(t, f, ts, store, "refresh-0")
	b := newOAuthReplica(t, f, ts, store, "refresh-0")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*Client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Self(context.Background())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Self: %v", i, err)
		}
	}
	live, reused := ts.state()
	if len(live) != 1 || store.get(name) != live[0] {
		t.Fatalf("store holds %q, the server's unspent tokens are %v: want the store to hold the one live token", store.get(name), live)
	}
	// The loser may have presented refresh-0 once, before it could know
	// (whether it did depends on who reached the token server first);
	// never again, and no other spent token.
	if len(reused) > 1 || len(reused) == 1 && reused[0] != "refresh-0" {
		t.Errorf("spent tokens presented = %v, want at most [refresh-0] once", reused)
	}
	if n := f.Hits("GET /rest/api/2/myself"); n != 2 {
		t.Errorf("myself through /ex/jira/cloud-1 hit %d times, want 2", n)
	}
	if n := f.Hits("GET /rest/api/2/serverInfo"); n != 0 {
		t.Errorf("serverInfo asked %d times: 3LO is Cloud", n)
	}

	// A restart: the config still names refresh-0, long spent. The new
	// process must start from the store.
	restarted := newOAuthReplica(t, f, ts, store, "refresh-0")
	if _, err := restarted.Self(context.Background()); err != nil {
		t.Fatalf("after a restart: Self: %v", err)
	}
	live, reused2 := ts.state()
	if len(reused2) != len(reused) {
		t.Errorf("after a restart, spent tokens presented = %v", reused2[len(reused):])
	}
	if len(live) != 1 || store.get(name) != live[0] {
		t.Errorf("after a restart the store holds %q, live %v", store.get(name), live)
	}
}

func TestOAuthSwapLost(t *testing.T) {
	// Another replica stores its token between this one's read and swap:
	// this one's access token still works and the store keeps the other's.
	ts := newTokenServer(t, "refresh-0")
	f := oauthJira(t, ts)
	store := &racingStore{memTokens: newMemTokens(), other: "refresh-from-elsewhere"}
	c := newOAuthReplica(t, f, ts, store, "refresh-0")
	if _, err := c.Self(context.Background()); err != nil {
		t.Fatalf("Self: %v", err)
	}
	if got := store.get(TokenName(&config.OAuth2{ClientID: "client-1", CloudID: "cloud-1"})); got != "refresh-from-elsewhere" {
		t.Errorf("store = %q, want the other replica's token kept", got)
	}
}

// racingStore lets another replica win the first swap.
type racingStore struct {
	*memTokens
	other string
	once  sync.Once
}

func (r *racingStore) SwapToken(ctx context.Context, name, old, new string) (bool, error) {
	r.once.Do(func() { _, _ = r.memTokens.SwapToken(ctx, name, old, r.other) })
	return r.memTokens.SwapToken(ctx, name, old, new)
}

func TestOAuthDeadGrant(t *testing.T) {
	name := TokenName(&config.OAuth2{ClientID: "client-1", CloudID: "cloud-1"})
	t.Run("every token refused", func(t *testing.T) {
		ts := newTokenServer(t) // knows no token
		f := oauthJira(t, ts)
		store := newMemTokens()
		store.tokens[name] = "refresh-revoked"
		c := newOAuthReplica(t, f, ts, store, "refresh-0")
		_, err := c.Self(context.Background())
		if !errors.Is(err, connectors.ErrTerminal) || !strings.Contains(err.Error(), "authorise slipwatch again") {
			t.Errorf("Self = %v, want a terminal error asking for a new grant", err)
		}
		if strings.Contains(err.Error(), "client-secret") || strings.Contains(err.Error(), "refresh-revoked") {
			t.Errorf("error leaks a secret: %v", err)
		}
		_, reused := ts.state()
		if len(reused) != 2 {
			t.Errorf("tokens presented = %v, want the stored one and the configured one once each", reused)
		}
	})
	t.Run("re-authorised in the config", func(t *testing.T) {
		ts := newTokenServer(t, "refresh-new-grant")
		f := oauthJira(t, ts)
		store := newMemTokens()
		store.tokens[name] = "refresh-revoked"
		c := newOAuthReplica(t, f, ts, store, "refresh-new-grant")
		if _, err := c.Self(context.Background()); err != nil {
			t.Fatalf("Self: %v", err)
		}
		live, _ := ts.state()
		if len(live) != 1 || store.get(name) != live[0] {
			t.Errorf("store = %q, live %v", store.get(name), live)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		ts := newTokenServer(t, "refresh-0")
		f := oauthJira(t, ts)
		c, _ := newTestClient(t, f, func(cfg *config.Jira, o *Options) {
			oc := oauthConfig(f, ts, "refresh-0")
			oc.ClientSecret = "wrong"
			cfg.Auth = config.Auth{OAuth2: oc}
			o.Tokens = newMemTokens()
		})
		_, err := c.Self(context.Background())
		if !errors.Is(err, connectors.ErrTerminal) || strings.Contains(err.Error(), "wrong") {
			t.Errorf("Self = %v, want terminal, without the secret", err)
		}
	})
}

func TestOAuthNeedsStore(t *testing.T) {
	f := newFakeJira(t, true)
	cfg := testConfig(f)
	cfg.Auth = config.Auth{OAuth2: &config.OAuth2{ClientID: "c", ClientSecret: "s", RefreshToken: "r", CloudID: "x"}}
	if _, err := New(cfg, Options{}); err == nil {
		t.Error("New without a token store accepted OAuth")
	}
}
