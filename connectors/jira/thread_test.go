package jira

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// trackingJQL is how the connector looks for a version's tracking issue.
const trackingJQL = `project = "PLAT" AND (fixVersion = 10010 AND labels = "slipwatch")`

// indexTracking answers trackingJQL from the fake's issues, as an up-to-date
// search index would.
func indexTracking(f *jiratest.Server) {
	f.SetJQLFunc(trackingJQL, func() []string {
		var keys []string
		for _, is := range f.Issues() {
			labels, _ := is.Fields["labels"].([]any)
			fvs, _ := is.Fields["fixVersions"].([]any)
			hasLabel := slices.ContainsFunc(labels, func(l any) bool { return l == "slipwatch" })
			inVersion := slices.ContainsFunc(fvs, func(v any) bool { m, _ := v.(map[string]any); return m["id"] == "10010" })
			if hasLabel && inVersion {
				keys = append(keys, is.Key)
			}
		}
		slices.Sort(keys)
		return keys
	})
}

// The sandbox may not import this package; the key it stores markers
// under must still be the connector's.
func TestMarkerPropertyAgrees(t *testing.T) {
	if jiratest.MarkerProperty != MarkerProperty {
		t.Errorf("jiratest.MarkerProperty = %q, jira.MarkerProperty = %q", jiratest.MarkerProperty, MarkerProperty)
	}
}

func TestEnsureThreadVersion(t *testing.T) {
	for _, cloud := range []bool{true, false} {
		name := map[bool]string{true: "cloud", false: "datacenter"}[cloud]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			indexTracking(f)
			c, _ := newTestClient(t, f, nil)
			ctx := context.Background()
			d := connectors.Deliverable{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"}, Title: "Next Version"}

			th, err := c.EnsureThread(ctx, d)
			if err != nil {
				t.Fatalf("EnsureThread: %v", err)
			}
			if th == nil || th.ID != "PLAT-901" || th.URL != f.URL+"/browse/PLAT-901" || len(th.Comments) != 0 {
				t.Fatalf("EnsureThread = %+v, want the new PLAT-901 without comments", th)
			}
			bodies := f.Bodies("POST /rest/api/2/issue")
			if len(bodies) != 1 {
				t.Fatalf("created %d issues, want 1", len(bodies))
			}
			var created struct {
				Fields struct {
					Project     map[string]string   `json:"project"`
					IssueType   map[string]string   `json:"issuetype"`
					Summary     string              `json:"summary"`
					Description string              `json:"description"`
					Labels      []string            `json:"labels"`
					FixVersions []map[string]string `json:"fixVersions"`
				} `json:"fields"`
			}
			if err := json.Unmarshal([]byte(bodies[0]), &created); err != nil {
				t.Fatal(err)
			}
			fl := created.Fields
			if fl.Project["key"] != "PLAT" || fl.IssueType["name"] != "Task" || fl.Summary != "Delivery tracking: Next Version" ||
				!slices.Equal(fl.Labels, []string{"slipwatch"}) || len(fl.FixVersions) != 1 || fl.FixVersions[0]["id"] != "10010" ||
				!strings.Contains(fl.Description, "/commit YYYY-MM-DD") {
				t.Errorf("created issue fields = %+v", fl)
			}

			// The same process remembers it; a restarted one finds it.
			again, err := c.EnsureThread(ctx, d)
			if err != nil || again == nil || again.ID != "PLAT-901" {
				t.Fatalf("second EnsureThread = %+v, %v", again, err)
			}
			restarted, _ := newTestClient(t, f, nil)
			found, err := restarted.EnsureThread(ctx, d)
			if err != nil || found == nil || found.ID != "PLAT-901" {
				t.Fatalf("EnsureThread after a restart = %+v, %v", found, err)
			}
			if n := f.Hits("POST /rest/api/2/issue"); n != 1 {
				t.Errorf("created %d tracking issues, want exactly 1", n)
			}
		})
	}

	t.Run("search index lags behind the new issue", func(t *testing.T) {
		f := newFakeJira(t, true)
		f.SetJQL(trackingJQL) // never finds it
		f.SetJQL(`project = "PLAT" AND (fixVersion = 10010)`)
		f.SetJQL(`project = "PLAT" AND (resolved >= "2026-01-27")`)
		f.SetVersionsFile("PLAT", "project-versions.cloud.json")
		c, _ := newTestClient(t, f, nil)
		ctx := context.Background()
		ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"}
		th, err := c.EnsureThread(ctx, connectors.Deliverable{Ref: ref, Title: "Next Version"})
		if err != nil || th == nil {
			t.Fatalf("EnsureThread = %v, %v", th, err)
		}
		snap, err := c.Observe(ctx, ref)
		if err != nil {
			t.Fatalf("Observe: %v", err)
		}
		if snap.Thread == nil || snap.Thread.ID != th.ID {
			t.Errorf("Observe's thread = %+v, want %s although search does not show it yet", snap.Thread, th.ID)
		}
		if _, err := c.EnsureThread(ctx, connectors.Deliverable{Ref: ref}); err != nil {
			t.Fatal(err)
		}
		if n := f.Hits("POST /rest/api/2/issue"); n != 1 {
			t.Errorf("created %d tracking issues, want 1", n)
		}
	})

	t.Run("creation off", func(t *testing.T) {
		f := newFakeJira(t, true)
		indexTracking(f)
		c, _ := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.CreateTrackingIssue = false })
		th, err := c.EnsureThread(context.Background(), connectors.Deliverable{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"}})
		if err != nil || th != nil {
			t.Errorf("EnsureThread = %+v, %v; want nil, nil", th, err)
		}
		if n := f.Hits("POST /rest/api/2/issue"); n != 0 {
			t.Errorf("created %d issues with create_tracking_issue off", n)
		}
	})

	t.Run("an epic is its own thread", func(t *testing.T) {
		f := newFakeJira(t, false)
		f.AddIssue("PLAT-12", map[string]any{})
		c, _ := newTestClient(t, f, nil)
		th, err := c.EnsureThread(context.Background(), connectors.Deliverable{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}})
		if err != nil || th == nil || th.ID != "PLAT-12" {
			t.Errorf("EnsureThread = %+v, %v; want PLAT-12", th, err)
		}
	})
}

