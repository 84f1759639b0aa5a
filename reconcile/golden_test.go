package reconcile

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current rendering")

// Hostile text, as users may type it into a milestone title, a reason or
// a Jira display name: mentions, HTML comments that could swallow or fake
// a marker, Jira macros, links and mentions, block syntax at the start of
// a line.
const (
	hostileTitle = "@org/team <!-- fake --> v2.0 {panel}x{panel} [~boss] {code}rm -rf{code} **bold** <b>hi</b> #12 |a|b|"
	hostileList  = "- item <script>alert(1)</script>\n\n    indented"
	hostileHead  = "h1. Heading ## not"
	hostileOrder = "1. first\n---"
	hostileQuote = "  bq. quoted #1 ===="
	hostileLogin = "[~admin]@org/leads"
)

// longTitle is longer than a field may print (markup.MaxField).
var longTitle = "@org/team " + strings.Repeat("very long title ", 30) + "<!-- end"

var (
	d1201 = connectors.Date{Year: 2026, Month: 12, Day: 1}
	d1215 = connectors.Date{Year: 2026, Month: 12, Day: 15}
	t1102 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
)

// goldenRecord is a deliverable with a promise, a due date, progress and a
// forecast; each case changes what its comment is about.
func goldenRecord(title string) Record {
	gref := connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: "7"}
	r := Record{Schema: Schema, ID: CommitmentID(gref), Ref: gref, Title: title, URL: "https://github.com/acme/api/milestone/7",
		Commitments: []Commitment{{Date: d1201, Source: BaselineFirstSeen, By: "slipwatch", At: t1102, Scope: 10}},
		Targets:     []TargetChange{{Date: d1201, At: t1102}},
		Done:        4, Total: 10, Health: OnTrack,
		Forecast: Forecast{Enough: true, Samples: 42, Remaining: 6, P50: d1201.AddDays(-6), P85: d1201.AddDays(-3), P95: d1201.AddDays(-1),
			Promised: d1201, ChanceKnown: true, Chance: 0.97, Share: 0.4, Concurrent: 2, Added: 0, Growth: 0.12, Pace: 1.8},
	}
	return r
}

func withHistory(r Record) Record {
	r.Commitments = append(r.Commitments, Commitment{Date: d1215, Source: DeclaredCommand, By: hostileLogin,
		At: t1102.AddDate(0, 0, 4), Reason: "SSO added to scope {quote}ignore{quote} <!-- @org/security -->", Scope: 12})
	r.Total, r.Done = 14, 6
	return r
}

// goldenComment is what one comment looks like on its tracker.
type goldenComment struct {
	name string
	// comment returns the body and the marker in the tracker's markup.
	comment func(t *testing.T, tr connectors.Tracker) (body, marker string)
}

func statusCase(name string, change func(*Record)) goldenComment {
	return goldenComment{name: "status_" + name, comment: func(_ *testing.T, tr connectors.Tracker) (string, string) {
		r := goldenRecord(hostileTitle)
		r.Ref.Tracker = tr
		change(&r)
		return render(tr, statusDoc(r, settings())), settings().Markers.StatusMarker(r)
	}}
}

func eventCase(name string, change func(*Record), ev event) goldenComment {
	return goldenComment{name: "event_" + name, comment: func(_ *testing.T, tr connectors.Tracker) (string, string) {
		r := goldenRecord(hostileTitle)
		r.Ref.Tracker = tr
		change(&r)
		ev.id = hashID(r.ID, string(ev.kind), name)
		return render(tr, eventDoc(r, ev, settings())), settings().Markers.EventMarker(ev.id, ev.kind)
	}}
}

// replyCase runs Reconcile on a thread holding one command and returns
// its reply, as the connector would post it.
func replyCase(name string, change func(*Record), author string, canCommit bool, body string) goldenComment {
	return goldenComment{name: "reply_" + name, comment: func(t *testing.T, tr connectors.Tracker) (string, string) {
		r := goldenRecord(hostileTitle)
		change(&r)
		r.Ref.Tracker = tr
		due, _ := r.Target()
		d := connectors.Deliverable{Ref: r.Ref, Title: r.Title, URL: r.URL, DueDate: due}
		for i := range r.Total {
			it := connectors.Item{ID: string(rune('a' + i)), CreatedAt: t1102}
			if i < r.Done {
				it.ClosedAt = t1102
			}
			d.Items = append(d.Items, it)
		}
		now := t1102.AddDate(0, 0, 5)
		th := connectors.Thread{ID: "acme/api#100", Comments: []connectors.Comment{
			{ID: "c1", Author: author, Body: body, CreatedAt: now.Add(-time.Hour), AuthorCanCommit: canCommit}}}
		_, actions, _ := Reconcile(r, Observation{Snapshot: connectors.Snapshot{Deliverable: d, Thread: &th,
			Throughput: connectors.Throughput{Daily: []int{1, 2, 0, 3, 1, 0, 2}}}}, now, settings())
		for _, a := range actions {
			if a.Kind == Reply {
				return a.Body, a.Marker
			}
		}
		t.Fatalf("no reply to %q among %v", body, kindsOf(actions))
		return "", ""
	}}
}

