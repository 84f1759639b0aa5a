package reconcile

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// pass is one run of Reconcile: the record as it is being rebuilt and what
// the phases before the current one found.
type pass struct {
	s     Settings
	snap  connectors.Snapshot    // as observed; a linked pair's throughput summed
	d     connectors.Deliverable // the deliverable judged: a linked pair's merged
	facts facts
	rec   Record

	// partner is the linked side's deliverable as observed, nil when not
	// linked: its description may declare the promise (see declaredLine).
	partner *connectors.Deliverable

	// announced holds every event and reply ID already said, in the record
	// or as a marker on the thread.
	announced map[string]bool
	// The status comment on the thread, if slipwatch wrote one.
	statusID   string
	statusText connectors.Comment
	// lastReply is when slipwatch last answered a command on the thread;
	// rebuilt says the record was not stored (new, or Redis lost it).
	lastReply time.Time
	rebuilt   bool

	events    []event           // committed and recommitted, decided as commitments are taken
	replies   []Action          // answers to commands
	asked     []int             // which of replies answer "/slipwatch status": written in render, from the finished record
	outsiders []outsiderCommand // commands of people who may not commit, not answered yet
}

// facts are what the tracker and the clock say today, besides the record.
type facts struct {
	now       time.Time
	today     connectors.Date // now's date in the configured zone
	target    connectors.Date // the due date on the tracker
	hasTarget bool
}

// event is an event decided in this pass, before rendering.
type event struct {
	id   string
	kind EventKind
	data eventData
}

type eventData struct {
	from, to connectors.Date
	reason   string
	by       string
	growth   float64
	added    int
	// told: the news is said in another comment of the same pass, so the
	// event is remembered as announced without a comment of its own.
	told bool
}

// newEvent names an event of the record with ID recID by its kind and the
// values that define it, so the same news always has the same ID.
func newEvent(recID string, kind EventKind, data eventData, values ...string) event {
	var buf [8]string
	parts := append(append(buf[:0], recID, string(kind)), values...)
	return event{id: hashID(parts...), kind: kind, data: data}
}

