package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// world is project PLAT as the index tests build it: versions 1.0 and
// 2.0 (due) and 0.9 (released), each of the first two with work and a
// tracking issue carrying slipwatch's status and a lead's /commit; epic
// PLAT-60 with three children (by parent on Cloud, by Epic Link on Data
// Center) and a comment; issues resolved in the window outside any
// version.
type world struct {
	f        *jiratest.Server
	v1, v2   string
	released string
	epic     string
	threads  map[string]string // version id → tracking issue
	next     int               // next issue number
}

const (
	worldV1Due = "2026-04-01"
	worldV2Due = "2026-06-01"
)

func jiraStamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

func buildWorld(t *testing.T, f *jiratest.Server) *world {
	t.Helper()
	w := &world{f: f, threads: map[string]string{}, next: 100}
	f.AddProject("PLAT", "Platform")
	w.v1 = f.AddVersion("PLAT", jiratest.Version{Name: "1.0", ReleaseDate: worldV1Due})
	w.v2 = f.AddVersion("PLAT", jiratest.Version{Name: "2.0", ReleaseDate: worldV2Due, Description: "Committed: 2026-05-20"})
	w.released = f.AddVersion("PLAT", jiratest.Version{Name: "0.9", ReleaseDate: "2026-02-01", Released: true})
	u := usersFor(f.Cloud())
	created := func(days int) string { return jiraStamp(testNow.AddDate(0, 0, -days)) }
	n := 1
	add := func(fields map[string]any) string {
		key := fmt.Sprintf("PLAT-%d", n)
		n++
		if fields["created"] == nil {
			fields["created"] = created(100 - n)
		}
		if fields["status"] == nil {
			fields["status"] = openStatus()
		}
		fields["project"] = map[string]any{"key": "PLAT", "id": "10100"}
		f.AddIssue(key, fields)
		return key
	}
	for i, v := range []string{w.v1, w.v2, w.released} {
		for j := range 5 {
			fields := map[string]any{"fixVersions": []any{map[string]any{"id": v, "name": "v"}}, "labels": []any{}}
			if j < 2 || v == w.released {
				fields["status"] = doneStatus()
				fields["resolutiondate"] = created(20 - i*3 - j)
			}
			add(fields)
		}
	}
	for _, v := range []string{w.v1, w.v2} {
		key := add(map[string]any{"fixVersions": []any{map[string]any{"id": v}}, "labels": []any{"slipwatch"}, "summary": "Delivery tracking"})
		w.threads[v] = key
		st := f.AddComment(key, u.self, "Status", created(10))
		f.SetMarker(st.ID, "<!-- slipwatch:status id=x v=1 {} -->")
		f.AddComment(key, u.allowed, "/commit "+worldV2Due, created(9))
	}
	n = 60
	epicType := map[string]any{"name": "Epic"}
	w.epic = add(map[string]any{"issuetype": epicType, "duedate": "2026-05-15", "summary": "Checkout v2", "description": "The epic"})
	f.AddComment(w.epic, u.allowed, "Looking good", created(8))
	for j := range 3 {
		fields := map[string]any{}
		if f.Cloud() {
			fields["parent"] = map[string]any{"key": w.epic}
		} else {
			fields["Epic Link"] = w.epic
		}
		if j == 0 {
			fields["status"], fields["resolutiondate"] = doneStatus(), created(4)
		}
		add(fields)
	}
	n = 70
	for j := range 3 {
		add(map[string]any{"status": doneStatus(), "resolutiondate": created(2 + j)})
	}
	return w
}

// newIssueKey is a key no issue has yet.
func (w *world) newIssueKey() string {
	w.next++
	return fmt.Sprintf("PLAT-%d", w.next)
}

// poll is what a poll costs and shows: List, then Observe of every
// deliverable, as the runner does.
func poll(t *testing.T, c *Client) map[string]connectors.Snapshot {
	t.Helper()
	ctx := context.Background()
	refs, err := c.List(ctx, "PLAT")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	out := map[string]connectors.Snapshot{}
	for _, ref := range refs {
		s, err := c.Observe(ctx, ref)
		if err != nil {
			t.Fatalf("Observe %s: %v", ref, err)
		}
		out[ref.Key()] = s
	}
	return out
}

func editions() []bool { return []bool{true, false} }

