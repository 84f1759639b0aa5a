package runner

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// bodyTooLong is GitHub's answer to a comment over its limit.
const bodyTooLong = `{"message":"Validation Failed","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters)"}],"documentation_url":"https://docs.github.com/rest/issues/comments#create-an-issue-comment","status":"422"}`

// TestRefusedForSizeGoesOn: a GitHub configured below the published limit
// refuses a comment for its size. The slip is written again, shortened;
// when even that is refused, the rest of the pass still goes out, the
// milestone is not parked, and the comment is tried again on the next
// pass.
func TestRefusedForSizeGoesOn(t *testing.T) {
	needRedis(t)
	t.Parallel()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	r, c := newConversation(t, srv.Prefix(t), "A", gh, clk, 0)
	ctx := context.Background()
	key := "github:acme/api/milestone/" + strconv.Itoa(ms)
	r.PollOnce(ctx)
	drain(t, r, c.st)
	issue, _ := c.thread()
	comments := "/repos/acme/api/issues/" + strconv.Itoa(issue) + "/comments"
	said := func(kind reconcile.EventKind) (n int, body string) {
		_, mine := c.thread()
		for _, cm := range mine {
			for _, m := range testMarkers.Verified(cm.Body) {
				if m.EventKind == kind {
					n++
					body = cm.Body
				}
			}
		}
		return n, body
	}

	// Refused once: the shortened slip goes out.
	gh.Inject(githubtest.Fault{Method: http.MethodPost, PathPrefix: comments, Status: http.StatusUnprocessableEntity, Body: bodyTooLong})
	gh.UpdateMilestone("acme/api", ms, func(m *githubtest.Milestone) { m.DueOn = time.Date(2026, 12, 15, 8, 0, 0, 0, time.UTC) })
	clk.Add(time.Minute)
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)
	clk.Add(2 * time.Hour)
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)
	if n, body := said(reconcile.EvSlipped); n != 1 || !strings.Contains(body, "cut to fit") {
		t.Errorf("slip said %d times (want 1, shortened):\n%s", n, body)
	}

	// Refused twice: the recommitment is left for the next pass; the
	// status edit and the answer to the lead still go out.
	clk.Add(time.Hour)
	gh.AddComment("acme/api", issue, "lead-jane", "/commit 2026-12-20 SSO")
	gh.Inject(githubtest.Fault{Method: http.MethodPost, PathPrefix: comments, Status: http.StatusUnprocessableEntity, Body: bodyTooLong, Times: 2})
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)
	if n, _ := said(reconcile.EvRecommitted); n != 0 {
		t.Errorf("recommitted said %d times while refused", n)
	}
	if n, _ := said(reconcile.EvReply); n != 1 {
		t.Errorf("%d answers to the lead, want 1 although the event before it was refused", n)
	}
	if parked, _ := c.st.ParkedKeys(ctx); len(parked) != 0 {
		t.Errorf("parked %+v", parked)
	}
	clk.Add(time.Minute)
	_ = c.st.Enqueue(ctx, key)
	drain(t, r, c.st)
	if n, _ := said(reconcile.EvRecommitted); n != 1 {
		t.Errorf("recommitted said %d times after the tracker took it, want 1", n)
	}
	if n, _ := said(reconcile.EvReply); n != 1 {
		t.Errorf("%d answers to the lead in the end, want 1", n)
	}
	recs, _ := r.records(ctx)
	if cur, _ := recs[0].Commitment(); cur.Date.String() != "2026-12-20" {
		t.Errorf("promise %s, want 2026-12-20", cur.Date)
	}
}
