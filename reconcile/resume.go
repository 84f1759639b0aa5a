package reconcile

import "slices"

// Progress is the record to save once the actions marked done (Reconcile's
// actions for prev, in order) are carried out, so that a pass cut short —
// by its deadline, a crash, a tracker that stops answering — resumes where
// it stopped instead of starting over, and what it did is not lost. ok is
// false when there is nothing to save yet.
//
// Reconcile orders a pass as events, then the status comment, then the
// replies; the record saved follows that order:
//
//   - While any event or the status comment is not done, it is prev with
//     the thread it now uses and the done events remembered as said (and
//     the status comment's hash once it is written). Nothing else of the
//     pass is kept: the commitments it took, its hysteresis (at_risk) and
//     its due-date history are decided again by the resumed pass, on the
//     same observation, and name the same events, which the record and
//     their markers keep from being said twice. Keeping a commitment
//     whose event is not posted yet would lose that event: a resumed pass
//     takes no commitment twice, so never decides it again.
//   - Once all of them are done, it is next, less the replies not posted:
//     every commitment is kept, also that of a /commit whose answer is
//     still to come. The resumed pass answers that command as the cut one
//     would have ("Recorded", the history unchanged): see takenBy.
//
// A prev without a record (a deliverable never seen, or Redis lost) saves
// nothing before its events are out: the thread's markers carry that
// progress, and a record saved half-way would keep the next pass from
// rebuilding from the status comment.
func Progress(prev, next Record, actions []Action, done []bool) (Record, bool) {
	newsDone, all := true, true
	for i, a := range actions {
		d := i < len(done) && done[i]
		all = all && d
		if a.Kind != Reply {
			newsDone = newsDone && d
		}
	}
	if all {
		return next, true
	}
	if newsDone {
		cp := next
		cp.Replied = slices.DeleteFunc(slices.Clone(next.Replied), func(id string) bool {
			for i, a := range actions {
				if a.Kind == Reply && a.EventID == id && !done[i] {
					return true
				}
			}
			return false
		})
		return cp, true
	}
	if prev.IsZero() {
		return Record{}, false
	}
	cp := prev
	cp.Thread = next.Thread
	cp.Announced = slices.Clone(prev.Announced)
	for i, a := range actions {
		if i >= len(done) || !done[i] {
			continue
		}
		switch a.Kind {
		case PostEvent:
			if !slices.Contains(cp.Announced, a.EventID) {
				cp.Announced = append(cp.Announced, a.EventID)
			}
		case UpsertStatus:
			cp.StatusHash = next.StatusHash
		}
	}
	cp.Announced = lastIDs(cp.Announced, maxAnnounced)
	return cp, true
}