func edition(cloud bool) string { return map[bool]string{true: "cloud", false: "datacenter"}[cloud] }

// Each kind of change costs a warm poll what it changed: one change
// search, one more search when an issue changed (which of the changed
// match the deliverables JQL), one comment list per thread whose issue
// moved; version changes, invisible to the change search, come with the
// versions list read in its place.
func TestChangeKinds(t *testing.T) {
	type change struct {
		name string
		do   func(w *world, c *Client, clock *sleeper)
		// requests the next poll costs, what it must show
		want  int
		check func(t *testing.T, w *world, before, after map[string]connectors.Snapshot)
	}
	vkey := func(w *world, id string) string { return versionRef("PLAT", id).Key() }
	ekey := func(w *world) string { return issueRef("PLAT", w.epic).Key() }
	done := func(s connectors.Snapshot) int {
		n := 0
		for _, it := range s.Deliverable.Items {
			if it.Done() {
				n++
			}
		}
		return n
	}
	changes := []change{
		{name: "nothing", do: func(*world, *Client, *sleeper) {}, want: 1,
			check: func(t *testing.T, _ *world, before, after map[string]connectors.Snapshot) {
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("nothing changed, yet (-before +after):\n%s", diff)
				}
			}},
		{name: "issue resolved", want: 2,
			do: func(w *world, _ *Client, clock *sleeper) {
				w.f.UpdateIssue("PLAT-3", func(f map[string]any) {
					f["status"], f["resolutiondate"] = doneStatus(), jiraStamp(clock.Now())
				})
			},
			check: func(t *testing.T, w *world, before, after map[string]connectors.Snapshot) {
				k := vkey(w, w.v1)
				if done(after[k]) != done(before[k])+1 {
					t.Errorf("1.0 done items %d → %d, want one more", done(before[k]), done(after[k]))
				}
				if after[k].Throughput.Total() != before[k].Throughput.Total()+1 {
					t.Errorf("throughput %d → %d, want one more", before[k].Throughput.Total(), after[k].Throughput.Total())
				}
			}},
		{name: "issue added to a version", want: 2,
			do: func(w *world, _ *Client, _ *sleeper) {
				w.f.AddIssue(w.newIssueKey(), map[string]any{"fixVersions": []any{map[string]any{"id": w.v2}}, "status": openStatus()})
			},
			check: func(t *testing.T, w *world, before, after map[string]connectors.Snapshot) {
				k := vkey(w, w.v2)
				if len(after[k].Deliverable.Items) != len(before[k].Deliverable.Items)+1 {
					t.Errorf("2.0 items %d → %d, want one more", len(before[k].Deliverable.Items), len(after[k].Deliverable.Items))
				}
			}},
		{name: "issue moved between versions", want: 2,
			do: func(w *world, _ *Client, _ *sleeper) {
				w.f.UpdateIssue("PLAT-4", func(f map[string]any) { f["fixVersions"] = []any{map[string]any{"id": w.v2}} })
			},
			check: func(t *testing.T, w *world, before, after map[string]connectors.Snapshot) {
				k1, k2 := vkey(w, w.v1), vkey(w, w.v2)
				if len(after[k1].Deliverable.Items) != len(before[k1].Deliverable.Items)-1 || len(after[k2].Deliverable.Items) != len(before[k2].Deliverable.Items)+1 {
					t.Errorf("items 1.0 %d → %d, 2.0 %d → %d; want one moved", len(before[k1].Deliverable.Items), len(after[k1].Deliverable.Items),
						len(before[k2].Deliverable.Items), len(after[k2].Deliverable.Items))
				}
			}},
		{name: "comment added on a thread", want: 3,
			do: func(w *world, _ *Client, clock *sleeper) {
				w.f.AddComment(w.threads[w.v1], usersFor(w.f.Cloud()).allowed, "/commit 2026-04-15", jiraStamp(clock.Now()))
			},
			check: func(t *testing.T, w *world, before, after map[string]connectors.Snapshot) {
				k := vkey(w, w.v1)
				if len(after[k].Thread.Comments) != len(before[k].Thread.Comments)+1 {
					t.Errorf("1.0 thread comments %d → %d, want one more", len(before[k].Thread.Comments), len(after[k].Thread.Comments))
				}
			}},
		{name: "comment edited", want: 3,
			do: func(w *world, _ *Client, clock *sleeper) {
				th := w.threads[w.v2]
				c := w.f.Comments(th)[1]
				w.f.EditComment(c.ID, c.Author, "/commit 2026-06-15", jiraStamp(clock.Now()))
			},
			check: func(t *testing.T, w *world, _, after map[string]connectors.Snapshot) {
				if got := after[vkey(w, w.v2)].Thread.Comments[1].Body; got != "/commit 2026-06-15" {
					t.Errorf("2.0's edited comment reads %q", got)
				}
			}},
		{name: "epic due date changed", want: 3, // the epic is its own thread: its comments are read again
			do: func(w *world, _ *Client, _ *sleeper) {
				w.f.UpdateIssue(w.epic, func(f map[string]any) { f["duedate"] = "2026-07-01" })
			},
			check: func(t *testing.T, w *world, _, after map[string]connectors.Snapshot) {
				if got := after[ekey(w)].Deliverable.DueDate.String(); got != "2026-07-01" {
					t.Errorf("epic due %s, want 2026-07-01", got)
				}
			}},
		{name: "epic child resolved", want: 2,
			do: func(w *world, _ *Client, clock *sleeper) {
				w.f.UpdateIssue("PLAT-62", func(f map[string]any) {
					f["status"], f["resolutiondate"] = doneStatus(), jiraStamp(clock.Now())
				})
			},
			check: func(t *testing.T, w *world, before, after map[string]connectors.Snapshot) {
				if done(after[ekey(w)]) != done(before[ekey(w)])+1 {
					t.Errorf("epic done items %d → %d, want one more", done(before[ekey(w)]), done(after[ekey(w)]))
				}
			}},
		{name: "version date moved, with its webhook", want: 1, // the versions list, in place of the change search
			do: func(w *world, c *Client, _ *sleeper) {
				w.f.SetReleaseDate(w.v1, "2026-04-20")
				deliver(t, c, map[string]any{"webhookEvent": "jira:version_updated", "version": map[string]any{"id": w.v1, "projectId": 10100}})
			},
			check: func(t *testing.T, w *world, _, after map[string]connectors.Snapshot) {
				if got := after[vkey(w, w.v1)].Deliverable.DueDate.String(); got != "2026-04-20" {
					t.Errorf("1.0 due %s, want 2026-04-20", got)
				}
			}},
		{name: "version released, seen at the versions read", want: 1,
			do: func(w *world, _ *Client, clock *sleeper) {
				w.f.UpdateVersion(w.v2, func(v map[string]any) { v["released"] = true })
				clock.advance(config.DefaultJiraVersionsEvery)
			},
			check: func(t *testing.T, w *world, _, after map[string]connectors.Snapshot) {
				if !after[vkey(w, w.v2)].Deliverable.Closed {
					t.Error("2.0 not closed after its release")
				}
			}},
	}
	for _, cloud := range editions() {
		for _, ch := range changes {
			t.Run(edition(cloud)+"/"+ch.name, func(t *testing.T) {
				t.Parallel()
				f := newFakeJira(t, cloud)
				w := buildWorld(t, f)
				c, clock := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.WebhookSecret = hookSecret })
				poll(t, c) // cold
				clock.advance(time.Minute)
				before := poll(t, c) // warm, served from the index
				clock.advance(time.Minute)
				ch.do(w, c, clock)
				clock.advance(config.DefaultPollInterval)
				n := f.Requests()
				after := poll(t, c)
				if got := f.Requests() - n; got != ch.want {
					t.Errorf("the poll after %q cost %d requests, want %d", ch.name, got, ch.want)
				}
				ch.check(t, w, before, after)
				// And nothing was missed: a fresh connector sees the same.
				// (A version change's poll skipped the change search: one
				// more poll runs it.)
				clock.advance(config.DefaultPollInterval)
				warm := poll(t, c)
				fresh, _ := newTestClient(t, f, func(_ *config.Jira, o *Options) { o.Now = clock.Now })
				if diff := cmp.Diff(poll(t, fresh), warm); diff != "" {
					t.Errorf("warm index differs from a fresh read (-fresh +warm):\n%s", diff)
				}
			})
		}
	}
}

