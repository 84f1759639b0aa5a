package reconcile

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// Settings are the core's own settings (the runner maps the config).
type Settings struct {
	Location    *time.Location
	Baseline    string // "first_seen" or "declared_only"
	Window      int    // forecast window, days
	Trials      int
	Confidence  float64
	MinSamples  int
	StatusEvery time.Duration // 0: no periodic update
	WarnGrowth  float64
	// Settle is how long a new due date must stand before a slip or
	// pull-in is announced, so a date moved out and back does not spam.
	// Zero takes DefaultSettle.
	Settle time.Duration
	// RiskBelow: at_risk when the chance of meeting the promise is below
	// it. Zero takes DefaultRiskBelow.
	RiskBelow float64
}

// DefaultSettle is Settings.Settle's default.
const DefaultSettle = time.Hour

// Observation is the deliverable as the tracker shows it now.
type Observation struct {
	Snapshot connectors.Snapshot
	// Linked is the other side of a link (links: in the config), as its
	// tracker shows it now; nil when the deliverable is not linked or the
	// other side is not found yet. See link.go.
	Linked *connectors.Snapshot
}

// ActionKind is what an action does.
type ActionKind int

// Action kinds.
const (
	UpsertStatus ActionKind = iota + 1 // create or edit the sticky status comment
	PostEvent                          // a new event comment
	Reply                              // an answer to a command
)

func (k ActionKind) String() string {
	switch k {
	case UpsertStatus:
		return "upsert_status"
	case PostEvent:
		return "post_event"
	case Reply:
		return "reply"
	}
	return "unknown"
}

// Action is one comment to write.
type Action struct {
	Kind      ActionKind
	EventID   string // ledger ID: event ID, reply ID, or "status-<commitment>"
	EventKind string // committed, slipped, … ; reply; status
	CommentID string // UpsertStatus: the comment to edit; "" = create
	Body      string // in the markup of the deliverable's tracker
	Marker    string // hidden marker to attach
	ReplyTo   string // Reply: the command's comment ID
}

// Event kinds (DESIGN.md, Words).
const (
	EvCommitted    = "committed"
	EvRecommitted  = "recommitted"
	EvSlipped      = "slipped"
	EvPulledIn     = "pulled_in"
	EvAtRisk       = "at_risk"
	EvScopeGrew    = "scope_grew"
	EvOverdue      = "overdue"
	EvDelivered    = "delivered"
	EvStatusUpdate = "status_update"
	EvReply        = "reply"
)

// riskMargin is the hysteresis of at_risk: once warned, a deliverable is
// back on track only when the forecast is this many days inside the date.
const riskMargin = 2

// maxAnnounced bounds the IDs a record remembers; older ones are also on
// the thread as markers.
const maxAnnounced = 500

// event is an event decided in this pass, before rendering.
type event struct {
	id, kind string
	data     eventData
}

type eventData struct {
	from, to connectors.Date
	reason   string
	by       string
	growth   float64
	added    int
}

