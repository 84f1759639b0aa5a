package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

func trackingIssues(f *sandbox) []githubtest.Issue {
	var out []githubtest.Issue
	for _, is := range f.Issues(repo) {
		for _, l := range is.Labels {
			if strings.EqualFold(l, "slipwatch") {
				out = append(out, is)
			}
		}
	}
	return out
}

func TestEnsureThreadCreatesOnceAndFindsAfterRestart(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, "v3.0", time.Time{})
	f.issue(repo, githubtest.Issue{Milestone: ms})
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	snap, err := c.Observe(ctx, milestoneRef(repo, ms))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Thread != nil {
		t.Fatalf("thread before one exists: %+v", snap.Thread)
	}
	var wg sync.WaitGroup
	threads := make([]*connectors.Thread, 4)
	for i := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := c.EnsureThread(ctx, snap.Deliverable)
			if err != nil {
				t.Errorf("EnsureThread: %v", err)
			}
			threads[i] = th
		}()
	}
	wg.Wait()
	created := trackingIssues(f)
	if len(created) != 1 {
		t.Fatalf("%d tracking issues after concurrent EnsureThread, want 1", len(created))
	}
	is := created[0]
	if is.Title != "Delivery tracking: v3.0" || is.Milestone != ms || is.User != f.Self {
		t.Errorf("tracking issue %q in milestone %d by %s", is.Title, is.Milestone, is.User)
	}
	for _, th := range threads {
		if th == nil || th.ID != "acme/api#"+strconv.Itoa(is.Number) {
			t.Errorf("thread %+v, want acme/api#%d", th, is.Number)
		}
	}

	// The next observation (within the memo's life) sees the thread, and
	// the items still leave it out.
	snap, err = c.Observe(ctx, milestoneRef(repo, ms))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Thread == nil || len(snap.Deliverable.Items) != 1 {
		t.Errorf("after creation: thread %v, %d items; want the thread and 1 item", snap.Thread, len(snap.Deliverable.Items))
	}

	// A restarted process searches by label and finds it.
	c2 := newTestClient(t, f, nil)
	th, err := c2.EnsureThread(ctx, snap.Deliverable)
	if err != nil {
		t.Fatal(err)
	}
	if len(trackingIssues(f)) != 1 || th.ID != threads[0].ID {
		t.Errorf("after restart: %d tracking issues, thread %q; want the same one", len(trackingIssues(f)), th.ID)
	}
}

// TestEnsureThreadWithoutPushAccess: GitHub drops the label and milestone
// of an issue created by an account without the Write role. slipwatch must
// notice, close the issue it cannot find again, and stop creating more, or
// every pass would open another tracking issue.
func TestEnsureThreadWithoutPushAccess(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	f.SetPushAccess(false)
	ms := f.milestone(repo, "v3.0", time.Time{})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	d := connectors.Deliverable{Ref: milestoneRef(repo, ms), Title: "v3.0"}

	for i := range 3 {
		th, err := c.EnsureThread(ctx, d)
		if th != nil || !errors.Is(err, connectors.ErrTerminal) || !strings.Contains(err.Error(), "Write role on acme/api") {
			t.Fatalf("pass %d: EnsureThread = %v, %v; want a terminal error naming the Write role", i, th, err)
		}
	}
	made := f.Issues(repo)
	if len(made) != 1 || made[0].ClosedAt.IsZero() || made[0].StateReason != "not_planned" {
		t.Fatalf("issues after three passes: %+v; want one, closed as not planned", made)
	}

	// Once the role is granted, a later pass (after noThreadFor) makes a
	// tracking issue that sticks.
	f.SetPushAccess(true)
	f.advance(noThreadFor)
	th, err := c.EnsureThread(ctx, d)
	if err != nil || th == nil {
		t.Fatalf("after the grant: EnsureThread = %v, %v", th, err)
	}
	if got := trackingIssues(f); len(got) != 1 || !got[0].ClosedAt.IsZero() {
		t.Errorf("tracking issues after the grant: %+v; want one open", got)
	}
}

