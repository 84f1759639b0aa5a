package reconcile

import "github.com/slipwatch/slipwatch/connectors"

// Quiet about the past. The first time slipwatch runs against a project it
// meets every version released, milestone closed and epic done in its
// history. None of them is news, and none of their due dates was a promise
// anyone made while slipwatch watched: announcing "Commitment recorded" and
// "Delivered" on each (and opening a tracking issue for it) would bury the
// threads people read under months-old noise.
//
// So a deliverable that is closed the first time slipwatch sees it is
// historical: its record is kept (check, the API and the pages list it as
// delivered), but no event is announced, no status comment written, no
// command answered, and so no thread is created for it. Its due date is
// not taken as a baseline promise; only a date declared in its description
// ("Committed: …") is, and only such a record counts in the track record.
//
// "First time" means slipwatch has nothing of it anywhere: no record in
// Redis and none of its own markers on the thread. A record rebuilt from
// the status comment's marker after Redis was lost is not first seen, nor
// is one whose thread holds slipwatch's event or reply comments (a crash
// before the status comment): those were watched before, and are judged as
// always (a close slipwatch had not announced yet is "Delivered").
//
// Reopened, a historical deliverable is live from then on, as if first
// seen open: its due date is the baseline promise, and its thread and
// comments follow as for any other.

// historical is whether the record of d is historical after this
// observation: fresh says slipwatch knew nothing of it before (no record,
// no marker on its thread); was is what the record said.
func historical(was, fresh bool, d connectors.Deliverable) bool {
	switch {
	case !d.Closed:
		return false // reopened, or never closed: live
	case fresh:
		return true
	}
	return was
}

// reopened is what a historical deliverable reopened has to say about its
// promise, never announced while it was historical: the first one, as
// commit announced it (the same event ID). A recommitment declared while
// it was closed shows in the status comment's history.
func reopened(rec Record) []event {
	c, ok := rec.First()
	if !ok {
		return nil // the baseline is taken, and announced, in this pass
	}
	return []event{newEvent(rec.ID, EvCommitted, eventData{to: c.Date, by: c.By, reason: c.Reason}, dateString(c.Date))}
}
