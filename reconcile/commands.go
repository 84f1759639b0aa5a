package reconcile

import (
	"regexp"
	"strings"

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
	declaredRE = regexp.MustCompile(`(?im)^[ \t>*_-]*committed(?: to leadership)?[ \t*_]*:[ \t*_]*(\d{4}-\d{2}-\d{2})\b`)
)

// maxReason bounds a recorded reason: it is repeated in comments.
const maxReason = 200

// ParseCommand reads the first command line of a comment body. Commands
// are strict: a line that starts with /commit or /slipwatch and nothing
// else in the comment counts.
func ParseCommand(body string) (Command, bool) {
	// Most comments are conversation: skip them without splitting lines.
	if !strings.Contains(body, "/commit") && !strings.Contains(body, "/slipwatch") {
		return Command{}, false
	}
	for line := range strings.SplitSeq(body, "\n") {
		line = strings.TrimSpace(strings.TrimRight(line, "\r"))
		switch {
		case strings.HasPrefix(line, "/commit"):
			m := commitRE.FindStringSubmatch(line)
			if m == nil {
				continue // "/committed" and the like are not commands
			}
			c := Command{Verb: "commit", Reason: strings.TrimSpace(m[2])}
			if len(c.Reason) > maxReason {
				c.Reason = c.Reason[:maxReason] + "…"
			}
			if m[1] == "" {
				c.Err = "no date: write /commit YYYY-MM-DD [reason]"
				return c, true
			}
			d, err := connectors.ParseDate(m[1])
			if err != nil {
				c.Err = "the date is not YYYY-MM-DD"
				return c, true
			}
			c.Date = d
			return c, true
		case line == "/slipwatch status":
			return Command{Verb: "status"}, true
		case line == "/slipwatch help" || line == "/slipwatch":
			return Command{Verb: "help"}, true
		}
	}
	return Command{}, false
}

// declaredDate finds "Committed: YYYY-MM-DD" (any case, also "Committed
// to leadership:") in a description; the last one wins.
func declaredDate(desc string) (connectors.Date, bool) {
	all := declaredRE.FindAllStringSubmatch(desc, -1)
	for i := len(all) - 1; i >= 0; i-- {
		if d, err := connectors.ParseDate(all[i][1]); err == nil {
			return d, true
		}
	}
	return connectors.Date{}, false
}