func TestTrackingIssueBodyExplainsTheCommands(t *testing.T) {
	t.Parallel()
	body := threadBody("v3.0")
	for _, want := range []string{"v3.0", "/commit YYYY-MM-DD [reason]", "/slipwatch status", "/slipwatch help", "write access"} {
		if !strings.Contains(body, want) {
			t.Errorf("tracking issue body lacks %q:\n%s", want, body)
		}
	}
}

func TestEnsureThreadWithCreationOff(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, "v3.0", time.Time{})
	c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.CreateTrackingIssue = false })
	th, err := c.EnsureThread(context.Background(), connectors.Deliverable{Ref: milestoneRef(repo, ms), Title: "v3.0"})
	if err != nil || th != nil {
		t.Errorf("EnsureThread = %v, %v; want nil, nil", th, err)
	}
	if n := f.Hits("POST /repos/acme/api/issues"); n != 0 {
		t.Errorf("%d issues created with creation off", n)
	}
}

// TestEnsureThreadWithCreationOffTrustsTheIndex: with creation off, a
// milestone without a thread costs no search pass after pass once Observe
// has read the repository (the index holds every labelled issue; each
// search, 304 or not, is a point on GitHub's secondary limit), and a
// tracking issue labelled later is still found.
func TestEnsureThreadWithCreationOffTrustsTheIndex(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, "v3.0", time.Time{})
	f.issue(repo, githubtest.Issue{Milestone: ms})
	c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.CreateTrackingIssue = false })
	ctx := context.Background()
	ref := milestoneRef(repo, ms)
	snap, err := c.Observe(ctx, ref)
	if err != nil || snap.Thread != nil {
		t.Fatalf("Observe: thread %v, %v; want none", snap.Thread, err)
	}
	before := f.Hits("GET /repos/acme/api/issues")
	for range 3 {
		if th, err := c.EnsureThread(ctx, snap.Deliverable); err != nil || th != nil {
			t.Fatalf("EnsureThread = %v, %v; want nil, nil", th, err)
		}
	}
	if n := f.Hits("GET /repos/acme/api/issues") - before; n != 0 {
		t.Errorf("%d issue searches for a milestone Observe just read, want 0", n)
	}

	// Someone labels an issue of the milestone: it is the thread from the
	// next read of what changed on.
	f.clock.advance(time.Minute)
	tracking := f.issue(repo, githubtest.Issue{Milestone: ms, Labels: []string{"slipwatch"}})
	f.clock.advance(viewTTL)
	if snap, err = c.Observe(ctx, ref); err != nil || snap.Thread == nil || snap.Thread.ID != "acme/api#"+strconv.Itoa(tracking) {
		t.Fatalf("Observe after labelling: thread %+v, %v; want acme/api#%d", snap.Thread, err, tracking)
	}
}

func TestPostAndEditCarryTheMarkerAndArePaced(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	snap, err := c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	th := snap.Thread

	marker := "<!-- slipwatch:event id=e1 kind=slipped -->"
	posted, err := c.Post(ctx, th, "The date slipped to **2026-04-20**.", marker)
	if err != nil {
		t.Fatal(err)
	}
	want := "The date slipped to **2026-04-20**.\n\n" + marker
	if posted.Body != want || posted.Hidden != want || !posted.BySelf || posted.ID == "" {
		t.Errorf("posted %+v", posted)
	}
	status := "<!-- slipwatch:status id=c1 v=1 {\"v\":2} -->"
	edited, err := c.Edit(ctx, th, strconv.FormatInt(w.selfStatus, 10), "Status: at risk", status)
	if err != nil {
		t.Fatal(err)
	}
	if edited.Body != "Status: at risk\n\n"+status || edited.ID != strconv.FormatInt(w.selfStatus, 10) {
		t.Errorf("edited %+v", edited)
	}
	if waits := f.waits(); len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("waits %v, want the second write 1s after the first", waits)
	}

	// The next observation reads the thread again and sees both.
	snap, err = c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{}
	for _, cm := range snap.Thread.Comments {
		bodies[cm.ID] = cm.Body
	}
	if bodies[posted.ID] != want || bodies[edited.ID] != edited.Body {
		t.Errorf("observed thread does not show the writes: %v", bodies)
	}
	if len(snap.Thread.Comments) != 6 {
		t.Errorf("%d comments, want 6: nothing deleted, one added", len(snap.Thread.Comments))
	}
}

