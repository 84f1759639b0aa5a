package reconcile

import (
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
)

// Commands and the "Committed:" line are read from plain text only. A
// how-to comment that shows "/commit 2026-12-01" in a code block, a reply
// that quotes someone's command, or a note hidden in an HTML comment must
// never record a promise: what counts is what a reader sees as a line of
// the comment's own text.
//
// plainLines calls yield with each line of body, in the markup of tracker
// t, that starts as plain text, until yield returns false. Left out:
//
//   - GitHub Markdown: fenced code blocks (``` or ~~~, closed by a fence
//     of the same character at least as long, or open to the end),
//     indented code (a line indented four columns or more; also taken
//     for a paragraph's continuation, which reads the same), block quotes
//     ("> " and the lines that continue the quoted paragraph up to a
//     blank line), and HTML comments (<!-- … -->, on one line or
//     several; the text before one on its line stays).
//   - Jira wiki markup: {code}…{code} and {noformat}…{noformat} (with or
//     without parameters, {code:java}), {quote}…{quote}, and "bq." lines;
//     the text before such a macro on its line stays.
//
// It is a reader of line starts, not a full renderer: anything it does
// not know reads as plain text, and a line it leaves out is never a
// command.
func plainLines(t connectors.Tracker, body string, yield func(line string) bool) {
	if t == connectors.Jira {
		wikiPlain(body, yield)
		return
	}
	markdownPlain(body, yield)
}

func markdownPlain(body string, yield func(string) bool) {
	fence := ""        // the open code fence, "" when none
	inComment := false // inside <!-- … --> across lines
	inQuote := false   // in a block quote's paragraph
	for line := range strings.SplitSeq(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if inComment {
			// The rest of the line after --> belongs to the HTML block.
			inComment = !strings.Contains(line, "-->")
			continue
		}
		indent, rest := columns(line)
		if fence != "" {
			if indent < 4 && closesFence(rest, fence) {
				fence = ""
			}
			continue
		}
		switch {
		case strings.TrimSpace(rest) == "":
			inQuote = false
			continue
		case indent >= 4:
			continue // indented code, or a paragraph's continuation
		case strings.HasPrefix(rest, "```") || strings.HasPrefix(rest, "~~~"):
			fence = rest[:fenceLen(rest)]
			continue
		case strings.HasPrefix(rest, ">"):
			inQuote = true
			continue
		case inQuote:
			continue // a lazy continuation of the quoted paragraph
		}
		line, inComment = stripHTMLComments(line)
		if !yield(line) {
			return
		}
	}
}

// columns is the indentation of line in columns (a tab to the next
// multiple of four) and the line after it.
func columns(line string) (int, string) {
	n := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ':
			n++
		case '\t':
			n += 4 - n%4
		default:
			return n, line[i:]
		}
	}
	return n, ""
}

// fenceLen is the length of the run of s's first character.
func fenceLen(s string) int {
	n := 0
	for n < len(s) && s[n] == s[0] {
		n++
	}
	return n
}

// closesFence reports whether s (after its indentation) closes fence: a
// run of the same character at least as long, and nothing else.
func closesFence(s, fence string) bool {
	n := fenceLen(s)
	return s != "" && s[0] == fence[0] && n >= len(fence) && strings.TrimSpace(s[n:]) == ""
}

// stripHTMLComments drops the HTML comments of line and reports whether
// one stays open past its end.
func stripHTMLComments(line string) (string, bool) {
	if !strings.Contains(line, "<!--") {
		return line, false
	}
	var b strings.Builder
	for {
		i := strings.Index(line, "<!--")
		if i < 0 {
			b.WriteString(line)
			return b.String(), false
		}
		b.WriteString(line[:i])
		j := strings.Index(line[i+4:], "-->")
		if j < 0 {
			return b.String(), true
		}
		line = line[i+4+j+3:]
	}
}

// wikiBlocks are the Jira macros whose content is not the comment's own
// text.
var wikiBlocks = []string{"code", "noformat", "quote"}

func wikiPlain(body string, yield func(string) bool) {
	open := "" // the macro whose content this is, "" when none
	for line := range strings.SplitSeq(body, "\n") {
		line = strings.TrimSuffix(line, "\r")
		plain := open == ""
		cut := len(line) // where the line's plain part ends
		for i := 0; i < len(line); i++ {
			if line[i] != '{' {
				continue
			}
			name, end, ok := wikiMacro(line[i:])
			if !ok {
				continue
			}
			switch {
			case open == "":
				open = name
				cut = min(cut, i)
			case name == open && end == len(name)+2: // "{code}" closes, "{code:x}" does not
				open = ""
			}
			i += end - 1
		}
		if !plain {
			continue
		}
		if t := strings.TrimSpace(line); len(t) >= 3 && strings.EqualFold(t[:3], "bq.") {
			continue
		}
		if !yield(line[:cut]) {
			return
		}
	}
}

// wikiMacro reads a code, noformat or quote macro tag at the start of s
// ("{code}", "{code:java}"), and how long the tag is.
func wikiMacro(s string) (name string, end int, ok bool) {
	close := strings.IndexByte(s, '}')
	if close < 0 {
		return "", 0, false
	}
	tag := s[1:close]
	name, _, _ = strings.Cut(tag, ":")
	for _, b := range wikiBlocks {
		if strings.EqualFold(name, b) {
			return b, close + 1, true
		}
	}
	return "", 0, false
}
