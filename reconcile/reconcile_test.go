package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwatch/slipwatch/connectors"
)

var ref = connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: "7"}

// testKey signs the markers of the tests' passes.
var testKey = []byte("reconcile-test-markers-key-0001")

func settings() Settings {
	return Settings{Location: time.UTC, Baseline: "first_seen", Window: 42, Trials: 2000, Confidence: 0.85, MinSamples: 5, WarnGrowth: 0.2,
		Settle: time.Hour, Markers: NewMarkerKeys(testKey)}
}

// world is a deliverable and its thread; apply plays the actions as a
// connector would, so the next pass sees slipwatch's own comments.
type world struct {
	t      testing.TB
	d      connectors.Deliverable
	thread connectors.Thread
	tp     connectors.Throughput
	rec    Record
	nextID int
	linked *world // the other side of a link, observed with this one
}

func (w *world) observation() Observation {
	th := w.thread
	obs := Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Thread: &th, Throughput: w.tp}}
	if w.linked != nil {
		pt := w.linked.thread
		obs.Linked = &connectors.Snapshot{Deliverable: w.linked.d, Thread: &pt, Throughput: w.linked.tp}
	}
	return obs
}

func newWorld(t testing.TB, due string, items int, perDay int) *world {
	w := &world{t: t, thread: connectors.Thread{ID: "acme/api#100"}}
	// A GitHub milestone: whoever edits its description may commit.
	w.d = connectors.Deliverable{Ref: ref, Title: "v2.0", URL: "https://github.com/acme/api/milestone/7", DescriptionByCanCommit: true}
	w.setDue(due)
	for i := range items {
		w.d.Items = append(w.d.Items, connectors.Item{ID: fmt.Sprint(i + 1), CreatedAt: day("2026-10-01")})
	}
	daily := make([]int, 42)
	for i := range daily {
		daily[i] = perDay
	}
	w.tp = connectors.Throughput{Daily: daily}
	return w
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t.Add(9 * time.Hour)
}

func (w *world) setDue(s string) {
	if s == "" {
		w.d.DueAt = time.Time{}
		return
	}
	w.d.DueAt = day(s).Add(-1 * time.Hour) // GitHub's due_on is an instant: 08:00Z
}

func (w *world) comment(author string, canCommit bool, body string, at time.Time) {
	w.nextID++
	w.thread.Comments = append(w.thread.Comments, connectors.Comment{ID: fmt.Sprint("u", w.nextID), Author: author,
		Body: body, CreatedAt: at, AuthorCanCommit: canCommit})
}

// step reconciles at now, applies the actions and returns their kinds
// ("status" for the status comment); a second pass must do nothing.
func (w *world) step(now time.Time) []EventKind {
	w.t.Helper()
	rec, actions, _ := Reconcile(w.rec, w.observation(), now, settings())
	var kinds []EventKind
	for _, a := range actions {
		kinds = append(kinds, a.EventKind)
		if strings.Contains(a.Body+a.Marker, "-->\n") || strings.Count(a.Marker, "-->") != 1 {
			w.t.Errorf("%s: marker broken: %q", a.EventKind, a.Marker)
		}
		c := connectors.Comment{Author: "slipwatch[bot]", Body: a.Body + "\n\n" + a.Marker, BySelf: true, CreatedAt: now}
		c.Hidden = c.Body
		if a.Kind == UpsertStatus && a.CommentID != "" {
			for i := range w.thread.Comments {
				if w.thread.Comments[i].ID == a.CommentID {
					w.thread.Comments[i].Body, w.thread.Comments[i].Hidden = c.Body, c.Body
				}
			}
			continue
		}
		w.nextID++
		c.ID = fmt.Sprint("s", w.nextID)
		w.thread.Comments = append(w.thread.Comments, c)
	}
	w.rec = rec
	if _, again, _ := Reconcile(w.rec, w.observation(), now, settings()); len(again) != 0 {
		w.t.Errorf("second pass at %s acted again: %v", now, kindsOf(again))
	}
	return kinds
}

func kindsOf(as []Action) []EventKind {
	var k []EventKind
	for _, a := range as {
		k = append(k, a.EventKind)
	}
	return k
}

func TestMilestoneStory(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	steps := []struct {
		name   string
		at     time.Time
		before func()
		want   []EventKind
		health Health
	}{
		{"first sight: baseline commitment", day("2026-11-02"), nil, []EventKind{EvCommitted, "status"}, OnTrack},
		{"a day later only the forecast moved", day("2026-11-03"), nil, []EventKind{"status"}, OnTrack},
		{"nothing changed an hour later", day("2026-11-03").Add(time.Hour), nil, nil, OnTrack},
		{"due date moved out: not yet news", day("2026-11-04"), func() { w.setDue("2026-12-15") }, []EventKind{"status"}, Slipped},
		{"moved date settled: slip announced", day("2026-11-04").Add(2 * time.Hour), nil, []EventKind{EvSlipped, "status"}, Slipped},
		{"stranger tries to commit", day("2026-11-05"), func() {
			w.comment("mallory", false, "/commit 2026-12-20", day("2026-11-05").Add(-time.Hour))
		}, []EventKind{"status", EvReply}, Slipped},
		{"lead recommits with a reason", day("2026-11-06"), func() {
			w.comment("jane", true, "We added SSO.\n/commit 2026-12-15 SSO added to scope", day("2026-11-06").Add(-time.Hour))
		}, []EventKind{EvRecommitted, "status", EvReply}, OnTrack},
		{"pulled in and settled", day("2026-11-10"), func() { w.setDue("2026-12-10") }, []EventKind{"status"}, OnTrack},
		{"pull-in announced", day("2026-11-10").Add(2 * time.Hour), nil, []EventKind{EvPulledIn, "status"}, OnTrack},
		{"closed early: delivered", day("2026-12-09"), func() {
			w.d.Closed, w.d.ClosedAt = true, day("2026-12-09")
			for i := range w.d.Items {
				w.d.Items[i].ClosedAt = day("2026-12-08")
			}
		}, []EventKind{EvDelivered, "status"}, DeliveredOnTime},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		got := w.step(s.at)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s: actions (-want +got):\n%s", s.name, diff)
		}
		if w.rec.Health != s.health {
			t.Errorf("%s: health %s, want %s", s.name, w.rec.Health, s.health)
		}
	}
	if n := len(w.rec.Commitments); n != 2 {
		t.Fatalf("commitments = %+v", w.rec.Commitments)
	}
	if c := w.rec.Commitments[1]; c.Source != DeclaredCommand || c.By != "jane" || c.Reason != "SSO added to scope" {
		t.Errorf("recommitment = %+v", c)
	}
	tr := TrackRecord([]Record{w.rec})
	if len(tr) != 1 || tr[0].Delivered != 1 || tr[0].OnTime != 0 || tr[0].MedianSlipDays != 8 || tr[0].Recommitments != 1 {
		// Judged against the first promise (Dec 1): delivered Dec 9, 8 days late.
		t.Errorf("track record = %+v", tr)
	}
}

