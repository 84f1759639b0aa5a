package runner

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// TestFloodDoesNotStarveTheSlip: 300 strangers' /slipwatch status wait on
// the tracking issue when the milestone slips. Writes are paced (100 ms
// here, a second on github.com) and a pass has its work lease (10 s here,
// a third of what 300 answers take) to finish. The slip is announced in
// the first pass, once, before any answer; the strangers get one answer
// between them.
func TestFloodDoesNotStarveTheSlip(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	st := store.New(srv.Client(t), srv.Prefix(t), store.Options{ReclaimIdle: 200 * time.Millisecond})
	conn, err := github.New(&config.GitHub{BaseURL: gh.URL, Token: "ghp_flood", WebhookSecret: convSecret,
		Repos: []string{"acme/api"}, TrackingLabel: "slipwatch", CreateTrackingIssue: true},
		github.Options{Validators: st, Now: clk.Now, WriteInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New([]Connector{conn}, st, reconcile.Settings{Location: time.UTC, Baseline: "first_seen", Window: 42, Trials: 500,
		Confidence: 0.85, MinSamples: 5, Settle: 0, Markers: testMarkers},
		Options{Owner: "A", Workers: 1, Now: clk.Now, WorkLease: 10 * time.Second, readBlock: 50 * time.Millisecond,
			promoteEvery: 20 * time.Millisecond, backoffBase: 10 * time.Millisecond, backoffMax: 50 * time.Millisecond,
			PollInterval: time.Hour, MaxDeliveries: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	r.PollOnce(ctx)
	drain(t, r, st)
	c := &conversation{t: t, gh: gh, clk: clk, st: st}
	issue, _ := c.thread()

	clk.Add(time.Hour)
	for i := range 300 {
		gh.AddCommentAt("acme/api", issue, "mallory", "/slipwatch status", clk.Now().Add(time.Duration(i-300)*time.Second))
	}
	gh.UpdateMilestone("acme/api", ms, func(m *githubtest.Milestone) { m.DueOn = time.Date(2026, 12, 15, 8, 0, 0, 0, time.UTC) })
	key := "github:acme/api/milestone/" + strconv.Itoa(ms)
	if err := st.Enqueue(ctx, key); err != nil {
		t.Fatal(err)
	}
	_, _, before := gh.Counts()
	msgs, err := st.Read(ctx, "A", 1, time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("read the queue: %v, %d entries", err, len(msgs))
	}
	r.handle(ctx, msgs[0]) // the first pass
	_, _, after := gh.Counts()

	count := func() (slipped, answers int) {
		_, mine := c.thread()
		for _, cm := range mine {
			for _, m := range testMarkers.Verified(cm.Body) {
				switch m.EventKind {
				case reconcile.EvSlipped:
					slipped++
				case reconcile.EvReply:
					if slipped == 0 {
						t.Errorf("an answer was posted before the slip")
					}
					answers++
				}
			}
		}
		return slipped, answers
	}
	if slipped, _ := count(); slipped != 1 {
		t.Fatalf("after the first pass the slip was announced %d times, want once (%d writes)", slipped, after-before)
	}
	t.Logf("first pass: %d writes to GitHub", after-before)
	for range 3 {
		clk.Add(time.Minute)
		_ = st.Enqueue(ctx, key)
		drain(t, r, st)
	}
	if slipped, answers := count(); slipped != 1 || answers != 1 {
		t.Errorf("in the end: the slip announced %d times, %d answers to the strangers; want 1 and 1", slipped, answers)
	}
}
