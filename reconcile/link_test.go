package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

// linkedPair is a GitHub milestone and a Jira version linked as one
// promise, each observed with the other as Observation.Linked.
func linkedPair(t *testing.T) (gh, jira *world) {
	gh = newWorld(t, "2026-12-01", 10, 2)
	jira = newWorld(t, "", 6, 1)
	jira.d.Ref = connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10042"}
	jira.d.Title, jira.d.URL = "2.0", "https://acme.atlassian.net/projects/PLAT/versions/10042"
	jira.d.DueDate = connectors.DateOf(day("2026-12-01"), time.UTC)
	jira.thread = connectors.Thread{ID: "PLAT-99"}
	for i := range jira.d.Items {
		jira.d.Items[i].ID = fmt.Sprintf("PLAT-%d", i+1)
	}
	gh.linked, jira.linked = jira, gh
	return gh, jira
}

func closeAll(w *world, at time.Time) {
	for i := range w.d.Items {
		w.d.Items[i].ClosedAt = at
	}
	w.d.Closed, w.d.ClosedAt = true, at
}

func TestLinkedPair(t *testing.T) {
	gh, jira := linkedPair(t)
	steps := []struct {
		name             string
		at               time.Time
		before           func()
		wantGH, wantJira []EventKind
		health           Health
	}{
		{"first sight: one promise, both sides", day("2026-11-02"), nil,
			[]EventKind{EvCommitted, "status"}, []EventKind{EvCommitted, "status"}, OnTrack},
		{"the Jira release date moves out", day("2026-11-04"), func() {
			jira.d.DueDate = connectors.DateOf(day("2026-12-15"), time.UTC)
		}, []EventKind{"status"}, []EventKind{"status"}, Slipped},
		{"settled: the slip is announced on both threads", day("2026-11-04").Add(2 * time.Hour), nil,
			[]EventKind{EvSlipped, "status"}, []EventKind{EvSlipped, "status"}, Slipped},
		{"a lead recommits on Jira: Jira answers, both record it", day("2026-11-05"), func() {
			jira.comment("jane", true, "/commit 2026-12-15 the billing API moved", day("2026-11-05").Add(-time.Hour))
		}, []EventKind{EvRecommitted, "status"}, []EventKind{EvRecommitted, "status", EvReply}, OnTrack},
		{"a stranger on Jira: refused there, ignored here (a day on, the forecast moves)", day("2026-11-06"), func() {
			jira.comment("mallory", false, "/commit 2026-12-31", day("2026-11-06").Add(-time.Hour))
		}, []EventKind{"status"}, []EventKind{EvReply}, OnTrack},
		{"GitHub side closed: not delivered while Jira is open", day("2026-12-10"), func() {
			closeAll(gh, day("2026-12-10").Add(-2*time.Hour))
		}, []EventKind{"status"}, []EventKind{"status"}, OnTrack},
		{"Jira released: delivered on both, on the later day", day("2026-12-12"), func() {
			closeAll(jira, day("2026-12-12").Add(-2*time.Hour))
		}, []EventKind{EvDelivered, "status"}, []EventKind{EvDelivered, "status"}, DeliveredOnTime},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		gotGH := gh.step(st.at)
		gotJira := jira.step(st.at)
		if diff := cmp.Diff(st.wantGH, gotGH); diff != "" {
			t.Errorf("%s: GitHub side actions (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.wantJira, gotJira); diff != "" {
			t.Errorf("%s: Jira side actions (-want +got):\n%s", st.name, diff)
		}
		for _, w := range []*world{gh, jira} {
			if w.rec.Health != st.health {
				t.Errorf("%s: %s health = %s, want %s", st.name, w.d.Ref.Tracker, w.rec.Health, st.health)
			}
		}
	}
	if gh.rec.DeliveredOn != jira.rec.DeliveredOn || gh.rec.DeliveredOn.String() != "2026-12-12" {
		t.Errorf("delivered on GitHub %s, Jira %s; want both 2026-12-12", gh.rec.DeliveredOn, jira.rec.DeliveredOn)
	}
	wantLinked := &LinkedSide{Ref: jira.d.Ref, Title: "2.0", URL: jira.d.URL, Target: jira.d.DueDate, Done: 6, Total: 6, Delivered: true}
	if diff := cmp.Diff(wantLinked, gh.rec.Linked); diff != "" {
		t.Errorf("GitHub record's linked side (-want +got):\n%s", diff)
	}
	if gh.rec.Total != 16 || gh.rec.Done != 16 {
		t.Errorf("GitHub record counts %d of %d items, want the pair's 16 of 16", gh.rec.Done, gh.rec.Total)
	}
	for _, w := range []*world{gh, jira} {
		var dates []string
		for _, c := range w.rec.Commitments {
			dates = append(dates, c.Date.String()+" by "+c.By)
		}
		want := []string{"2026-12-01 by slipwatch", "2026-12-15 by jane"}
		if diff := cmp.Diff(want, dates); diff != "" {
			t.Errorf("%s commitments (-want +got):\n%s", w.d.Ref.Tracker, diff)
		}
	}
}

// The status comment shows each side's share of the pair's progress.
func TestLinkedStatusShowsBothSides(t *testing.T) {
	gh, jira := linkedPair(t)
	jira.d.Items[0].ClosedAt = day("2026-11-01")
	_, actions, _ := Reconcile(Record{}, gh.observation(), day("2026-11-02"), settings())
	var status *Action
	for i := range actions {
		if actions[i].Kind == UpsertStatus {
			status = &actions[i]
		}
	}
	if status == nil {
		t.Fatalf("no status comment: %v", kindsOf(actions))
	}
	for _, want := range []string{"1 of 16 items done", "on Jira: 1 of 6 items done, due 2026-12-01 (this side: 0 of 10)"} {
		if !strings.Contains(status.Body, want) {
			t.Errorf("status comment lacks %q:\n%s", want, status.Body)
		}
	}
}

// A command written before the current commitment was superseded before
// the link existed: the partner's history does not undo this side.
func TestLinkedOldCommandIgnored(t *testing.T) {
	gh, jira := linkedPair(t)
	gh.linked, jira.linked = nil, nil
	jira.comment("jane", true, "/commit 2026-12-20", day("2026-10-01"))
	gh.step(day("2026-11-02"))
	gh.comment("lee", true, "/commit 2026-12-10", day("2026-11-02").Add(time.Hour))
	gh.step(day("2026-11-03"))
	gh.linked = jira
	gh.step(day("2026-11-04"))
	if c, _ := gh.rec.Commitment(); c.Date.String() != "2026-12-10" {
		t.Errorf("commitment = %s, want 2026-12-10 (the Jira command predates it)", c.Date)
	}
}

func TestSumThroughput(t *testing.T) {
	d := func(s string) connectors.Date { return connectors.DateOf(day(s), time.UTC) }
	a := connectors.Throughput{From: d("2026-11-01"), To: d("2026-11-03"), Daily: []int{1, 2, 3}}
	b := connectors.Throughput{From: d("2026-11-02"), To: d("2026-11-04"), Daily: []int{10, 20, 30}}
	got := sumThroughput(a, b)
	want := connectors.Throughput{From: d("2026-11-01"), To: d("2026-11-04"), Daily: []int{1, 12, 23, 30}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(a, sumThroughput(a, connectors.Throughput{})); diff != "" {
		t.Errorf("adding nothing changed the series:\n%s", diff)
	}
}