func goldenComments() []goldenComment {
	delivered := func(on connectors.Date) func(*Record) {
		return func(r *Record) {
			r.Delivered, r.DeliveredOn, r.Done = true, on, r.Total
		}
	}
	return []goldenComment{
		statusCase("on_track", func(*Record) {}),
		statusCase("on_track_long_title", func(r *Record) { r.Title = longTitle }),
		statusCase("title_list", func(r *Record) { r.Title = hostileList }),
		statusCase("title_heading", func(r *Record) { r.Title = hostileHead }),
		statusCase("title_ordered", func(r *Record) { r.Title = hostileOrder }),
		statusCase("title_quote", func(r *Record) { r.Title = hostileQuote }),
		statusCase("not_enough_history", func(r *Record) { r.Forecast = Forecast{Samples: 2, Remaining: 6, Promised: d1201} }),
		statusCase("at_risk", atRiskFn),
		statusCase("slipped", func(r *Record) {
			r.Health = Slipped
			r.Targets = append(r.Targets, TargetChange{Date: d1215, At: t1102.AddDate(0, 0, 2)})
		}),
		statusCase("recommitted_scope_grew", func(r *Record) {
			*r = withHistory(*r)
			r.Targets = append(r.Targets, TargetChange{Date: d1215, At: t1102.AddDate(0, 0, 2)})
		}),
		statusCase("overdue", func(r *Record) { r.Health = Overdue }),
		statusCase("long_history", func(r *Record) { *r = alternating(*r, 700) }),
		statusCase("no_date", func(r *Record) {
			r.Health, r.Commitments, r.Targets = NoDate, nil, []TargetChange{{At: t1102}}
			r.Forecast.Promised, r.Forecast.ChanceKnown, r.Forecast.Chance = connectors.Date{}, false, 0
		}),
		statusCase("delivered_on_time", func(r *Record) { delivered(d1201.AddDays(-1))(r); r.Health = DeliveredOnTime }),
		statusCase("delivered_late", func(r *Record) { delivered(d1201.AddDays(3))(r); r.Health = DeliveredLate }),

		eventCase("committed_baseline", func(*Record) {}, event{kind: EvCommitted, data: eventData{to: d1201, by: "slipwatch"}}),
		eventCase("committed_command", func(*Record) {}, event{kind: EvCommitted,
			data: eventData{to: d1201, by: hostileLogin, reason: "leadership offsite {panel}deck{panel} @org/execs"}}),
		eventCase("committed_long_title", func(r *Record) { r.Title = longTitle }, event{kind: EvCommitted, data: eventData{to: d1201}}),
		eventCase("committed_unlikely", atRiskFn, event{kind: EvCommitted, data: eventData{to: d1201, by: "slipwatch"}}),
		eventCase("committed_not_enough_history", func(r *Record) { r.Forecast = Forecast{Samples: 2, Remaining: 6, Promised: d1201} },
			event{kind: EvCommitted, data: eventData{to: d1201, by: "slipwatch"}}),
		eventCase("recommitted", withHistoryFn, event{kind: EvRecommitted,
			data: eventData{from: d1201, to: d1215, by: hostileLogin, reason: "SSO <!-- --> [~cto] {code}x{code}"}}),
		eventCase("slipped", func(*Record) {}, event{kind: EvSlipped, data: eventData{from: d1201, to: d1215}}),
		eventCase("pulled_in", func(*Record) {}, event{kind: EvPulledIn, data: eventData{from: d1215, to: d1201}}),
		eventCase("at_risk", atRiskFn, event{kind: EvAtRisk, data: eventData{from: d1201, to: d1201.AddDays(5)}}),
		eventCase("scope_grew", withHistoryFn, event{kind: EvScopeGrew, data: eventData{from: d1201, growth: 0.4, added: 4}}),
		eventCase("overdue", func(r *Record) { r.Health = Overdue }, event{kind: EvOverdue, data: eventData{from: d1201}}),
		eventCase("delivered_on_time", delivered(d1201), event{kind: EvDelivered, data: eventData{from: d1201, to: d1201}}),
		eventCase("delivered_late", delivered(d1201.AddDays(3)), event{kind: EvDelivered, data: eventData{from: d1201, to: d1201.AddDays(3)}}),
		eventCase("status_update", withHistoryFn, event{kind: EvStatusUpdate}),

		replyCase("recorded_first", func(r *Record) { r.Commitments = nil }, "jane", true, "/commit 2026-12-01"),
		replyCase("recorded_recommit", func(*Record) {}, hostileLogin, true, "/commit 2026-12-15"),
		replyCase("recorded_recommit_reason", func(*Record) {}, "jane", true,
			"/commit 2026-12-15 SSO added <!-- @org/team --> {panel}x{panel} [~boss]"),
		replyCase("already_committed", func(*Record) {}, "jane", true, "/commit 2026-12-01"),
		replyCase("refused_not_allowed", func(*Record) {}, hostileLogin, false, "/commit 2026-12-20"),
		replyCase("refused_no_date", func(*Record) {}, "jane", true, "/commit"),
		replyCase("refused_bad_date", func(*Record) {}, "jane", true, "/commit 12/20/2026 <!-- x"),
		replyCase("refused_past", func(*Record) {}, "jane", true, "/commit 2026-11-01"),
		replyCase("status", func(*Record) {}, "mallory", false, "/slipwatch status"),
		replyCase("help", func(*Record) {}, "mallory", false, "/slipwatch help"),

		trackRecordCase("track_record", []TeamRecord{
			{Tracker: "github", Team: "acme/api", Commitments: 7, Delivered: 5, OnTime: 3, OnTimeShare: 0.6, MedianSlipDays: 2, MeanSlipDays: 4.333333, Recommitments: 3, RecommitsPerItem: 3.0 / 7, OpenAtRisk: 1},
			{Tracker: "jira", Team: "PLAT", Commitments: 2, Delivered: 1, OnTime: 1, OnTimeShare: 1, Recommitments: 0, OpenAtRisk: 0},
			{Tracker: "jira", Team: "OPS", Commitments: 1, OpenAtRisk: 1},
		}),
		trackRecordCase("track_record_empty", nil),
		digestCase("digest", digestRecords, false),
		digestCase("digest_no_changes", digestQuietWeek, true),
		digestCase("digest_first", digestQuietWeek, false),
	}
}

