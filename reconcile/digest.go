package reconcile

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// The digest is the periodic comment on the leadership thread
// (track_record.thread): what changed since the last digest, then every
// open promise with its health and forecast. It is decided like the
// monthly track record: one comment per thread and period, its event ID
// derived from both, so every replica and restart decides the same.

// DigestHour is the local hour (in Settings.Location) at which a digest
// period starts.
const DigestHour = 9

// digestAnchor is the Monday the periods are counted from: with every =
// 7d each starts on a Monday at DigestHour, with 14d every other Monday.
var digestAnchor = connectors.Date{Year: 2024, Month: time.January, Day: 1}

// Bounds that keep a digest a comment a tracker accepts (Jira: 32 767
// characters, GitHub 65 536) and a person reads; what is left out is one
// line pointing further.
const (
	maxDigestChanges = 40
	maxDigestRows    = 100
	// maxDigestBytes bounds the body before the small print, and
	// maxDigestChangeBytes its part up to the last change, so the table
	// has room.
	maxDigestBytes       = 30000
	maxDigestChangeBytes = 14000
	// maxDigestLookback is how many periods back the last digest is looked
	// for on the thread; a longer silence counts from one period back.
	maxDigestLookback = 12
)

// DigestPeriod is the digest period that holds now: [start, next). A period
// that is a whole number of days starts at DigestHour local time on a day
// counted in the calendar from a Monday, so 7d is every Monday at 09:00
// whatever daylight saving does; any other length is counted in elapsed
// time from that Monday's 09:00. Every replica computes the same periods.
func DigestPeriod(now time.Time, every time.Duration, loc *time.Location) (start, next time.Time) {
	loc = zone(loc)
	if every <= 0 {
		every = 7 * 24 * time.Hour
	}
	at := func(d connectors.Date) time.Time {
		return time.Date(d.Year, d.Month, d.Day, DigestHour, 0, 0, 0, loc)
	}
	if every%(24*time.Hour) == 0 {
		n := int(every / (24 * time.Hour))
		today := connectors.DateOf(now, loc)
		if now.Before(at(today)) {
			today = today.AddDays(-1) // before 09:00: still yesterday's period
		}
		slot := floorDiv(today.Sub(digestAnchor), n)
		first := digestAnchor.AddDays(slot * n)
		return at(first), at(first.AddDays(n))
	}
	anchor := at(digestAnchor)
	slot := floorDiv64(int64(now.Sub(anchor)), int64(every))
	start = anchor.Add(time.Duration(slot) * every)
	return start, start.Add(every)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// DigestStatus is what DigestPost found.
type DigestStatus int

// Digest statuses.
const (
	DigestDue    DigestStatus = iota + 1 // the period's digest is to be posted: the Action
	DigestPosted                         // slipwatch's digest for the period is on the thread
	DigestQuiet                          // nothing open and nothing changed: a comment would be noise
)

// digestID names the digest of the period that starts at start on thread.
func digestID(thread string, start time.Time) string {
	return hashID(string(EvDigest), thread, start.UTC().Format(time.RFC3339))
}

// DigestPost decides the digest of the period holding now on thread th,
// in tracker t's markup, from every record. It reports DigestPosted once
// slipwatch's own comment for the period is on the thread. What changed
// is counted from the start of the period of the last digest found on the
// thread (one period back when there is none) to the start of this one,
// by when slipwatch saw each change, so two digests never tell the same
// change and none is skipped while slipwatch was down.
func DigestPost(t connectors.Tracker, th *connectors.Thread, now time.Time, every time.Duration, recs []Record, s Settings) (Action, DigestStatus) {
	start, _ := DigestPeriod(now, every, s.Location)
	id := digestID(th.ID, start)
	mine := map[string]bool{}
	for _, c := range th.Comments {
		if !c.BySelf {
			continue
		}
		scanMarkers(c.Hidden, func(m rawMarker) {
			// Only slipwatch's own, signed: a planted one would silence
			// a period's digest, or the changes told in it.
			if m.kind == MarkerEvent && s.Markers.check(m).ok() {
				mine[m.id] = true
			}
		})
	}
	if mine[id] {
		return Action{}, DigestPosted
	}
	from, _ := DigestPeriod(start.Add(-time.Nanosecond), every, s.Location)
	first := true
	for p, i := from, 0; i < maxDigestLookback; i++ {
		if mine[digestID(th.ID, p)] {
			from, first = p, false
			break
		}
		p, _ = DigestPeriod(p.Add(-time.Nanosecond), every, s.Location)
	}
	changes := digestChanges(recs, from, start, s)
	open := openPromises(recs)
	if len(changes) == 0 && len(open) == 0 {
		return Action{}, DigestQuiet
	}
	marker := s.Markers.EventMarker(id, EvDigest)
	body := fit(t, renderDigest(t, digestTitle(every, start, s.Location), from, first, changes, open, every, s), marker)
	return Action{Kind: PostEvent, EventID: id, EventKind: EvDigest, Body: body, Marker: marker}, DigestDue
}

func digestTitle(every time.Duration, start time.Time, loc *time.Location) string {
	name := "Delivery digest"
	switch every {
	case 7 * 24 * time.Hour:
		name = "Weekly delivery digest"
	case 24 * time.Hour:
		name = "Daily delivery digest"
	}
	return name + ", " + dateString(connectors.DateOf(start, zone(loc)))
}

// digestChange is one line of "what changed".
type digestChange struct {
	order int // the section: digestSections
	name  string
	value line
}

// digestSections are the kinds of change, in the order a digest lists
// them: what was promised, what moved and was promised anew, what is in
// danger, what ended.
var digestSections = []string{"New promise", "Slipped", "Due date moved", "Pulled in", "Recommitted", "At risk", "Overdue", "Delivered"}

const (
	secNew = iota
	secSlipped
	secMoved
	secPulledIn
	secRecommitted
	secAtRisk
	secOverdue
	secDelivered
)

// digestChanges is what changed in [from, to), by when slipwatch saw it:
// commitments and due-date moves carry that instant, at_risk its start
// (Record.AtRiskSince), overdue begins at local midnight after the
// promise, and a delivery counts by its day.
func digestChanges(recs []Record, from, to time.Time, s Settings) []digestChange {
	loc := zone(s.Location)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	// A delivery has a day, not an instant: it is told in the period whose
	// start falls on a later day, so a Monday's delivery, before or after
	// Monday's digest, is in the next one.
	fromDay, toDay := connectors.DateOf(from, loc), connectors.DateOf(to, loc)
	var out []digestChange
	for _, r := range recs {
		first, ok := r.First()
		if !ok {
			continue
		}
		name := ViewOf(r).Label()
		add := func(sec int, v line) { out = append(out, digestChange{order: sec, name: name, value: v}) }
		if in(first.At) {
			add(secNew, text("%s, %s.", first.Date, sourceText(first)))
		}
		for i := 1; i < len(r.Commitments); i++ {
			c, prev := r.Commitments[i], r.Commitments[i-1]
			if !in(c.At) {
				continue
			}
			v := text("%s to %s (%s days), %s.", prev.Date, c.Date, signed(c.Date.Sub(prev.Date)), sourceText(c))
			if c.Reason != "" {
				v = text("%s to %s (%s days), %s: %s", prev.Date, c.Date, signed(c.Date.Sub(prev.Date)), sourceText(c), c.Reason)
			}
			add(secRecommitted, v)
		}
		promise, promised := commitmentAt(r, to)
		// The net move of the due date over the period (a date moved out
		// and back is no change), from the one that stood when the period
		// began or when slipwatch first saw the deliverable in it, judged
		// against the promise that stood then: a slip recommitted to in the
		// same period is still a slip, and the recommitment has its own
		// line.
		before, okB := targetAt(r, from)
		if !okB && len(r.Targets) > 0 && in(r.Targets[0].At) {
			before, okB = r.Targets[0].Date, true
		}
		after, okA := targetAt(r, to)
		judged, ok := commitmentAt(r, from)
		if !ok {
			judged = first
		}
		if promised && okB && okA && !before.IsZero() && !after.IsZero() && before != after {
			switch {
			case after.Before(before):
				add(secPulledIn, text("due %s, was %s.", after, before))
			case after.After(judged.Date):
				add(secSlipped, text("due %s, was %s; %s days after the promised %s.", after, before, after.Sub(judged.Date), judged.Date))
			default:
				add(secMoved, text("due %s, was %s, still within the promised %s.", after, before, judged.Date))
			}
		}
		if r.AtRisk && !r.Delivered && in(r.AtRiskSince) {
			cur, _ := r.Commitment()
			add(secAtRisk, atRiskText(r.Forecast, cur.Date, s))
		}
		// Overdue from the midnight after the promise; a delivery in the same
		// period says it on its own line.
		delivered := r.Delivered && !r.DeliveredOn.Before(fromDay) && r.DeliveredOn.Before(toDay)
		if late := promise.Date.AddDays(1).Time(loc); promised && in(late) && (!r.Delivered || r.DeliveredOn.After(promise.Date) && !delivered) {
			add(secOverdue, text("promised for %s; %s of %s items done.", promise.Date, r.Done, r.Total))
		}
		if delivered {
			cur, _ := r.Commitment()
			var v line
			switch late := r.DeliveredOn.Sub(cur.Date); {
			case late > 0:
				v = text("on %s, %s days after the promised %s", r.DeliveredOn, late, cur.Date)
			default:
				v = text("on %s, as promised for %s", r.DeliveredOn, cur.Date)
			}
			if first.Date != cur.Date {
				v.format += "; first promised for %s"
				v.args = append(v.args, first.Date)
			}
			v.format += "."
			add(secDelivered, v)
		}
	}
	slices.SortStableFunc(out, func(a, b digestChange) int {
		return cmp.Or(cmp.Compare(a.order, b.order), strings.Compare(a.name, b.name))
	})
	return out
}

func atRiskText(f Forecast, promise connectors.Date, s Settings) line {
	if f.ChanceKnown {
		return text("%s%% chance of meeting %s; forecast %s.", int(f.Chance*100+0.5), promise, f.P85)
	}
	return text("forecast %s (%s%% confidence), after the promised %s.", f.P85, int(s.Confidence*100+0.5), promise)
}

func signed(n int) string {
	if n > 0 {
		return "+" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// commitmentAt is the commitment that stood just before t.
func commitmentAt(r Record, t time.Time) (Commitment, bool) {
	var out Commitment
	ok := false
	for _, c := range r.Commitments {
		if c.At.Before(t) {
			out, ok = c, true
		}
	}
	return out, ok
}

// targetAt is the due date that stood just before t, if slipwatch knew
// the deliverable then.
func targetAt(r Record, t time.Time) (connectors.Date, bool) {
	var out connectors.Date
	ok := false
	for _, tc := range r.Targets {
		if !tc.At.Before(t) {
			break
		}
		out, ok = tc.Date, true
	}
	return out, ok
}

// healthRank orders the table worst first.
var healthRank = map[Health]int{Overdue: 0, Slipped: 1, AtRisk: 2, OnTrack: 3}

// openPromises is every record with a promise not yet delivered, worst
// first, then by promise date.
func openPromises(recs []Record) []Record {
	var out []Record
	for _, r := range recs {
		if _, ok := r.Commitment(); ok && !r.Delivered {
			out = append(out, r)
		}
	}
	rank := func(h Health) int {
		if n, ok := healthRank[h]; ok {
			return n
		}
		return len(healthRank)
	}
	slices.SortStableFunc(out, func(a, b Record) int {
		ca, _ := a.Commitment()
		cb, _ := b.Commitment()
		return cmp.Or(cmp.Compare(rank(a.Health), rank(b.Health)), cmp.Compare(ca.Date.Days(), cb.Date.Days()),
			strings.Compare(a.Ref.Key(), b.Ref.Key()))
	})
	return out
}

// riskSince is Record.AtRiskSince after a pass that decided atRisk: the
// instant the warning started, kept while it stands.
func riskSince(rec Record, atRisk bool, now time.Time) time.Time {
	switch {
	case !atRisk:
		return time.Time{}
	case !rec.AtRisk:
		return now
	}
	// Kept, and unknown (zero) for a warning older than the field or
	// restored from a status marker: not news.
	return rec.AtRiskSince
}

// cell is one table cell: text, and a link when the URL is safe to write.
type cell struct {
	text line
	url  string
}

func plainCell(format string, args ...any) cell { return cell{text: text(format, args...)} }

// renderDigest writes the digest: the title and what changed, then the
// table of open promises, then the small print, within maxDigestBytes.
// first says no earlier digest is on the thread.
func renderDigest(t connectors.Tracker, title string, from time.Time, first bool, changes []digestChange, open []Record, every time.Duration, s Settings) string {
	m := markdown
	if t == connectors.Jira {
		m = wiki
	}
	loc := zone(s.Location)
	since := from.In(loc).Format("2006-01-02 15:04") + " (" + loc.String() + ")"
	d := doc{emoji: "📋", title: title, lines: []line{text("No changes since %s.", since)}}
	switch {
	case len(changes) > 0:
		d.lines[0] = text("What changed since %s:", since)
	case first:
		d.lines[0] = text("The first digest here: every open promise is below, and from the next digest on, what changed comes first.")
	}
	var b, row strings.Builder
	b.Grow(4096)
	b.WriteString(render(t, d))
	if len(changes) > 0 {
		b.WriteString("\n")
	}
	for i, c := range changes {
		row.Reset()
		v := c.value
		v.format = "%s: " + v.format
		v.args = append([]any{c.name}, v.args...)
		m.item(&row, item{label: digestSections[c.order], value: v})
		if i == maxDigestChanges || b.Len()+row.Len() > maxDigestChangeBytes {
			m.item(&b, item{label: "And more", value: text("%s further changes; slipwatch check and each thread tell them.", len(changes)-i)})
			break
		}
		b.WriteString(row.String())
	}
	b.WriteString("\n")
	if len(open) == 0 {
		m.line(&b, text("No promise is open."))
		b.WriteString("\n")
	} else {
		m.line(&b, text("Open promises (%s), worst first:", len(open)))
		b.WriteString("\n\n")
		header := []string{"Deliverable", "Promise", "Due", "Forecast (" + strconv.Itoa(int(s.Confidence*100+0.5)) + "%)", "Chance", "Health", "Done"}
		m.tableHeader(&b, header)
		shown := 0
		for _, r := range open {
			row.Reset()
			m.tableRow(&row, digestRow(r))
			if shown == maxDigestRows || b.Len()+row.Len() > maxDigestBytes {
				break
			}
			b.WriteString(row.String())
			shown++
		}
		if shown < len(open) {
			b.WriteString("\n")
			m.line(&b, text("%s more open promises are not listed; slipwatch check lists every one.", len(open)-shown))
			b.WriteString("\n")
		}
	}
	b.WriteString("\n")
	b.WriteString(m.noteOpen)
	m.esc.Words(&b, "Posted every "+everyText(every)+" by slipwatch (digest.every). Changes count from when slipwatch saw them; slipwatch check and /api/v1/commitments list every promise.")
	b.WriteString(m.noteClose)
	b.WriteString("\n")
	return b.String()
}

// item writes one labelled item as render does.
func (m markup) item(b *strings.Builder, it item) {
	b.WriteString(m.bullet)
	m.bold(b, it.label+":")
	b.WriteString(" ")
	m.line(b, it.value)
	b.WriteString("\n")
}

func everyText(every time.Duration) string {
	if every%(24*time.Hour) == 0 {
		n := int(every / (24 * time.Hour))
		if n%7 == 0 {
			if n == 7 {
				return "week"
			}
			return strconv.Itoa(n/7) + " weeks"
		}
		if n == 1 {
			return "day"
		}
		return strconv.Itoa(n) + " days"
	}
	return every.String()
}

func digestRow(r Record) []cell {
	cur, _ := r.Commitment()
	first, _ := r.First()
	name := cell{text: text("%s", ViewOf(r).Label()), url: safeURL(r.URL)}
	promise := plainCell("%s", cur.Date)
	if first.Date != cur.Date {
		promise = plainCell("%s (first %s)", cur.Date, first.Date)
	}
	due := plainCell("—")
	if t, ok := r.Target(); ok {
		due = plainCell("%s", t)
	}
	f := r.Forecast
	fc, chance := plainCell("—"), plainCell("—")
	switch {
	case f.Enough && f.Remaining == 0:
		fc = plainCell("done")
	case f.Enough:
		fc = plainCell("%s", f.P85)
	}
	if f.ChanceKnown {
		chance = plainCell("%s%%", int(f.Chance*100+0.5))
	}
	health := plainCell("%s", healthWord(r.Health))
	if e := emojis[r.Health]; e != "" {
		health = plainCell(e+" %s", healthWord(r.Health))
	}
	return []cell{name, promise, due, fc, chance, health, plainCell("%s/%s", r.Done, r.Total)}
}

// safeURL is u when it is an http(s) URL that cannot break out of a link
// in either markup, else "".
func safeURL(u string) string {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") || len(u) > 2048 {
		return ""
	}
	for _, c := range u {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()[]{}|<>"'\`+"`", c) {
			return ""
		}
	}
	return u
}

// tableHeader and tableRow write a table: GitHub Markdown's pipe table,
// or Jira wiki's ||header|| and |cell| rows. Cells are escaped like any
// user text, so a "|" in a title stays in its cell.
func (m markup) tableHeader(b *strings.Builder, header []string) {
	if m.isWiki() {
		for _, h := range header {
			b.WriteString("||")
			m.esc.Words(b, h)
		}
		b.WriteString("||\n")
		return
	}
	for _, h := range header {
		b.WriteString("| ")
		m.esc.Words(b, h)
		b.WriteString(" ")
	}
	b.WriteString("|\n")
	for range header {
		b.WriteString("| --- ")
	}
	b.WriteString("|\n")
}

func (m markup) tableRow(b *strings.Builder, row []cell) {
	pad := " "
	if m.isWiki() {
		pad = ""
	}
	for _, c := range row {
		b.WriteString("|" + pad)
		m.cell(b, c)
		b.WriteString(pad)
	}
	b.WriteString("|\n")
}

func (m markup) isWiki() bool { return m.bullet == wiki.bullet }

func (m markup) cell(b *strings.Builder, c cell) {
	if c.url == "" {
		m.line(b, c.text)
		return
	}
	b.WriteString("[")
	m.line(b, c.text)
	if m.isWiki() {
		b.WriteString("|" + c.url + "]")
		return
	}
	b.WriteString("](" + c.url + ")")
}
