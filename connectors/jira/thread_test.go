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
		f.SetVersionsFile("PLAT", "project-versions.cloud.json")
		c, _ := newTestClient(t, f, nil)
		ctx := context.Background()
		ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10010"}
		th, err := c.EnsureThread(ctx, connectors.Deliverable{Ref: ref, Title: "Next Version"})
		if err != nil || th == nil {
			t.Fatalf("EnsureThread = %v, %v", th, err)
		}
		f.SetIndexed(th.ID, false) // searches do not find it yet
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