// deliver hands c a signed webhook delivery.
func deliver(t *testing.T, c *Client, payload map[string]any) connectors.WebhookEvent {
	t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := c.ParseWebhook(hookRequest(body, "", map[string]string{"X-Hub-Signature": sign(hookSecret, body),
		"X-Atlassian-Webhook-Identifier": fmt.Sprint(time.Now().UnixNano())}))
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	return ev
}

// A warm poll with nothing changed is one request per project, however
// many polls; Observe between polls is free while the index is young.
func TestWarmPollCost(t *testing.T) {
	for _, cloud := range editions() {
		t.Run(edition(cloud), func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			buildWorld(t, f)
			c, clock := newTestClient(t, f, nil)
			cold := f.Requests()
			poll(t, c)
			cold = f.Requests() - cold
			// Versions list, deliverables JQL, one search for the rest, the
			// epic's children, three threads' comments, the two status
			// markers; myself; serverInfo; Data Center's field list.
			want := 11
			if !cloud {
				want = 12
			}
			if cold != want {
				t.Errorf("cold poll: %d requests, want %d", cold, want)
			}
			for i := range 12 { // an hour of polls: one of them reads the versions list instead
				clock.advance(config.DefaultPollInterval)
				n := f.Requests()
				poll(t, c)
				if got := f.Requests() - n; got != 1 {
					t.Errorf("warm poll %d: %d requests, want 1", i, got)
				}
			}
			if n := f.Hits("GET /rest/api/2/project/PLAT/versions"); n != 3 {
				t.Errorf("versions list read %d times in an hour, want 3 (the cold read, then every 30 minutes)", n)
			}
		})
	}
}

