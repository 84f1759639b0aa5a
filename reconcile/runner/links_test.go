package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// linkedRunner runs a GitHub fake and a Jira fake with one link between
// milestone "v7" and version "2.0".
func linkedRunner(t *testing.T, gh, jira *fakeTracker, clk *clock) (*Runner, *store.Store) {
	t.Helper()
	st := store.New(srv.Client(t), srv.Prefix(t), store.Options{ReclaimIdle: 200 * time.Millisecond})
	link := Link{Name: "acme/api#milestone=v7 = PLAT/version=2.0", Sides: [2]LinkSide{
		{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, Title: "v7"},
		{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, Title: "2.0"},
	}}
	r, err := New([]Connector{gh, jira}, st, reconcile.Settings{Location: time.UTC, Baseline: "first_seen", Window: 42, Trials: 500, Confidence: 0.85, MinSamples: 5, Settle: time.Hour, Markers: testMarkers},
		Options{Owner: "A", Workers: 2, Now: clk.Now, readBlock: 50 * time.Millisecond, promoteEvery: 20 * time.Millisecond,
			backoffBase: 10 * time.Millisecond, backoffMax: 50 * time.Millisecond, PollInterval: time.Hour, MaxDeliveries: 3,
			Links: []Link{link}})
	if err != nil {
		t.Fatal(err)
	}
	return r, st
}

func newJiraFake() *fakeTracker {
	f := newFake()
	f.tracker, f.kind, f.team = connectors.Jira, connectors.Version, "PLAT"
	return f
}

// TestLinkedPairSlipOnJira: a slip found on the Jira side is announced on
// both threads, once, and the GitHub side learns of it without a poll.
func TestLinkedPairSlipOnJira(t *testing.T) {
	needRedis(t)
	t.Parallel()
	gh, jira := newFake(), newJiraFake()
	gh.addMilestone("7", "2026-12-01")
	jira.addMilestone("10042", "2026-12-01")
	jira.ds["10042"].Title = "2.0"
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := linkedRunner(t, gh, jira, clk)
	ctx := context.Background()

	r.PollOnce(ctx)
	drain(t, r, st)
	if got := strings.Join(gh.kinds("7"), ","); got != "committed,status" {
		t.Fatalf("GitHub thread after the first cycle = %s", got)
	}
	if got := strings.Join(jira.kinds("10042"), ","); got != "committed,status" {
		t.Fatalf("Jira thread after the first cycle = %s", got)
	}
	edits := gh.edits

	jira.setDue("10042", "2026-12-15")
	clk.Add(2 * time.Hour)
	_ = st.Enqueue(ctx, "jira:PLAT/version/10042") // the Jira webhook
	drain(t, r, st)
	if gh.edits == edits {
		t.Error("the GitHub status comment did not change when the Jira date moved")
	}
	clk.Add(2 * time.Hour) // the new date has stood for the settle hour
	poll := func() {       // as the next poll does (its lease runs on Redis time)
		_ = st.Enqueue(ctx, "github:acme/api/milestone/7")
		_ = st.Enqueue(ctx, "jira:PLAT/version/10042")
		drain(t, r, st)
	}
	poll()
	for _, c := range []struct {
		f  *fakeTracker
		id string
	}{{gh, "7"}, {jira, "10042"}} {
		if got := strings.Join(c.f.kinds(c.id), ","); got != "committed,status,slipped" {
			t.Errorf("%s thread = %s, want committed,status,slipped", c.f.Tracker(), got)
		}
	}
	posts := gh.postCount() + jira.postCount()
	for range 2 {
		clk.Add(time.Hour)
		poll()
	}
	if n := gh.postCount() + jira.postCount(); n != posts {
		t.Errorf("quiet cycles posted %d more comments", n-posts)
	}
	recs, _ := r.records(ctx)
	for _, rec := range recs {
		if rec.Linked == nil {
			t.Errorf("%s: record has no linked side", rec.Ref)
		}
	}
	if u := r.UnresolvedLinks(); len(u) != 0 {
		t.Errorf("unresolved links %v", u)
	}
}

// TestLinkToNothingIsReported: a link whose other side does not exist is
// reported, and the side that exists goes on alone.
func TestLinkToNothingIsReported(t *testing.T) {
	needRedis(t)
	t.Parallel()
	gh, jira := newFake(), newJiraFake()
	gh.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := linkedRunner(t, gh, jira, clk)
	ctx := context.Background()
	res := r.Check(ctx, true)
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	want := "acme/api#milestone=v7 = PLAT/version=2.0: jira side PLAT/version=2.0"
	if len(res.Unresolved) != 1 || res.Unresolved[0] != want {
		t.Errorf("Unresolved = %q, want [%q]", res.Unresolved, want)
	}
	if got := strings.Join(gh.kinds("7"), ","); got != "committed,status" {
		t.Errorf("GitHub thread = %s, want committed,status", got)
	}
	_ = st
}
