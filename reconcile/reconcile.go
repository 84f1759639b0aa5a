package reconcile

import (
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
	// Settle is how long a moved due date, or a changed "Committed:"
	// line, must stand before it is news (slipped, pulled_in, a
	// recommitment), so a date moved out and back is never announced.
	// Zero announces it on the first pass that sees it (config
	// slip.settle, default 1h).
	Settle time.Duration
	// RiskBelow: at_risk when the chance of meeting the promise is below
	// it. Zero takes DefaultRiskBelow.
	RiskBelow float64
	// Markers sign the markers slipwatch writes and check those it reads
	// (config markers.key, or keys derived from the webhook secrets).
	Markers MarkerKeys
}

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
	EventKind EventKind
	CommentID string // UpsertStatus: the comment to edit; "" = create
	Body      string // in the markup of the deliverable's tracker
	Marker    string // hidden marker to attach
	ReplyTo   string // Reply: the command's comment ID
}

// EventKind is what a comment slipwatch writes is about: one of the
// events of DESIGN.md (Words), a reply to a command, the status comment or
// the monthly track record. It is the kind= of an event marker and the
// kind label of slipwatch_comments_posted_total.
type EventKind string

// Event kinds. EventKinds lists them all.
const (
	EvCommitted    EventKind = "committed"
	EvRecommitted  EventKind = "recommitted"
	EvSlipped      EventKind = "slipped"
	EvPulledIn     EventKind = "pulled_in"
	EvAtRisk       EventKind = "at_risk"
	EvScopeGrew    EventKind = "scope_grew"
	EvOverdue      EventKind = "overdue"
	EvDelivered    EventKind = "delivered"
	EvStatusUpdate EventKind = "status_update"
	EvReply        EventKind = "reply"
	EvStatus       EventKind = "status"       // the sticky status comment
	EvTrackRecord  EventKind = "track_record" // the monthly track-record comment
	EvDigest       EventKind = "digest"       // the periodic digest on the track-record thread
)

// EventKinds is every EventKind, in the order a deliverable's story meets
// them; a new kind is added here and nowhere else.
func EventKinds() []EventKind {
	return []EventKind{EvStatus, EvCommitted, EvRecommitted, EvSlipped, EvPulledIn, EvAtRisk, EvScopeGrew, EvOverdue,
		EvDelivered, EvStatusUpdate, EvReply, EvTrackRecord, EvDigest}
}

// maxAnnounced bounds the IDs a record remembers; older ones are also on
// the thread as markers.
const maxAnnounced = 500

// Reconcile computes the new record and the comments to write from the
// previous record, the observation and now, and next: the instant after
// now when time alone will make news of the same observation (a settle
// ending, a new local day, the next status-update slot), zero when
// nothing is due. It does no I/O. A pass runs in phases, each reading
// what the ones before it settled:
//
//  1. observe: restore what the thread and the record know, and take in
//     the tracker's due date, scope and progress;
//  2. take commitments: the description's date, the commands on the
//     thread in the order written, then the baseline;
//  3. deliver: closed is delivered, reopened is open again;
//  4. forecast: the completion forecast and the chance of the promise,
//     reused while its inputs hold;
//  5. decide: the events that are true of the promise today;
//  6. render: the comments for what was not said yet, and the status
//     comment when its text changed (none for a deliverable delivered
//     before slipwatch first saw it: history.go);
//  7. wake: when to look again without being asked.
func Reconcile(prev Record, obs Observation, now time.Time, s Settings) (rec Record, actions []Action, next time.Time) {
	if s.Location == nil {
		s.Location = time.UTC
	}
	var p pass
	p.observe(prev, obs, now, s)
	if p.rec.Historical {
		// Delivered before slipwatch first saw it: only its description
		// declares a promise; no command is answered, no baseline taken
		// (history.go).
		p.takeDeclared()
	} else {
		p.takeCommitments(obs.Linked)
	}
	p.deliver()
	p.chartFacts()
	p.forecast()
	events, atRisk := decide(p.rec, p.facts, s, p.promiseNews())
	p.rec.AtRiskSince = riskSince(p.rec, atRisk, now)
	p.rec.AtRisk = atRisk
	p.rec.Health = health(p.rec, p.facts)
	if p.rec.Historical {
		// Delivered before slipwatch first saw it: nothing to say
		// (history.go). Its events stay unannounced, so a reopened one
		// tells its story from the start.
		return p.rec, nil, wake(p.rec, p.facts, s)
	}
	actions = p.render(append(p.events, events...))
	return p.rec, actions, wake(p.rec, p.facts, s)
}