// The change search names a minute in the credential's own zone, five
// minutes before the previous search began: what changed meanwhile is
// found even with Jira's clock behind slipwatch's, and in a zone Go does
// not know the search asks from a day earlier rather than miss anything.
func TestChangeSearchZone(t *testing.T) {
	tests := []struct {
		name  string
		cloud bool
		zone  string // "" the myself file's (UTC on Cloud, Europe/Berlin on Data Center)
		skew  time.Duration
		want  string // the literal of the second poll's change search
	}{
		{name: "cloud, UTC", cloud: true, want: "2026-03-10 11:55"},
		{name: "datacenter, Berlin", want: "2026-03-10 12:55"},
		{name: "Los Angeles, west of UTC", cloud: true, zone: "America/Los_Angeles", want: "2026-03-10 04:55"},
		{name: "Kathmandu, a quarter-hour zone", cloud: true, zone: "Asia/Kathmandu", want: "2026-03-10 17:40"},
		{name: "Jira's clock four minutes behind", cloud: true, skew: -4 * time.Minute, want: "2026-03-10 11:55"},
		{name: "a zone Go does not know", cloud: true, zone: "Mars/Olympus_Mons", want: "2026-03-09 23:55"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, tt.cloud)
			if tt.zone != "" {
				f.SetTimeZone(tt.zone)
			}
			w := buildWorld(t, f)
			c, clock := newTestClient(t, f, nil)
			f.SetNow(func() time.Time { return clock.Now().Add(tt.skew) })
			clock.advance(30 * time.Second) // 12:00:30: the full read begins
			poll(t, c)
			// Half a minute later an issue is resolved, by Jira's clock.
			clock.advance(30 * time.Second)
			f.UpdateIssue("PLAT-3", func(fl map[string]any) {
				fl["status"], fl["resolutiondate"] = doneStatus(), jiraStamp(clock.Now().Add(tt.skew))
			})
			clock.advance(config.DefaultPollInterval)
			asked := len(f.AskedJQL())
			after := poll(t, c)
			jqls := f.AskedJQL()[asked:]
			want := `project = "PLAT" OR parent in ("PLAT-60")`
			if !tt.cloud {
				want += ` OR cf[10008] in ("PLAT-60")`
			}
			want = "(" + want + `) AND updated >= "` + tt.want + `" ORDER BY key ASC`
			if len(jqls) == 0 || jqls[0] != want {
				t.Errorf("change search %q, want %q", jqls, want)
			}
			if n := len(after[versionRef("PLAT", w.v1).Key()].Deliverable.Items); n != 5 {
				t.Fatalf("1.0 has %d items", n)
			}
			items := after[versionRef("PLAT", w.v1).Key()].Deliverable.Items
			if i := slices.IndexFunc(items, func(it connectors.Item) bool { return it.ID == "PLAT-3" }); i < 0 || !items[i].Done() {
				t.Errorf("PLAT-3 resolved after the full read is not seen done: %+v", items)
			}
		})
	}
}

