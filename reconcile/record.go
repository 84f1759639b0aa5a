// Package reconcile is slipwatch's pure core: from the previous record of
// a deliverable, what the tracker shows now and the time, it computes the
// new record and the comments to post. No I/O, no clock, no client
// library: Reconcile is a function, and running it again on its own output
// with the same observation yields no action (level-triggered).
package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// Schema is the version of Record's JSON (in Redis and in status markers).
const Schema = 1

// Source says how a commitment became known (DESIGN.md).
type Source string

// Commitment sources.
const (
	DeclaredDescription Source = "declared_description" // "Committed: 2026-12-01" in the description
	DeclaredCommand     Source = "declared_command"     // "/commit 2026-12-01 reason" on the thread
	BaselineFirstSeen   Source = "baseline_first_seen"  // the first due date slipwatch saw
)

// Health is the one-word state of a deliverable.
type Health string

// Health values. Precedence, first match wins: delivered (on time or
// late) → no_date → overdue → slipped → at_risk → on_track.
const (
	NoDate          Health = "no_date"
	OnTrack         Health = "on_track"
	AtRisk          Health = "at_risk"
	Slipped         Health = "slipped"
	Overdue         Health = "overdue"
	DeliveredOnTime Health = "delivered_on_time"
	DeliveredLate   Health = "delivered_late"
)

// Commitment is one date communicated to leadership.
type Commitment struct {
	Date   connectors.Date `json:"date"`
	Source Source          `json:"source"`
	By     string          `json:"by,omitempty"`
	At     time.Time       `json:"at"`
	Reason string          `json:"reason,omitempty"`
	Scope  int             `json:"scope"` // items in the deliverable when promised
}

// TargetChange is a due date observed on the tracker, from At on.
type TargetChange struct {
	Date connectors.Date `json:"date"` // zero: the due date was removed
	At   time.Time       `json:"at"`
}

// PendingDate is a date in the description that differs from the one
// taken, seen since Since: it becomes a recommitment once it has stood
// for Settings.Settle.
type PendingDate struct {
	Date  connectors.Date `json:"date"`
	Since time.Time       `json:"since"`
}

// Forecast is the Monte Carlo completion forecast.
type Forecast struct {
	Enough    bool            `json:"enough"` // false: not enough history for a date
	Samples   int             `json:"samples"`
	Remaining int             `json:"remaining"`
	P50       connectors.Date `json:"p50"`
	P85       connectors.Date `json:"p85"` // at Settings.Confidence
	P95       connectors.Date `json:"p95"`
	Input     string          `json:"input,omitempty"` // hash of the inputs, to reuse the result

	// The chance of meeting the promise, and what explains it (the
	// model's inputs, docs/forecast.md). Zero in records written before
	// the model had them.
	Promised    connectors.Date `json:"promised,omitzero"`      // the promise Chance is about
	ChanceKnown bool            `json:"chance_known,omitempty"` // false: no promise, or no forecast
	Chance      float64         `json:"chance,omitempty"`       // share of trials done by Promised, 0..1
	Share       float64         `json:"share,omitempty"`        // the deliverable's share of the team's pace, 0..1
	Concurrent  int             `json:"concurrent,omitempty"`   // the team's other deliverables in progress
	Added       int             `json:"added,omitempty"`        // items added since the promise
	Growth      float64         `json:"growth,omitempty"`       // items expected to be added per planned item still open
	Pace        float64         `json:"pace,omitempty"`         // the team's completed items per day in the window
}