func TestFlappingDateIsQuiet(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	w.setDue("2026-12-20")
	w.step(day("2026-11-03"))
	w.setDue("2026-12-01")
	got := w.step(day("2026-11-03").Add(10 * time.Minute))
	got = append(got, w.step(day("2026-11-04"))...)
	for _, k := range got {
		if k != "status" {
			t.Errorf("a date moved out and back within the hour produced %q", k)
		}
	}
}

// TestUnlikelyPromise: a promise already unlikely the day it is made is
// said once, in its committed comment with its chance, not as a separate
// alarm; the warning stands (health at_risk) until the chance recovers.
func TestUnlikelyPromise(t *testing.T) {
	// 30 items, one done per day: 11 days to Dec 1 is far too few.
	w := newWorld(t, "2026-12-01", 30, 1)
	got := w.step(day("2026-11-20"))
	if diff := cmp.Diff([]EventKind{EvCommitted, "status"}, got); diff != "" {
		t.Fatalf("actions (-want +got):\n%s", diff)
	}
	if w.rec.Health != AtRisk || !w.rec.Forecast.ChanceKnown || w.rec.Forecast.Chance >= DefaultRiskBelow {
		t.Fatalf("health %s, forecast %+v", w.rec.Health, w.rec.Forecast)
	}
	committed := w.thread.Comments[0].Body
	for _, want := range []string{"is promised for 2026-12-01", "Already unlikely", "under 1% likely by then", "85% likely by "} {
		if !strings.Contains(committed, want) {
			t.Errorf("the committed comment lacks %q:\n%s", want, committed)
		}
	}
	// The next day it is still unlikely: said already, not repeated.
	if got := w.step(day("2026-11-21")); slices.Contains(got, EvAtRisk) || w.rec.Health != AtRisk {
		t.Errorf("the day after: %v, health %s", got, w.rec.Health)
	}
	// 5 left at one a day: certain by Dec 1, back on track.
	for i := range 25 {
		w.d.Items[i].ClosedAt = day("2026-11-22")
	}
	w.step(day("2026-11-22"))
	if w.rec.Health != OnTrack {
		t.Errorf("well inside the date: health %s, chance %v, want on_track", w.rec.Health, w.rec.Forecast.Chance)
	}
}

// TestAtRiskWhenChanceFalls: a likely promise gets no warning; when the
// chance falls below forecast.risk_below, at_risk is posted once, with
// the chance and what explains it.
func TestAtRiskWhenChanceFalls(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	if got := w.step(day("2026-11-02")); !cmp.Equal(got, []EventKind{EvCommitted, "status"}) || w.rec.Health != OnTrack {
		t.Fatalf("the promise: %v, health %s", got, w.rec.Health)
	}
	if !strings.Contains(w.thread.Comments[0].Body, "over 99% likely by then") {
		t.Errorf("the committed comment does not state the chance:\n%s", w.thread.Comments[0].Body)
	}
	// 60 items land: at two a day, a month of work left for three weeks.
	for i := range 60 {
		w.d.Items = append(w.d.Items, connectors.Item{ID: fmt.Sprint("x", i), CreatedAt: day("2026-11-10")})
	}
	got := w.step(day("2026-11-10"))
	if !slices.Contains(got, EvAtRisk) || w.rec.Health != AtRisk {
		t.Fatalf("after the scope landed: %v, health %s, forecast %+v", got, w.rec.Health, w.rec.Forecast)
	}
	var body string
	for _, c := range w.thread.Comments {
		if strings.Contains(c.Body, "kind=at_risk") {
			body = c.Body
		}
	}
	for _, want := range []string{"likely to finish by the promised 2026-12-01", "85% likely by ", "60 items added since the promise"} {
		if !strings.Contains(body, want) {
			t.Errorf("the at_risk comment lacks %q:\n%s", want, body)
		}
	}
	if got := w.step(day("2026-11-11")); slices.Contains(got, EvAtRisk) {
		t.Errorf("at_risk said twice: %v", got)
	}
}

