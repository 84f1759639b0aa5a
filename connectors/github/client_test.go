package github

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

const repo = "acme/api"

func testConfig(f *sandbox, repos ...string) *config.GitHub {
	if len(repos) == 0 {
		repos = []string{repo}
	}
	return &config.GitHub{
		BaseURL:             strings.TrimSuffix(f.URL, "api/v3/"), // not api.github.com: Enterprise, /api/v3/
		Token:               testToken,
		WebhookSecret:       "current-secret",
		Repos:               repos,
		TrackingLabel:       "slipwatch",
		CreateTrackingIssue: true,
	}
}

func testOptions(f *sandbox) Options {
	return Options{
		Validators: newMemValidators(),
		Now:        f.Now,
		sleep:      f.Sleep,
		Version:    "1.2.3",
		Allow:      []string{"Dana"},
	}
}

func newTestClient(t testing.TB, f *sandbox, edit func(*config.GitHub, *Options)) *Client {
	t.Helper()
	cfg := testConfig(f)
	o := testOptions(f)
	if edit != nil {
		edit(cfg, &o)
	}
	c, err := New(cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(15 * time.Hour)
}

// world is a repository with one milestone in every state slipwatch cares
// about; the sandbox's clock is 2026-03-02 10:00 UTC.
type world struct {
	ms, tracking       int
	open, done, pr     int
	alice, bob, carol  int64
	selfStatus         int64
	outsideClosedToday int
}

func buildWorld(f *sandbox) world {
	var w world
	w.ms = f.milestone(repo, "v1.0", time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC))
	f.milestone(repo, "v2.0", time.Time{})
	w.open = f.issue(repo, githubtest.Issue{Milestone: w.ms, CreatedAt: day("2026-01-10")})
	w.done = f.issue(repo, githubtest.Issue{Milestone: w.ms, CreatedAt: day("2026-01-11"), ClosedAt: day("2026-02-20")})
	w.pr = f.issue(repo, githubtest.Issue{Milestone: w.ms, PR: true, CreatedAt: day("2026-01-12")})
	w.tracking = f.issue(repo, githubtest.Issue{Milestone: w.ms, Labels: []string{"Slipwatch"}, CreatedAt: day("2026-01-13")})
	// Throughput: closed in the window, outside it, not planned, a pull
	// request closed without merging.
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: day("2026-03-01")})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: day("2026-03-01")})
	w.outsideClosedToday = f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2025-10-01"), ClosedAt: day("2025-12-01")})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: day("2026-03-01"), StateReason: "not_planned"})
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: day("2026-03-01"), PR: true})

	f.SetPermission(repo, "alice", "write")
	f.SetPermission(repo, "bob", "read")
	f.SetPermission(repo, "dana", "read")
	w.alice = f.AddCommentAt(repo, w.tracking, "alice", "/commit 2026-04-15 promised to the board", day("2026-01-20"))
	w.bob = f.AddCommentAt(repo, w.tracking, "bob", "/commit 2026-05-01", day("2026-01-21"))
	w.carol = f.AddCommentAt(repo, w.tracking, "carol", "looks good", day("2026-01-22"))
	w.selfStatus = f.AddCommentAt(repo, w.tracking, f.Self, "Status: on track\n\n<!-- slipwatch:status id=c1 v=1 {} -->", day("2026-01-23"))
	f.AddCommentAt(repo, w.tracking, "Dana", "/commit 2026-06-01", day("2026-01-24"))
	return w
}