// observe starts a pass: the record carried over from prev (or, when
// Redis lost it, restored from the status comment's marker), what
// slipwatch already said on the thread, and what the tracker shows now.
func (p *pass) observe(prev Record, obs Observation, now time.Time, s Settings) {
	p.s, p.snap, p.d = s, obs.Snapshot, obs.Snapshot.Deliverable
	// Only a linked side's partner needs the fingerprint (runner: enqueue
	// the other side when this one changed); it costs a hash of every item
	// and comment, so unlinked deliverables skip it.
	observed := ""
	if obs.Linked != nil {
		observed = observedHash(p.snap)
		p.d, p.snap.Throughput = merge(p.snap, *obs.Linked, s.Location)
		p.partner = &obs.Linked.Deliverable
	}
	rec := prev
	rec.Commitments = slices.Clone(prev.Commitments)
	rec.Targets = slices.Clone(prev.Targets)
	rec.Announced = slices.Clone(prev.Announced)

	// What slipwatch already said on the thread: markers in its own
	// comments, and only those its keys vouch for.
	var onThread []string
	// answered are the replies in slipwatch's comments whose markers no
	// key vouches for (signed with a key since dropped, or written before
	// markers were signed). A reply marker only keeps a command from
	// being answered twice: planted, the worst it does is silence one
	// answer (the command is still taken), while ignoring the genuine
	// ones after a rotated markers key and a lost Redis would answer
	// every past command on every thread again. Events stay vouched-only.
	var answered []string
	var status rawMarker // the status comment's marker, decoded only if needed
	trusted := false
	id := CommitmentID(p.d.Ref)
	if th := p.snap.Thread; th != nil {
		rec.Thread = th.ID
		var unvouched *connectors.Comment
		for i, c := range th.Comments {
			if !c.BySelf {
				continue
			}
			scanMarkers(c.Hidden, func(m rawMarker) {
				if !m.usable() {
					return
				}
				v := s.Markers.check(m)
				switch {
				case m.kind == MarkerEvent:
					if v.ok() {
						onThread = append(onThread, m.id)
						if m.eventKind == string(EvReply) && c.CreatedAt.After(p.lastReply) {
							p.lastReply = c.CreatedAt
						}
					} else if m.eventKind == string(EvReply) {
						answered = append(answered, m.id)
					}
				case m.id != id:
				case v.ok():
					p.statusID, p.statusText, status, trusted = c.ID, c, m, true
				case unvouched == nil:
					unvouched = &th.Comments[i]
				}
			})
		}
		if !trusted && unvouched != nil {
			// A status comment whose marker no key vouches for: an
			// earlier version's, unsigned, or one signed with a key
			// since removed. It is still the comment to edit (the edit
			// signs it), but what its marker says counts for nothing.
			p.statusID, p.statusText = unvouched.ID, *unvouched
		}
	}
	fresh := false // slipwatch knows nothing of it: no record, no marker
	if rec.IsZero() {
		p.rebuilt = true
		rec = Record{Schema: Schema, ID: id}
		var restored *Record
		if trusted {
			restored = status.decode()
		}
		// Only markers slipwatch's keys vouch for say it watched the
		// deliverable before: one planted by whoever may edit its
		// comments must not make a deliverable closed before slipwatch
		// first saw it tell its whole story (history.go).
		fresh = restored == nil && len(onThread) == 0
		if restored != nil && restored.Thread != "" && restored.Thread != p.snap.Thread.ID {
			// Signed, but for another thread: a copy, not this thread's
			// own record. (Signed all the same: slipwatch knew of it.)
			restored = nil
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
		if p.snap.Thread != nil {
			rec.Thread = p.snap.Thread.ID
		}
	}
	rec.Schema = Schema
	was := rec.Historical
	if rec.Historical = historical(was, fresh, p.d); was && !rec.Historical {
		p.events = append(p.events, reopened(rec)...)
	}
	rec.Ref, rec.Title, rec.URL = p.d.Ref, p.d.Title, p.d.URL
	rec.Observed, rec.Linked = observed, nil
	if obs.Linked != nil {
		rec.Linked = linkedSide(*obs.Linked, s.Location)
	}
	p.announced = make(map[string]bool, len(rec.Announced)+len(onThread))
	for _, id := range rec.Announced {
		p.announced[id] = true
	}
	for _, id := range onThread {
		p.announced[id] = true
	}
	for _, id := range answered {
		p.announced[id] = true
	}

	// The due date's history, scope and progress.
	target, hasTarget := p.d.Due(s.Location)
	if cur, ok := rec.Target(); len(rec.Targets) == 0 || ok != hasTarget || cur != target {
		rec.Targets = append(rec.Targets, TargetChange{Date: target, At: now})
	}
	rec.Total, rec.Done = len(p.d.Items), doneCount(p.d.Items)

	p.rec = rec
	p.facts = facts{now: now, today: connectors.DateOf(now, s.Location), target: target, hasTarget: hasTarget}
}

// commit records c as the current commitment, unless it already is, with
// its committed or recommitted event.
func (p *pass) commit(c Commitment) {
	rec := &p.rec
	cur, had := rec.Commitment()
	if had && cur.Date == c.Date {
		return
	}
	c.Scope = rec.Total
	rec.Commitments = append(rec.Commitments, c)
	if !had {
		p.events = append(p.events, newEvent(rec.ID, EvCommitted, eventData{to: c.Date, by: c.By, reason: c.Reason}, dateString(c.Date)))
		return
	}
	p.events = append(p.events, newEvent(rec.ID, EvRecommitted, eventData{from: cur.Date, to: c.Date, by: c.By, reason: c.Reason},
		dateString(cur.Date), dateString(c.Date), strconv.Itoa(len(rec.Commitments))))
}

// takeCommitments reads the promises: the description, then commands in
// the order written (on both threads of a linked pair), then the baseline.
// A command made by editing an old comment was written at the edit.
func (p *pass) takeCommitments(linked *connectors.Snapshot) {
	p.takeDeclared()
	byTime := func(a, b connectors.Comment) int { return a.WrittenAt().Compare(b.WrittenAt()) }
	switch {
	case linked == nil || linked.Thread == nil:
		if p.snap.Thread != nil {
			comments := p.snap.Thread.Comments
			if !slices.IsSortedFunc(comments, byTime) {
				// Connectors list oldest first; copy and sort only when not.
				comments = slices.Clone(comments)
				slices.SortStableFunc(comments, byTime)
			}
			for _, c := range comments {
				p.handle(c, false)
			}
		}
	default:
		// Both threads, in the order the commands were written.
		type written struct {
			connectors.Comment
			partner bool // on the linked side's thread: counts, answered there
		}
		var comments []written
		if p.snap.Thread != nil {
			for _, c := range p.snap.Thread.Comments {
				comments = append(comments, written{Comment: c})
			}
		}
		for _, c := range linked.Thread.Comments {
			comments = append(comments, written{Comment: c, partner: true})
		}
		slices.SortStableFunc(comments, func(a, b written) int { return byTime(a.Comment, b.Comment) })
		for _, w := range comments {
			p.handle(w.Comment, w.partner)
		}
	}
	p.answerOutsider()
	if len(p.rec.Commitments) == 0 && p.facts.hasTarget && p.s.Baseline != "declared_only" {
		p.commit(Commitment{Date: p.facts.target, Source: BaselineFirstSeen, By: "slipwatch", At: p.facts.now})
	}
}

// takeDeclared takes the description's "Committed:" date by the rules of
// a /commit: only when the person who wrote the line may commit, only a
// date still ahead (but for a historical deliverable, whose promise was
// made in the past), and, once there is a promise, only when it has stood
// for Settle, so a line edited twice in a minute is one recommitment, not
// two, and a line changed and changed back (to the date taken) within it
// is none. It counts when it changes, so a later /commit is not undone by
// the unchanged line on the next pass. A line not taken is named in the
// status comment, with why (Record.Ignored).
func (p *pass) takeDeclared() {
	rec, now := &p.rec, p.facts.now
	rec.Ignored = nil
	dl, ok := p.declaredLine()
	if !ok || dl.date == rec.Declared {
		rec.Pending = nil // removed, or back to the date taken
		return
	}
	switch {
	case !dl.canCommit:
		rec.Pending, rec.Ignored = nil, &IgnoredLine{Date: dl.date, Why: IgnoredNotAllowed, By: dl.by}
		return
	case dl.date.Before(p.facts.today) && !rec.Historical:
		// (A deliverable delivered before slipwatch first saw it is all
		// past: its line says what was promised then, history.go.)
		rec.Pending, rec.Ignored = nil, &IgnoredLine{Date: dl.date, Why: IgnoredPast, By: dl.by}
		return
	}
	if rec.Pending == nil || rec.Pending.Date != dl.date {
		rec.Pending = &PendingDate{Date: dl.date, Since: now}
	}
	since := rec.Pending.Since
	cur, had := rec.Commitment()
	if had && now.Sub(since) < p.s.Settle {
		return
	}
	rec.Declared, rec.Pending = dl.date, nil
	if had && cur.At.After(since) {
		// A /commit written while the line stood has the last word.
		return
	}
	by := dl.by
	if by == "" {
		by = "description"
	}
	p.commit(Commitment{Date: dl.date, Source: DeclaredDescription, By: by, At: since})
}

// declared is a "Committed:" line found in a description.
type declared struct {
	date      connectors.Date
	by        string // who wrote it, "" when the tracker does not say
	canCommit bool
}

// declaredLine is this side's "Committed:" line or, when it has none, the
// linked side's, each read in its own tracker's markup.
func (p *pass) declaredLine() (declared, bool) {
	for _, d := range []*connectors.Deliverable{&p.snap.Deliverable, p.partner} {
		if d == nil {
			continue
		}
		if date, ok := declaredDate(d.Ref.Tracker, d.Description); ok {
			return declared{date: date, by: d.DescriptionBy, canCommit: d.DescriptionByCanCommit}, true
		}
	}
	return declared{}, false
}

// handle takes the command in comment c, if any; partner says c is on the
// linked side's thread.
func (p *pass) handle(c connectors.Comment, partner bool) {
	if c.BySelf {
		return
	}
	markup := p.snap.Deliverable.Ref.Tracker
	if partner && p.partner != nil {
		markup = p.partner.Ref.Tracker
	}
	cmd, ok := ParseCommand(markup, c.Body)
	if !ok {
		return
	}
	rec, today := &p.rec, p.facts.today
	if partner {
		adoptLinkedCommand(rec, cmd, c, today, p.announced, p.commit)
		return
	}
	// One answer per command comment and date: an edit that changes the
	// date is a new command; any other edit is not.
	rid := hashID(rec.ID, string(EvReply), c.ID, cmd.Verb, dateString(cmd.Date))
	if p.announced[rid] {
		if !rec.replied(rid) {
			// A reply the record does not name, only the thread, was
			// posted by a pass that died before saving: take the command
			// again without a second reply, so the commitment and its
			// event are not lost.
			if cmd.Verb == "commit" && takenBy(*rec, c, cmd) < 0 && newerThanPromise(*rec, c) {
				answer(rec, cmd, c, today, p.d, p.s, p.commit)
			}
			rec.Replied = append(rec.Replied, rid)
		}
		return
	}
	if !c.AuthorCanCommit {
		// Rationed, and never a commitment: answered once the commands
		// are all read (see answerOutsider).
		p.outsiders = append(p.outsiders, outsiderCommand{c: c, cmd: cmd, rid: rid})
		return
	}
	var reply doc
	if i := takenBy(*rec, c, cmd); i >= 0 {
		// Taken by a pass that was cut before it replied: the answer it
		// would have given, and nothing taken twice.
		reply = recordedDoc(rec.Commitments, i)
	} else {
		reply = answer(rec, cmd, c, today, p.d, p.s, p.commit)
	}
	p.reply(c, rid, cmd, reply)
}

// reply queues the answer to comment c's command.
func (p *pass) reply(c connectors.Comment, rid string, cmd Command, d doc) {
	marker := p.s.Markers.EventMarker(rid, EvReply)
	if cmd.Verb == "status" {
		// Commands are read before the forecast and the health are
		// brought up to date; the status given must be the one this pass
		// ends with (and the one a resumed pass would give).
		p.asked = append(p.asked, len(p.replies))
	}
	p.replies = append(p.replies, Action{Kind: Reply, EventID: rid, EventKind: EvReply, ReplyTo: c.ID,
		Body: fit(p.d.Ref.Tracker, render(p.d.Ref.Tracker, d), marker), Marker: marker})
}

// deliver marks the promise delivered when the deliverable is closed, and
// open again when it is reopened.
func (p *pass) deliver() {
	rec := &p.rec
	switch {
	case p.d.Closed && !rec.Delivered:
		rec.Delivered = true
		closed := p.d.ClosedAt
		if closed.IsZero() {
			closed = p.facts.now
		}
		rec.DeliveredOn = connectors.DateOf(closed, p.s.Location)
	case !p.d.Closed && rec.Delivered:
		rec.Delivered, rec.DeliveredOn = false, connectors.Date{}
	}
}

// forecast runs the completion forecast of an open deliverable against
// its current promise, reusing the record's while its inputs are
// unchanged.
func (p *pass) forecast() {
	rec := &p.rec
	if rec.Delivered {
		return
	}
	cur, _ := rec.Commitment()
	in := NewForecastInput(rec.ID, p.d.Items, cur, p.snap.Throughput, p.facts.today, p.s)
	var buf [256]byte
	if rec.Forecast.Input == "" || string(in.AppendKey(buf[:0], p.s)) != rec.Forecast.Input {
		rec.Forecast = ForecastDeliverable(in, p.s)
	}
}

// promiseNews reports whether this pass announces the current promise (its
// committed or recommitted comment is among the events and not said yet):
// an unlikely promise is then said in that comment, not in an alarm of its
// own.
func (p *pass) promiseNews() bool {
	cur, ok := p.rec.Commitment()
	if !ok {
		return false
	}
	for _, ev := range p.events {
		if ev.data.to == cur.Date && !p.announced[ev.id] {
			return true
		}
	}
	return false
}

// render turns the events not yet announced and the replies into actions,
// remembers them as said, and adds the status comment when its text
// changed. The news goes first and the replies last, so that a flood of
// commands, each reply a paced write, cannot keep a slip from being told
// (the runner saves the record after each action). The status comment
// sits between them: after the events because its marker is what a
// record is rebuilt from after a lost Redis, so it must not name an event
// a crash kept from being posted; before the replies because it is news
// too, and its marker never names a reply (Replied stays out of it).
func (p *pass) render(events []event) []Action {
	rec, tracker := &p.rec, p.d.Ref.Tracker
	var actions []Action
	for _, ev := range events {
		if p.announced[ev.id] {
			continue
		}
		p.announced[ev.id] = true
		if ev.data.told {
			// Said in another comment of this pass (an unlikely promise in
			// its committed comment): remembered, not posted.
			rec.Announced = append(rec.Announced, ev.id)
			continue
		}
		marker := p.s.Markers.EventMarker(ev.id, ev.kind)
		actions = append(actions, Action{Kind: PostEvent, EventID: ev.id, EventKind: ev.kind,
			Body: fit(tracker, render(tracker, eventDoc(*rec, ev, p.s)), marker), Marker: marker})
	}
	for _, a := range actions {
		rec.Announced = append(rec.Announced, a.EventID)
	}
	rec.Announced = lastIDs(rec.Announced, maxAnnounced)
	for _, a := range p.replies {
		rec.Replied = append(rec.Replied, a.EventID)
	}
	rec.Replied = lastIDs(rec.Replied, maxAnnounced)

	// The status comment, rewritten only when its text changes.
	// (A description date not taken is worth a status comment, to say why.)
	if _, committed := rec.Commitment(); !committed && len(actions) == 0 && len(p.replies) == 0 && rec.Ignored == nil {
		return nil
	}
	marker := p.s.Markers.StatusMarker(*rec)
	body := fit(tracker, render(tracker, statusDoc(*rec, p.s)), marker)
	h := hashID(body, marker)
	// The comment itself says whether it needs the edit: a record rebuilt
	// from the thread (Redis lost it) knows no hash, which would otherwise
	// cost one write per deliverable after a flush, and a pass resumed
	// after a cut may find its edit already made.
	unchanged := p.statusID != "" && shows(p.statusText, body, marker)
	// The marker must be on the thread as signed now: one written by an
	// earlier version or an old key, or changed by someone, is written
	// again, so what a lost Redis is rebuilt from stays slipwatch's own.
	tampered := p.statusID != "" && !strings.Contains(p.statusText.Hidden, marker)
	if (p.statusID == "" || h != rec.StatusHash || tampered) && !unchanged {
		actions = append(actions, Action{Kind: UpsertStatus, EventID: "status-" + rec.ID, EventKind: EvStatus,
			CommentID: p.statusID, Body: body, Marker: marker})
	}
	rec.StatusHash = h
	for _, i := range p.asked {
		a := &p.replies[i]
		a.Body = fit(tracker, render(tracker, statusDoc(*rec, p.s)), a.Marker)
	}
	return append(actions, p.replies...)
}

// lastIDs is the last n of ids.
func lastIDs(ids []string, n int) []string {
	if len(ids) > n {
		return ids[len(ids)-n:]
	}
	return ids
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

// newerThanPromise reports whether comment c's text was written no
// earlier than the record's latest commitment, so taking its command
// again cannot reorder the history (an accepted command's commitment
// carries the time its text was written). Trackers stamp comments to the
// second: two commands in one second are both newer.
func newerThanPromise(rec Record, c connectors.Comment) bool {
	cur, ok := rec.Commitment()
	return !ok || !c.WrittenAt().Before(cur.At)
}

func windowOf(daily []int, window int) []int {
	if window > 0 && len(daily) > window {
		return daily[len(daily)-window:]
	}
	return daily
}

// answer decides the reply to a command, recording a commitment when it is
// accepted.
func answer(rec *Record, cmd Command, c connectors.Comment, today connectors.Date, d connectors.Deliverable, s Settings, commit func(Commitment)) doc {
	// The command is whoever wrote the comment's text: its editor, when
	// the tracker names one.
	who := c.Writer()
	switch cmd.Verb {
	case "status":
		return statusDoc(*rec, s)
	case "help":
		return helpDoc(d.Ref.Tracker)
	}
	switch {
	case !c.AuthorCanCommit:
		l := text("%s may not record a commitment here: it takes write permission on the repository or a place in commands.allow.", who)
		if d.Ref.Tracker == connectors.Jira {
			// Jira's project roles say nothing about promises: only the
			// config's list does.
			l = text("%s may not record a commitment here: on Jira it takes a place in commands.allow, slipwatch's list of who may commit.", who)
		}
		return doc{title: "Not recorded", lines: []line{l}}
	case cmd.Err != "":
		return doc{title: "Not recorded", lines: []line{text("%s", cmd.Err)}}
	case cmd.Date.Before(today):
		return doc{title: "Not recorded", lines: []line{text("%s is in the past; a commitment is a date still ahead.", cmd.Date)}}
	}
	prev, had := rec.Commitment()
	if had && prev.Date == cmd.Date {
		return doc{title: "Already committed", lines: []line{text("The commitment is already %s.", cmd.Date)}}
	}
	commit(Commitment{Date: cmd.Date, Source: DeclaredCommand, By: who, At: c.WrittenAt(), Reason: cmd.Reason})
	return recordedDoc(rec.Commitments, len(rec.Commitments)-1)
}
