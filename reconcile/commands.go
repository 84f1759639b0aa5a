package reconcile

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/slipwatch/slipwatch/connectors"
)

// Command is one command read from a comment.
type Command struct {
	Verb   string // commit, status, help
	Date   connectors.Date
	Reason string
	Err    string // why the command cannot be taken as written
}

var (
	commitRE   = regexp.MustCompile(`^/commit(?:\s+(\S+))?(?:\s+(.*))?$`)
	declaredRE = regexp.MustCompile(`(?im)^[ \t*_-]*committed(?: to leadership)?[ \t*_]*:[ \t*_]*(\d{4}-\d{2}-\d{2})\b`)
)

// maxReason bounds a recorded reason: it is repeated in comments.
const maxReason = 200

// ParseCommand reads the first command line of a comment body written in
// the markup of tracker t. Commands are strict: a line that starts with
// /commit or /slipwatch and nothing else in the comment counts, and only
// in plain text: a line in a code block, a quote or an HTML comment is an
// example or a quotation, never a command (see plainLines).
func ParseCommand(t connectors.Tracker, body string) (Command, bool) {
	// Most comments are conversation: skip them without splitting lines.
	if !strings.Contains(body, "/commit") && !strings.Contains(body, "/slipwatch") {
		return Command{}, false
	}
	var cmd Command
	found := false
	plainLines(t, body, func(line string) bool {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "/commit"):
			m := commitRE.FindStringSubmatch(line)
			if m == nil {
				return true // "/committed" and the like are not commands
			}
			cmd, found = Command{Verb: "commit", Reason: cutReason(strings.TrimSpace(m[2]))}, true
			if m[1] == "" {
				cmd.Err = "no date: write /commit YYYY-MM-DD [reason]"
				return false
			}
			d, err := connectors.ParseDate(m[1])
			if err != nil {
				cmd.Err = "the date is not YYYY-MM-DD"
				return false
			}
			cmd.Date = d
			return false
		case line == "/slipwatch status":
			cmd, found = Command{Verb: "status"}, true
			return false
		case line == "/slipwatch help" || line == "/slipwatch":
			cmd, found = Command{Verb: "help"}, true
			return false
		}
		return true
	})
	return cmd, found
}

// cutReason bounds a reason to maxReason bytes, cut where a character
// starts, so what is stored and shown is always valid UTF-8.
func cutReason(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// declaredDate finds "Committed: YYYY-MM-DD" (any case, also "Committed
// to leadership:") in the plain text of a description written in the
// markup of tracker t; the last one wins. A line in a code block, a quote
// or an HTML comment does not count, as for commands: a how-to that shows
// the line is no promise.
func declaredDate(t connectors.Tracker, desc string) (connectors.Date, bool) {
	if !containsFold(desc, "committed") {
		return connectors.Date{}, false
	}
	var plain strings.Builder
	plainLines(t, desc, func(line string) bool {
		plain.WriteString(line)
		plain.WriteByte('\n')
		return true
	})
	all := declaredRE.FindAllStringSubmatch(plain.String(), -1)
	for i := len(all) - 1; i >= 0; i-- {
		if d, err := connectors.ParseDate(all[i][1]); err == nil {
			return d, true
		}
	}
	return connectors.Date{}, false
}

// containsFold reports whether s contains the lower-case ASCII word w in
// any case, without copying s.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}
