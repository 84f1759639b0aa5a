package reconcile

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

const week = 7 * 24 * time.Hour

func ymd(s string) connectors.Date {
	d, err := connectors.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func instant(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// digestNow is a Monday after 09:00 UTC: the period that holds it starts
// 2026-11-16 09:00, the one before 2026-11-09 09:00.
var digestNow = instant("2026-11-16T10:00:00Z")

// digestRecords are deliverables whose last week (2026-11-09 09:00 to
// 2026-11-16 09:00) holds one of each change a digest tells, with the
// hostile titles and reasons users may type.
func digestRecords() []Record {
	gh := func(team, id string) connectors.Ref {
		return connectors.Ref{Tracker: connectors.GitHub, Team: team, Kind: connectors.Milestone, ID: id}
	}
	rec := func(ref connectors.Ref, title string, h Health, cs []Commitment, ts []TargetChange, f Forecast, done, total int) Record {
		return Record{Schema: Schema, ID: CommitmentID(ref), Ref: ref, Title: title, URL: "https://github.com/" + ref.Team + "/milestone/" + ref.ID,
			Commitments: cs, Targets: ts, Health: h, Forecast: f, Done: done, Total: total}
	}
	fc := func(p85 string, chance float64) Forecast {
		return Forecast{Enough: true, Samples: 40, Remaining: 5, P50: ymd(p85).AddDays(-4), P85: ymd(p85), P95: ymd(p85).AddDays(3),
			ChanceKnown: chance >= 0, Chance: max(chance, 0)}
	}
	base := func(d string, when string) Commitment {
		return Commitment{Date: ymd(d), Source: BaselineFirstSeen, By: "slipwatch", At: instant(when)}
	}
	newOne := rec(gh("acme/api", "8"), "v2.2 Search", OnTrack,
		[]Commitment{base("2026-12-20", "2026-11-10T09:05:00Z")},
		[]TargetChange{{Date: ymd("2026-12-20"), At: instant("2026-11-10T09:05:00Z")}}, fc("2026-12-10", 0.93), 3, 8)

	// Slipped on the 11th, recommitted on the 12th by a hostile login.
	slipped := rec(gh("acme/api", "7"), hostileTitle, OnTrack,
		[]Commitment{base("2026-12-01", "2026-10-02T09:00:00Z"),
			{Date: ymd("2026-12-15"), Source: DeclaredCommand, By: hostileLogin, At: instant("2026-11-12T14:00:00Z"),
				Reason: "SSO added to scope {quote}ignore{quote} <!-- @org/security -->"}},
		[]TargetChange{{Date: ymd("2026-12-01"), At: instant("2026-10-02T09:00:00Z")}, {Date: ymd("2026-12-15"), At: instant("2026-11-11T10:00:00Z")}},
		fc("2026-12-14", -1), 6, 14)
	slipped.URL = "https://evil.example/)[x](javascript:alert(1)"

	atRisk := rec(connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10042"}, "2.0", AtRisk,
		[]Commitment{base("2026-12-10", "2026-10-01T09:00:00Z")},
		[]TargetChange{{Date: ymd("2026-12-10"), At: instant("2026-10-01T09:00:00Z")}}, fc("2026-12-20", 0.12), 10, 30)
	atRisk.URL = "https://acme.atlassian.net/projects/PLAT/versions/10042"
	atRisk.AtRisk, atRisk.AtRiskSince = true, instant("2026-11-13T09:00:00Z")

	overdue := rec(gh("acme/web", "3"), "v1.9 Export", Overdue,
		[]Commitment{base("2026-11-12", "2026-10-01T09:00:00Z")},
		[]TargetChange{{Date: ymd("2026-11-12"), At: instant("2026-10-01T09:00:00Z")}}, Forecast{Samples: 2, Remaining: 2}, 8, 10)

	late := rec(gh("acme/api", "5"), "v1.7", DeliveredLate,
		[]Commitment{base("2026-10-30", "2026-10-01T09:00:00Z"),
			{Date: ymd("2026-11-06"), Source: DeclaredDescription, By: "description", At: instant("2026-10-20T09:00:00Z")}},
		[]TargetChange{{Date: ymd("2026-11-06"), At: instant("2026-10-20T09:00:00Z")}}, Forecast{}, 12, 12)
	late.Delivered, late.DeliveredOn = true, ymd("2026-11-11")

	earlier := rec(gh("acme/api", "4"), "v1.6", DeliveredOnTime,
		[]Commitment{base("2026-11-03", "2026-10-01T09:00:00Z")},
		[]TargetChange{{Date: ymd("2026-11-03"), At: instant("2026-10-01T09:00:00Z")}}, Forecast{}, 5, 5)
	earlier.Delivered, earlier.DeliveredOn = true, ymd("2026-11-02")

	pulled := rec(connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}, hostileList, OnTrack,
		[]Commitment{base("2026-12-20", "2026-10-01T09:00:00Z")},
		[]TargetChange{{Date: ymd("2026-12-20"), At: instant("2026-10-01T09:00:00Z")}, {Date: ymd("2026-12-05"), At: instant("2026-11-14T09:00:00Z")}},
		Forecast{Enough: true, Samples: 40, Remaining: 0, P50: ymd("2026-11-16"), P85: ymd("2026-11-16"), P95: ymd("2026-11-16")}, 4, 4)
	pulled.URL = "https://acme.atlassian.net/browse/PLAT-12"

	noDate := rec(gh("acme/web", "9"), "someday", NoDate, nil, []TargetChange{{At: instant("2026-11-10T09:00:00Z")}}, Forecast{}, 0, 3)
	return []Record{newOne, slipped, atRisk, overdue, late, earlier, pulled, noDate}
}

// digestCase is the digest of recs at digestNow on a thread that holds
// the digest of the week before, or none.
func digestCase(name string, recs func() []Record, weekBefore bool) goldenComment {
	return goldenComment{name: name, comment: func(t *testing.T, tr connectors.Tracker) (string, string) {
		th := &connectors.Thread{ID: "acme/leadership#1"}
		if weekBefore {
			prev, st := DigestPost(tr, th, digestNow.Add(-week), week, recs(), settings())
			if st != DigestDue {
				t.Fatalf("the week before: status %d", st)
			}
			th.Comments = append(th.Comments, connectors.Comment{ID: "1", BySelf: true, Body: prev.Body, Hidden: prev.Body + "\n\n" + prev.Marker})
		}
		a, st := DigestPost(tr, th, digestNow, week, recs(), settings())
		if st != DigestDue {
			t.Fatalf("status %d on an empty thread, want DigestDue", st)
		}
		return a.Body, a.Marker
	}}
}

// digestQuietWeek is the open promises of digestRecords with nothing
// changed in the week.
func digestQuietWeek() []Record {
	var out []Record
	for _, r := range digestRecords() {
		if r.Delivered || r.Health == NoDate {
			continue
		}
		r.Commitments, r.Targets = r.Commitments[:1], r.Targets[:1]
		r.Commitments[0].At, r.Targets[0].At = instant("2026-10-01T09:00:00Z"), instant("2026-10-01T09:00:00Z")
		r.AtRiskSince = instant("2026-10-05T09:00:00Z")
		if r.Health == Overdue {
			r.Commitments[0].Date = ymd("2026-11-02")
		}
		out = append(out, r)
	}
	return out
}

func TestDigestPeriod(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		now         string
		every       time.Duration
		loc         *time.Location
		start, next string
	}{
		{"a week from Monday 09:00", "2026-11-18T15:00:00Z", week, time.UTC, "2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z"},
		{"Monday 09:00 starts the week", "2026-11-16T09:00:00Z", week, time.UTC, "2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z"},
		{"Monday before 09:00 is last week", "2026-11-16T08:59:59Z", week, time.UTC, "2026-11-09T09:00:00Z", "2026-11-16T09:00:00Z"},
		// Berlin leaves summer time on 2026-10-25: 09:00 local is 07:00Z
		// before, 08:00Z after.
		{"local 09:00 across daylight saving", "2026-10-24T12:00:00Z", week, berlin, "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z"},
		{"in the zone's Monday", "2026-10-26T07:59:00Z", week, berlin, "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z"},
		{"every other Monday", "2026-11-18T15:00:00Z", 2 * week, time.UTC, "2026-11-16T09:00:00Z", "2026-11-30T09:00:00Z"},
		{"every other Monday, the other one", "2026-11-10T15:00:00Z", 2 * week, time.UTC, "2026-11-02T09:00:00Z", "2026-11-16T09:00:00Z"},
		{"daily", "2026-11-18T08:00:00Z", 24 * time.Hour, time.UTC, "2026-11-17T09:00:00Z", "2026-11-18T09:00:00Z"},
		{"hours from the anchor", "2026-11-18T22:00:00Z", 12 * time.Hour, time.UTC, "2026-11-18T21:00:00Z", "2026-11-19T09:00:00Z"},
		{"before the anchor", "2023-12-31T12:00:00Z", week, time.UTC, "2023-12-25T09:00:00Z", "2024-01-01T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, next := DigestPeriod(instant(tt.now), tt.every, tt.loc)
			if !start.Equal(instant(tt.start)) || !next.Equal(instant(tt.next)) {
				t.Errorf("period of %s = [%s, %s), want [%s, %s)", tt.now, start.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339), tt.start, tt.next)
			}
		})
	}
	// Periods tile time: each ends where the next starts, and every
	// instant is in exactly one, whatever the zone does.
	for _, every := range []time.Duration{week, 2 * week, 24 * time.Hour, 5 * time.Hour} {
		start, next := DigestPeriod(instant("2026-01-01T00:00:00Z"), every, berlin)
		for range 120 {
			s2, n2 := DigestPeriod(next, every, berlin)
			if !s2.Equal(next) || !n2.After(s2) {
				t.Fatalf("every %s: the period after [%s, %s) is [%s, %s)", every, start, next, s2, n2)
			}
			if s, _ := DigestPeriod(next.Add(-time.Nanosecond), every, berlin); !s.Equal(start) {
				t.Fatalf("every %s: the instant before %s is in the period from %s, want %s", every, next, s, start)
			}
			start, next = s2, n2
		}
	}
}

