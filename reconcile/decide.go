package reconcile

import (
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// decide is the one place where a promise is judged. From the record (the
// commitment, the due date's history, delivery, the forecast, the at_risk
// warning already given) and today's facts it returns every event that is
// true now, and whether the at_risk warning stands. It returns what is
// true, not what is new: render leaves out what was already announced, by
// event ID, so deciding again is harmless. promiseNews says this pass
// announces the current promise: a promise already unlikely then is said
// in that comment, and its at_risk event is only remembered.
func decide(rec Record, f facts, s Settings, promiseNews bool) (events []event, atRisk bool) {
	cur, committed := rec.Commitment()
	switch {
	case !committed:
		return nil, rec.AtRisk
	case rec.Delivered:
		return []event{newEvent(rec.ID, EvDelivered, eventData{from: cur.Date, to: rec.DeliveredOn}, dateString(rec.DeliveredOn))}, rec.AtRisk
	}
	add := func(kind EventKind, data eventData, values ...string) {
		events = append(events, newEvent(rec.ID, kind, data, values...))
	}
	promise, due := cur.Date, f.target
	if f.hasTarget && settled(rec, f.now, s.Settle) {
		if due.After(promise) {
			add(EvSlipped, eventData{from: promise, to: due}, dateString(promise), dateString(due))
		}
		if before, ok := pulledFrom(rec, s.Settle); ok && due.Before(before) {
			add(EvPulledIn, eventData{from: before, to: due}, dateString(before), dateString(due))
		}
	}
	overdue := f.today.After(promise)
	if overdue {
		add(EvOverdue, eventData{from: promise}, dateString(promise))
	}
	// at_risk is the chance of meeting the promise falling below
	// forecast.risk_below (IsAtRisk). Overdue says more, and replaces it; a
	// slipped due date says more too, so it raises no new warning, though
	// a recovering chance still clears one.
	// A promise made in this pass is judged afresh, whatever the one
	// before it was.
	fc, was := rec.Forecast, rec.AtRisk && !promiseNews
	slipped := f.hasTarget && due.After(promise)
	switch {
	case overdue || fc.Promised != promise:
		atRisk = false
	case slipped:
		atRisk = was && IsAtRisk(true, fc, s)
	default:
		atRisk = IsAtRisk(was, fc, s)
	}
	if atRisk {
		add(EvAtRisk, eventData{from: promise, to: fc.P85, told: promiseNews}, dateString(promise))
	}
	if cur.Scope > 0 && s.WarnGrowth > 0 {
		added := rec.Total - cur.Scope
		growth := float64(added) / float64(cur.Scope)
		if step := int(growth / s.WarnGrowth); step >= 1 {
			add(EvScopeGrew, eventData{from: promise, growth: growth, added: added}, dateString(promise), strconv.Itoa(step))
		}
	}
	if s.StatusEvery > 0 {
		if slot := statusSlot(f.now, s.StatusEvery); slot > statusSlot(rec.Commitments[0].At, s.StatusEvery) {
			add(EvStatusUpdate, eventData{}, strconv.FormatInt(slot, 10))
		}
	}
	return events, atRisk
}

// wake is the next instant after now at which a pass on the same
// observation would decide something new, or zero when none will: the end
// of a settle (a moved due date, a changed "Committed:" line), the next
// local midnight while the deliverable is open (the forecast counts from
// today, and the day after the promise it is overdue), and the next
// status-update slot. The runner schedules the deliverable then, so what
// time alone brings is said on time, not at the next poll.
func wake(rec Record, f facts, s Settings) time.Time {
	var next time.Time
	at := func(t time.Time) {
		if t.After(f.now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if p := rec.Pending; p != nil {
		at(p.Since.Add(s.Settle))
	}
	if rec.Delivered {
		return next
	}
	at(f.today.AddDays(1).Time(s.Location))
	cur, committed := rec.Commitment()
	if !committed {
		return next
	}
	if n := len(rec.Targets); n > 0 && f.hasTarget {
		// Only a due date that will be news once it stood: a slip, or a
		// pull-in from a date that stood before it.
		before, pulled := pulledFrom(rec, s.Settle)
		if f.target.After(cur.Date) || (pulled && f.target.Before(before)) {
			at(rec.Targets[n-1].At.Add(s.Settle))
		}
	}
	if s.StatusEvery > 0 {
		at(time.Unix(0, (statusSlot(f.now, s.StatusEvery)+1)*int64(s.StatusEvery)))
	}
	return next
}

// statusSlot numbers the periods of a periodic status update: one update
// per slot, from the slot after the first promise on.
func statusSlot(t time.Time, every time.Duration) int64 { return t.UnixNano() / int64(every) }

// settled reports whether the current due date has stood for settle.
func settled(rec Record, now time.Time, settle time.Duration) bool {
	n := len(rec.Targets)
	return n == 0 || now.Sub(rec.Targets[n-1].At) >= settle
}

// pulledFrom is the due date before the current one, if it stood long
// enough to be news (a date moved out and back within Settle is a flap).
func pulledFrom(rec Record, settle time.Duration) (connectors.Date, bool) {
	n := len(rec.Targets)
	if n < 2 {
		return connectors.Date{}, false
	}
	p := rec.Targets[n-2]
	if p.Date.IsZero() || rec.Targets[n-1].At.Sub(p.At) < settle {
		return connectors.Date{}, false
	}
	return p.Date, true
}

// health is the one word for the record after decide.
func health(rec Record, f facts) Health {
	cur, ok := rec.Commitment()
	switch {
	case rec.Delivered && ok && !rec.DeliveredOn.After(cur.Date):
		return DeliveredOnTime
	case rec.Delivered && ok:
		return DeliveredLate
	case rec.Historical && rec.Delivered && f.hasTarget:
		// No promise known, but the tracker's own due date says whether
		// it was delivered on time (history.go); the track record leaves
		// it out all the same.
		if rec.DeliveredOn.After(f.target) {
			return DeliveredLate
		}
		return DeliveredOnTime
	case !ok:
		return NoDate
	case f.today.After(cur.Date):
		return Overdue
	case f.hasTarget && f.target.After(cur.Date):
		return Slipped
	case rec.AtRisk:
		return AtRisk
	}
	return OnTrack
}
