package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// orgSandbox is an organisation "acme" with a repository of every kind
// discovery tells apart, and one of another owner.
func orgSandbox(t *testing.T) *sandbox {
	t.Helper()
	f := newSandbox(t)
	f.AddOrg("acme")
	for _, r := range []githubtest.Repo{
		{Name: "acme/api"}, {Name: "acme/web", Private: true},
		{Name: "acme/old", Archived: true}, {Name: "acme/gone", Disabled: true},
		{Name: "acme/fork", Fork: true}, {Name: "acme/wiki", NoIssues: true},
		{Name: "other/app"},
	} {
		f.SetRepo(r)
		f.advance(time.Minute)
	}
	f.milestone("acme/api", "v1", day("2026-04-01"))
	f.milestone("acme/fork", "f1", day("2026-04-01"))
	return f
}

func discoverClient(t *testing.T, f *sandbox, repos ...string) *Client {
	t.Helper()
	return newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.Repos = repos })
}

func TestDiscoverFindsTheOrganisationsRepositories(t *testing.T) {
	t.Parallel()
	f := orgSandbox(t)
	// A fork listed by name is watched though discovery leaves forks out.
	c := discoverClient(t, f, "acme/*", "acme/fork")
	ctx := context.Background()
	if got := c.Teams(); !cmp.Equal(got, []string{"acme/fork"}) {
		t.Errorf("before discovery: Teams %v, want the listed repository only", got)
	}
	var m Meter
	added, err := c.Discover(WithMeter(ctx, &m))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acme/api", "acme/web"}, added); diff != "" {
		t.Errorf("added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"acme/api", "acme/fork", "acme/web"}, c.Teams()); diff != "" {
		t.Errorf("Teams (-want +got):\n%s", diff)
	}
	if got := m.Cost(); got.Kinds[KindDiscovery].Requests != 1 || got.Requests != 1 {
		t.Errorf("discovery cost %+v, want one list", got)
	}
	ds := c.Discoveries()
	if len(ds) != 1 || ds[0].String() != "acme/*: 2 repositories" || ds[0].Err != nil {
		t.Errorf("Discoveries %+v", ds)
	}
	if cost := c.Costs()["acme/*"]; cost.Requests != 1 {
		t.Errorf("Costs[acme/*] = %+v, want the discovery's request", cost)
	}
	// A discovered repository is polled like a listed one.
	refs, err := c.List(ctx, "acme/api")
	if err != nil || len(refs) != 1 {
		t.Errorf("List acme/api: %v, %v", refs, err)
	}

	// Unchanged: the next look-up is a 304, and adds nothing.
	f.ResetCounts()
	if added, err := c.Discover(ctx); err != nil || len(added) != 0 {
		t.Errorf("second look-up: %v, %v", added, err)
	}
	if got := f.counts(); got.Counted != 0 || got.Total != 1 {
		t.Errorf("second look-up: %+v, want one 304", got)
	}

	// A repository made, one archived: the next look-up says so, and the
	// archived one is no longer polled (its records stay in Redis).
	f.SetRepo(githubtest.Repo{Name: "acme/new"})
	f.SetRepo(githubtest.Repo{Name: "acme/api", Archived: true})
	added, err = c.Discover(ctx)
	if err != nil || !cmp.Equal(added, []string{"acme/new"}) {
		t.Errorf("after a new repository: added %v, %v", added, err)
	}
	if diff := cmp.Diff([]string{"acme/fork", "acme/new", "acme/web"}, c.Teams()); diff != "" {
		t.Errorf("Teams after the change (-want +got):\n%s", diff)
	}
	if _, err := c.List(ctx, "acme/api"); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("List of the archived repository: %v, want not found", err)
	}
	if _, err := c.Observe(ctx, milestoneRef("acme/api", 1)); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("Observe in the archived repository: %v, want not found", err)
	}
	if _, err := c.List(ctx, "other/app"); !errors.Is(err, connectors.ErrTerminal) {
		t.Errorf("List of a repository of no watched owner: %v, want terminal", err)
	}
}

