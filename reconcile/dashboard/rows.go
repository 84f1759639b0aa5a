package dashboard

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
)

// The portfolio's rows are written here rather than by the template:
// html/template calls an escaper through reflection for every value, and
// with a thousand rows of fifteen cells that was most of the page's
// time. Every text from a tracker goes through esc, and every link
// through safeURL; TestPagesEscapeTrackerText holds both to it.

// tbody is the rows as HTML.
func tbody(rows []*row) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 1400)
	for _, w := range rows {
		w.writeHTML(&b)
	}
	return template.HTML(b.String()) //nolint:gosec // built from escaped parts only
}

func (w *row) writeHTML(b *strings.Builder) {
	b.WriteString(`<tr data-id="`)
	esc(b, w.ID)
	b.WriteString(`" data-health="`)
	esc(b, string(w.Health))
	b.WriteString("\">\n<td class=\"team\">")
	esc(b, w.Team)
	b.WriteString(` <span class="tracker">`)
	esc(b, w.TrackerName)
	b.WriteString("</span></td>\n<th scope=\"row\" class=\"deliverable\"><a class=\"title\" href=\"commitments/")
	b.WriteString(url.PathEscape(w.ID))
	b.WriteString(`">`)
	esc(b, w.Title)
	b.WriteString(`</a> <span class="links">`)
	if u, ok := safeURL(w.URL); ok {
		b.WriteString(`<a href="`)
		esc(b, u)
		b.WriteString(`" rel="noopener noreferrer" aria-label="`)
		esc(b, w.Title+": the "+w.Kind+" on "+w.TrackerName)
		b.WriteString(`">`)
		esc(b, w.Kind)
		b.WriteString(`</a>`)
	}
	if u, ok := safeURL(w.ThreadURL); ok {
		b.WriteString(` · <a href="`)
		esc(b, u)
		b.WriteString(`" rel="noopener noreferrer" aria-label="`)
		esc(b, w.Title+": its thread "+w.Thread)
		b.WriteString(`">thread</a>`)
	} else if w.Thread != "" {
		b.WriteString(` · <span title="thread">`)
		esc(b, w.Thread)
		b.WriteString(`</span>`)
	}
	b.WriteString("</span></th>\n")
	for _, d := range [...]string{w.First, w.Promise, w.Due, w.P50, w.P85, w.P95} {
		b.WriteString(`<td class="date">`)
		esc(b, d)
		b.WriteString("</td>\n")
	}
	b.WriteString(`<td class="num">`)
	esc(b, w.Chance)
	b.WriteString("</td>\n<td><span class=\"health health-")
	esc(b, string(w.Health))
	b.WriteString(`"><span aria-hidden="true">`)
	b.WriteString(healthIcon(w.Health))
	b.WriteString(`</span> `)
	esc(b, healthText(w.Health))
	b.WriteString(`</span>`)
	if w.HealthNote != "" {
		b.WriteString(` <span class="note">`)
		esc(b, w.HealthNote)
		b.WriteString(`</span>`)
	}
	b.WriteString("</td>\n<td class=\"num progress\">")
	done, total := strconv.Itoa(w.Done), strconv.Itoa(w.Total)
	if w.Total > 0 {
		b.WriteString(`<meter min="0" max="` + total + `" value="` + done + `" aria-hidden="true"></meter> `)
	}
	b.WriteString(done + "/" + total)
	b.WriteString("</td>\n<td class=\"num\">")
	esc(b, w.Slip)
	b.WriteString("</td>\n<td class=\"date\">")
	if w.Changed.Machine != "" {
		b.WriteString(`<time datetime="`)
		esc(b, w.Changed.Machine)
		b.WriteString(`">`)
		esc(b, w.Changed.Text)
		b.WriteString(`</time>`)
	} else {
		esc(b, w.Changed.Text)
	}
	b.WriteString("</td>\n</tr>\n")
}

// escaper escapes text for an HTML element or a quoted attribute.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "\x00", "\uFFFD")

func esc(b *strings.Builder, s string) {
	if strings.ContainsAny(s, "&<>\"'\x00") {
		_, _ = escaper.WriteString(b, s)
		return
	}
	b.WriteString(s)
}

// safeURL is u when it is an absolute http(s) link: a tracker's address,
// never javascript: or data:.
func safeURL(u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return "", false
	}
	return p.String(), true
}
