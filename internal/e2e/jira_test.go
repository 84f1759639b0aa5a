package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// jiraTime is how Jira writes instants.
const jiraTime = "2006-01-02T15:04:05.000-0700"

// TestJira runs the Jira scenarios through the real daemon, for Jira
// Cloud and for Jira Data Center: a version and an epic get their threads
// and status once; a slip announced by webhook is posted once and a
// replay or a forged delivery changes nothing; an empty Redis finds the
// record on Jira. The harness checks that no Jira secret is printed.
func TestJira(t *testing.T) {
	t.Parallel()
	for _, ed := range []jiraEdition{
		{name: "cloud", cloud: true, deployment: "cloud"},
		{name: "datacenter", deployment: "auto"}, // found out from serverInfo
	} {
		t.Run(ed.name, func(t *testing.T) {
			t.Parallel()
			testJira(t, ed)
		})
	}
}

func testJira(t *testing.T, ed jiraEdition) {
	w := newWorld(t, options{jira: &ed})
	version, epic := w.seedJira()
	exp := jiraExpect{}
	exp.add(version, reconcile.EvCommitted, 1)
	exp.add(epic, reconcile.EvCommitted, 1)
	d := w.start("daemon")

	// 1. Both deliverables get their thread, their status and their
	// committed comment, once.
	waitFor(t, 40*time.Second, "threads and status on Jira", func() bool { return w.jiraConverged(exp) })
	f := w.jiraTally(exp)
	t.Logf("%s, first pass: %v", ed.name, f)
	if !f.ok() {
		t.Fatalf("first pass: %v", f)
	}
	if n := len(w.jira.Created()); n != 1 {
		t.Fatalf("slipwatch created %d issues, want 1 tracking issue", n)
	}
	// The items were found: the version's issues without its tracking
	// issue, the epic's children by parent (Cloud) or Epic Link (Data
	// Center).
	for _, c := range []struct {
		jd   jiraDeliverable
		want string
	}{{version, "3 of 6 items done"}, {epic, "2 of 4 items done"}} {
		if line := w.jiraStatusLine(c.jd, "Progress"); !strings.Contains(line, c.want) {
			t.Errorf("%v: Progress line %q, want %q", c.jd, line, c.want)
		}
	}
	promise := w.jiraStatusLine(version, "Promise")
	if want := day(30).Format(time.DateOnly); !strings.Contains(promise, want) {
		t.Fatalf("version's Promise line %q, want %s", promise, want)
	}

	// 2. The release date moves 14 days later and Jira says so. The
	// status comment shows the new date at once, edited in place; the
	// slip itself is announced once the new date has stood for
	// slip.settle (an hour by default, so a date moved out and back is
	// not news).
	before, _ := w.jiraStatus(version)
	slipped := day(44).Format(time.DateOnly)
	w.jira.SetReleaseDate(version.version, slipped)
	if status, body := d.sendJira(w.versionUpdated(version.version), newID(), jiraAuthRight); status != 202 || body != "queued" {
		t.Fatalf("jira:version_updated: %d %q, want 202 queued", status, body)
	}
	waitFor(t, 30*time.Second, "the new date on the status comment", func() bool {
		return strings.Contains(w.jiraStatusLine(version, "Current due date"), slipped)
	})
	after, _ := w.jiraStatus(version)
	if after.ID != before.ID {
		t.Errorf("status comment %s was replaced by %s, want it edited in place", before.ID, after.ID)
	}
	if th, _ := w.jiraThread(version); th.count(reconcile.EvSlipped) != 0 {
		t.Errorf("slipped announced before the new date settled: %v", th.events)
	}
	// The promise is the first date seen, not the new one.
	if line := w.jiraStatusLine(version, "Promise"); line != promise {
		t.Errorf("after the slip the Promise line is %q, want %q", line, promise)
	}

	// An hour later (the record's clock is moved back: the daemon's is
	// the real one), Jira sends another version_updated.
	w.ageTarget("jira:"+jiraProject+"/version/"+version.version, slipped, defaultSettle+time.Minute)
	hook := w.versionUpdated(version.version)
	id := newID()
	if status, body := d.sendJira(hook, id, jiraAuthRight); status != 202 || body != "queued" {
		t.Fatalf("jira:version_updated an hour later: %d %q, want 202 queued", status, body)
	}
	exp.add(version, reconcile.EvSlipped, 1)
	waitFor(t, 30*time.Second, "slipped on the tracking issue", func() bool {
		if !w.jiraConverged(exp) {
			return false
		}
		// The status comment goes last and names the events announced.
		th, _ := w.jiraThread(version)
		st, _ := w.jiraStatus(version)
		return len(th.events[reconcile.EvSlipped]) > 0 && strings.Contains(st.Marker, th.events[reconcile.EvSlipped][0])
	})
	if st, _ := w.jiraStatus(version); st.ID != before.ID {
		t.Errorf("status comment %s was replaced by %s, want it edited in place", before.ID, st.ID)
	}
	if line := w.jiraStatusLine(version, "Current due date"); !strings.Contains(line, slipped) {
		t.Errorf("status after the slip: Current due date line %q, want %s", line, slipped)
	}
	if f := w.jiraTally(exp); !f.ok() {
		t.Fatalf("after the slip: %v", f)
	}

	// Jira redelivers the same identifier: accepted, not worked again.
	if status, body := d.sendJira(hook, id, jiraAuthRight); status != 202 || body != "duplicate" {
		t.Errorf("redelivery of %s: %d %q, want 202 duplicate", id, status, body)
	}
	// Forged or unauthenticated deliveries, with identifiers never seen:
	// refused, and nothing is written.
	writes := w.jira.Writes()
	for _, a := range []struct {
		name string
		auth jiraAuth
	}{{"wrong secret or token", jiraAuthWrong}, {"no authentication", jiraAuthNone}} {
		if status, body := d.sendJira(hook, newID(), a.auth); status != 401 {
			t.Errorf("delivery with %s: %d %q, want 401", a.name, status, body)
		}
	}
	if got := d.metric("slipwatch_webhook_deliveries_total", `tracker="jira"`, `result="accepted"`); got != 2 {
		t.Errorf("jira deliveries accepted: %v, want 2 (not the replay, not the forged ones)", got)
	}
	if got := d.metric("slipwatch_webhook_deliveries_total", `tracker="jira"`, `result="duplicate"`); got != 1 {
		t.Errorf("jira deliveries seen as duplicates: %v, want 1", got)
	}
	if got := w.jira.Writes(); got != writes {
		t.Errorf("refused deliveries: %d writes to Jira after them, want none", got-writes)
	}
	f = w.jiraTally(exp)
	t.Logf("%s, after the slip, its replay and two forged deliveries: %v", ed.name, f)
	if !f.ok() {
		t.Fatalf("after the replay: %v", f)
	}

	// 3. Redis is emptied: the markers on Jira are the record.
	d.kill()
	w.flushAll()
	writes = w.jira.Writes()
	d.run()
	waitFor(t, 40*time.Second, "two poll passes after FLUSHALL", func() bool {
		return d.metric("slipwatch_polls_total", `tracker="jira"`) >= 2 &&
			d.metric("slipwatch_reconciles_total", `result="ok"`) >= 4
	})
	f = w.jiraTally(exp)
	t.Logf("%s, after FLUSHALL and two polls: %v; %d writes to Jira", ed.name, f, w.jira.Writes()-writes)
	if !f.ok() {
		t.Fatalf("after FLUSHALL: %v", f)
	}
	// Nothing changed on Jira: the status comments already say it all,
	// so a lost Redis costs no write at all.
	if n := w.jira.Writes() - writes; n != 0 {
		t.Errorf("after FLUSHALL slipwatch wrote %d times to an unchanged Jira, want 0", n)
	}
	if n := len(w.jira.Created()); n != 1 {
		t.Errorf("after FLUSHALL slipwatch has created %d issues, want the 1 tracking issue", n)
	}
	if line := w.jiraStatusLine(version, "Promise"); line != promise {
		t.Errorf("after FLUSHALL the Promise line is %q, want %q", line, promise)
	}
}