// TestDecideAtRisk is the at_risk rule as decide applies it.
func TestDecideAtRisk(t *testing.T) {
	promise := connectors.Date{Year: 2026, Month: 12, Day: 1}
	now := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	f := facts{now: now, today: connectors.DateOf(now, time.UTC), target: promise, hasTarget: true}
	tests := []struct {
		name        string
		was         bool
		chance      float64
		known       bool
		promiseNews bool
		change      func(*Record, *facts)
		atRisk      bool
		event       bool // an at_risk event is decided
		told        bool // and said in the committed comment
	}{
		{name: "likely", chance: 0.6, known: true},
		{name: "unlikely", chance: 0.1, known: true, atRisk: true, event: true},
		{name: "unlikely on the day it is promised", chance: 0.1, known: true, promiseNews: true, atRisk: true, event: true, told: true},
		{name: "was at risk, inside the hysteresis", was: true, chance: DefaultRiskBelow + 0.05, known: true, atRisk: true, event: true},
		{name: "was at risk, recovered", was: true, chance: DefaultRiskBelow + riskClear + 0.01, known: true},
		{name: "a new promise is judged afresh", was: true, chance: DefaultRiskBelow + 0.05, known: true, promiseNews: true},
		{name: "not enough history", was: true, chance: 0, known: false},
		{name: "overdue wins", was: true, chance: 0, known: true, change: func(_ *Record, f *facts) {
			f.today, f.now = promise.AddDays(1), promise.AddDays(1).Time(time.UTC).Add(9*time.Hour)
		}},
		{name: "slipped raises no warning", chance: 0.05, known: true, change: func(_ *Record, f *facts) { f.target = promise.AddDays(14) }},
		{name: "slipped keeps one", was: true, chance: 0.05, known: true, atRisk: true, event: true,
			change: func(_ *Record, f *facts) { f.target = promise.AddDays(14) }},
		{name: "a forecast about another promise is no warning", chance: 0.05, known: true,
			change: func(r *Record, _ *facts) { r.Forecast.Promised = promise.AddDays(-7) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := Record{ID: "x", AtRisk: tt.was, Commitments: []Commitment{{Date: promise, At: now.AddDate(0, 0, -7)}},
				Targets:  []TargetChange{{Date: promise, At: now.AddDate(0, 0, -7)}},
				Forecast: Forecast{Enough: tt.known, ChanceKnown: tt.known, Chance: tt.chance, Promised: promise, P85: promise.AddDays(9)}}
			ff := f
			if tt.change != nil {
				tt.change(&rec, &ff)
			}
			events, atRisk := decide(rec, ff, settings(), tt.promiseNews)
			if atRisk != tt.atRisk {
				t.Errorf("at risk %v, want %v", atRisk, tt.atRisk)
			}
			var ev *event
			for i := range events {
				if events[i].kind == EvAtRisk {
					ev = &events[i]
				}
			}
			if (ev != nil) != tt.event || (ev != nil && ev.data.told != tt.told) {
				t.Errorf("at_risk event %+v, want one: %v, told: %v", ev, tt.event, tt.told)
			}
		})
	}
}

func TestNotEnoughHistory(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 0)
	w.tp.Daily[3] = 2 // 2 < min_samples 5
	w.step(day("2026-11-02"))
	if w.rec.Forecast.Enough || w.rec.Health != OnTrack {
		t.Fatalf("forecast %+v health %s", w.rec.Forecast, w.rec.Health)
	}
	body := w.thread.Comments[len(w.thread.Comments)-1].Body // the new status comment comes last
	if !strings.Contains(body, "not enough history") {
		t.Errorf("status does not say so:\n%s", body)
	}
}

func TestOverdue(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	if got := w.step(day("2026-12-02")); !cmp.Equal(got, []EventKind{EvOverdue, "status"}) {
		t.Errorf("overdue: %v", got)
	}
	if w.rec.Health != Overdue {
		t.Errorf("health %s", w.rec.Health)
	}
}

func TestDeclaredInDescriptionAndDeclaredOnly(t *testing.T) {
	w := newWorld(t, "2026-12-15", 10, 2)
	w.d.Description = "Release train.\n\n**Committed to leadership:** 2026-12-01\n"
	s := settings()
	s.Baseline = "declared_only"
	rec, _, _ := Reconcile(Record{}, Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Throughput: w.tp}}, day("2026-11-02"), s)
	c, ok := rec.Commitment()
	if !ok || c.Date.String() != "2026-12-01" || c.Source != DeclaredDescription {
		t.Fatalf("commitment = %+v %v", c, ok)
	}
	w.d.Description = ""
	rec, _, _ = Reconcile(Record{}, Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Throughput: w.tp}}, day("2026-11-02"), s)
	if _, ok := rec.Commitment(); ok || rec.Health != NoDate {
		t.Fatalf("declared_only took the due date: %+v", rec.Commitments)
	}
}

func TestTimeZoneAroundMidnight(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	w := newWorld(t, "", 1, 2)
	// 23:30 UTC on Nov 30 is 00:30 on Dec 1 in Berlin.
	w.d.DueAt = time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	s := settings()
	s.Location = berlin
	rec, _, _ := Reconcile(Record{}, Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Throughput: w.tp}}, day("2026-11-02"), s)
	if c, _ := rec.Commitment(); c.Date.String() != "2026-12-01" {
		t.Errorf("commitment %s, want 2026-12-01 in Berlin", c.Date)
	}
}