// jira:version_*, comment and issue_deleted webhooks tell the index what
// the change search cannot see, or sees only at the next poll.
func TestWebhooksTellTheIndex(t *testing.T) {
	f := newFakeJira(t, true)
	w := buildWorld(t, f)
	c, clock := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.WebhookSecret = hookSecret })
	ctx := context.Background()
	poll(t, c)
	v1 := versionRef("PLAT", w.v1)
	observe := func() (connectors.Snapshot, int) {
		t.Helper()
		n := f.Requests()
		s, err := c.Observe(ctx, v1)
		if err != nil {
			t.Fatal(err)
		}
		return s, f.Requests() - n
	}

	// A moved release date, without its webhook, waits for the versions
	// read; with it, the next Observe reads the list: one request.
	clock.advance(time.Minute)
	f.SetReleaseDate(w.v1, "2026-04-10")
	if s, n := observe(); s.Deliverable.DueDate.String() != worldV1Due || n != 0 {
		t.Errorf("before the webhook: due %s after %d requests, want the old date for free", s.Deliverable.DueDate, n)
	}
	ev := deliver(t, c, map[string]any{"webhookEvent": "jira:version_updated", "version": map[string]any{"id": w.v1, "projectId": 10100}})
	if len(ev.Refs) != 1 || ev.Refs[0] != v1 {
		t.Errorf("refs %v, want %v", ev.Refs, v1)
	}
	if s, n := observe(); s.Deliverable.DueDate.String() != "2026-04-10" || n != 1 {
		t.Errorf("after the webhook: due %s after %d requests, want 2026-04-10 after 1", s.Deliverable.DueDate, n)
	}

	// A comment: its thread is read again, with the issues changed.
	th := w.threads[w.v1]
	f.AddComment(th, usersFor(true).allowed, "/slipwatch status", jiraStamp(clock.Now()))
	is, _ := f.Issue(th)
	deliver(t, c, map[string]any{"webhookEvent": "comment_created", "issue": map[string]any{"id": is.ID, "key": th,
		"fields": map[string]any{"project": map[string]any{"key": "PLAT"}}}, "comment": map[string]any{"id": "1"}})
	s, _ := observe()
	if got := s.Thread.Comments[len(s.Thread.Comments)-1].Body; got != "/slipwatch status" {
		t.Errorf("last comment after comment_created: %q", got)
	}

	// A deleted issue leaves the version at once.
	f.DeleteIssue("PLAT-1")
	deliver(t, c, map[string]any{"webhookEvent": "jira:issue_deleted", "issue": map[string]any{"id": "1", "key": "PLAT-1",
		"fields": map[string]any{"project": map[string]any{"key": "PLAT"}}}})
	if s, _ := observe(); slices.ContainsFunc(s.Deliverable.Items, func(it connectors.Item) bool { return it.ID == "PLAT-1" }) {
		t.Errorf("PLAT-1 deleted, still an item: %+v", s.Deliverable.Items)
	}
}

