package jira

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// newFakeJira is the sandbox Jira, Cloud or Data Center, for one test: a
// mistake in the test's setup that it notices fails the test.
func newFakeJira(t *testing.T, cloud bool) *jiratest.Server {
	t.Helper()
	s := apispec.JiraSandbox(t, jiratest.Options{Cloud: cloud, Fail: t.Errorf})
	return s
}

// readTestdata is testdata/<name>: the webhook deliveries.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return b
}

// testNow is the clock of every test: 2026-03-10, noon UTC.
var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// sleeper is the tests' clock: it starts at testNow, and a wait the HTTP
// layers ask for is recorded and moves the clock on at once.
type sleeper struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.now = s.now.Add(d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *sleeper) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

const (
	testEmail = "slipwatch@example.com"
	testToken = "api-token-not-real"
	testPAT   = "pat-not-real"
)

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// testConfig is a config for f: Cloud with email and API token, Data
// Center with a personal access token, deployment auto.
func testConfig(f *jiratest.Server) *config.Jira {
	cfg := &config.Jira{
		BaseURL:             f.URL,
		Deployment:          config.JiraAuto,
		Projects:            []string{"PLAT"},
		Deliverables:        config.Deliverables{Versions: true, JQL: config.DefaultJiraJQL},
		CreateTrackingIssue: true,
		TrackingLabel:       "slipwatch",
	}
	if f.Cloud() {
		cfg.Auth = config.Auth{Email: testEmail, APIToken: testToken}
		f.RequireAuth(basicAuth(testEmail, testToken))
	} else {
		cfg.Auth = config.Auth{PAT: testPAT}
		f.RequireAuth("Bearer " + testPAT)
	}
	return cfg
}

func newTestClient(t *testing.T, f *jiratest.Server, edit func(*config.Jira, *Options)) (*Client, *sleeper) {
	t.Helper()
	cfg := testConfig(f)
	s := &sleeper{now: testNow}
	o := Options{
		Now:      s.Now,
		Location: time.UTC,
		Allow:    []string{"557058:aaaa", "Jane"}, // commands.allow: [jira:557058:aaaa, jira:Jane]
		sleep:    s.sleep,
		Version:  "test",
	}
	if edit != nil {
		edit(cfg, &o)
	}
	c, err := New(cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, s
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := parseJiraTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func mustDate(t *testing.T, s string) connectors.Date {
	t.Helper()
	d, err := connectors.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// daily is a Throughput of n days ending at to, with counts at the given
// day offsets from the first day.
func daily(from, to connectors.Date, counts map[int]int) connectors.Throughput {
	t := connectors.Throughput{From: from, To: to, Daily: make([]int, to.Sub(from)+1)}
	for i, n := range counts {
		t.Daily[i] = n
	}
	return t
}
