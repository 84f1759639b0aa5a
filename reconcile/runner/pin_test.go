package runner

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// TestThreadIsPinned: once a milestone's tracking issue is chosen, someone
// labelling an older issue of the milestone "slipwatch" does not move the
// conversation there: news goes on the same thread, before and after a
// lost Redis, and nothing is posted on the other issue.
func TestThreadIsPinned(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	prefix := srv.Prefix(t)
	r, c := newConversation(t, prefix, "A", gh, clk, 0)
	ctx := context.Background()
	key := "github:acme/api/milestone/" + strconv.Itoa(ms)
	r.PollOnce(ctx)
	drain(t, r, c.st)
	thread, first := c.thread()

	// The oldest issue of the milestone gets the tracking label.
	older := 0
	for _, is := range gh.Issues("acme/api") {
		if is.Milestone == ms && is.Number != thread && (older == 0 || is.Number < older) {
			older = is.Number
		}
	}
	clk.Add(time.Hour)
	gh.UpdateIssue("acme/api", older, func(is *githubtest.Issue) { is.Labels = append(is.Labels, "slipwatch") })
	gh.UpdateMilestone("acme/api", ms, func(m *githubtest.Milestone) { m.DueOn = time.Date(2026, 12, 15, 8, 0, 0, 0, time.UTC) })
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)
	clk.Add(2 * time.Hour) // the slip has settled
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)

	// Redis is lost: the record, and with it the pin, are gone.
	rdb := srv.Client(t)
	keys, _ := rdb.Keys(ctx, prefix+"*").Result()
	rdb.Del(ctx, keys...)
	clk.Add(time.Hour)
	r2, c2 := newConversation(t, prefix, "B", gh, clk, 0)
	_ = c2.st.Enqueue(ctx, key)
	drain(t, r2, c2.st)

	if n := len(gh.Comments("acme/api", older)); n != 0 {
		t.Errorf("%d comments on the issue labelled later, want none", n)
	}
	mine := gh.Comments("acme/api", thread)
	kinds := map[reconcile.EventKind]int{}
	statuses := 0
	for _, cm := range mine {
		for _, m := range testMarkers.Verified(cm.Body) {
			if m.Kind == reconcile.MarkerStatus {
				statuses++
			}
			kinds[m.EventKind]++
		}
	}
	if statuses != 1 || kinds[reconcile.EvSlipped] != 1 || kinds[reconcile.EvCommitted] != 1 || len(mine) != len(first)+1 {
		t.Errorf("on the tracking issue: %d comments (%d before), %d status, kinds %v; want the slip added, once", len(mine), len(first), statuses, kinds)
	}
	recs, _ := r2.records(ctx)
	if len(recs) != 1 || recs[0].Thread != "acme/api#"+strconv.Itoa(thread) {
		t.Errorf("records %+v, want the thread acme/api#%d", recs, thread)
	}
}