// A user's repositories: the token's own user's, private ones included;
// another user's public ones only.
func TestDiscoverAUsersRepositories(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	for _, r := range []githubtest.Repo{{Name: "octocat/a"}, {Name: "octocat/b", Private: true}, {Name: "hubot/c"}, {Name: "hubot/d", Private: true}} {
		f.SetRepo(r)
	}
	f.Self = "octocat"
	c := discoverClient(t, f, "octocat/*", "hubot/*")
	if _, err := c.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hubot/c", "octocat/a", "octocat/b"}, c.Teams()); diff != "" {
		t.Errorf("Teams (-want +got):\n%s", diff)
	}
	for _, hit := range []string{"GET /orgs/octocat/repos", "GET /user/repos", "GET /orgs/hubot/repos", "GET /users/hubot/repos"} {
		if f.Hits(hit) != 1 {
			t.Errorf("%s: %d requests, want 1", hit, f.Hits(hit))
		}
	}
	// Known to be users now: no organisation is asked for again.
	if _, err := c.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.Hits("GET /orgs/octocat/repos"); n != 1 {
		t.Errorf("organisation asked for %d times, want once", n)
	}
}

// With a GitHub App, the installation's repositories are what it can see.
func TestDiscoverTheInstallationsRepositories(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	f := orgSandbox(t)
	f.SetApp(githubtest.App{ID: 7, InstallationID: 42, Slug: "slipwatch-test", Key: &key.PublicKey})
	f.SetInstallationRepos([]string{"acme/api", "acme/old", "other/app"})
	c := newTestClient(t, f, func(g *config.GitHub, _ *Options) {
		g.Token, g.Repos = "", []string{"acme/*"}
		g.App = &config.App{ID: 7, InstallationID: 42, PrivateKey: config.Secret(keyPEM)}
	})
	if _, err := c.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acme/api"}, c.Teams()); diff != "" {
		t.Errorf("Teams (-want +got):\n%s", diff)
	}
	if n := f.Hits("GET /installation/repositories"); n != 1 {
		t.Errorf("%d installation lists, want 1", n)
	}
}

// A failed look-up keeps what the last one found, and says so.
func TestDiscoverKeepsWhatItHadWhenGitHubFails(t *testing.T) {
	t.Parallel()
	f := orgSandbox(t)
	c := discoverClient(t, f, "acme/*")
	ctx := context.Background()
	if _, err := c.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	f.Inject(githubtest.Fault{PathPrefix: "/orgs/acme/repos", Status: 502, Body: `{"message":"Server Error"}`, Times: 10})
	if _, err := c.Discover(ctx); err == nil {
		t.Fatal("Discover during an outage: no error")
	}
	if diff := cmp.Diff([]string{"acme/api", "acme/web"}, c.Teams()); diff != "" {
		t.Errorf("Teams during the outage (-want +got):\n%s", diff)
	}
	ds := c.Discoveries()
	if len(ds) != 1 || ds[0].Err == nil || !strings.HasPrefix(ds[0].String(), "acme/*: 2 repositories (last look-up failed: ") {
		t.Errorf("Discoveries during the outage: %v", ds)
	}
}

// A repository of a watched owner asked for before discovery found it (a
// webhook's key, another replica's poll) makes the owner be looked up
// again, at most once a minute.
func TestAnUnknownRepositoryOfAWatchedOwnerIsLookedFor(t *testing.T) {
	t.Parallel()
	f := orgSandbox(t)
	c := discoverClient(t, f, "acme/*")
	ctx := context.Background()
	if _, err := c.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Minute)
	f.SetRepo(githubtest.Repo{Name: "acme/new"})
	f.milestone("acme/new", "n1", time.Time{})
	if _, err := c.Observe(ctx, milestoneRef("acme/new", 1)); err != nil {
		t.Fatalf("Observe in a repository made since the last look-up: %v", err)
	}
	if _, err := c.List(ctx, "acme/nothing"); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("List of a repository that does not exist: %v, want not found", err)
	}
	if n := f.Hits("GET /orgs/acme/repos"); n != 2 {
		t.Errorf("%d look-ups, want 2 (the second one minute's)", n)
	}
}
