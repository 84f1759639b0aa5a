// Package markup makes text from users inert where slipwatch writes it:
// GitHub Markdown, Jira wiki markup, and the plain-text titles of the
// tracking issues it creates. A milestone called "@org/team <!--" must not
// ping a team, open an HTML comment that swallows a marker, or become a
// link, wherever slipwatch repeats it. The reconcile core (comments) and
// the connectors (tracking issues) share these escapers.
package markup

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxField bounds one piece of user text in a comment: a title or a reason
// longer than this is cut, with an ellipsis.
const MaxField = 300

// zwsp is a zero-width space: invisible, and it stops GitHub from reading
// "@name" as a mention or "#12" as a cross-reference, which would notify
// people; a backslash stops neither.
const zwsp = "\u200b"

// Escaper writes text in one markup.
type Escaper struct {
	words     *strings.Replacer   // escapes every character the markup gives a meaning
	lineStart func(string) string // keeps text that may begin a line from starting a block
}

var (
	mdWords = strings.NewReplacer(
		`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "#", "#"+zwsp, "|", `\|`, "~", `\~`,
		"<", "&lt;", ">", "&gt;", "&", "&amp;", "@", "@"+zwsp, "\r", " ", "\n", " ",
		// GitHub links a bare URL or www. name by itself.
		"://", ":"+zwsp+"//", "www.", "www"+zwsp+".")
	wikiWords = strings.NewReplacer(
		`\`, `\\`, "{", `\{`, "}", `\}`, "[", `\[`, "]", `\]`, "|", `\|`, "*", `\*`, "_", `\_`, "-", `\-`,
		"+", `\+`, "^", `\^`, "~", `\~`, "!", `\!`, "?", `\?`, "#", `\#`, "\r", " ", "\n", " ",
		// Jira links a bare URL by itself.
		"://", ":"+zwsp+"//")

	// Markdown is GitHub-flavoured Markdown: no formatting, no HTML (so no
	// comment that could swallow a marker), no @-mention, no link.
	Markdown = Escaper{words: mdWords, lineStart: mdLineStart}
	// Wiki is Jira wiki markup: no macros ({panel}), links, mentions
	// ([~user]) or formatting.
	Wiki = Escaper{words: wikiWords, lineStart: wikiLineStart}
)

// Words writes s escaped, whole: slipwatch's own words, which are plain
// text too ("[reason]" would be a link in wiki markup).
func (e Escaper) Words(b *strings.Builder, s string) { _, _ = e.words.WriteString(b, s) }

// Text is user text made inert: cut to MaxField, every special character
// escaped, and safe at the start of a line.
func (e Escaper) Text(s string) string { return e.lineStart(e.words.Replace(truncate(s))) }

// mdLineStart keeps escaped text that may begin a line from starting a
// block: a list ("- ", "+ ", "1. ", "1) "), a setext underline or an
// indented code block.
func mdLineStart(s string) string {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return s
	}
	switch s[0] {
	case '-', '+', '=':
		return `\` + s
	}
	i := 0
	for i < len(s) && i < 9 && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		return s[:i] + `\` + s[i:]
	}
	return s
}

// wikiLineStart keeps escaped text that may begin a line from being a
// heading ("h1. ") or a quote ("bq. "): wiki markup has no escape for
// those letters, so a zero-width space goes first.
func wikiLineStart(s string) string {
	s = strings.TrimLeft(s, " \t")
	if len(s) >= 3 && s[2] == '.' && (s[0] == 'h' && '1' <= s[1] && s[1] <= '6' || s[:2] == "bq") {
		return zwsp + s
	}
	return s
}

// truncate cuts s to MaxField bytes, less its last (maybe partial) rune,
// and ends it with an ellipsis.
func truncate(s string) string {
	if len(s) <= MaxField {
		return s
	}
	r := []rune(s[:MaxField])
	return string(r[:len(r)-1]) + "…"
}

// titleDefang puts a zero-width space where a title could turn into
// something live on either tracker. The visible text is unchanged.
var titleDefang = strings.NewReplacer(
	"@", "@"+zwsp, // a mention
	"#", "#"+zwsp, // a cross-reference
	"<", "<"+zwsp, // an HTML tag: "<" then a letter
	"](", "]"+zwsp+"(", // a Markdown link or image
	"[", "["+zwsp, // a wiki link, [~mention] or [text|url]
	"://", ":"+zwsp+"//", // an autolinked URL
	"www.", "www"+zwsp+".", // GitHub autolinks www. too
	"!", "!"+zwsp, // a wiki image !url!
	"{", "{"+zwsp, // a wiki macro
)

// Title is user text for a plain-text title (a GitHub issue title, a Jira
// summary): one line, at most max bytes, with nothing a tracker could
// render as a mention, a reference, HTML, a link or a macro. Titles are
// not markup, so escaping with backslashes or entities would show; a
// zero-width space keeps what people read and breaks what machines
// parse.
func Title(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	out := titleDefang.Replace(s)
	if len(out) <= max {
		return out
	}
	// Cut the text before defanging, so a cut never splits what was
	// inserted: the result stays inert.
	for n := len(s); n > 0; {
		n--
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if out = titleDefang.Replace(s[:n]) + "…"; len(out) <= max {
			return out
		}
	}
	return "…"
}
