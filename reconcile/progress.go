package reconcile

import "github.com/slipwatch/slipwatch/connectors"

// progressText is the status comment's progress, saying once what its
// items are. On a GitHub milestone they are what the milestone page counts,
// issues and pull requests (connectors/github), less the tracking issue the
// comment is on, which the page counts too; the forecast's pace counts the
// same kinds. Elsewhere (Jira's issues, a linked pair's work on both
// trackers) they are items.
func progressText(r Record) line {
	if r.Ref.Tracker == connectors.GitHub && r.Linked == nil {
		return text("%s of %s issues and pull requests done (this tracking issue not counted)", r.Done, r.Total)
	}
	return text("%s of %s items done", r.Done, r.Total)
}