// digestLines is what a digest says changed, as "section: deliverable".
func digestLines(recs []Record, from, to time.Time) []string {
	var out []string
	for _, c := range digestChanges(recs, from, to, settings()) {
		out = append(out, digestSections[c.order]+": "+c.name)
	}
	return out
}

func TestDigestChanges(t *testing.T) {
	t.Parallel()
	from, to := instant("2026-11-09T09:00:00Z"), instant("2026-11-16T09:00:00Z")
	got := digestLines(digestRecords(), from, to)
	want := []string{
		"New promise: acme/api milestone v2.2 Search",
		"Slipped: acme/api milestone " + hostileTitle,
		"Pulled in: PLAT-12 " + hostileList,
		"Recommitted: acme/api milestone " + hostileTitle,
		"At risk: PLAT version 2.0",
		"Overdue: acme/web milestone v1.9 Export",
		"Delivered: acme/api milestone v1.7",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes in the week (-want +got):\n%s", diff)
	}

	// The week before tells none of them but what happened in it: every
	// change is told in the period slipwatch saw it, and in no other.
	if diff := cmp.Diff([]string{"Overdue: acme/api milestone v1.7", "Delivered: acme/api milestone v1.6"}, digestLines(digestRecords(), from.Add(-week), from)); diff != "" {
		t.Errorf("the week before (-want +got):\n%s", diff)
	}

	one := func(change func(*Record)) []string {
		r := digestRecords()[0]
		change(&r)
		return digestLines([]Record{r}, from, to)
	}
	tests := []struct {
		name   string
		change func(*Record)
		want   []string
	}{
		{"promised at the period's end is next period's", func(r *Record) { r.Commitments[0].At = to; r.Targets[0].At = to }, nil},
		{"promised at the period's start is this one's", func(r *Record) { r.Commitments[0].At = from; r.Targets[0].At = from },
			[]string{"New promise: acme/api milestone v2.2 Search"}},
		{"promised and slipped in one period", func(r *Record) {
			r.Targets = append(r.Targets, TargetChange{Date: ymd("2027-01-10"), At: from.Add(5 * 24 * time.Hour)})
		}, []string{"New promise: acme/api milestone v2.2 Search", "Slipped: acme/api milestone v2.2 Search"}},
		{"moved out and back within the period is no change", func(r *Record) {
			r.Commitments[0].At, r.Targets[0].At = from.Add(-week), from.Add(-week)
			r.Targets = append(r.Targets, TargetChange{Date: ymd("2027-01-10"), At: from.Add(time.Hour)},
				TargetChange{Date: ymd("2026-12-20"), At: from.Add(3 * time.Hour)})
		}, nil},
		{"moved later, within the promise", func(r *Record) {
			r.Commitments[0].At, r.Targets[0].At = from.Add(-week), from.Add(-week)
			r.Targets[0].Date = ymd("2026-12-01")
			r.Targets = append(r.Targets, TargetChange{Date: ymd("2026-12-20"), At: from.Add(time.Hour)})
		}, []string{"Due date moved: acme/api milestone v2.2 Search"}},
		{"at risk since the week before is no news", func(r *Record) { r.AtRisk, r.AtRiskSince = true, from.Add(-time.Hour) }, []string{"New promise: acme/api milestone v2.2 Search"}},
		{"at risk since an unknown time is no news", func(r *Record) { r.AtRisk = true }, []string{"New promise: acme/api milestone v2.2 Search"}},
		{"overdue and delivered in one week: delivered says it", func(r *Record) {
			r.Commitments[0].At, r.Targets[0].At = from.Add(-week), from.Add(-week)
			r.Commitments[0].Date = ymd("2026-11-10")
			r.Delivered, r.DeliveredOn = true, ymd("2026-11-12")
		}, []string{"Delivered: acme/api milestone v2.2 Search"}},
		{"delivered on its promise's day is not overdue", func(r *Record) {
			r.Commitments[0].At, r.Targets[0].At = from.Add(-week), from.Add(-week)
			r.Commitments[0].Date = ymd("2026-11-10")
			r.Delivered, r.DeliveredOn = true, ymd("2026-11-10")
		}, []string{"Delivered: acme/api milestone v2.2 Search"}},
		{"delivered on the period's first day is next period's", func(r *Record) {
			r.Commitments[0].At, r.Targets[0].At = from.Add(-week), from.Add(-week)
			r.Delivered, r.DeliveredOn = true, ymd("2026-11-16")
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, one(tt.change)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestDigestPostOncePerPeriod: the period's digest is decided again until
// slipwatch's own marker for it is on the thread; a pasted marker does not
// count; a missed period is covered by the next digest.
func TestDigestPostOncePerPeriod(t *testing.T) {
	t.Parallel()
	recs := digestRecords()
	s := settings()
	th := func(cs ...connectors.Comment) *connectors.Thread {
		return &connectors.Thread{ID: "acme/leadership#1", Comments: cs}
	}
	first, st := DigestPost(connectors.GitHub, th(), digestNow, week, recs, s)
	if st != DigestDue || first.EventKind != EvDigest || !strings.Contains(first.Body, "Weekly delivery digest, 2026-11-16") {
		t.Fatalf("empty thread: %d %q", st, first.Body)
	}
	mine := connectors.Comment{ID: "1", BySelf: true, Body: first.Body, Hidden: first.Body + "\n\n" + first.Marker}
	pasted := connectors.Comment{ID: "2", Author: "mallory", Body: first.Marker, Hidden: first.Marker}
	if _, st := DigestPost(connectors.GitHub, th(mine), digestNow.Add(6*24*time.Hour), week, recs, s); st != DigestPosted {
		t.Errorf("later in the week: %d, want DigestPosted", st)
	}
	if _, st := DigestPost(connectors.GitHub, th(pasted), digestNow, week, recs, s); st != DigestDue {
		t.Errorf("a marker pasted by someone else counted: %d", st)
	}
	next, st := DigestPost(connectors.GitHub, th(mine), digestNow.Add(week), week, recs, s)
	if st != DigestDue || next.EventID == first.EventID || !strings.Contains(next.Body, "No changes since 2026-11-16 09:00 (UTC).") {
		t.Errorf("next week: %d %s %q", st, next.EventID, next.Body)
	}

	// The digest of 11-16 never made it (slipwatch was down): the one of
	// 11-23 tells the changes since the last digest on the thread, 11-09's,
	// so none is lost.
	prev, st := DigestPost(connectors.GitHub, th(), digestNow.Add(-week), week, recs, s)
	if st != DigestDue {
		t.Fatalf("the week before: %d", st)
	}
	old := connectors.Comment{ID: "3", BySelf: true, Body: prev.Body, Hidden: prev.Body + "\n\n" + prev.Marker}
	late, st := DigestPost(connectors.GitHub, th(old), digestNow.Add(week), week, recs, s)
	if st != DigestDue || !strings.Contains(late.Body, "What changed since 2026-11-09 09:00 (UTC):") || !strings.Contains(late.Body, "v2.2 Search") {
		t.Errorf("after a missed week: %d\n%s", st, late.Body)
	}

	// Nothing open and nothing new: no comment.
	var done []Record
	for _, r := range recs {
		if r.Delivered && r.DeliveredOn.Before(ymd("2026-11-09")) {
			done = append(done, r)
		}
	}
	if _, st := DigestPost(connectors.GitHub, th(), digestNow, week, done, s); st != DigestQuiet || len(done) == 0 {
		t.Errorf("only old deliveries: %d, want DigestQuiet", st)
	}
}

// TestDigestBounded: however many promises, the comment stays within what
// Jira accepts (32 767 characters) and says how many it left out.
func TestDigestBounded(t *testing.T) {
	t.Parallel()
	var recs []Record
	for i := range 3000 {
		r := digestRecords()[1]
		r.Ref.ID = strings.Repeat("9", 3) + string(rune('a'+i%26)) + strings.Repeat("x", i%7)
		r.ID = CommitmentID(r.Ref) + string(rune(i))
		r.Title = longTitle
		recs = append(recs, r)
	}
	for _, tr := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
		a, st := DigestPost(tr, &connectors.Thread{ID: "PLAT-1"}, digestNow, week, recs, settings())
		if st != DigestDue {
			t.Fatalf("%s: status %d", tr, st)
		}
		if n := len([]rune(a.Body)); n > 32767 {
			t.Errorf("%s: %d characters", tr, n)
		}
		if !strings.Contains(a.Body, "more open promises are not listed") || !strings.Contains(a.Body, "further changes") {
			t.Errorf("%s: the digest does not say what it left out", tr)
		}
	}
}

// TestAtRiskSince: Reconcile stamps when the at_risk warning starts, keeps
// it while the warning stands and clears it with the warning.
func TestAtRiskSince(t *testing.T) {
	w := newWorld(t, "2026-12-01", 30, 1)
	var on, off bool
	was := false
	for i, d := range []string{"2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"} {
		if i == 1 {
			for j := range 21 {
				w.d.Items[j].ClosedAt = day("2026-11-21")
			}
		}
		if i == 2 {
			for j := 21; j < 25; j++ {
				w.d.Items[j].ClosedAt = day("2026-11-22")
			}
		}
		prev := w.rec.AtRiskSince
		w.step(day(d))
		switch r := w.rec; {
		case r.AtRisk && !was:
			on = true
			if !r.AtRiskSince.Equal(day(d)) {
				t.Errorf("%s: warning started, since %s", d, r.AtRiskSince)
			}
		case r.AtRisk && !r.AtRiskSince.Equal(prev):
			t.Errorf("%s: a standing warning moved its start from %s to %s", d, prev, r.AtRiskSince)
		case !r.AtRisk:
			off = off || was
			if !r.AtRiskSince.IsZero() {
				t.Errorf("%s: no warning, since %s", d, r.AtRiskSince)
			}
		}
		was = w.rec.AtRisk
	}
	if !on || !off {
		t.Errorf("the story did not turn at_risk on and off (on %v, off %v)", on, off)
	}
}

// digestHeader is the digest table's columns, as the markup tests expect.
var digestHeader = []string{"Deliverable", "Promise", "Due", "Forecast (85%)", "Chance", "Health", "Done"}

// digestLinks are the URLs of digestRecords that the digest may link to;
// the one built to break out of a link is not among them.
var digestLinks = map[string]bool{
	"https://github.com/acme/web/milestone/3":                 true,
	"https://github.com/acme/api/milestone/8":                 true,
	"https://acme.atlassian.net/projects/PLAT/versions/10042": true,
	"https://acme.atlassian.net/browse/PLAT-12":               true,
}

// digestTags are the HTML tags of the digest's own table.
var digestTags = map[string]bool{"<table>": true, "</table>": true, "<thead>": true, "</thead>": true, "<tbody>": true, "</tbody>": true,
	"<tr>": true, "</tr>": true, "<th>": true, "</th>": true, "<td>": true, "</td>": true, "</a>": true}

var (
	// wikiLinkCell is the digest's link in a row's first cell: escaped
	// text, then one of digestLinks.
	wikiLinkCell = regexp.MustCompile(`^\|\[((?:\\.|[^\\\]|\[])*)\|([^\]\s]+)\]\|`)
	// wikiCellBorder is a "|" no backslash escapes.
	wikiCellBorder = regexp.MustCompile(`(^|[^\\])\|`)
)

// wikiTableCells takes the digest's own table structure out of a Jira
// body, leaving each cell's text on a line of its own for the checks that
// follow: the header must be slipwatch's, every row must have exactly its
// cells, and a link only to a deliverable.
func wikiTableCells(t *testing.T, body string) string {
	t.Helper()
	header := "||" + strings.Join(digestHeader, "||") + "||"
	var out []string
	for _, l := range strings.Split(body, "\n") {
		switch {
		case l == header:
			continue
		case strings.HasPrefix(l, "|"):
			if m := wikiLinkCell.FindStringSubmatch(l); m != nil {
				if !digestLinks[m[2]] {
					t.Errorf("a link to %q", m[2])
				}
				l = "|" + m[1] + l[len(m[0])-1:]
			}
			if n := len(wikiCellBorder.FindAllString(l, -1)); n != len(digestHeader)+1 || !strings.HasSuffix(l, "|") {
				t.Errorf("a table row with %d cell borders, want %d: %q", n, len(digestHeader)+1, l)
			}
			cells := wikiCellBorder.ReplaceAllString(l, "$1\n")
			out = append(out, strings.Split(strings.Trim(cells, "\n"), "\n")...)
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// markdownTableRows checks that every row of the digest's table has
// exactly its cells: a "|" that user text slipped into a row would add one
// (GFM drops the excess cells silently, so the source is what tells).
func markdownTableRows(t *testing.T, body string) {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, "|") {
			continue
		}
		if n := len(wikiCellBorder.FindAllString(l, -1)); n != len(digestHeader)+1 {
			t.Errorf("a table row with %d cell borders, want %d: %q", n, len(digestHeader)+1, l)
		}
	}
}