// TestRestoreFromStatusMarker: Redis flushed, the record is gone; the
// status comment on the thread brings the history back and nothing is
// announced twice.
func TestRestoreFromStatusMarker(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	w.setDue("2026-12-15")
	w.step(day("2026-11-04"))
	w.step(day("2026-11-04").Add(2 * time.Hour))
	w.rec = Record{}
	// Nothing changed: the status comment already says it all, so not
	// even it is rewritten (after a flush that would be one write per
	// deliverable).
	if got := w.step(day("2026-11-04").Add(3 * time.Hour)); len(got) != 0 {
		t.Errorf("after losing the record, acted again: %v", got)
	}
	if c, _ := w.rec.Commitment(); c.Date.String() != "2026-12-01" {
		t.Errorf("restored commitment %s, want the first-seen 2026-12-01", c.Date)
	}
	// Jira keeps the marker in a property, not in the body.
	for i, c := range w.thread.Comments {
		body, marker, _ := strings.Cut(c.Body, "\n\n<!-- slipwatch:")
		w.thread.Comments[i].Body, w.thread.Comments[i].Hidden = body+"\n", "<!-- slipwatch:"+marker
	}
	w.rec = Record{}
	if got := w.step(day("2026-11-04").Add(4 * time.Hour)); len(got) != 0 {
		t.Errorf("Jira-shaped thread, after losing the record: acted again: %v", got)
	}
	// Something did change since: the status comment is edited.
	w.rec = Record{}
	w.d.Items[0].ClosedAt = day("2026-11-04")
	if got := w.step(day("2026-11-04").Add(5 * time.Hour)); !cmp.Equal(got, []EventKind{"status"}) {
		t.Errorf("progress changed after losing the record: %v, want the status edit", got)
	}
}

// TestCrashAfterReply: a process killed part-way through a pass that took
// a /commit, with nothing saved, left some of its comments on the thread
// and the old record in Redis. The next pass must still record the
// commitment and announce it, without saying anything twice; the one
// reply says what the command did. (Found by internal/e2e's
// TestCrashAtRandomPoints, when replies went first.)
func TestCrashAfterReply(t *testing.T) {
	for _, tt := range []struct {
		posted int       // the event; the status edit too; the reply too
		at     time.Time // when jane wrote /commit
		// The status comment is written again: with nothing saved, the
		// record does not name the event its marker names. (The runner
		// saves after each action, see TestProgressResumes.)
		want []EventKind
	}{
		{1, day("2026-11-03"), []EventKind{"status", EvReply}},
		{2, day("2026-11-03"), []EventKind{"status", EvReply}},
		{3, day("2026-11-03"), []EventKind{"status"}},
		// In the same second as the promise before it (trackers stamp
		// comments to the second).
		{3, day("2026-11-02"), []EventKind{"status"}},
	} {
		posted := tt.posted
		t.Run(fmt.Sprint(posted, " actions landed, comment at ", tt.at.Format(time.DateTime)), func(t *testing.T) {
			w := newWorld(t, "2026-12-01", 10, 2)
			w.step(day("2026-11-02"))
			w.comment("jane", true, "/commit 2026-12-15 SSO added", tt.at)
			before := w.rec
			th := w.thread
			_, actions, _ := Reconcile(w.rec, Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Thread: &th, Throughput: w.tp}}, day("2026-11-03").Add(time.Hour), settings())
			if got := kindsOf(actions); !cmp.Equal(got, []EventKind{EvRecommitted, "status", EvReply}) {
				t.Fatalf("actions %v", got)
			}
			// The crash: the first actions reached GitHub, the record was not saved.
			w.land(actions[:posted], day("2026-11-03"))
			w.rec = before
			got := w.step(day("2026-11-03").Add(2 * time.Hour))
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after the crash (-want +got):\n%s", diff)
			}
			if c, _ := w.rec.Commitment(); c.Date.String() != "2026-12-15" || c.By != "jane" || len(w.rec.Commitments) != 2 {
				t.Errorf("commitments after the crash = %+v, want jane's 2026-12-15 once", w.rec.Commitments)
			}
			replies := w.said(EvReply)
			if len(replies) != 1 || !strings.Contains(replies[0], "Recommitted from 2026-12-01 to 2026-12-15 by jane") {
				t.Errorf("replies %q, want one saying the recommitment", replies)
			}
		})
	}
}

// said is the text of slipwatch's comments of kind on the thread.
func (w *world) said(kind EventKind) []string {
	var out []string
	for _, c := range w.thread.Comments {
		for _, m := range ParseMarkers(c.Hidden) {
			if m.EventKind == kind {
				out = append(out, c.Body)
			}
		}
	}
	return out
}

// land puts actions on the thread as a connector would, without saving
// the record: what a crash between posting and saving leaves.
func (w *world) land(actions []Action, at time.Time) {
	for _, a := range actions {
		c := connectors.Comment{ID: fmt.Sprint("s", 100+len(w.thread.Comments)), Author: "slipwatch[bot]", Body: a.Body + "\n\n" + a.Marker, BySelf: true, CreatedAt: at}
		c.Hidden = c.Body
		if a.Kind == UpsertStatus && a.CommentID != "" {
			for i := range w.thread.Comments {
				if w.thread.Comments[i].ID == a.CommentID {
					w.thread.Comments[i].Body, w.thread.Comments[i].Hidden = c.Body, c.Body
				}
			}
			continue
		}
		w.thread.Comments = append(w.thread.Comments, c)
	}
}