// slipwatch's own comment moves its thread: the next observation reads
// the thread again and shows the comment.
func TestOwnPostReadAgain(t *testing.T) {
	f := newFakeJira(t, false)
	w := buildWorld(t, f)
	c, _ := newTestClient(t, f, nil)
	ctx := context.Background()
	poll(t, c)
	v2 := versionRef("PLAT", w.v2)
	s, err := c.Observe(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, s.Thread, "Slipped", "<!-- slipwatch:event id=e1 kind=slipped -->"); err != nil {
		t.Fatal(err)
	}
	n := f.Requests()
	s, err = c.Observe(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	last := s.Thread.Comments[len(s.Thread.Comments)-1]
	if last.Body != "Slipped" || last.Hidden == "" || !last.BySelf {
		t.Errorf("last comment %+v, want slipwatch's with its marker", last)
	}
	if got := f.Requests() - n; got != 1 {
		t.Errorf("Observe after a post: %d requests, want 1 (the thread; the marker is remembered)", got)
	}
}

// TestDifferential: after random changes of every kind, what the warm
// index shows equals what a fresh connector reads, deliverable by
// deliverable, on both editions (a fixed seed, so a failure repeats).
func TestDifferential(t *testing.T) {
	for _, cloud := range editions() {
		t.Run(edition(cloud), func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			w := buildWorld(t, f)
			c, clock := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.WebhookSecret = hookSecret })
			poll(t, c)
			rng := rand.New(rand.NewPCG(22, 7))
			u := usersFor(cloud)
			keys := func(filter func(jiratest.Issue) bool) []string {
				var out []string
				for _, is := range f.Issues() {
					if filter(is) {
						out = append(out, is.Key)
					}
				}
				return out
			}
			open := func(is jiratest.Issue) bool { return is.Fields["resolutiondate"] == nil && is.Key != w.epic }
			pick := func(ks []string) string { return ks[rng.IntN(len(ks))] }
			versions := []string{w.v1, w.v2, w.released}
			day := func() string { return time.Date(2026, 4, 1+rng.IntN(60), 0, 0, 0, 0, time.UTC).Format(time.DateOnly) }
			kinds := map[string]int{}
			for round := range 40 {
				var versionChange, webhook bool
				for range 1 + rng.IntN(3) {
					kind := rng.IntN(9)
					switch kind {
					case 0: // resolved
						if ks := keys(open); len(ks) > 0 {
							f.UpdateIssue(pick(ks), func(fl map[string]any) { fl["status"], fl["resolutiondate"] = doneStatus(), jiraStamp(clock.Now()) })
						}
					case 1: // added to a version, new or existing
						v := pick(versions)
						if rng.IntN(2) == 0 {
							f.AddIssue(w.newIssueKey(), map[string]any{"fixVersions": []any{map[string]any{"id": v}}, "status": openStatus()})
						} else if ks := keys(func(is jiratest.Issue) bool { return is.Fields["fixVersions"] == nil && is.Key != w.epic }); len(ks) > 0 {
							f.UpdateIssue(pick(ks), func(fl map[string]any) { fl["fixVersions"] = []any{map[string]any{"id": v}} })
						}
					case 2: // comment added
						th := pick(append(slices.Collect(maps.Values(w.threads)), w.epic))
						f.AddComment(th, u.allowed, fmt.Sprintf("comment %d", round), jiraStamp(clock.Now()))
					case 3: // comment edited
						th := pick(slices.Collect(maps.Values(w.threads)))
						cs := f.Comments(th)
						c := cs[rng.IntN(len(cs))]
						f.EditComment(c.ID, c.Author, fmt.Sprintf("edited in round %d", round), jiraStamp(clock.Now()))
					case 4: // version date moved
						f.SetReleaseDate(pick(versions[:2]), day())
						versionChange = true
					case 5: // version released or unreleased
						v := pick(versions[:2])
						f.UpdateVersion(v, func(m map[string]any) { m["released"] = !(m["released"] == true) })
						versionChange = true
					case 6: // epic due date
						f.UpdateIssue(w.epic, func(fl map[string]any) { fl["duedate"] = day() })
					case 7: // moved between versions
						k := pick(keys(func(is jiratest.Issue) bool {
							return is.Fields["fixVersions"] != nil && !strings.Contains(fmt.Sprint(is.Fields["labels"]), "slipwatch")
						}))
						f.UpdateIssue(k, func(fl map[string]any) { fl["fixVersions"] = []any{map[string]any{"id": pick(versions)}} })
					case 8: // a new epic child, or a new epic
						fields := map[string]any{"status": openStatus()}
						if rng.IntN(3) == 0 {
							fields["issuetype"], fields["duedate"], fields["summary"] = map[string]any{"name": "Epic"}, day(), "another epic"
						} else if cloud {
							fields["parent"] = map[string]any{"key": w.epic}
						} else {
							fields["Epic Link"] = w.epic
						}
						f.AddIssue(w.newIssueKey(), fields)
					}
					kinds[fmt.Sprint(kind)]++
					clock.advance(time.Duration(rng.IntN(90)) * time.Second)
				}
				if versionChange {
					// Jira's webhook, or the versions read's turn.
					if webhook = rng.IntN(2) == 0; webhook {
						for _, v := range versions[:2] {
							deliver(t, c, map[string]any{"webhookEvent": "jira:version_updated", "version": map[string]any{"id": v, "projectId": 10100}})
						}
					} else {
						clock.advance(config.DefaultJiraVersionsEvery)
					}
				}
				// Two polls: one may read the versions list in place of the
				// change search, as documented.
				for range 2 {
					clock.advance(config.DefaultPollInterval)
					poll(t, c)
				}
				warm := poll(t, c)
				fresh, _ := newTestClient(t, f, func(_ *config.Jira, o *Options) { o.Now = clock.Now })
				if diff := cmp.Diff(poll(t, fresh), warm); diff != "" {
					t.Fatalf("round %d (version change %v, webhook %v): warm index differs from a fresh read (-fresh +warm):\n%s", round, versionChange, webhook, diff)
				}
			}
			if len(kinds) != 9 {
				t.Errorf("change kinds exercised: %v, want all 9", kinds)
			}
		})
	}
}

