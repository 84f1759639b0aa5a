package reconcile

import "github.com/slipwatch/slipwatch/connectors"

// IgnoredLine is a "Committed:" date in the description that differs from
// the date taken and is not taken, with why; the status comment says so,
// so the person who wrote it knows it did not count. It is decided again
// on every pass, from the description as it is.
type IgnoredLine struct {
	Date connectors.Date `json:"date"`
	Why  string          `json:"why"`          // IgnoredPast or IgnoredNotAllowed
	By   string          `json:"by,omitempty"` // who wrote the line, when the tracker says
}

// Why a "Committed:" line is not taken.
const (
	IgnoredPast       = "past"        // the date is before today
	IgnoredNotAllowed = "not_allowed" // its writer may not record a commitment
)

// ignoredNote is the status comment's line about a description date not
// taken, if there is one.
func ignoredNote(r Record) (line, bool) {
	ig := r.Ignored
	switch {
	case ig == nil:
		return line{}, false
	case ig.Why == IgnoredPast:
		return text("The description's Committed: %s is in the past; not taken.", ig.Date), true
	case ig.By != "":
		return text("The description's Committed: %s was written by %s, who may not record a commitment; not taken.", ig.Date, ig.By), true
	}
	return text("The description's Committed: %s was written by someone who may not record a commitment; not taken.", ig.Date), true
}
