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

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// The rules of who may set a promise, through the runner: the real GitHub
// connector over the sandbox, the real store on redis-server.

// started is a conversation after its first cycle: the milestone has its
// tracking issue, status comment and committed baseline.
func started(t *testing.T) (*Runner, *conversation, *clock, int, int) {
	t.Helper()
	needRedis(t)
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	gh, ms := sandbox(t, clk)
	r, c := newConversation(t, srv.Prefix(t), "A", gh, clk, 0)
	r.PollOnce(context.Background())
	drain(t, r, c.st)
	issue, first := c.thread()
	if len(first) != 2 {
		t.Fatalf("first cycle posted %d comments, want status and committed", len(first))
	}
	return r, c, clk, ms, issue
}

// commented delivers the issue_comment webhook GitHub sends for comment
// id (created or edited) on the tracking issue, signed. Each names its
// comment, so no two are one body (the intake drops a body it already
// took under another delivery ID).
func (c *conversation) commented(action string, issue, milestone int, id int64, body string) int {
	c.t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"action":     action,
		"repository": map[string]any{"full_name": "acme/api"},
		"issue":      map[string]any{"number": issue, "milestone": map[string]any{"number": milestone}},
		"comment":    map[string]any{"id": id, "body": body},
		"sender":     map[string]any{"login": "lead-jane"},
	})
	mac := hmac.New(sha256.New, []byte(convSecret))
	mac.Write(payload)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "issue_comment")
	req.Header.Set("X-GitHub-Delivery", action+"-"+strconv.FormatInt(id, 10))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	w := httptest.NewRecorder()
	c.hooks.ServeHTTP(w, req)
	return w.Code
}

// commitments is the record's history, as "date source by at".
func commitments(t *testing.T, r *Runner) []string {
	t.Helper()
	recs, err := r.records(context.Background())
	if err != nil || len(recs) != 1 {
		t.Fatalf("records: %d, %v", len(recs), err)
	}
	var out []string
	for _, c := range recs[0].Commitments {
		out = append(out, c.Date.String()+" "+string(c.Source)+" by "+c.By+" at "+c.At.UTC().Format("01-02 15:04"))
	}
	return out
}

// TestCommandsArePlainTextOnTheThread: a /commit in a how-to's code block,
// in a quote of someone else's comment or in an HTML comment records
// nothing and gets no answer; the same command as plain text does.
func TestCommandsArePlainTextOnTheThread(t *testing.T) {
	t.Parallel()
	r, c, clk, ms, issue := started(t)
	_, before := c.thread()
	clk.Add(time.Hour)
	for _, body := range []string{
		"To move the date, write a comment like:\n\n```\n/commit 2026-12-20 why it moved\n```",
		"Indented works too:\n\n    /commit 2026-12-21 reason",
		"> /commit 2026-12-22 the vendor is late\n\nThat was the plan in October.",
		"<!--\n/commit 2026-12-23 draft\n-->\nStill checking with the vendor.",
	} {
		id := c.gh.AddComment("acme/api", issue, "lead-jane", body)
		if code := c.commented("created", issue, ms, id, body); code != http.StatusAccepted {
			t.Fatalf("webhook = %d", code)
		}
	}
	drain(t, r, c.st)
	_, after := c.thread()
	if got := bodies(after[len(before):]); len(got) != 0 {
		t.Errorf("examples and quotes were answered:\n%s", strings.Join(got, "\n---\n"))
	}
	if got := commitments(t, r); len(got) != 1 {
		t.Errorf("commitments %v, want the baseline alone", got)
	}

	id := c.gh.AddComment("acme/api", issue, "lead-jane", "/commit 2026-12-20 why it moved")
	if code := c.commented("created", issue, ms, id, "/commit 2026-12-20 why it moved"); code != http.StatusAccepted {
		t.Fatalf("webhook = %d", code)
	}
	drain(t, r, c.st)
	_, after = c.thread()
	if got := bodies(after[len(before):]); len(got) != 2 || !strings.Contains(strings.Join(got, "\n"), "Recommitted from 2026-12-01 to 2026-12-20") {
		t.Errorf("the plain command: %d comments, want its reply and the recommitment:\n%s", len(got), strings.Join(got, "\n---\n"))
	}
}

// TestEditedCommandRecordedAtTheEdit: a comment edited into a /commit two
// days after it was written is a promise made at the edit: the record, the
// status comment's history and the track record count from then.
func TestEditedCommandRecordedAtTheEdit(t *testing.T) {
	t.Parallel()
	r, c, clk, ms, issue := started(t)
	clk.Add(time.Hour)
	id := c.gh.AddComment("acme/api", issue, "lead-jane", "Plan looks fine.")
	if code := c.commented("created", issue, ms, id, "Plan looks fine."); code != http.StatusAccepted {
		t.Fatalf("webhook = %d", code)
	}
	drain(t, r, c.st)

	clk.Add(48 * time.Hour)
	edited := "Plan looks fine.\n/commit 2026-12-18 security review added"
	if !c.gh.EditComment("acme/api", id, edited, time.Time{}) {
		t.Fatal("no comment to edit")
	}
	if code := c.commented("edited", issue, ms, id, edited); code != http.StatusAccepted {
		t.Fatalf("webhook = %d", code)
	}
	drain(t, r, c.st)
	want := "2026-12-18 declared_command by lead-jane at 11-04 10:00" // the edit, not 11-02 10:00
	if got := commitments(t, r); len(got) != 2 || got[1] != want {
		t.Errorf("commitments %v, want the baseline and %q", got, want)
	}
}