// Reconcile computes the new record and the comments to write from the
// previous record, the observation and now. It does no I/O.
func Reconcile(prev Record, obs Observation, now time.Time, s Settings) (Record, []Action) {
	if s.Location == nil {
		s.Location = time.UTC
	}
	if s.Settle == 0 {
		s.Settle = DefaultSettle
	}
	snap := obs.Snapshot
	d := snap.Deliverable
	// Only a linked side's partner needs the fingerprint (runner: enqueue
	// the other side when this one changed); it costs a hash of every item
	// and comment, so unlinked deliverables skip it.
	observed := ""
	if obs.Linked != nil {
		observed = observedHash(snap)
		d, snap.Throughput = merge(snap, *obs.Linked, s.Location)
	}
	today := connectors.DateOf(now, s.Location)
	rec := prev
	rec.Commitments = slices.Clone(prev.Commitments)
	rec.Targets = slices.Clone(prev.Targets)
	rec.Announced = slices.Clone(prev.Announced)

	// What slipwatch already said on the thread: markers in its own
	// comments only.
	var onThread []string
	statusComment := ""
	var statusText connectors.Comment
	var status rawMarker // the status comment's marker, decoded only if needed
	id := CommitmentID(d.Ref)
	if snap.Thread != nil {
		rec.Thread = snap.Thread.ID
		for _, c := range snap.Thread.Comments {
			if !c.BySelf {
				continue
			}
			scanMarkers(c.Hidden, func(m rawMarker) {
				switch {
				case !m.usable():
				case m.kind == MarkerEvent:
					onThread = append(onThread, m.id)
				case m.id == id:
					statusComment = c.ID
					statusText = c
					status = m
				}
			})
		}
	}
	if rec.IsZero() {
		rec = Record{Schema: Schema, ID: id}
		var restored *Record
		if statusComment != "" {
			restored = status.decode()
		}
		if restored != nil {
			// Redis lost the record; the status comment kept it.
			rec.Commitments = restored.Commitments
			rec.Targets = restored.Targets
			rec.Delivered, rec.DeliveredOn = restored.Delivered, restored.DeliveredOn
			rec.AtRisk = restored.AtRisk
			rec.Declared = restored.Declared
			rec.Announced = restored.Announced
		}
		if snap.Thread != nil {
			rec.Thread = snap.Thread.ID
		}
	}
	rec.Schema = Schema
	rec.Ref, rec.Title, rec.URL = d.Ref, d.Title, d.URL
	rec.Observed, rec.Linked = observed, nil
	if obs.Linked != nil {
		rec.Linked = linkedSide(*obs.Linked, s.Location)
	}
	announced := make(map[string]bool, len(rec.Announced)+len(onThread))
	for _, id := range rec.Announced {
		announced[id] = true
	}
	for _, id := range onThread {
		announced[id] = true
	}

	// Target history.
	target, hasTarget := d.Due(s.Location)
	if cur, ok := rec.Target(); len(rec.Targets) == 0 || ok != hasTarget || cur != target {
		rec.Targets = append(rec.Targets, TargetChange{Date: target, At: now})
	}

	// Scope and progress.
	rec.Total, rec.Done = len(d.Items), doneCount(d.Items)

	var events []event
	var replies []Action

	// Commitments: the description, then commands in the order written,
	// then the baseline.
	commit := func(c Commitment) {
		cur, had := rec.Commitment()
		if had && cur.Date == c.Date {
			return
		}
		c.Scope = rec.Total
		rec.Commitments = append(rec.Commitments, c)
		if !had {
			events = append(events, event{id: hashID(rec.ID, EvCommitted, dateString(c.Date)), kind: EvCommitted,
				data: eventData{to: c.Date, by: c.By, reason: c.Reason}})
			return
		}
		events = append(events, event{id: hashID(rec.ID, EvRecommitted, dateString(cur.Date), dateString(c.Date), strconv.Itoa(len(rec.Commitments))),
			kind: EvRecommitted, data: eventData{from: cur.Date, to: c.Date, by: c.By, reason: c.Reason}})
	}
	// A description's date counts when it changes, so a later /commit
	// is not undone by the unchanged line on the next pass.
	if dd, ok := declaredDate(d.Description); ok && dd != rec.Declared {
		rec.Declared = dd
		commit(Commitment{Date: dd, Source: DeclaredDescription, By: "description", At: now})
	}
	// What the record itself has seen answered, as opposed to replies
	// found on the thread: a reply posted by a pass that died before
	// saving is on the thread only.
	inRecord := make(map[string]bool, len(rec.Announced))
	for _, id := range rec.Announced {
		inRecord[id] = true
	}
	handle := func(c connectors.Comment, partner bool) {
		if c.BySelf {
			return
		}
		cmd, ok := ParseCommand(c.Body)
		if !ok {
			return
		}
		if partner {
			adoptLinkedCommand(&rec, cmd, c, today, announced, commit)
			return
		}
		// One answer per command comment and date: an edit that
		// changes the date is a new command; any other edit is not.
		rid := hashID(rec.ID, EvReply, c.ID, cmd.Verb, dateString(cmd.Date))
		if announced[rid] {
			if cmd.Verb == "commit" && !inRecord[rid] && newerThanPromise(rec, c) {
				// Answered by a pass that crashed before saving: take
				// the command again without a second reply, so the
				// commitment and its event are not lost.
				answer(&rec, cmd, c, today, d, s, commit)
				rec.Announced = append(rec.Announced, rid)
			}
			return
		}
		reply := answer(&rec, cmd, c, today, d, s, commit)
		replies = append(replies, Action{Kind: Reply, EventID: rid, EventKind: EvReply, ReplyTo: c.ID,
			Body: render(d.Ref.Tracker, reply), Marker: EventMarker(rid, EvReply)})
	}
	byTime := func(a, b connectors.Comment) int { return a.CreatedAt.Compare(b.CreatedAt) }
	switch {
	case obs.Linked == nil || obs.Linked.Thread == nil:
		if snap.Thread != nil {
			comments := snap.Thread.Comments
			if !slices.IsSortedFunc(comments, byTime) {
				// Connectors list oldest first; copy and sort only when not.
				comments = slices.Clone(comments)
				slices.SortStableFunc(comments, byTime)
			}
			for _, c := range comments {
				handle(c, false)
			}
		}
	default:
		// Both threads, in the order the commands were written.
		type written struct {
			connectors.Comment
			partner bool // on the linked side's thread: counts, answered there
		}
		var comments []written
		if snap.Thread != nil {
			for _, c := range snap.Thread.Comments {
				comments = append(comments, written{Comment: c})
			}
		}
		for _, c := range obs.Linked.Thread.Comments {
			comments = append(comments, written{Comment: c, partner: true})
		}
		slices.SortStableFunc(comments, func(a, b written) int { return byTime(a.Comment, b.Comment) })
		for _, w := range comments {
			handle(w.Comment, w.partner)
		}
	}
	if len(rec.Commitments) == 0 && hasTarget && s.Baseline != "declared_only" {
		commit(Commitment{Date: target, Source: BaselineFirstSeen, By: "slipwatch", At: now})
	}

	// Delivery.
	if d.Closed && !rec.Delivered {
		rec.Delivered = true
		closed := d.ClosedAt
		if closed.IsZero() {
			closed = now
		}
		rec.DeliveredOn = connectors.DateOf(closed, s.Location)
	}
	if !d.Closed && rec.Delivered {
		// Reopened: the promise is open again.
		rec.Delivered, rec.DeliveredOn = false, connectors.Date{}
	}

	// Forecast, reused while its inputs are unchanged.
	remaining := rec.Total - rec.Done
	if !rec.Delivered {
		seed := rec.ID
		var buf [160]byte
		if in := appendForecastInput(buf[:0], seed, remaining, windowOf(snap.Throughput.Daily, s.Window), today, s); string(in) != prev.Forecast.Input || prev.Forecast.Input == "" {
			rec.Forecast = ForecastCompletion(seed, remaining, snap.Throughput, today, s)
		}
	}

	cur, committed := rec.Commitment()
	switch {
	case rec.Delivered && committed:
		events = append(events, event{id: hashID(rec.ID, EvDelivered, dateString(rec.DeliveredOn)), kind: EvDelivered,
			data: eventData{from: cur.Date, to: rec.DeliveredOn}})
	case committed && !rec.Delivered:
		settled := len(rec.Targets) == 0 || now.Sub(rec.Targets[len(rec.Targets)-1].At) >= s.Settle
		if hasTarget && target.After(cur.Date) && settled {
			events = append(events, event{id: hashID(rec.ID, EvSlipped, dateString(cur.Date), dateString(target)), kind: EvSlipped,
				data: eventData{from: cur.Date, to: target}})
		}
		if hasTarget && settled {
			if prevT, ok := pulledFrom(rec, s.Settle); ok && target.Before(prevT) {
				events = append(events, event{id: hashID(rec.ID, EvPulledIn, dateString(prevT), dateString(target)), kind: EvPulledIn,
					data: eventData{from: prevT, to: target}})
			}
		}
		if today.After(cur.Date) {
			events = append(events, event{id: hashID(rec.ID, EvOverdue, dateString(cur.Date)), kind: EvOverdue,
				data: eventData{from: cur.Date}})
		}
		f := rec.Forecast
		switch {
		case today.After(cur.Date):
			// Overdue says more than at risk.
			rec.AtRisk = false
		case f.Enough && f.P85.After(cur.Date) && !(hasTarget && target.After(cur.Date)):
			rec.AtRisk = true
		case !f.Enough || f.P85.Sub(cur.Date) <= -riskMargin:
			rec.AtRisk = false
		}
		if rec.AtRisk {
			events = append(events, event{id: hashID(rec.ID, EvAtRisk, dateString(cur.Date)), kind: EvAtRisk,
				data: eventData{from: cur.Date, to: f.P85}})
		}
		if cur.Scope > 0 && s.WarnGrowth > 0 {
			added := rec.Total - cur.Scope
			growth := float64(added) / float64(cur.Scope)
			if step := int(growth / s.WarnGrowth); step >= 1 {
				events = append(events, event{id: hashID(rec.ID, EvScopeGrew, dateString(cur.Date), strconv.Itoa(step)), kind: EvScopeGrew,
					data: eventData{from: cur.Date, growth: growth, added: added}})
			}
		}
		if s.StatusEvery > 0 {
			bucket := now.UnixNano() / int64(s.StatusEvery)
			first := rec.Commitments[0].At.UnixNano() / int64(s.StatusEvery)
			if bucket > first {
				events = append(events, event{id: hashID(rec.ID, EvStatusUpdate, strconv.FormatInt(bucket, 10)), kind: EvStatusUpdate})
			}
		}
	}
	rec.Health = health(rec, target, hasTarget, today)

	var actions []Action
	actions = append(actions, replies...)
	for _, ev := range events {
		if announced[ev.id] {
			continue
		}
		announced[ev.id] = true
		actions = append(actions, Action{Kind: PostEvent, EventID: ev.id, EventKind: ev.kind,
			Body: render(d.Ref.Tracker, eventDoc(rec, ev, s)), Marker: EventMarker(ev.id, ev.kind)})
	}
	for _, a := range actions {
		rec.Announced = append(rec.Announced, a.EventID)
	}
	if n := len(rec.Announced); n > maxAnnounced {
		rec.Announced = rec.Announced[n-maxAnnounced:]
	}

	// The status comment, rewritten only when its text changes.
	if committed || len(actions) > 0 {
		body := render(d.Ref.Tracker, statusDoc(rec, s))
		marker := StatusMarker(rec)
		h := hashID(body, marker)
		// A record rebuilt from the thread (Redis lost it) knows no hash;
		// the comment itself says whether it needs the edit, which would
		// otherwise cost one write per deliverable after a flush.
		unchanged := rec.StatusHash == "" && statusComment != "" && shows(statusText, body, marker)
		if (statusComment == "" || h != rec.StatusHash) && !unchanged {
			st := Action{Kind: UpsertStatus, EventID: "status-" + rec.ID, EventKind: "status",
				CommentID: statusComment, Body: body, Marker: marker}
			// The status comment goes last. A new one because its marker
			// is what a record with nothing in Redis is rebuilt from, so
			// it must not name comments a crash kept from being posted; an
			// edit because the news (a slip, a reply) is what people wait
			// for, and the tracker's write pacing puts a second between
			// writes.
			actions = append(actions, st)
		}
		rec.StatusHash = h
	}
	return rec, actions
}