// TestCrashInFirstPass: killed after any number of a new milestone's
// first comments, with nothing saved, the next pass posts exactly the
// rest. (The status marker once named the committed event before it was
// posted, so a crash right after the status comment lost it; found by
// internal/e2e's TestCrashAtRandomPoints.)
func TestCrashInFirstPass(t *testing.T) {
	for landed := range 3 {
		t.Run(fmt.Sprint(landed, " landed"), func(t *testing.T) {
			w := newWorld(t, "2026-12-01", 10, 2)
			th := w.thread
			_, actions, _ := Reconcile(Record{}, Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Thread: &th, Throughput: w.tp}}, day("2026-11-02"), settings())
			all := kindsOf(actions)
			w.land(actions[:landed], day("2026-11-02"))
			got := w.step(day("2026-11-02").Add(time.Minute))
			// The status comment may be rewritten; every event comes once.
			noStatus := func(ks []EventKind) []EventKind {
				return slices.DeleteFunc(slices.Clone(ks), func(k EventKind) bool { return k == "status" })
			}
			if diff := cmp.Diff(noStatus(all[landed:]), noStatus(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after a crash with %v posted (-want +got):\n%s", all[:landed], diff)
			}
		})
	}
}

// TestForgedMarkerIgnored: a user pasting slipwatch's marker does not
// suppress the event.
func TestForgedMarkerIgnored(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	id := hashID(CommitmentID(ref), string(EvCommitted), "2026-12-01")
	w.comment("mallory", false, settings().Markers.EventMarker(id, EvCommitted), day("2026-11-01"))
	w.thread.Comments[0].Hidden = w.thread.Comments[0].Body
	got := w.step(day("2026-11-02"))
	if !cmp.Equal(got, []EventKind{EvCommitted, "status"}) {
		t.Errorf("actions %v: a forged marker suppressed the event", got)
	}
}

func TestScopeGrew(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 5)
	w.step(day("2026-11-02"))
	for i := range 3 {
		w.d.Items = append(w.d.Items, connectors.Item{ID: fmt.Sprint("new", i)})
	}
	if got := w.step(day("2026-11-03")); !cmp.Equal(got, []EventKind{EvScopeGrew, "status"}) {
		t.Errorf("30%% growth: %v", got)
	}
	w.d.Items = append(w.d.Items, connectors.Item{ID: "new4"})
	if got := w.step(day("2026-11-04")); !cmp.Equal(got, []EventKind{EvScopeGrew, "status"}) {
		t.Errorf("40%% growth crosses the second threshold: %v", got)
	}
}

func TestEscaping(t *testing.T) {
	w := newWorld(t, "2026-12-01", 1, 2)
	w.d.Title = "@acme/leads <!-- {panel} [~boss] **x**"
	for _, tracker := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
		w.d.Ref.Tracker = tracker
		_, actions, _ := Reconcile(Record{}, Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Throughput: w.tp}}, day("2026-11-02"), settings())
		for _, a := range actions {
			switch tracker {
			case connectors.GitHub:
				if strings.Contains(a.Body, "@acme") || strings.Contains(a.Body, "<!--") {
					t.Errorf("github %s: unescaped title in %q", a.EventKind, a.Body)
				}
			case connectors.Jira:
				if strings.Contains(a.Body, "{panel}") || strings.Contains(a.Body, "[~boss]") {
					t.Errorf("jira %s: unescaped title in %q", a.EventKind, a.Body)
				}
			}
		}
	}
}

func TestParseCommand(t *testing.T) {
	d1201 := connectors.Date{Year: 2026, Month: 12, Day: 1}
	commit := Command{Verb: "commit", Date: d1201}
	gh, jira := connectors.GitHub, connectors.Jira
	tests := []struct {
		name    string
		tracker connectors.Tracker
		body    string
		want    Command
		ok      bool
	}{
		{"a command", gh, "/commit 2026-12-01", commit, true},
		{"after a line of talk, with a reason", gh, "hello\n/commit 2026-12-01 scope grew  ", Command{Verb: "commit", Date: d1201, Reason: "scope grew"}, true},
		{"a date in another form", gh, "/commit 12/01/2026", Command{Verb: "commit", Err: "the date is not YYYY-MM-DD"}, true},
		{"a five-digit year", gh, "/commit 99999-01-01", Command{Verb: "commit", Err: "the date is not YYYY-MM-DD"}, true},
		{"no date", gh, "/commit", Command{Verb: "commit", Err: "no date: write /commit YYYY-MM-DD [reason]"}, true},
		{"status", gh, "/slipwatch status", Command{Verb: "status"}, true},
		{"help", gh, "/slipwatch help", Command{Verb: "help"}, true},
		{"mid-line", gh, "we /commit 2026-12-01 later", Command{}, false},
		{"another word", gh, "/committed 2026-12-01", Command{}, false},
		{"on Jira", jira, "Agreed with the board.\n/commit 2026-12-01", commit, true},

		// Plain text only: examples, quotes and hidden notes are no
		// commands. GitHub Markdown:
		{"a fenced example", gh, "To promise a date, write:\n```\n/commit 2026-12-01 reason\n```", Command{}, false},
		{"a fenced example with an info string", gh, "```text\n/commit 2026-12-01\n```", Command{}, false},
		{"a tilde fence", gh, "~~~~\n/commit 2026-12-01\n~~~~", Command{}, false},
		{"a shorter fence does not close it", gh, "````\n```\n/commit 2026-12-01\n````", Command{}, false},
		{"an unclosed fence runs to the end", gh, "```\n/commit 2026-12-01", Command{}, false},
		{"after a closed fence", gh, "```\n/commit 2020-01-01\n```\n/commit 2026-12-01", commit, true},
		{"an indented example", gh, "Write:\n\n    /commit 2026-12-01", Command{}, false},
		{"a tab-indented example", gh, "\t/commit 2026-12-01", Command{}, false},
		{"a quote", gh, "> /commit 2026-12-01\n\nNo, we can't.", Command{}, false},
		{"a quoted paragraph's continuation", gh, "> Jane wrote:\n/commit 2026-12-01\n\nThat was last week.", Command{}, false},
		{"after a quote and a blank line", gh, "> can we?\n\n/commit 2026-12-01", commit, true},
		{"an HTML comment", gh, "<!-- /commit 2026-12-01 -->", Command{}, false},
		{"an HTML comment over lines", gh, "<!--\n/commit 2026-12-01\n-->\nthanks", Command{}, false},
		{"a comment after the command", gh, "/commit 2026-12-01 <!-- agreed on the call -->", commit, true},
		{"up to three spaces is text", gh, "   /commit 2026-12-01", commit, true},

		// Jira wiki markup:
		{"a code macro", jira, "{code}\n/commit 2026-12-01\n{code}", Command{}, false},
		{"a code macro with a language", jira, "{code:bash}\n/commit 2026-12-01\n{code}", Command{}, false},
		{"a noformat macro", jira, "{noformat}\n/commit 2026-12-01\n{noformat}", Command{}, false},
		{"a quote macro", jira, "{quote}\n/commit 2026-12-01\n{quote}\nNot yet.", Command{}, false},
		{"a one-line quote macro", jira, "{quote}/commit 2026-12-01{quote}", Command{}, false},
		{"a bq. line", jira, "bq. /commit 2026-12-01", Command{}, false},
		{"after a closed macro", jira, "{noformat}\n/commit 2020-01-01\n{noformat}\n/commit 2026-12-01", commit, true},
		{"Markdown fences are text on Jira", jira, "```\n/commit 2026-12-01\n```", commit, true},
	}
	for _, tt := range tests {
		got, ok := ParseCommand(tt.tracker, tt.body)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("%s: ParseCommand(%s, %q) = %+v, %v; want %+v, %v", tt.name, tt.tracker, tt.body, got, ok, tt.want, tt.ok)
		}
	}
}