func TestPostAndEdit(t *testing.T) {
	for _, cloud := range []bool{true, false} {
		name := map[bool]string{true: "cloud", false: "datacenter (ignores properties on create)"}[cloud]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			f.AddIssue("PLAT-3", map[string]any{})
			c, _ := newTestClient(t, f, nil)
			ctx := context.Background()
			th := &connectors.Thread{ID: "PLAT-3"}
			const marker = "<!-- slipwatch:event id=e1 kind=slipped -->"

			got, err := c.Post(ctx, th, "The date slipped to *2026-05-01*.", marker)
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			if got.ID == "" || !got.BySelf || got.Hidden != marker || got.Body != "The date slipped to *2026-05-01*." {
				t.Errorf("Post = %+v", got)
			}
			if m, ok := f.Marker(got.ID); !ok || m != marker {
				t.Errorf("stored marker = %q, %v; want %q", m, ok, marker)
			}
			var sent struct {
				Body string `json:"body"`
			}
			if b := f.Bodies("POST /rest/api/2/issue/PLAT-3/comment"); len(b) != 1 || json.Unmarshal([]byte(b[0]), &sent) != nil || strings.Contains(sent.Body, "slipwatch:") {
				t.Errorf("comment requests = %q: want one, the marker not in its visible body", b)
			}

			// A restart with an empty memory (and an empty Redis) finds it.
			fresh, _ := newTestClient(t, f, nil)
			read, err := fresh.EnsureThread(ctx, connectors.Deliverable{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-3"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(read.Comments) != 1 || read.Comments[0].Hidden != marker || !read.Comments[0].BySelf {
				t.Errorf("thread read after a restart = %+v", read.Comments)
			}

			const status = "<!-- slipwatch:status id=c1 v=1 {\"v\":2} -->"
			edited, err := c.Edit(ctx, th, got.ID, "Status: at risk", status)
			if err != nil {
				t.Fatalf("Edit: %v", err)
			}
			if edited.ID != got.ID || edited.Hidden != status || edited.Body != "Status: at risk" {
				t.Errorf("Edit = %+v", edited)
			}
			read, err = fresh.readThread(ctx, "PLAT-3")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{status}, []string{read.Comments[0].Hidden}); diff != "" {
				t.Errorf("marker after the edit, read by a replica that saw the old one (-want +got):\n%s", diff)
			}

			_, err = c.Edit(ctx, th, "999999", "x", status)
			if !errors.Is(err, connectors.ErrNotFound) {
				t.Errorf("Edit of a missing comment = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestPostMarkerFailure(t *testing.T) {
	f := newFakeJira(t, false)
	f.AddIssue("PLAT-3", map[string]any{})
	c, s := newTestClient(t, f, nil)
	ctx := context.Background()
	th := &connectors.Thread{ID: "PLAT-3"}
	// The comment will be 20001+1; every property write fails.
	id := "20002"
	fail := make([]jiratest.Response, 12) // 3 attempts × 4 transport tries
	for i := range fail {
		fail[i] = jiratest.Response{Status: 500, Body: `{"errorMessages":["Internal server error"],"errors":{}}`}
	}
	f.Queue("PUT /rest/api/2/comment/"+id+"/properties/slipwatch", fail...)

	got, err := c.Post(ctx, th, "Slipped.", "<!-- slipwatch:event id=e2 kind=slipped -->")
	var me *MarkerError
	if !errors.As(err, &me) {
		t.Fatalf("Post = %v, want a *MarkerError", err)
	}
	if me.CommentID != id || me.Issue != "PLAT-3" || got.ID != id || !strings.Contains(err.Error(), id) {
		t.Errorf("MarkerError = %+v, comment %+v; want comment %s named", me, got, id)
	}
	if n := f.Hits("POST /rest/api/2/issue/PLAT-3/comment"); n != 1 {
		t.Errorf("posted %d comments, want exactly 1", n)
	}
	if n := f.Hits("PUT /rest/api/2/comment/" + id + "/properties/slipwatch"); n != 12 {
		t.Errorf("property writes = %d, want 12", n)
	}
	if len(s.all()) == 0 {
		t.Error("retried the property without backing off")
	}

	// The next read of the thread reports the comment with its marker, so
	// the event is not posted again, and stores the marker now that Jira
	// answers.
	read, err := c.readThread(ctx, "PLAT-3")
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Comments) != 1 || read.Comments[0].Hidden != "<!-- slipwatch:event id=e2 kind=slipped -->" {
		t.Errorf("thread after the failed marker = %+v", read.Comments)
	}
	if m, ok := f.Marker(id); !ok || !strings.Contains(m, "id=e2") {
		t.Errorf("marker stored on the next read = %q, %v", m, ok)
	}
	// Once stored, it is not written again.
	before := f.Hits("PUT /rest/api/2/comment/" + id + "/properties/slipwatch")
	if _, err := c.readThread(ctx, "PLAT-3"); err != nil {
		t.Fatal(err)
	}
	if after := f.Hits("PUT /rest/api/2/comment/" + id + "/properties/slipwatch"); after != before {
		t.Errorf("marker written again on a later read")
	}
}

func TestPostMarkerRepairedByEdit(t *testing.T) {
	f := newFakeJira(t, false)
	f.AddIssue("PLAT-3", map[string]any{})
	c, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	th := &connectors.Thread{ID: "PLAT-3"}
	fail := make([]jiratest.Response, 12)
	for i := range fail {
		fail[i] = jiratest.Response{Status: 503, Body: `{"errorMessages":["down"]}`}
	}
	f.Queue("PUT /rest/api/2/comment/20002/properties/slipwatch", fail...)
	if _, err := c.Post(ctx, th, "Slipped.", "<!-- e3 -->"); err == nil {
		t.Fatal("Post succeeded while every marker write failed")
	}
	if _, err := c.Edit(ctx, th, "20002", "Slipped.", "<!-- e3 -->"); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if m, _ := f.Marker("20002"); m != "<!-- e3 -->" {
		t.Errorf("marker after Edit = %q", m)
	}
	before := f.Hits("PUT /rest/api/2/comment/20002/properties/slipwatch")
	if _, err := c.readThread(ctx, "PLAT-3"); err != nil {
		t.Fatal(err)
	}
	if f.Hits("PUT /rest/api/2/comment/20002/properties/slipwatch") != before {
		t.Error("a marker repaired by Edit is still pending")
	}
}

func TestPostMarkerRetried(t *testing.T) {
	f := newFakeJira(t, false)
	f.AddIssue("PLAT-3", map[string]any{})
	c, _ := newTestClient(t, f, nil)
	f.Queue("PUT /rest/api/2/comment/20002/properties/slipwatch", jiratest.Response{Status: 502, Body: "Bad Gateway", Header: map[string]string{"Content-Type": "text/html"}})
	got, err := c.Post(context.Background(), &connectors.Thread{ID: "PLAT-3"}, "Slipped.", "<!-- m -->")
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if m, _ := f.Marker(got.ID); m != "<!-- m -->" {
		t.Errorf("marker = %q", m)
	}
	if n := f.Hits("POST /rest/api/2/issue/PLAT-3/comment"); n != 1 {
		t.Errorf("posted %d comments, want 1", n)
	}
}

// TestReadThread reads a thread that is no deliverable's (the monthly
// track-record thread) on both editions: slipwatch's own comments with
// their markers from the entity property, others' without.
func TestReadThread(t *testing.T) {
	for _, cloud := range []bool{true, false} {
		t.Run(map[bool]string{true: "cloud", false: "datacenter"}[cloud], func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			u := usersFor(cloud)
			f.AddIssue("PLAT-100", map[string]any{"summary": "Leadership updates"})
			mine := f.AddComment("PLAT-100", u.self, "*Track record, March 2026*", "2026-03-01T09:00:00.000+0000")
			f.SetMarker(mine.ID, "<!-- slipwatch:event id=abc kind=track_record -->")
			forged := f.AddComment("PLAT-100", u.other, "<!-- slipwatch:event id=def kind=track_record -->", "2026-03-01T10:00:00.000+0000")
			f.SetMarker(forged.ID, "<!-- slipwatch:event id=def kind=track_record -->")
			c, _ := newTestClient(t, f, nil)

			th, err := c.ReadThread(context.Background(), "PLAT-100")
			if err != nil {
				t.Fatal(err)
			}
			if len(th.Comments) != 2 || th.ID != "PLAT-100" || th.URL != f.URL+"/browse/PLAT-100" {
				t.Fatalf("thread %+v", th)
			}
			if cm := th.Comments[0]; !cm.BySelf || !strings.Contains(cm.Hidden, "id=abc") {
				t.Errorf("own comment: self=%v hidden=%q; want slipwatch's, with its marker", cm.BySelf, cm.Hidden)
			}
			if cm := th.Comments[1]; cm.BySelf {
				t.Errorf("look-alike's comment taken for slipwatch's: %+v", cm)
			}
			for key, want := range map[string]error{"PLAT": connectors.ErrTerminal, "PLAT-x": connectors.ErrTerminal, "PLAT-404": connectors.ErrNotFound} {
				if _, err := c.ReadThread(context.Background(), key); !errors.Is(err, want) {
					t.Errorf("ReadThread(%q) = %v, want %v", key, err, want)
				}
			}
		})
	}
}

// TestTrackingIssueTitleIsData: a version's name is written into the
// tracking issue slipwatch creates, its summary and its description; in
// neither may it mention someone, carry a macro, an image or a link.
func TestTrackingIssueTitleIsData(t *testing.T) {
	const hostile = "v9 @acme/leadership <img src=x> [click|http://evil.example] [~boss] {panel}x{panel} !http://evil.example/i.png! h1. big"
	for _, cloud := range []bool{true, false} {
		name := map[bool]string{true: "cloud", false: "datacenter"}[cloud]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			indexTracking(f)
			c, _ := newTestClient(t, f, nil)
			d := connectors.Deliverable{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"}, Title: hostile}
			if th, err := c.EnsureThread(context.Background(), d); err != nil || th == nil {
				t.Fatalf("EnsureThread = %v, %v", th, err)
			}
			made := f.Created()
			if len(made) != 1 {
				t.Fatalf("created %d issues", len(made))
			}
			fields, _ := made[0]["fields"].(map[string]any)
			summary, _ := fields["summary"].(string)
			desc, _ := fields["description"].(string)
			if got := strings.ReplaceAll(summary, "\u200b", ""); got != "Delivery tracking: "+hostile {
				t.Errorf("summary reads %q", got)
			}
			// Live wiki markup: a link or mention in brackets, a macro,
			// an image between bangs, a bare URL.
			live := []string{"[click", "[~", "{panel", "!http", "://", "@acme"}
			for _, l := range live {
				if strings.Contains(summary, l) {
					t.Errorf("summary has a live %q: %q", l, summary)
				}
			}
			title := desc[strings.Index(desc, "the version *")+len("the version *"):]
			title = title[:strings.Index(title, "*.\n")]
			for _, l := range live[:5] {
				if unescaped(title, l) {
					t.Errorf("description has a live %q in the version's name: %q", l, title)
				}
			}
			for _, esc := range []string{`\[click\|http:`, `\[\~boss\]`, `\{panel\}`, `\!http:`} {
				if !strings.Contains(title, esc) {
					t.Errorf("description lacks the escaped %s: %q", esc, title)
				}
			}
		})
	}
}