func TestEditOfAVanishedCommentIsNotFound(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	th := &connectors.Thread{ID: "acme/api#" + strconv.Itoa(w.tracking)}
	_, err := c.Edit(context.Background(), th, "987654", "x", "")
	if !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("error %v, want ErrNotFound", err)
	}
	for _, id := range []string{"", "abc", "-1"} {
		if _, err := c.Edit(context.Background(), th, id, "x", ""); !errors.Is(err, connectors.ErrTerminal) {
			t.Errorf("Edit(%q): %v, want ErrTerminal", id, err)
		}
	}
	if _, err := c.Post(context.Background(), &connectors.Thread{ID: "acme/api"}, "x", ""); !errors.Is(err, connectors.ErrTerminal) {
		t.Errorf("Post to a malformed thread: %v, want ErrTerminal", err)
	}
}

// A comment whose POST failed may still land afterwards (GitHub finished
// it after the client gave up). A read of the thread made before it
// landed must not be trusted later, or the core would post it twice. (Found
// by internal/e2e's TestTrackerFaults, "comment created after the client
// gave up".)
func TestThreadReadAgainAfterAFailedPost(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	snap, err := c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	f.Inject(githubtest.Fault{Method: http.MethodPost, Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`})
	marker := "<!-- slipwatch:event id=e1 kind=slipped -->"
	if _, err := c.Post(ctx, snap.Thread, "The date slipped.", marker); err == nil {
		t.Fatal("Post through a 502 succeeded")
	}
	// Read before the comment lands…
	snap, err = c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(snap.Thread.Comments); n != 5 {
		t.Fatalf("%d comments before the late one landed, want 5", n)
	}
	// …then it lands, with nothing else in the repository changing.
	f.AddComment(repo, w.tracking, f.Self, "The date slipped.\n\n"+marker)
	f.advance(time.Second)
	snap, err = c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cm := range snap.Thread.Comments {
		found = found || strings.Contains(cm.Hidden, marker)
	}
	if !found {
		t.Fatal("the comment that landed after its failed POST is not on the observed thread: it would be posted again")
	}

	// Once unsureFor has passed, the thread memo is trusted again: an
	// unchanged thread costs no request.
	f.advance(unsureFor)
	if _, err := c.Observe(ctx, milestoneRef(repo, w.ms)); err != nil {
		t.Fatal(err)
	}
	f.ResetCounts()
	if _, err := c.Observe(ctx, milestoneRef(repo, w.ms)); err != nil {
		t.Fatal(err)
	}
	if n := f.Hits("GET /repos/acme/api/issues/" + strconv.Itoa(w.tracking) + "/comments"); n != 0 {
		t.Errorf("thread read %d times long after the failed write, want 0 (memo)", n)
	}
}

// TestReadThread reads a thread that is no milestone's (the monthly
// track-record thread): every comment, slipwatch's own marked BySelf, and
// clear errors for a thread it may not or cannot read.
func TestReadThread(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	n := f.issue(repo, githubtest.Issue{Title: "Delivery track record"})
	f.AddComment(repo, n, "slipwatch-bot", "**Track record**\n\n<!-- slipwatch:event id=abc kind=track_record -->")
	f.AddComment(repo, n, "dana", "thanks")
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	th, err := c.ReadThread(ctx, repo+"#"+strconv.Itoa(n))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cm := range th.Comments {
		got = append(got, fmt.Sprintf("%s self=%v", cm.Author, cm.BySelf))
	}
	if diff := cmp.Diff([]string{"slipwatch-bot self=true", "dana self=false"}, got); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(th.URL, "/acme/api/issues/"+strconv.Itoa(n)) {
		t.Errorf("URL %q", th.URL)
	}
	for id, want := range map[string]error{
		"acme/web#1":       connectors.ErrTerminal, // not in github.repos
		"acme/api":         connectors.ErrTerminal,
		"acme/api#99":      connectors.ErrNotFound,
		"acme/api#" + "-1": connectors.ErrTerminal,
	} {
		if _, err := c.ReadThread(ctx, id); !errors.Is(err, want) {
			t.Errorf("ReadThread(%q) = %v, want %v", id, err, want)
		}
	}
}