// TestReasonCutOnACharacter: a long reason is cut to maxReason bytes
// where a character starts; it was cut at byte 200, which could split a
// character and store invalid UTF-8 in the record, the marker and the
// comments.
func TestReasonCutOnACharacter(t *testing.T) {
	for _, tt := range []struct{ name, unit string }{
		{"two-byte", "é"}, {"three-byte", "€"}, {"four-byte", "🚀"}, {"mixed", "a€🚀"},
	} {
		for pad := range 4 {
			reason := strings.Repeat("x", pad) + strings.Repeat(tt.unit, 120)
			c, ok := ParseCommand(connectors.GitHub, "/commit 2026-12-01 "+reason)
			if !ok || c.Err != "" {
				t.Fatalf("%s: not a command: %+v", tt.name, c)
			}
			kept := strings.TrimSuffix(c.Reason, "…")
			switch {
			case !utf8.ValidString(c.Reason):
				t.Errorf("%s, %d bytes ahead: reason is not valid UTF-8: %q", tt.name, pad, c.Reason[len(c.Reason)-8:])
			case len(kept) > maxReason || len(kept) < maxReason-3:
				t.Errorf("%s, %d bytes ahead: kept %d bytes, want up to %d", tt.name, pad, len(kept), maxReason)
			case !strings.HasPrefix(reason, kept) || !strings.HasSuffix(c.Reason, "…"):
				t.Errorf("%s, %d bytes ahead: reason %q is not the start of the one written", tt.name, pad, c.Reason)
			}
		}
	}
	if c, _ := ParseCommand(connectors.GitHub, "/commit 2026-12-01 bad \xff byte"); !utf8.ValidString(c.Reason) {
		t.Errorf("a reason with an invalid byte is kept as is: %q", c.Reason)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/commit 2026-12-01 x", "/slipwatch status", "/commit", "/commit 0000-00-00", "\n/commit\t2026-02-30",
		"```\n/commit 2026-12-01\n```", "~~~\n/commit 2026-12-01", "    /commit 2026-12-01", "> /commit 2026-12-01\nlazy",
		"<!--\n/commit 2026-12-01\n-->", "a <!-- b", "{code}\n/commit 2026-12-01\n{code}", "{quote}x{quote}\n/commit 2026-12-01",
		"bq. /commit 2026-12-01", "{code:java}{noformat}\n/commit 2026-12-01", "/commit 2026-12-01 " + strings.Repeat("🚀", 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tr := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
			c, ok := ParseCommand(tr, s)
			if ok && c.Verb == "commit" && c.Err == "" && c.Date.IsZero() {
				t.Fatalf("accepted a commit without a date: %q", s)
			}
			if !utf8.ValidString(c.Reason) || len(c.Reason) > maxReason+len("…") {
				t.Fatalf("reason %q from %q: not valid UTF-8 or over %d bytes", c.Reason, s, maxReason)
			}
			// Wrapping a comment in a code block never makes a command.
			fenced := "```\n" + s + "\n```"
			if tr == connectors.Jira {
				fenced = "{noformat}\n" + s + "\n{noformat}"
			}
			if !strings.Contains(s, "```") && !strings.Contains(s, "~~~") && !strings.Contains(strings.ToLower(s), "{noformat") {
				if c, ok := ParseCommand(tr, fenced); ok {
					t.Fatalf("%s: a command from inside a code block: %+v from %q", tr, c, fenced)
				}
			}
		}
	})
}

func FuzzParseMarkers(f *testing.F) {
	r := Record{ID: "abcd", Commitments: []Commitment{{Date: connectors.Date{Year: 2026, Month: 12, Day: 1}}}}
	k := settings().Markers
	f.Add(k.StatusMarker(r))
	f.Add(k.EventMarker("0123456789abcdef", "slipped") + " text " + k.EventMarker("ff", "at_risk"))
	f.Add("<!-- slipwatch:status id=ab v=1 {\"id\":\"ab\",\"commitments\":[{\"date\":\"9999-99-99\"}]} -->")
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range ParseMarkers(s) {
			if m.ID == "" || (m.Kind != MarkerStatus && m.Kind != MarkerEvent) {
				t.Fatalf("bad marker %+v from %q", m, s)
			}
		}
	})
}