// Record is everything slipwatch knows about one deliverable.
type Record struct {
	Schema      int             `json:"schema"`
	ID          string          `json:"id"` // commitment ID, stable per deliverable
	Ref         connectors.Ref  `json:"ref"`
	Title       string          `json:"title"`
	URL         string          `json:"url,omitempty"`
	Commitments []Commitment    `json:"commitments,omitempty"`
	Declared    connectors.Date `json:"declared"`          // last date taken from the description
	Pending     *PendingDate    `json:"pending,omitempty"` // a new date in the description, not taken yet
	Ignored     *IgnoredLine    `json:"ignored,omitempty"` // a date in the description not taken, and why
	Targets     []TargetChange  `json:"targets,omitempty"`
	Done        int             `json:"done"`
	Total       int             `json:"total"`
	Delivered   bool            `json:"delivered,omitempty"`
	DeliveredOn connectors.Date `json:"delivered_on"`
	Historical  bool            `json:"historical,omitempty"` // delivered before slipwatch first saw it: kept, never announced (history.go)
	Forecast    Forecast        `json:"forecast"`
	Health      Health          `json:"health"`
	AtRisk      bool            `json:"at_risk,omitempty"`   // hysteresis state of the at_risk warning
	Announced   []string        `json:"announced,omitempty"` // events said; records before Replied existed hold reply IDs too
	Replied     []string        `json:"replied,omitempty"`   // commands answered, by reply ID (the status marker leaves them out)
	Outsider    *Rationed       `json:"outsider,omitempty"`  // the last answer to someone who may not commit
	StatusHash  string          `json:"status_hash,omitempty"`
	Thread      string          `json:"thread,omitempty"`
	Linked      *LinkedSide     `json:"linked,omitempty"`   // the other side of a link
	Observed    string          `json:"observed,omitempty"` // fingerprint of this side as last observed, while linked

	// AtRiskSince is when the at_risk warning started (zero while none,
	// or unknown): the digest tells a warning in the period it began.
	AtRiskSince time.Time `json:"at_risk_since,omitzero"`
	// For the dashboard (reconcile/dashboard): where a person opens the
	// thread, and the burn-up it draws (series.go). Neither is in the
	// status marker; both come back from the tracker.
	ThreadURL string `json:"thread_url,omitempty"`
	Series    Series `json:"series,omitzero"`
}

// Rationed is the last answer slipwatch gave on a thread to someone who may
// not commit (to /slipwatch status, /slipwatch help, or a refused
// /commit): such answers are rationed to one an hour per thread, so a
// flood of comments costs one reply an hour and cannot crowd out the news.
type Rationed struct {
	At      time.Time `json:"at"`      // when it was decided (the pass's clock)
	Command time.Time `json:"command"` // when the command it answers was written; older ones are not answered
	Reply   string    `json:"reply"`   // its reply ID
}

// IsZero reports whether r is the record of a deliverable never seen.
func (r Record) IsZero() bool { return r.ID == "" }

// replied reports whether the record knows the reply id was posted.
func (r Record) replied(id string) bool {
	return slices.Contains(r.Replied, id) || slices.Contains(r.Announced, id)
}

// Commitment is the current commitment, if any.
func (r Record) Commitment() (Commitment, bool) {
	if len(r.Commitments) == 0 {
		return Commitment{}, false
	}
	return r.Commitments[len(r.Commitments)-1], true
}

// First is the first commitment: the one the track record judges.
func (r Record) First() (Commitment, bool) {
	if len(r.Commitments) == 0 {
		return Commitment{}, false
	}
	return r.Commitments[0], true
}

// Target is the current due date, if any.
func (r Record) Target() (connectors.Date, bool) {
	if len(r.Targets) == 0 {
		return connectors.Date{}, false
	}
	t := r.Targets[len(r.Targets)-1].Date
	return t, !t.IsZero()
}

// CommitmentID is the stable ID of a deliverable's commitment.
func CommitmentID(ref connectors.Ref) string { return hashID("commitment", ref.Key()) }

// hashID is a short deterministic ID of its parts.
func hashID(parts ...string) string {
	// The parts joined by NUL, without building the joined string when
	// it fits on the stack (event IDs; the status text hash does not).
	var buf [256]byte
	b := buf[:0]
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	h := sha256.Sum256(b)
	var out [16]byte
	hex.Encode(out[:], h[:8])
	return string(out[:])
}

// DeclaredDate is the promise a description in the markup of tracker t
// declares, "Committed: 2026-12-01" (any case; the last such line wins),
// as Reconcile takes it.
func DeclaredDate(t connectors.Tracker, description string) (connectors.Date, bool) {
	return declaredDate(t, description)
}