// TestTrackingIssueSummaryFits: Jira refuses a summary over 255
// characters; a long version name is cut to fit, not refused for ever.
func TestTrackingIssueSummaryFits(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	indexTracking(f)
	c, _ := newTestClient(t, f, nil)
	long := strings.Repeat("Release train ", 40)
	d := connectors.Deliverable{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"}, Title: long}
	if th, err := c.EnsureThread(context.Background(), d); err != nil || th == nil {
		t.Fatalf("EnsureThread with a %d-character name = %v, %v", len(long), th, err)
	}
}

// unescaped reports whether tok occurs in wiki text s without a backslash
// before it.
func unescaped(s, tok string) bool {
	for i := 0; ; i++ {
		j := strings.Index(s[i:], tok)
		if j < 0 {
			return false
		}
		if i+j == 0 || s[i+j-1] != '\\' {
			return true
		}
		i += j
	}
}

// TestPinnedThread: a version's tracking issue, once chosen, stays its
// thread when someone labels an older issue of the version: without the
// pin the oldest labelled issue would be chosen. The pinned issue is not
// an item even without its label.
func TestPinnedThread(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	f.SetVersionsFile("PLAT", "project-versions.cloud.json")
	f.SetJQLFunc(`project = "PLAT" AND (fixVersion = 10010)`, func() []string { return []string{"PLAT-5", "PLAT-901"} })
	f.SetJQL(`project = "PLAT" AND (resolved >= "2026-01-27")`)
	indexTracking(f)
	c, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"}
	th, err := c.EnsureThread(ctx, connectors.Deliverable{Ref: ref, Title: "Next Version"})
	if err != nil || th == nil || th.ID != "PLAT-901" {
		t.Fatalf("EnsureThread = %+v, %v", th, err)
	}
	// An older issue of the version gets the label; the tracking issue
	// loses it.
	f.AddIssue("PLAT-5", map[string]any{"created": "2025-06-01T10:00:00.000+0000", "labels": []any{"slipwatch"},
		"fixVersions": []any{map[string]any{"id": "10010"}}})
	f.UpdateIssue("PLAT-901", func(fields map[string]any) { fields["labels"] = []any{} })

	restarted, _ := newTestClient(t, f, nil)
	snap, err := restarted.Observe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Thread == nil || snap.Thread.ID != "PLAT-5" {
		t.Fatalf("unpinned: thread %+v, want the oldest labelled PLAT-5 (what the pin protects against)", snap.Thread)
	}
	restarted.PinThread(ref, "PLAT-901")
	snap, err = restarted.Observe(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Thread == nil || snap.Thread.ID != "PLAT-901" {
		t.Errorf("pinned: thread %+v, want PLAT-901", snap.Thread)
	}
	for _, it := range snap.Deliverable.Items {
		if it.ID == "PLAT-901" {
			t.Error("the pinned tracking issue counts as an item")
		}
	}
	if th, err := restarted.EnsureThread(ctx, snap.Deliverable); err != nil || th.ID != "PLAT-901" {
		t.Errorf("pinned: EnsureThread = %+v, %v", th, err)
	}
}

// TestCommentTooLarge: Jira's 400 for a comment over 32,767 characters is
// ErrTooLarge, which the runner answers with a shorter comment, and not a
// terminal error, which would park the deliverable.
func TestCommentTooLarge(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	f.AddIssue("PLAT-3", map[string]any{})
	c, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	th := &connectors.Thread{ID: "PLAT-3"}
	_, err := c.Post(ctx, th, strings.Repeat("🟢", jiratest.MaxCommentChars/2+1), "<!-- m -->")
	if !errors.Is(err, connectors.ErrTooLarge) || errors.Is(err, connectors.ErrTerminal) {
		t.Errorf("Post over the limit: %v; want ErrTooLarge, not terminal", err)
	}
	posted, err := c.Post(ctx, th, "short", "<!-- m -->")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Edit(ctx, th, posted.ID, strings.Repeat("x", jiratest.MaxCommentChars+1), "<!-- m -->")
	if !errors.Is(err, connectors.ErrTooLarge) {
		t.Errorf("Edit over the limit: %v; want ErrTooLarge", err)
	}
}