// BenchmarkReconcileThread is the steady-state poll of a deliverable with
// some history: a thread holding slipwatch's status comment and events
// among people's comments, nothing changed since the last pass.
func BenchmarkReconcileThread(b *testing.B) {
	w := newWorld(b, "2026-12-01", 30, 2)
	w.step(day("2026-11-02"))
	w.setDue("2026-12-15")
	w.step(day("2026-11-04"))
	w.step(day("2026-11-04").Add(2 * time.Hour))
	for i := range 8 {
		w.comment(fmt.Sprint("dev", i), false, "Looked at the failing test; a fix is in review.\n\nThanks!", day("2026-11-05"))
	}
	w.comment("jane", true, "/commit 2026-12-15 SSO added to scope", day("2026-11-05").Add(time.Hour))
	w.step(day("2026-11-06"))
	now := day("2026-11-06").Add(time.Hour)
	th := w.thread
	obs := Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Thread: &th, Throughput: w.tp}}
	rec, actions, _ := Reconcile(w.rec, obs, now, settings())
	if len(actions) != 0 {
		b.Fatalf("steady state acted: %v", kindsOf(actions))
	}
	b.ReportAllocs()
	for b.Loop() {
		Reconcile(rec, obs, now, settings())
	}
}

func BenchmarkReconcile(b *testing.B) {
	w := newWorld(&testing.T{}, "2026-12-01", 30, 2)
	now := day("2026-11-02")
	th := w.thread
	obs := Observation{Snapshot: connectors.Snapshot{Deliverable: w.d, Thread: &th, Throughput: w.tp}}
	rec, _, _ := Reconcile(Record{}, obs, now, settings())
	b.ReportAllocs()
	for b.Loop() {
		Reconcile(rec, obs, now, settings())
	}
}

// TestClockJumps: a node whose clock jumps back (NTP step, a restored VM)
// or forward must not announce anything twice, nor move the promise; once
// the clock is right again the story goes on. (A clock running ahead past
// the due date does announce "overdue": slipwatch trusts its clock.)
func TestClockJumps(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	var all []EventKind
	for _, at := range []time.Time{
		day("2026-11-02"),
		day("2026-11-10"),
		day("2026-11-03"), // back a week
		day("2026-10-01"), // back before the record was made
		day("2026-11-10").Add(time.Hour),
		day("2027-02-01"), // forward past the due date
		day("2026-11-11"), // and back
	} {
		all = append(all, w.step(at)...)
		if c, ok := w.rec.Commitment(); !ok || c.Date.String() != "2026-12-01" {
			t.Fatalf("at %s the promise is %+v, want 2026-12-01 as first seen", at.Format(time.DateOnly), c)
		}
	}
	seen := map[string]int{}
	for _, c := range w.thread.Comments {
		for _, m := range ParseMarkers(c.Hidden) {
			if m.Kind == MarkerEvent {
				seen[string(m.EventKind)+" "+m.ID]++
			}
		}
	}
	for ev, n := range seen {
		if n > 1 {
			t.Errorf("%s posted %d times across the clock jumps", ev, n)
		}
	}
	t.Logf("actions across the jumps: %v", all)
	if len(seen) == 0 {
		t.Fatal("no event markers found on the thread: the check above saw nothing")
	}
	if countKind(all, EvCommitted) != 1 {
		t.Errorf("committed announced %d times, want once: %v", countKind(all, EvCommitted), all)
	}
}

func countKind(kinds []EventKind, k EventKind) int {
	n := 0
	for _, x := range kinds {
		if x == k {
			n++
		}
	}
	return n
}

// TestDeclaredLineSettles: a changed "Committed:" line is a recommitment
// only once it has stood for Settle; edits within it are one change, an
// edit back is none, and a /commit written meanwhile has the last word.
func TestDeclaredLineSettles(t *testing.T) {
	const desc = "Release train.\nCommitted: "
	w := newWorld(t, "2026-12-01", 10, 2)
	steps := []struct {
		name   string
		at     time.Time
		before func()
		want   []EventKind
	}{
		{"first sight: the baseline", day("2026-11-02"), nil, []EventKind{EvCommitted, "status"}},
		{"a line appears: not yet a promise", day("2026-11-03"), func() { w.d.Description = desc + "2026-12-10" }, nil},
		{"edited within the hour: still settling", day("2026-11-03").Add(20 * time.Minute), func() { w.d.Description = desc + "2026-12-12" }, nil},
		{"an hour after the first edit: the edit is younger", day("2026-11-03").Add(time.Hour), nil, nil},
		{"the last edit stood an hour: one recommitment", day("2026-11-03").Add(80 * time.Minute), nil, []EventKind{EvRecommitted, "status"}},
		{"edited and back within the hour", day("2026-11-04"), func() { w.d.Description = desc + "2026-12-20" }, nil},
		{"back to the date taken", day("2026-11-04").Add(10 * time.Minute), func() { w.d.Description = desc + "2026-12-12" }, nil},
		{"the flap is never news", day("2026-11-04").Add(3 * time.Hour), nil, nil},
		{"a new line, then a /commit while it settles", day("2026-11-05"), func() { w.d.Description = desc + "2026-12-15" }, nil},
		{"the command is taken at once", day("2026-11-05").Add(30 * time.Minute), func() {
			w.comment("jane", true, "/commit 2026-12-22 vendor late", day("2026-11-05").Add(20*time.Minute))
		}, []EventKind{EvRecommitted, "status", EvReply}},
		{"the older line does not undo it", day("2026-11-05").Add(2 * time.Hour), nil, nil},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		// A day's forecast move rewrites the status comment; only events
		// are the story here.
		got := w.step(st.at)
		if !slices.Contains(st.want, EvStatus) {
			got = slices.DeleteFunc(got, func(k EventKind) bool { return k == EvStatus })
		}
		if diff := cmp.Diff(st.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: actions (-want +got):\n%s", st.name, diff)
		}
	}
	var got []string
	for _, c := range w.rec.Commitments {
		got = append(got, c.Date.String()+" "+string(c.Source)+" at "+c.At.Format(time.DateTime))
	}
	want := []string{
		"2026-12-01 baseline_first_seen at 2026-11-02 09:00:00",
		"2026-12-12 declared_description at 2026-11-03 09:20:00", // since the line read so
		"2026-12-22 declared_command at 2026-11-05 09:20:00",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commitments (-want +got):\n%s", diff)
	}
	if w.rec.Pending != nil {
		t.Errorf("pending = %+v, want none: the line was taken (and outvoted)", w.rec.Pending)
	}
}