// TestPastDescriptionDateNotTaken: "Committed: 2020-01-01" in a
// milestone's description does not become the promise (it made the
// milestone overdue at once), and the status comment says why.
func TestPastDescriptionDateNotTaken(t *testing.T) {
	t.Parallel()
	r, c, clk, ms, _ := started(t)
	clk.Add(2 * time.Hour)
	c.gh.UpdateMilestone("acme/api", ms, func(m *githubtest.Milestone) { m.Description = "Release train.\n\nCommitted: 2020-01-01" })
	key := "github:acme/api/milestone/" + strconv.Itoa(ms)
	for range 2 {
		if err := r.Process(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		clk.Add(2 * time.Hour) // past any settle
	}
	if got := commitments(t, r); len(got) != 1 {
		t.Errorf("commitments %v, want the baseline alone", got)
	}
	_, mine := c.thread()
	status := ""
	for _, cm := range mine {
		for _, m := range reconcile.ParseMarkers(cm.Body) {
			if m.Kind == reconcile.MarkerStatus {
				status = cm.Body
			}
		}
	}
	if !strings.Contains(strings.ReplaceAll(status, `\-`, "-"), "The description's Committed: 2020-01-01 is in the past; not taken.") {
		t.Errorf("the status comment does not say why the line was not taken:\n%s", status)
	}
	for _, cm := range mine {
		if strings.Contains(cm.Body, "kind=overdue") {
			t.Errorf("overdue announced from a date never taken:\n%s", cm.Body)
		}
	}
}

// TestDescriptionFlipFlopThroughTheRunner: 700 edits of the milestone's
// description alternating two dates, each reconciled (as its webhook
// would cause), one a minute: the issue measured 699 recommitted comments
// and a 59,538 character status comment. The figures are logged for
// docs/reliability.md. (100 edits under the race detector, or -short.)
func TestDescriptionFlipFlopThroughTheRunner(t *testing.T) {
	t.Parallel()
	edits := 700
	if raceEnabled || testing.Short() {
		edits = 100
	}
	r, c, clk, ms, _ := started(t)
	ctx := context.Background()
	key := "github:acme/api/milestone/" + strconv.Itoa(ms)
	c.gh.UpdateMilestone("acme/api", ms, func(m *githubtest.Milestone) { m.Description = "Committed: 2026-12-01" })
	clk.Add(time.Minute)
	if err := r.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	for i := range edits {
		date := "2026-12-15"
		if i%2 == 1 {
			date = "2026-12-01"
		}
		c.gh.UpdateMilestone("acme/api", ms, func(m *githubtest.Milestone) { m.Description = "Committed: " + date })
		clk.Add(time.Minute)
		if err := r.Process(ctx, key); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
	}
	clk.Add(2 * time.Hour) // the last edit stands
	if err := r.Process(ctx, key); err != nil {
		t.Fatal(err)
	}
	_, mine := c.thread()
	recommitted, longest := 0, 0
	for _, cm := range mine {
		recommitted += strings.Count(cm.Body, "kind=recommitted")
		longest = max(longest, len(cm.Body))
	}
	t.Logf("%d description edits a minute apart: %d recommitted comments, %d commitments, longest comment %d characters",
		edits, recommitted, len(commitments(t, r)), longest)
	if recommitted > 3 {
		t.Errorf("%d recommitted comments from %d edits, want at most a handful", recommitted, edits)
	}
}

// TestRemovedCollaboratorCannotCommitAfterTheWebhook: lead-jane commits
// (write access, remembered for minutes), then loses write access. The
// member webhook GitHub sends goes through the daemon's handler, and
// lead-jane's next /commit, a minute later, is refused: the promise stays.
func TestRemovedCollaboratorCannotCommitAfterTheWebhook(t *testing.T) {
	t.Parallel()
	r, c, clk, ms, issue := started(t)
	commit := func(body string) {
		t.Helper()
		clk.Add(time.Minute)
		id := c.gh.AddComment("acme/api", issue, "lead-jane", body)
		if code := c.commented("created", issue, ms, id, body); code != http.StatusAccepted {
			t.Fatalf("webhook = %d", code)
		}
		drain(t, r, c.st)
	}
	commit("/commit 2026-12-20 the vendor's API is late")
	if got := commitments(t, r); len(got) != 2 || !strings.HasPrefix(got[1], "2026-12-20 declared_command by lead-jane") {
		t.Fatalf("commitments %v, want lead-jane's 2026-12-20", got)
	}

	c.gh.SetPermission("acme/api", "lead-jane", "read")
	payload, _ := json.Marshal(map[string]any{"action": "removed", "member": map[string]any{"login": "lead-jane", "type": "User"},
		"repository": map[string]any{"full_name": "acme/api", "name": "api", "owner": map[string]any{"login": "acme"}},
		"sender":     map[string]any{"login": "admin"}})
	mac := hmac.New(sha256.New, []byte(convSecret))
	mac.Write(payload)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "member")
	req.Header.Set("X-GitHub-Delivery", "member-removed-1")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	w := httptest.NewRecorder()
	c.hooks.ServeHTTP(w, req)
	if w.Code >= 300 {
		t.Fatalf("member webhook = %d %s", w.Code, w.Body)
	}

	commit("/commit 2027-03-01 whatever suits me")
	if got := commitments(t, r); len(got) != 2 {
		t.Errorf("commitments %v: a collaborator removed a minute ago moved the promise", got)
	}
	_, mine := c.thread()
	if last := mine[len(mine)-1].Body; !strings.Contains(last, "write") {
		t.Errorf("the refused /commit was answered with:\n%s", last)
	}
}