func (e jiraExpect) add(jd jiraDeliverable, kind reconcile.EventKind, n int) {
	if e[jd] == nil {
		e[jd] = map[reconcile.EventKind]int{}
	}
	e[jd][kind] += n
}

// jiraConverged reports whether every deliverable has its status comment
// and every expected comment (tally judges extras).
func (w *world) jiraConverged(e jiraExpect) bool {
	for jd, kinds := range e {
		th, _ := w.jiraThread(jd)
		if th.statuses == 0 {
			return false
		}
		for kind, n := range kinds {
			if th.count(kind) < n {
				return false
			}
		}
	}
	return true
}

// seedJira fills project PLAT: version "2.0" due in 30 days with six
// issues, three resolved; epic PLAT-1 due in 40 days with four children,
// two resolved (by parent on Cloud, by Epic Link on Data Center); and a
// dozen other issues resolved over the last two weeks, so the project's
// pace finishes both well before their dates (no at_risk).
func (w *world) seedJira() (version, epic jiraDeliverable) {
	now := time.Now().UTC()
	vid := w.jira.AddVersion(jiraProject, jiratest.Version{Name: "2.0", ReleaseDate: day(30).Format(time.DateOnly)})
	project := map[string]any{"id": jiraProjectID, "key": jiraProject}
	n := 1
	add := func(fields map[string]any) string {
		key := fmt.Sprintf("%s-%d", jiraProject, n)
		n++
		fields["project"] = project
		fields["created"] = now.AddDate(0, 0, -30).Format(jiraTime)
		if _, ok := fields["issuetype"]; !ok {
			fields["issuetype"] = map[string]any{"name": "Task"}
		}
		if _, ok := fields["summary"]; !ok {
			fields["summary"] = "Task " + key
		}
		w.jira.AddIssue(key, fields)
		return key
	}
	progress := func(resolved bool, daysAgo int) map[string]any {
		if !resolved {
			return map[string]any{"status": map[string]any{"name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}}}
		}
		return map[string]any{
			"status":         map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}},
			"resolutiondate": now.AddDate(0, 0, -daysAgo).Add(-time.Hour).Format(jiraTime),
		}
	}

	epicType := map[string]any{"name": "Epic"}
	if w.ed.cloud {
		epicType["hierarchyLevel"] = 1
	}
	epicKey := add(map[string]any{"summary": "Billing revamp", "issuetype": epicType, "duedate": day(40).Format(time.DateOnly),
		"status": map[string]any{"name": "In Progress", "statusCategory": map[string]any{"key": "indeterminate"}}})
	for i := range 6 {
		f := progress(i < 3, 1+i)
		f["fixVersions"] = []any{map[string]any{"id": vid, "name": "2.0"}}
		add(f)
	}
	for i := range 4 {
		f := progress(i < 2, 2+i)
		if w.ed.cloud {
			f["parent"] = map[string]any{"key": epicKey}
		} else {
			f["Epic Link"] = epicKey
		}
		add(f)
	}
	for i := range 12 {
		add(progress(true, 1+i))
	}
	return jiraDeliverable{version: vid}, jiraDeliverable{epic: epicKey}
}

// versionUpdated is Jira's jira:version_updated delivery for version id
// of the sandbox project, from the recorded payload.
func (w *world) versionUpdated(id string) []byte {
	w.t.Helper()
	raw, err := os.ReadFile("../../connectors/jira/testdata/webhooks/jira-version_updated.json")
	if err != nil {
		w.t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		w.t.Fatal(err)
	}
	v := p["version"].(map[string]any)
	v["id"], v["projectId"], v["name"] = id, json.Number(jiraProjectID), "2.0"
	v["self"] = w.jira.URL + "/rest/api/2/version/" + id
	p["timestamp"] = time.Now().UnixMilli()
	b, err := json.Marshal(p)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}