// A versions list that cannot be read when its turn comes does not hold
// up the issues: the poll runs the change search instead, and the list is
// asked again at the next poll.
func TestVersionsReadFailing(t *testing.T) {
	f := newFakeJira(t, true)
	w := buildWorld(t, f)
	c, clock := newTestClient(t, f, nil)
	poll(t, c)
	clock.advance(config.DefaultJiraVersionsEvery)
	f.UpdateIssue("PLAT-3", func(fl map[string]any) { fl["status"], fl["resolutiondate"] = doneStatus(), jiraStamp(clock.Now()) })
	f.SetReleaseDate(w.v1, "2026-04-30")
	f.Queue("GET /rest/api/2/project/PLAT/versions", jiratest.Response{Status: 403, Body: "@error-403.json"})
	after := poll(t, c)
	v1 := after[versionRef("PLAT", w.v1).Key()]
	if i := slices.IndexFunc(v1.Deliverable.Items, func(it connectors.Item) bool { return it.ID == "PLAT-3" }); i < 0 || !v1.Deliverable.Items[i].Done() {
		t.Errorf("PLAT-3 resolved is not seen while the versions list fails: %+v", v1.Deliverable.Items)
	}
	if got := v1.Deliverable.DueDate.String(); got != worldV1Due {
		t.Errorf("due %s while the list failed, want the last one read", got)
	}
	clock.advance(config.DefaultPollInterval)
	after = poll(t, c)
	if got := after[versionRef("PLAT", w.v1).Key()].Deliverable.DueDate.String(); got != "2026-04-30" {
		t.Errorf("due %s at the next poll, want the list read again: 2026-04-30", got)
	}
}

// A story of another project leaving a watched epic: its webhook has the
// epic's index drop it (that index's change search no longer finds it).
func TestChildLeavesEpicOfAnotherProject(t *testing.T) {
	f := newFakeJira(t, true)
	w := buildWorld(t, f)
	f.AddIssue("WEB-3", map[string]any{"parent": map[string]any{"key": w.epic}, "status": openStatus()})
	c, clock := newTestClient(t, f, func(cfg *config.Jira, _ *Options) { cfg.WebhookSecret = hookSecret })
	epic := issueRef("PLAT", w.epic).Key()
	items := func(s map[string]connectors.Snapshot) []string {
		var ids []string
		for _, it := range s[epic].Deliverable.Items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	if got := items(poll(t, c)); !slices.Contains(got, "WEB-3") {
		t.Fatalf("epic items %v lack WEB-3", got)
	}
	clock.advance(time.Minute)
	f.UpdateIssue("WEB-3", func(fl map[string]any) { delete(fl, "parent") })
	deliver(t, c, map[string]any{"webhookEvent": "jira:issue_updated",
		"issue":     map[string]any{"id": "1", "key": "WEB-3", "fields": map[string]any{"project": map[string]any{"key": "WEB"}}},
		"changelog": map[string]any{"items": []any{map[string]any{"field": "IssueParentAssociation", "fromString": w.epic, "toString": nil}}}})
	clock.advance(config.DefaultPollInterval)
	if got := items(poll(t, c)); slices.Contains(got, "WEB-3") {
		t.Errorf("epic items %v still hold WEB-3, which left it", got)
	}
}