// With Settle zero a changed line is a recommitment on the pass that sees it.
func TestDeclaredLineSettleZero(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	s := settings()
	s.Settle = 0
	rec, _, _ := Reconcile(Record{}, w.observation(), day("2026-11-02"), s)
	w.d.Description = "Committed: 2026-12-10"
	rec, actions, _ := Reconcile(rec, w.observation(), day("2026-11-02").Add(time.Minute), s)
	if got := kindsOf(actions); !slices.Contains(got, EvRecommitted) {
		t.Errorf("actions %v, want the recommitment at once", got)
	}
	if c, _ := rec.Commitment(); c.Date.String() != "2026-12-10" || rec.Pending != nil {
		t.Errorf("commitment %+v, pending %+v", c, rec.Pending)
	}
}

// With Settle zero a moved due date is a slip on the pass that sees it.
func TestSlipSettleZero(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	s := settings()
	s.Settle = 0
	rec, _, _ := Reconcile(Record{}, w.observation(), day("2026-11-02"), s)
	w.setDue("2026-12-15")
	if _, actions, _ := Reconcile(rec, w.observation(), day("2026-11-02").Add(time.Second), s); !slices.Contains(kindsOf(actions), EvSlipped) {
		t.Errorf("actions %v, want the slip at once", kindsOf(actions))
	}
	s.Settle = time.Hour
	if _, actions, _ := Reconcile(rec, w.observation(), day("2026-11-02").Add(time.Second), s); slices.Contains(kindsOf(actions), EvSlipped) {
		t.Errorf("actions %v: with an hour to settle the slip came at once", kindsOf(actions))
	}
}

// TestNext: Reconcile names the next instant time alone makes news of the
// same observation, so the runner can look again then.
func TestNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := day("2026-11-02") // 09:00Z: the baseline is taken
	tests := []struct {
		name   string
		change func(w *world, s *Settings) // after the first pass
		now    time.Time
		want   time.Time // zero: nothing is due
	}{
		{"open promise: the next local midnight", nil, first.Add(time.Hour), at("2026-11-03 00:00:00")},
		{"local midnight is the zone's", func(_ *world, s *Settings) { s.Location = berlin }, first.Add(time.Hour), at("2026-11-02 23:00:00")},
		{"a moved date: its settle's end", func(w *world, _ *Settings) { w.setDue("2026-12-15") }, first.Add(time.Hour), first.Add(2 * time.Hour)},
		{"no settle: the next midnight", func(w *world, s *Settings) { w.setDue("2026-12-15"); s.Settle = 0 }, first.Add(time.Hour), at("2026-11-03 00:00:00")},
		{"pulled in: its settle's end", func(w *world, _ *Settings) { w.setDue("2026-11-20") }, first.Add(time.Hour), first.Add(2 * time.Hour)},
		{"pulled in from a date that never stood: the next midnight", func(w *world, _ *Settings) { w.setDue("2026-11-20") },
			first.Add(10 * time.Minute), at("2026-11-03 00:00:00")},
		{"a new Committed: line: its settle's end", func(w *world, _ *Settings) { w.d.Description = "Committed: 2026-12-20" },
			first.Add(time.Hour), first.Add(2 * time.Hour)},
		{"the weekly status update: the next slot", func(_ *world, s *Settings) { s.StatusEvery = 5 * time.Hour }, first.Add(time.Hour),
			time.Unix(0, (first.Add(time.Hour).UnixNano()/int64(5*time.Hour)+1)*int64(5*time.Hour))},
		{"delivered: nothing", func(w *world, _ *Settings) { closeAll(w, first) }, first.Add(time.Hour), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "2026-12-01", 10, 2)
			s := settings()
			rec, _, _ := Reconcile(Record{}, w.observation(), first, s)
			if tt.change != nil {
				tt.change(w, &s)
			}
			// The pass that sees the change, then one at now.
			rec, _, _ = Reconcile(rec, w.observation(), tt.now, s)
			_, _, next := Reconcile(rec, w.observation(), tt.now, s)
			if !next.Equal(tt.want) {
				t.Errorf("next = %v, want %v", next, tt.want)
			}
			if !next.IsZero() && !next.After(tt.now) {
				t.Errorf("next %v is not after now %v", next, tt.now)
			}
		})
	}
}