// shows reports whether comment c already carries body and marker, as
// either connector writes them: GitHub the marker after the body, Jira the
// body alone with the marker in an entity property (Hidden).
func shows(c connectors.Comment, body, marker string) bool {
	if !strings.Contains(c.Hidden, marker) {
		return false
	}
	got := strings.TrimSpace(c.Body)
	return got == strings.TrimSpace(body) || got == strings.TrimSpace(body+"\n\n"+marker)
}

// newerThanPromise reports whether comment c was written no earlier than
// the record's latest commitment, so taking its command again cannot
// reorder the history (an accepted command's commitment carries its
// time). Trackers stamp comments to the second: two commands in one
// second are both newer.
func newerThanPromise(rec Record, c connectors.Comment) bool {
	cur, ok := rec.Commitment()
	return !ok || !c.CreatedAt.Before(cur.At)
}

func windowOf(daily []int, window int) []int {
	if window > 0 && len(daily) > window {
		return daily[len(daily)-window:]
	}
	return daily
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

func health(rec Record, target connectors.Date, hasTarget bool, today connectors.Date) Health {
	cur, ok := rec.Commitment()
	switch {
	case rec.Delivered && ok && !rec.DeliveredOn.After(cur.Date):
		return DeliveredOnTime
	case rec.Delivered && ok:
		return DeliveredLate
	case !ok:
		return NoDate
	case today.After(cur.Date):
		return Overdue
	case hasTarget && target.After(cur.Date):
		return Slipped
	case rec.AtRisk:
		return AtRisk
	}
	return OnTrack
}

// answer decides the reply to a command, recording a commitment when it is
// accepted.
func answer(rec *Record, cmd Command, c connectors.Comment, today connectors.Date, d connectors.Deliverable, s Settings, commit func(Commitment)) doc {
	who := c.Author
	switch cmd.Verb {
	case "status":
		return statusDoc(*rec, s)
	case "help":
		return helpDoc()
	}
	switch {
	case !c.AuthorCanCommit:
		return doc{title: "Not recorded", lines: []line{
			text("%s may not record a commitment here: it takes write permission on the repository or a place in commands.allow.", who)}}
	case cmd.Err != "":
		return doc{title: "Not recorded", lines: []line{text("%s", cmd.Err)}}
	case cmd.Date.Before(today):
		return doc{title: "Not recorded", lines: []line{text("%s is in the past; a commitment is a date still ahead.", cmd.Date)}}
	}
	prev, had := rec.Commitment()
	if had && prev.Date == cmd.Date {
		return doc{title: "Already committed", lines: []line{text("The commitment is already %s.", cmd.Date)}}
	}
	commit(Commitment{Date: cmd.Date, Source: DeclaredCommand, By: who, At: c.CreatedAt, Reason: cmd.Reason})
	if !had {
		return doc{title: "Recorded", lines: []line{text("First commitment: %s, by %s.", cmd.Date, who)}}
	}
	l := text("Recommitted from %s to %s by %s.", prev.Date, cmd.Date, who)
	if cmd.Reason != "" {
		l = text("Recommitted from %s to %s by %s. Reason: %s", prev.Date, cmd.Date, who, cmd.Reason)
	}
	return doc{title: "Recorded", lines: []line{l}}
}
