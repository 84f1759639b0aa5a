package reconcile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
	mu "github.com/slipwatch/slipwatch/internal/markup"
)

// doc is a comment before it is written in a tracker's markup: a title,
// lines, and labelled items. Format strings are ours; every argument is
// escaped for the markup, since titles, reasons and logins come from users
// (a milestone called "@org/team <!--" must not ping or break a marker).
type doc struct {
	emoji string
	title string
	lines []line
	items []item
	note  string // small print
}

type line struct {
	format string
	args   []any
}

type item struct {
	label string
	value line
}

func text(format string, args ...any) line { return line{format: format, args: args} }

var emojis = map[Health]string{
	OnTrack: "🟢", AtRisk: "🟠", Slipped: "🔴", Overdue: "🔴", DeliveredOnTime: "✅", DeliveredLate: "☑️", NoDate: "⚪",
}

// render writes d in the markup of tracker t. Our own words are escaped
// too: they are plain text, and "[reason]" would be a link in wiki markup.
func render(t connectors.Tracker, d doc) string {
	m := markdown
	if t == connectors.Jira {
		m = wiki
	}
	var b strings.Builder
	b.Grow(512)
	title := d.title
	if d.emoji != "" {
		title = d.emoji + " " + title
	}
	m.bold(&b, title)
	b.WriteString("\n")
	for _, l := range d.lines {
		b.WriteString("\n")
		m.line(&b, l)
	}
	if len(d.lines) > 0 {
		b.WriteString("\n")
	}
	if len(d.items) > 0 {
		b.WriteString("\n")
		for _, it := range d.items {
			b.WriteString(m.bullet)
			m.bold(&b, it.label+":")
			b.WriteString(" ")
			m.line(&b, it.value)
			b.WriteString("\n")
		}
	}
	if d.note != "" {
		b.WriteString("\n")
		b.WriteString(m.noteOpen)
		m.esc.Words(&b, d.note)
		b.WriteString(m.noteClose)
		b.WriteString("\n")
	}
	return b.String()
}

// markup is what differs between GitHub Markdown and Jira wiki markup.
type markup struct {
	boldMark            string
	bullet              string
	noteOpen, noteClose string
	esc                 mu.Escaper
}

var (
	markdown = markup{boldMark: "**", bullet: "- ", noteOpen: "<sub>", noteClose: "</sub>", esc: mu.Markdown}
	wiki     = markup{boldMark: "*", bullet: "* ", noteOpen: "{{", noteClose: "}}", esc: mu.Wiki}
)

func (m markup) bold(b *strings.Builder, s string) {
	b.WriteString(m.boldMark)
	m.esc.Words(b, s)
	b.WriteString(m.boldMark)
}

// line writes l: its format with each argument as escaped user text.
func (m markup) line(b *strings.Builder, l line) {
	f, next := l.format, 0
	// Only %s and %% occur in our formats.
	for {
		i := strings.IndexByte(f, '%')
		if i < 0 || i == len(f)-1 {
			m.esc.Words(b, f)
			return
		}
		m.esc.Words(b, f[:i])
		// Every argument is text to escape, so any verb but %% reads as %s.
		switch {
		case f[i+1] == '%':
			b.WriteByte('%')
		case next < len(l.args):
			b.WriteString(m.esc.Text(argText(l.args[next])))
			next++
		default:
			b.WriteString("%!s(MISSING)")
		}
		f = f[i+2:]
	}
}

// argText is what fmt.Sprint(a) writes, without fmt for the usual types.
func argText(a any) string {
	switch a := a.(type) {
	case string:
		return a
	case int:
		return strconv.Itoa(a)
	case connectors.Date:
		return dateString(a)
	}
	return fmt.Sprint(a)
}

// dateString is d.String() without fmt.
func dateString(d connectors.Date) string {
	if d.IsZero() || d.Year < 0 || d.Year > 9999 || d.Month < 1 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return d.String()
	}
	var buf [10]byte
	return string(appendDate(buf[:0], d))
}

// appendDate writes d as YYYY-MM-DD, as connectors.Date.String does for
// years 0..9999.
func appendDate(b []byte, d connectors.Date) []byte {
	b = appendPadded(b, d.Year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(d.Month), 2)
	b = append(b, '-')
	return appendPadded(b, d.Day, 2)
}