func TestObserveReadsMilestoneItemsThreadAndThroughput(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	refs, err := c.List(ctx, "ACME/api")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	wantRefs := []connectors.Ref{
		{Tracker: connectors.GitHub, Team: repo, Kind: connectors.Milestone, ID: "1"},
		{Tracker: connectors.GitHub, Team: repo, Kind: connectors.Milestone, ID: "2"},
	}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	snap, err := c.Observe(ctx, refs[0])
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	d := snap.Deliverable
	if d.Title != "v1.0" || d.Closed || !d.DueAt.Equal(time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("deliverable %q closed=%v due=%v", d.Title, d.Closed, d.DueAt)
	}
	if !strings.HasSuffix(d.URL, "/acme/api/milestone/1") || d.Description != "Milestone v1.0" {
		t.Errorf("deliverable URL %q description %q", d.URL, d.Description)
	}
	wantItems := []connectors.Item{
		{ID: "1", CreatedAt: day("2026-01-10")},
		{ID: "2", CreatedAt: day("2026-01-11"), ClosedAt: day("2026-02-20")},
		{ID: "3", CreatedAt: day("2026-01-12")}, // the pull request
	}
	if diff := cmp.Diff(wantItems, d.Items); diff != "" {
		t.Errorf("items: issues and pull requests, the tracking issue left out (-want +got):\n%s", diff)
	}

	if snap.Thread == nil {
		t.Fatal("no thread; the labelled issue in the milestone is it")
	}
	if snap.Thread.ID != "acme/api#4" || !strings.HasSuffix(snap.Thread.URL, "/acme/api/issues/4") {
		t.Errorf("thread %q at %q", snap.Thread.ID, snap.Thread.URL)
	}
	type flags struct {
		Author            string
		BySelf, CanCommit bool
		HiddenIsBody      bool
	}
	var got []flags
	for _, cm := range snap.Thread.Comments {
		got = append(got, flags{cm.Author, cm.BySelf, cm.AuthorCanCommit, cm.Hidden == cm.Body && cm.Body != ""})
	}
	want := []flags{
		{"alice", false, true, true},  // write permission
		{"bob", false, false, true},   // read permission
		{"carol", false, false, true}, // no command: no lookup
		{f.Self, true, false, true},
		{"Dana", false, true, true}, // in commands.allow despite read permission
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	perms := map[string]int{}
	for _, login := range []string{"alice", "bob", "carol", f.Self, "Dana", "dana"} {
		perms[login] = f.Hits("GET /repos/acme/api/collaborators/" + login + "/permission")
	}
	if diff := cmp.Diff(map[string]int{"alice": 1, "bob": 1, "carol": 0, f.Self: 0, "Dana": 0, "dana": 0}, perms); diff != "" {
		t.Errorf("permission lookups: alice's and bob's only, not carol's (no command), self's or Dana's (commands.allow) (-want +got):\n%s", diff)
	}

	// Window [2026-01-20, 2026-03-02] in UTC: two closed on 03-01, one
	// today, one 02-20 (in the milestone); not planned and the pull request
	// closed unmerged left out.
	tp := snap.Throughput
	if tp.From.String() != "2026-01-20" || tp.To.String() != "2026-03-02" || len(tp.Daily) != 42 {
		t.Fatalf("throughput window %s..%s (%d days)", tp.From, tp.To, len(tp.Daily))
	}
	if tp.Daily[41] != 1 || tp.Daily[40] != 2 || tp.Daily[31] != 1 || tp.Total() != 4 {
		t.Errorf("throughput: today %d, yesterday %d, 02-20 %d, total %d; want 1, 2, 1, 4", tp.Daily[41], tp.Daily[40], tp.Daily[31], tp.Total())
	}

	// A second milestone without issues: no items, no thread.
	snap2, err := c.Observe(ctx, refs[1])
	if err != nil {
		t.Fatalf("Observe 2: %v", err)
	}
	if len(snap2.Deliverable.Items) != 0 || snap2.Thread != nil || !snap2.Deliverable.DueAt.IsZero() {
		t.Errorf("empty milestone: %+v", snap2)
	}
	_ = w
}

func TestThroughputDaysFollowTheConfiguredZone(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.milestone(repo, "v1", time.Time{})
	// 2026-03-01 23:30 UTC is already 2026-03-02 in Berlin.
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-01-01"), ClosedAt: time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, f, func(_ *config.GitHub, o *Options) { o.Location = berlin; o.WindowDays = 7 })
	snap, err := c.Observe(context.Background(), milestoneRef(repo, 1))
	if err != nil {
		t.Fatal(err)
	}
	tp := snap.Throughput
	if tp.To.String() != "2026-03-02" || len(tp.Daily) != 7 || tp.Daily[6] != 1 {
		t.Errorf("throughput %s..%s %v; want the close counted on 2026-03-02", tp.From, tp.To, tp.Daily)
	}
}

func TestWarmCycleMakesNoCountedRequest(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	cycle := func() []connectors.Snapshot {
		t.Helper()
		refs, err := c.List(ctx, repo)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var snaps []connectors.Snapshot
		for _, ref := range refs {
			s, err := c.Observe(ctx, ref)
			if err != nil {
				t.Fatalf("Observe %s: %v", ref, err)
			}
			snaps = append(snaps, s)
		}
		return snaps
	}

	cold := cycle()
	f.ResetCounts()
	f.advance(5 * time.Minute)
	warm := cycle()
	got := f.counts()
	if got.Counted != 0 {
		t.Errorf("warm cycle made %d counted requests, want 0", got.Counted)
	}
	if got.Total != 3 || f.Hits("GET /repos/acme/api/milestones") != 1 || f.Hits("GET /repos/acme/api/issues") != 1 || f.Hits("GET /repos/acme/api/issues/comments") != 1 {
		t.Errorf("warm cycle made %d requests, want 3 conditional ones (milestones, issues, comments by last update)", got.Total)
	}
	if diff := cmp.Diff(cold, warm); diff != "" {
		t.Errorf("warm snapshots differ from cold (-cold +warm):\n%s", diff)
	}

	// An issue closes: the lists that changed come back whole, nothing else.
	f.advance(time.Minute)
	f.closeIssue(repo, w.open, "completed")
	f.ResetCounts()
	f.advance(5 * time.Minute)
	changed := cycle()
	if !changed[0].Deliverable.Items[0].Done() {
		t.Errorf("closed issue not seen as done")
	}
	if got, want := changed[0].Throughput.Total(), cold[0].Throughput.Total()+1; got != want {
		t.Errorf("throughput after a close: %d, want %d", got, want)
	}
	if n := f.Hits("GET /repos/acme/api/issues/" + strconv.Itoa(w.tracking) + "/comments"); n != 0 {
		t.Errorf("thread comments re-read %d times though none changed", n)
	}

	// A /commit comment on the thread is noticed through the recent
	// comments list, without a webhook.
	f.AddComment(repo, w.tracking, "alice", "/commit 2026-04-20 scope cut")
	f.advance(5 * time.Minute)
	snaps := cycle()
	th := snaps[0].Thread
	if last := th.Comments[len(th.Comments)-1]; last.Body != "/commit 2026-04-20 scope cut" || !last.AuthorCanCommit {
		t.Errorf("new command not observed: %+v", last)
	}
}

func TestThroughputFollowsTheDay(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	total := func() int {
		t.Helper()
		snap, err := c.Observe(ctx, milestoneRef(repo, 1))
		if err != nil {
			t.Fatal(err)
		}
		return snap.Throughput.Total()
	}
	if got := total(); got != 4 {
		t.Fatalf("first read: %d completed, want 4", got)
	}
	// Closed later the same day: merged from the recent list.
	f.advance(time.Hour)
	f.issue(repo, githubtest.Issue{CreatedAt: day("2026-02-01"), ClosedAt: f.Now()})
	f.advance(time.Minute)
	if got := total(); got != 5 {
		t.Errorf("after a close today: %d, want 5", got)
	}
	// 35 days on the window starts 02-24: 02-20 has left it, 03-01 and
	// 03-02 are still in it; the day's first read takes the whole window.
	f.advance(35 * 24 * time.Hour)
	if got := total(); got != 4 {
		t.Errorf("35 days later: %d, want 4 (02-20 left the window)", got)
	}
}

func TestObserveWithinViewTTLReusesTheLists(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if _, err := c.Observe(ctx, milestoneRef(repo, 1)); err != nil {
		t.Fatal(err)
	}
	f.ResetCounts()
	for range 3 {
		if _, err := c.Observe(ctx, milestoneRef(repo, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.counts().Total; got != 0 {
		t.Errorf("%d requests for observations within the view TTL, want 0", got)
	}
	f.advance(viewTTL)
	if _, err := c.Observe(ctx, milestoneRef(repo, 1)); err != nil {
		t.Fatal(err)
	}
	if got := f.counts(); got.Total != 3 || got.Counted != 0 {
		t.Errorf("after the TTL: %+v, want 3 revalidations", got)
	}
}

func TestPaginationFollowsLinkAndSurvivesRevalidation(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, "big", time.Time{})
	for range 250 {
		f.issue(repo, githubtest.Issue{Milestone: ms, CreatedAt: day("2026-01-05")})
	}
	store := newMemValidators()
	c := newTestClient(t, f, func(_ *config.GitHub, o *Options) { o.Validators = store })
	ctx := context.Background()
	snap, err := c.Observe(ctx, milestoneRef(repo, ms))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Deliverable.Items) != 250 {
		t.Fatalf("%d items, want 250 over three pages", len(snap.Deliverable.Items))
	}
	// A restart with the same validators walks the same pages: all 304,
	// and the Link replayed from the cache still leads to pages two and
	// three.
	restarted := newTestClient(t, f, func(_ *config.GitHub, o *Options) { o.Validators = store })
	f.advance(time.Minute)
	f.ResetCounts()
	snap, err = restarted.Observe(ctx, milestoneRef(repo, ms))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Deliverable.Items) != 250 {
		t.Errorf("%d items after revalidation, want 250", len(snap.Deliverable.Items))
	}
	got := f.counts()
	if n := f.Hits("GET /repos/acme/api/issues"); n != 4 { // 3 pages + the first again after the walk
		t.Errorf("%d issue-list requests, want 4", n)
	}
	if got.Counted != 0 {
		t.Errorf("%d counted requests revalidating unchanged pages, want 0", got.Counted)
	}
}

func TestRecordedPaginationFollowsLinksVerbatim(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	// The recorded first page's next link points at /repositories/{id},
	// as GitHub's do; the recorded last page is served there.
	page1 := recorded(t, "issues.list.page1-with-link-header.recorded.json")
	page1.Method, page1.PathPrefix = http.MethodGet, "/repos/octokit-fixture-org/tmp/issues"
	next := f.URL + "repositories/515435940/issues?per_page=3&page=2"
	page1.Header["Link"] = `<` + next + `>; rel="next", <` + next + `>; rel="last"`
	f.Inject(page1)
	last := recorded(t, "issues.list.page5-last.recorded.json")
	last.Method, last.PathPrefix = http.MethodGet, "/repositories/515435940/issues"
	f.Inject(last)
	c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.Repos = []string{"octokit-fixture-org/tmp"} })
	issues, err := listAll[*gh.Issue](context.Background(), c, "repos/octokit-fixture-org/tmp/issues?per_page=3")
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int
	for _, is := range issues {
		numbers = append(numbers, is.GetNumber())
	}
	if diff := cmp.Diff([]int{13, 12, 11, 1}, numbers); diff != "" {
		t.Errorf("issues over the recorded pages (-want +got):\n%s", diff)
	}
}