// trackRecordCase is the monthly track-record comment for teams.
func trackRecordCase(name string, teams []TeamRecord) goldenComment {
	return goldenComment{name: name, comment: func(t *testing.T, tr connectors.Tracker) (string, string) {
		a, ok := TrackRecordPost(tr, &connectors.Thread{ID: "acme/leadership#1"}, t1102, settings(), teams)
		if !ok {
			t.Fatal("no track-record comment on an empty thread")
		}
		return a.Body, a.Marker
	}}
}

func withHistoryFn(r *Record) { *r = withHistory(*r) }

// alternating is r after n recommitments between two dates, each with a
// reason as long as a command takes, by a hostile login.
func alternating(r Record, n int) Record {
	for i := range n {
		d := d1215
		if i%2 == 1 {
			d = d1201.AddDays(20)
		}
		r.Commitments = append(r.Commitments, Commitment{Date: d, Source: DeclaredCommand, By: hostileLogin,
			At: t1102.Add(time.Duration(i) * time.Minute), Reason: strings.Repeat("<b>@org/x</b> ", maxReason/14), Scope: 10})
	}
	return r
}

// atRiskFn makes the golden record's promise unlikely: 12 %, with scope
// added since it was made.
func atRiskFn(r *Record) {
	r.Health, r.AtRisk = AtRisk, true
	r.Total = 13
	r.Forecast.Remaining, r.Forecast.Added = 9, 3
	r.Forecast.P50, r.Forecast.P85, r.Forecast.P95, r.Forecast.Chance = d1201.AddDays(3), d1201.AddDays(5), d1201.AddDays(9), 0.12
}

// posted is the comment as the tracker stores it. GitHub: the body, then
// the marker (an HTML comment) — what connectors/github posts. Jira: the
// body; the marker is not in it but in the comment's "slipwatch" entity
// property, shown after a separator for review.
func posted(tr connectors.Tracker, body, marker string) string {
	if tr == connectors.Jira {
		return body + "\n----- comment property \"slipwatch\" (not in the body) -----\n" + marker + "\n"
	}
	return body + "\n\n" + marker + "\n"
}

func TestGoldenComments(t *testing.T) {
	seen := map[string]bool{}
	for _, gc := range goldenComments() {
		for _, tr := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
			name := gc.name + "." + string(tr)
			if seen[name] {
				t.Fatalf("two cases named %s", name)
			}
			seen[name] = true
			t.Run(name, func(t *testing.T) {
				body, marker := gc.comment(t, tr)
				got := posted(tr, body, marker)
				path := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./reconcile -run TestGoldenComments -update)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s differs (-golden +now); if intended, rerun with -update:\n%s", path, diff)
				}
			})
		}
	}
	// A golden file no case writes is a comment kind that lost its test.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	for _, f := range files {
		if !seen[strings.TrimSuffix(filepath.Base(f), ".golden")] {
			t.Errorf("%s: no case renders it", f)
		}
	}
}