func appendPadded(b []byte, n, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func healthWord(h Health) string { return strings.ReplaceAll(string(h), "_", " ") }

func forecastText(f Forecast, s Settings) string {
	switch {
	case f.Remaining == 0 && f.Enough:
		return "all items done"
	case !f.Enough:
		return "not enough history (" + strconv.Itoa(f.Samples) + " items completed in the last " + strconv.Itoa(s.Window) +
			" days; need " + strconv.Itoa(s.MinSamples) + ")"
	}
	return dateString(f.P85) + " (" + strconv.Itoa(int(s.Confidence*100+0.5)) + "% confidence); 50%: " + dateString(f.P50) +
		", 95%: " + dateString(f.P95)
}

// statusDoc is the sticky status comment.
func statusDoc(r Record, s Settings) doc {
	d := doc{emoji: emojis[r.Health], title: "Delivery status: " + healthWord(r.Health)}
	d.lines = append(d.lines, text("%s", r.Title))
	cur, ok := r.Commitment()
	if ok {
		d.items = append(d.items, item{"Promise", text("%s (%s)", cur.Date, sourceText(cur))})
	} else {
		d.items = append(d.items, item{"Promise", text("none yet: write /commit YYYY-MM-DD [reason] or a line Committed: YYYY-MM-DD in the description")})
	}
	if t, ok := r.Target(); ok {
		d.items = append(d.items, item{"Current due date", text("%s", t)})
	} else {
		d.items = append(d.items, item{"Current due date", text("none")})
	}
	if r.Delivered {
		d.items = append(d.items, item{"Delivered", text("%s", r.DeliveredOn)})
	} else {
		d.items = append(d.items, item{"Forecast", text("%s", forecastText(r.Forecast, s))})
		// Once the date has passed the meaning line says so; a chance of
		// meeting it would be noise.
		if c := chanceText(r.Forecast); c != "" && ok && r.Health != Overdue {
			d.items = append(d.items, item{"Chance", text("%s", c)})
		}
		if why := inputsText(r.Forecast, r.Ref.Kind); why != "" {
			d.items = append(d.items, item{"Why", text("%s", why)})
		}
	}
	d.items = append(d.items, item{"Progress", progressText(r)})
	if l := r.Linked; l != nil {
		d.items = append(d.items, item{"Linked", linkedText(r, *l)})
	}
	if ok && r.Total > cur.Scope && cur.Scope > 0 {
		d.items = append(d.items, item{"Scope added since the promise", text("%s items (+%s%%)", r.Total-cur.Scope, (r.Total-cur.Scope)*100/cur.Scope)})
	}
	if len(r.Commitments) > 1 {
		// The latest dates only: 700 recommitments would not fit in a
		// comment, and the story is in the last few and the first.
		start := max(0, len(r.Commitments)-maxHistory)
		if start > 0 {
			first := r.Commitments[0]
			d.items = append(d.items, item{"History", text("%s earlier dates not shown; the first, %s, promised on %s, is what the track record judges.",
				start, first.Date, first.At.Format("2006-01-02"))})
		}
		for i, c := range r.Commitments[start:] {
			l := text("%s, %s on %s", c.Date, sourceText(c), c.At.Format("2006-01-02"))
			if c.Reason != "" {
				l = text("%s, %s on %s: %s", c.Date, sourceText(c), c.At.Format("2006-01-02"), c.Reason)
			}
			d.items = append(d.items, item{"History " + strconv.Itoa(start+i+1), l})
		}
	}
	d.lines = append(d.lines, text("%s", meaning(r, s)))
	if l, ok := ignoredNote(r); ok {
		d.lines = append(d.lines, l)
	}
	d.note = "slipwatch keeps this comment up to date. Commands: /commit YYYY-MM-DD [reason], /slipwatch status, /slipwatch help."
	return d
}

// maxHistory is how many dates of the history the status comment shows.
const maxHistory = 10

func sourceText(c Commitment) string {
	switch c.Source {
	case DeclaredCommand:
		return "committed by " + c.By
	case DeclaredDescription:
		return "declared in the description"
	}
	return "the first due date seen"
}

// meaning is the one line a director reads.
func meaning(r Record, s Settings) string {
	cur, _ := r.Commitment()
	t, _ := r.Target()
	switch r.Health {
	case DeliveredOnTime:
		return "Delivered as promised."
	case DeliveredLate:
		return "Delivered " + strconv.Itoa(r.DeliveredOn.Sub(cur.Date)) + " days after the promise."
	case Overdue:
		return "The promised date " + dateString(cur.Date) + " has passed and the work is not done."
	case Slipped:
		return "The due date is " + strconv.Itoa(t.Sub(cur.Date)) + " days after the promise; leadership should hear a new date."
	case AtRisk:
		if f := r.Forecast; f.ChanceKnown && f.Promised == cur.Date {
			return "At the current pace the work is only " + percentText(f.Chance) + " likely to finish by the promised " + dateString(cur.Date) + "."
		}
		return "At the current pace the work is likely to finish after the promised " + dateString(cur.Date) + "."
	case NoDate:
		return "No date has been promised."
	}
	return "On track for the promised date."
}

// eventDoc is one event comment: short and factual.
func eventDoc(r Record, ev event, s Settings) doc {
	e := ev.data
	switch ev.kind {
	case EvCommitted:
		d := doc{emoji: "📌", title: "Commitment recorded"}
		d.lines = append(d.lines, text("%s is promised for %s.", r.Title, e.to))
		if e.reason != "" {
			d.lines = append(d.lines, text("Reason: %s", e.reason))
		}
		d.lines = append(d.lines, promiseChance(r, e.to, s)...)
		return d
	case EvRecommitted:
		d := doc{emoji: "🔁", title: "Recommitted"}
		d.lines = append(d.lines, text("The promise for %s moved from %s to %s (%s days), by %s.", r.Title, e.from, e.to, e.to.Sub(e.from), e.by))
		if e.reason != "" {
			d.lines = append(d.lines, text("Reason: %s", e.reason))
		}
		d.lines = append(d.lines, promiseChance(r, e.to, s)...)
		return d
	case EvSlipped:
		return doc{emoji: "🔴", title: "Slipped", lines: []line{
			text("The due date of %s is now %s, %s days after the promised %s.", r.Title, e.to, e.to.Sub(e.from), e.from),
			text("Recommit with /commit YYYY-MM-DD [reason] so the new date is on record.")}}
	case EvPulledIn:
		return doc{emoji: "⏩", title: "Pulled in", lines: []line{
			text("The due date of %s moved from %s to %s.", r.Title, e.from, e.to)}}
	case EvAtRisk:
		f := r.Forecast
		if !f.ChanceKnown || f.Promised != e.from {
			// The forecast moved on since (a record rendered later).
			return doc{emoji: "🟠", title: "At risk", lines: []line{
				text("At the team's pace over the last %s days, %s is %s likely to finish by %s, after the promised %s.", s.Window, r.Title, confidenceText(s), e.to, e.from),
				text("%s of %s items are done.", r.Done, r.Total)}}
		}
		d := doc{emoji: "🟠", title: "At risk", lines: []line{
			text("At the team's pace over the last %s days, %s is %s likely to finish by the promised %s; %s likely by %s.", s.Window, r.Title, percentText(f.Chance), e.from, confidenceText(s), e.to)}}
		if why := inputsText(f, r.Ref.Kind); why != "" {
			d.lines = append(d.lines, text("Why: %s.", why))
		}
		d.lines = append(d.lines, text("%s of %s items are done.", r.Done, r.Total))
		return d
	case EvScopeGrew:
		return doc{emoji: "📈", title: "Scope grew", lines: []line{
			text("%s items were added to %s since the promise of %s (+%s%%).", e.added, r.Title, e.from, int(e.growth*100+0.5)),
			text("Added scope is the usual reason dates slip: cut scope or recommit.")}}
	case EvOverdue:
		return doc{emoji: "⏰", title: "Overdue", lines: []line{
			text("%s was promised for %s and is not delivered: %s of %s items done.", r.Title, e.from, r.Done, r.Total)}}
	case EvDelivered:
		if e.to.After(e.from) {
			return doc{emoji: "☑️", title: "Delivered late", lines: []line{
				text("%s was delivered on %s, %s days after the promised %s.", r.Title, e.to, e.to.Sub(e.from), e.from)}}
		}
		return doc{emoji: "✅", title: "Delivered", lines: []line{
			text("%s was delivered on %s, as promised for %s.", r.Title, e.to, e.from)}}
	case EvStatusUpdate:
		d := statusDoc(r, s)
		d.title = "Status update: " + healthWord(r.Health)
		d.note = ""
		return d
	}
	return doc{title: string(ev.kind)}
}

// promiseChance is the chance of a promise for date made in this pass, for
// its committed or recommitted comment: a promise already unlikely is said
// there, once, rather than in an at_risk alarm of its own.
func promiseChance(r Record, date connectors.Date, s Settings) []line {
	f := r.Forecast
	if !f.Enough || !f.ChanceKnown || f.Promised != date || f.Remaining == 0 {
		return nil
	}
	if r.AtRisk {
		ls := []line{text("Already unlikely: at the team's pace it is %s likely by then; %s likely by %s.", percentText(f.Chance), confidenceText(s), f.P85)}
		if why := inputsText(f, r.Ref.Kind); why != "" {
			ls = append(ls, text("Why: %s.", why))
		}
		return ls
	}
	return []line{text("At the team's pace it is %s likely by then; %s likely by %s.", percentText(f.Chance), confidenceText(s), f.P85)}
}

func helpDoc(t connectors.Tracker) doc {
	who := "write permission or commands.allow"
	if t == connectors.Jira {
		who = "on Jira: commands.allow"
	}
	return doc{title: "slipwatch commands", lines: []line{
		text("/commit YYYY-MM-DD [reason]: record the date promised to leadership (" + who + ")."),
		text("/slipwatch status: the current status, now."),
		text("/slipwatch help: this message."),
	}}
}

// linkedText splits a linked pair's combined progress by side.
func linkedText(r Record, l LinkedSide) line {
	due := "no due date"
	if !l.Target.IsZero() {
		due = "due " + l.Target.String()
	}
	if l.Delivered {
		due = "delivered"
	}
	return text("%s on %s: %s of %s items done, %s (this side: %s of %s)",
		l.Title, trackerName(l.Ref.Tracker), l.Done, l.Total, due, r.Done-l.Done, r.Total-l.Total)
}

func trackerName(t connectors.Tracker) string {
	if t == connectors.Jira {
		return "Jira"
	}
	return "GitHub"
}

// The longest comment each tracker takes, in characters: GitHub refuses
// a body over 65,536 ("body is too long"), Jira Cloud a comment over
// 32,767 (Data Center's default is the same). Counted here in UTF-16
// code units, what Jira counts, and never fewer than the code points
// GitHub counts.
const (
	MaxGitHubComment = 65536
	MaxJiraComment   = 32767
)

// shortComment is what a comment is cut to when a tracker refused it for
// its size all the same (a server configured with a lower limit).
const shortComment = 4000

func maxComment(t connectors.Tracker) int {
	if t == connectors.Jira {
		return MaxJiraComment
	}
	return MaxGitHubComment
}

// fit is body cut so that the comment the connector writes stays within
// tracker t's limit: on GitHub the body, a blank line and the marker; on
// Jira the body alone (the marker goes to a comment property). A cut body
// ends at a line of slipwatch's own, so no escape or markup is split, and
// says it was cut.
func fit(t connectors.Tracker, body, marker string) string {
	return fitWithin(t, body, marker, maxComment(t))
}

func fitWithin(t connectors.Tracker, body, marker string, limit int) string {
	room := limit
	if t != connectors.Jira {
		room -= utf16Len(marker) + len("\n\n")
	}
	if utf16Len(body) <= room {
		return body
	}
	note := "\n" + render(t, doc{title: "Cut to fit", note: "This comment was cut to fit the tracker's limit; slipwatch check and /api/v1/commitments have it all."})
	room -= utf16Len(note)
	cut, n := 0, 0
	for i, r := range body {
		if n += utf16RuneLen(r); n > room {
			break
		}
		if r == '\n' {
			cut = i + 1
		}
	}
	return body[:cut] + note
}

// Shorten is a for a tracker that refused it for its size although it
// fits the published limit (a server set lower): its body cut to half
// its size, and to a few thousand characters at most, saying so.
func Shorten(t connectors.Tracker, a Action) Action {
	size := utf16Len(a.Body)
	if t != connectors.Jira {
		size += utf16Len(a.Marker) + len("\n\n")
	}
	a.Body = fitWithin(t, a.Body, a.Marker, min(shortComment, size/2))
	return a
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16RuneLen(r)
	}
	return n
}

func utf16RuneLen(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}