func TestLinkToAnotherHostIsNotFollowed(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.AddRepo(repo)
	f.Inject(githubtest.Fault{Status: http.StatusOK, Header: map[string]string{"Link": `<https://attacker.example/steal?page=2>; rel="next"`}, Body: "[]"})
	c := newTestClient(t, f, nil)
	if _, err := c.List(context.Background(), repo); err == nil || !strings.Contains(err.Error(), "attacker.example") {
		t.Errorf("List with a foreign next link: %v, want an error naming the host", err)
	}
}

func TestUserAgentAndEnterpriseBase(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.AddRepo(repo)
	var mu sync.Mutex
	var agents []string
	f.OnServe(func(s githubtest.Served) {
		mu.Lock()
		defer mu.Unlock()
		agents = append(agents, s.UserAgent)
	})
	// The sandbox serves only under /api/v3/, as GitHub Enterprise Server
	// does, and the configured base_url is the host's root: a List that
	// succeeds found the API where GHES has it.
	c := newTestClient(t, f, nil)
	if _, err := c.List(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ua := range agents {
		if ua != "slipwatch/1.2.3" {
			t.Errorf("User-Agent %q, want slipwatch/1.2.3", ua)
		}
	}

	for _, tt := range []struct{ base, want string }{
		{"https://api.github.com/", "https://api.github.com/"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3/"},
		{"https://ghe.example.com", "https://ghe.example.com/api/v3/"},
	} {
		c, err := New(&config.GitHub{BaseURL: tt.base, Token: "t", Repos: []string{repo}}, Options{})
		if err != nil {
			t.Fatalf("New(%q): %v", tt.base, err)
		}
		if got := c.gh.BaseURL.String(); got != tt.want {
			t.Errorf("base_url %q → API root %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]*config.GitHub{
		"nil":                  nil,
		"no credentials":       {BaseURL: "https://api.github.com/", Repos: []string{repo}},
		"bad base url":         {BaseURL: "::", Token: "t"},
		"app without key":      {BaseURL: "https://api.github.com/", App: &config.App{ID: 1, InstallationID: 2}},
		"app bad key":          {BaseURL: "https://api.github.com/", App: &config.App{ID: 1, InstallationID: 2, PrivateKey: "not a pem"}},
		"app missing key file": {BaseURL: "https://api.github.com/", App: &config.App{ID: 1, InstallationID: 2, PrivateKeyFile: "/nonexistent/key.pem"}},
	} {
		if _, err := New(cfg, Options{}); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestCacheEntriesAreNotSharedBetweenTokens(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.milestone(repo, "v1", time.Time{})
	store := newMemValidators()
	f.RequireAuth("") // any token
	a := newTestClient(t, f, func(g *config.GitHub, o *Options) { g.Token = "token-a"; o.Validators = store })
	b := newTestClient(t, f, func(g *config.GitHub, o *Options) { g.Token = "token-b"; o.Validators = store })
	ctx := context.Background()
	if _, err := a.List(ctx, repo); err != nil {
		t.Fatal(err)
	}
	f.ResetCounts()
	if _, err := b.List(ctx, repo); err != nil {
		t.Fatal(err)
	}
	if got := f.counts().NotModified; got != 0 {
		t.Errorf("token B's first reads were answered 304 from token A's entries (%d)", got)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	for k := range store.m {
		if strings.Contains(k, "token-a") || strings.Contains(k, "token-b") {
			t.Errorf("cache key %q holds a token", k)
		}
	}
}
