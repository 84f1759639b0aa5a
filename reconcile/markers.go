package reconcile

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// Marker kinds.
const (
	MarkerStatus = "status"
	MarkerEvent  = "event"
)

// MaxStatusJSON bounds the record carried by a status marker; beyond it the
// oldest history entries are dropped (the newest are what a restore needs).
const MaxStatusJSON = 8 << 10

// maxMarkerJSON is what ParseMarkers accepts at most: anything bigger was
// not written by slipwatch.
const maxMarkerJSON = 64 << 10

// Marker is one hidden slipwatch marker found in a comment.
type Marker struct {
	Kind      string    // status or event
	ID        string    // commitment ID (status) or event ID
	EventKind EventKind // slipped, at_risk, … (event markers); as written, maybe a kind this version does not know
	Record    *Record
}

// MarkerKeys sign the markers slipwatch writes and check those it reads.
// A user who may edit slipwatch's comments (GitHub's write role, Jira's
// "Edit All Comments") could otherwise plant a marker that hides an event
// ("already said") or poisons the history a record is rebuilt from after
// Redis is lost. The first key signs; every key verifies, so a key being
// rotated out still vouches for what it signed. The zero value signs
// nothing and trusts nothing (markers are then only found, never believed).
type MarkerKeys struct {
	keys [][]byte
	// macs hold each key's HMAC with the key already absorbed, never
	// written to: signing clones one, which spares every marker of every
	// pass the key's two blocks of SHA-256.
	macs []hash.Hash
}

// NewMarkerKeys is current, which signs, and previous, also accepted.
// Empty keys are left out.
func NewMarkerKeys(current []byte, previous ...[]byte) MarkerKeys {
	var k MarkerKeys
	for _, key := range append([][]byte{current}, previous...) {
		if len(key) > 0 {
			k.keys = append(k.keys, append([]byte(nil), key...))
			k.macs = append(k.macs, hmac.New(sha256.New, key))
		}
	}
	return k
}

// IsZero reports whether k has no key: markers go unsigned and none is
// trusted.
func (k MarkerKeys) IsZero() bool { return len(k.keys) == 0 }

// sigLen is the length of a marker's signature in hex: 128 bits of
// HMAC-SHA256, short enough to keep markers compact, far beyond guessing.
const sigLen = 32

// sign is the signature of m's content with the i-th key: every field the marker
// carries, so none can be changed or moved to another marker kind.
func (k MarkerKeys) sign(i int, m rawMarker) string {
	var h hash.Hash
	if c, err := k.macs[i].(hash.Cloner).Clone(); err == nil {
		h = c
	} else {
		h = hmac.New(sha256.New, k.keys[i])
	}
	for _, part := range []string{"slipwatch marker", m.kind, m.id, m.eventKind, m.version, m.json} {
		_, _ = io.WriteString(h, part)
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:sigLen/2])
}

// verdict is what the keys say of one marker.
type verdict int

const (
	unsigned verdict = iota // no signature: written before markers were signed, or by someone without a key
	forged                  // a signature no key gives: forged, or signed with a key since removed
	trusted                 // signed with the current key
	rotated                 // signed with a previous key
)

func (k MarkerKeys) check(m rawMarker) verdict {
	if m.kind == MarkerStatus {
		m.sig, m.json = cutJSONSig(m.json)
	}
	if m.sig == "" {
		return unsigned
	}
	for i := range k.keys {
		if hmac.Equal([]byte(k.sign(i, m)), []byte(m.sig)) {
			if i == 0 {
				return trusted
			}
			return rotated
		}
	}
	return forged
}

func (v verdict) ok() bool { return v == trusted || v == rotated }

// jsonSig opens the JSON of a signed status marker: the signature is its
// first member, so versions that predate signing still read the marker
// (encoding/json skips a member it does not know) and a rollback keeps
// editing the status comment it finds.
const jsonSig = `{"sig":"`

// cutJSONSig splits a status marker's JSON into its signature and the JSON
// that was signed, which is the same without that first member.
func cutJSONSig(j string) (sig, signed string) {
	rest, ok := strings.CutPrefix(j, jsonSig)
	if !ok || len(rest) < sigLen+2 || rest[sigLen:sigLen+2] != `",` {
		return "", j
	}
	for i := range sigLen {
		if !isHex(rest[i]) {
			return "", j
		}
	}
	return rest[:sigLen], "{" + rest[sigLen+2:]
}

// signed writes m with its signature (none when k has no key): an
// attribute of an event marker, the first member of a status marker's
// JSON.
func (k MarkerKeys) signed(m rawMarker) string {
	var b strings.Builder
	b.Grow(len(markerPrefix) + len(m.id) + len(m.json) + 96)
	b.WriteString(markerPrefix)
	b.WriteString(m.kind)
	b.WriteString(" id=")
	b.WriteString(m.id)
	if m.eventKind != "" {
		b.WriteString(" kind=")
		b.WriteString(m.eventKind)
	}
	sig := ""
	if !k.IsZero() {
		sig = k.sign(0, m)
	}
	if sig != "" && m.version == "" {
		b.WriteString(" sig=")
		b.WriteString(sig)
	}
	if m.version != "" {
		b.WriteString(" v=")
		b.WriteString(m.version)
		b.WriteString(" ")
		if sig != "" && strings.HasPrefix(m.json, "{") {
			b.WriteString(jsonSig)
			b.WriteString(sig)
			b.WriteString(`",`)
			b.WriteString(m.json[1:])
		} else {
			b.WriteString(m.json)
		}
	}
	b.WriteString(" -->")
	return b.String()
}

// EventMarker is the hidden marker of an event or reply comment.
func (k MarkerKeys) EventMarker(id string, kind EventKind) string {
	return k.signed(rawMarker{kind: MarkerEvent, id: id, eventKind: string(kind)})
}

// StatusMarker is the hidden marker of the status comment: the record's
// commitment history, so a flushed Redis loses nothing that was shown.
// encoding/json escapes <, > and &, so the JSON can never close the HTML
// comment early.
func (k MarkerKeys) StatusMarker(r Record) string {
	return k.signed(rawMarker{kind: MarkerStatus, id: r.ID, version: strconv.Itoa(Schema), json: string(statusJSON(r))})
}

// statusJSON is the record a status marker carries, within MaxStatusJSON:
// beyond it go, oldest first, the announced IDs, then the due-date
// history, then the commitments but the first (the promise a track
// record judges). Each is cut by bisection, so a history of thousands
// costs a few encodings, not thousands.
func statusJSON(r Record) []byte {
	m := markerOf(statusRecord(r))
	data, _ := json.Marshal(m)
	if len(data) <= MaxStatusJSON {
		return data
	}
	all := m
	// keep reports whether the marker fits with n of the newest entries of
	// one list (the others as they are now), and leaves m so.
	fits := func(set func(n int)) func(n int) bool {
		return func(n int) bool {
			set(n)
			data, _ = json.Marshal(m)
			return len(data) <= MaxStatusJSON
		}
	}
	cut := func(total, least int, set func(n int)) bool {
		ok := fits(set)
		if ok(least) {
			// The most that fit: ok(lo) holds, ok(hi+1) does not.
			lo, hi := least, total
			for lo < hi {
				mid := (lo + hi + 1) / 2
				if ok(mid) {
					lo = mid
				} else {
					hi = mid - 1
				}
			}
			set(lo)
			return true
		}
		return false
	}
	announced := func(n int) { m.Announced = all.Announced[len(all.Announced)-n:] }
	targets := func(n int) { m.Targets = all.Targets[len(all.Targets)-n:] }
	commitments := func(n int) {
		m.Commitments = append(all.Commitments[:1:1], all.Commitments[len(all.Commitments)-n:]...)
	}
	switch {
	case cut(len(all.Announced), 0, announced):
	case len(all.Targets) > 1 && cut(len(all.Targets), 1, targets):
	case len(all.Commitments) > 1 && cut(len(all.Commitments)-1, 0, commitments):
	}
	data, _ = json.Marshal(m)
	return data
}

// markerRecord is the part of a Record a status marker carries, as a
// Record's JSON spells it (a marker decodes into a Record) but without
// the fields it leaves empty: every byte is repeated on every thread.
type markerRecord struct {
	Schema      int             `json:"schema"`
	ID          string          `json:"id"`
	Ref         connectors.Ref  `json:"ref"`
	Commitments []Commitment    `json:"commitments,omitempty"`
	Declared    connectors.Date `json:"declared,omitzero"`
	Targets     []TargetChange  `json:"targets,omitempty"`
	Delivered   bool            `json:"delivered,omitempty"`
	DeliveredOn connectors.Date `json:"delivered_on,omitzero"`
	AtRisk      bool            `json:"at_risk,omitempty"`
	Announced   []string        `json:"announced,omitempty"`
	Thread      string          `json:"thread,omitempty"`
}

func markerOf(r Record) markerRecord {
	return markerRecord{Schema: r.Schema, ID: r.ID, Ref: r.Ref, Commitments: r.Commitments, Declared: r.Declared, Targets: r.Targets,
		Delivered: r.Delivered, DeliveredOn: r.DeliveredOn, AtRisk: r.AtRisk, Announced: r.Announced, Thread: r.Thread}
}

// statusRecord is what the marker keeps: identity, history, announced IDs
// and the thread it belongs to (a signed marker copied to another thread
// restores nothing there).
func statusRecord(r Record) Record {
	return Record{Schema: Schema, ID: r.ID, Ref: r.Ref, Commitments: r.Commitments, Targets: r.Targets, Declared: r.Declared,
		Delivered: r.Delivered, DeliveredOn: r.DeliveredOn, AtRisk: r.AtRisk, Announced: r.Announced, Thread: r.Thread}
}

// markerPrefix opens every marker; scanning for it first keeps comments
// without one cheap.
const markerPrefix = "<!-- slipwatch:"

// maxMarkers is how many markers one text yields at most.
const maxMarkers = 64

// rawMarker is a marker as found, its status JSON not yet decoded:
// Reconcile needs the record only when Redis lost it.
type rawMarker struct {
	kind, id, eventKind, sig, version, json string
}

// scanMarkers calls yield for each well-formed marker in text, leftmost
// first, never overlapping, at most maxMarkers. The grammar (what the
// regular expression below would match; markers_test.go checks the two
// agree):
//
//	<!-- slipwatch:(status|event) id=([0-9a-f]{1,64})(?: kind=([a-z_]{1,32}))?(?: sig=([0-9a-f]{32}))?(?: v=([0-9]{1,4}) (\{[^\n]*?\}))? -->
//
// It is written by hand because a regexp over a status comment cost more
// than the rest of a reconcile pass.
func scanMarkers(text string, yield func(rawMarker)) {
	n := 0
	for n < maxMarkers {
		i := strings.Index(text, markerPrefix)
		if i < 0 {
			return
		}
		m, end, ok := scanMarker(text[i+len(markerPrefix):])
		if !ok {
			text = text[i+1:]
			continue
		}
		yield(m)
		n++
		text = text[i+len(markerPrefix)+end:]
	}
}

// scanMarker reads one marker after its prefix; end is where it stops.
func scanMarker(s string) (m rawMarker, end int, ok bool) {
	rest := s
	switch {
	case strings.HasPrefix(rest, "status id="):
		m.kind, rest = MarkerStatus, rest[len("status id="):]
	case strings.HasPrefix(rest, "event id="):
		m.kind, rest = MarkerEvent, rest[len("event id="):]
	default:
		return m, 0, false
	}
	if m.id, rest, ok = span(rest, isHex, 64); !ok {
		return m, 0, false
	}
	if v, found := strings.CutPrefix(rest, " kind="); found {
		if m.eventKind, rest, ok = span(v, isKindByte, 32); !ok {
			return m, 0, false
		}
	}
	if v, found := strings.CutPrefix(rest, " sig="); found {
		if m.sig, rest, ok = span(v, isHex, sigLen); !ok || len(m.sig) != sigLen {
			return m, 0, false
		}
	}
	if v, found := strings.CutPrefix(rest, " v="); found {
		if m.version, rest, ok = span(v, isDigit, 4); !ok || !strings.HasPrefix(rest, " {") {
			return m, 0, false
		}
		rest = rest[1:]
		// The JSON is the shortest {…} on one line followed by " -->".
		j := strings.Index(rest[1:], "} -->")
		if j < 0 || strings.IndexByte(rest[:1+j], '\n') >= 0 {
			return m, 0, false
		}
		m.json, rest = rest[:j+2], rest[j+2:]
	}
	if !strings.HasPrefix(rest, " -->") {
		return m, 0, false
	}
	return m, len(s) - len(rest) + len(" -->"), true
}

// span cuts the run of bytes in class at the start of s: between 1 and
// most of them, and the run must end there.
func span(s string, class func(byte) bool, most int) (run, rest string, ok bool) {
	i := 0
	for i < len(s) && class(s[i]) {
		i++
	}
	if i == 0 || i > most {
		return "", s, false
	}
	return s[:i], s[i:], true
}

func isHex(c byte) bool      { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
func isKindByte(c byte) bool { return 'a' <= c && c <= 'z' || c == '_' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }

// decode is the record of a status marker, nil when its JSON does not
// decode, is oversized or belongs to another commitment.
func (m rawMarker) decode() *Record {
	if len(m.json) > maxMarkerJSON {
		return nil
	}
	var r Record
	if err := json.Unmarshal([]byte(m.json), &r); err != nil || r.ID != m.id {
		return nil
	}
	return &r
}

// usable reports whether ParseMarkers returns m: an event marker needs
// its kind, a status marker this schema and bounded JSON.
func (m rawMarker) usable() bool {
	if m.kind == MarkerEvent {
		return m.eventKind != ""
	}
	return m.version == strconv.Itoa(Schema) && len(m.json) <= maxMarkerJSON
}

// Verified is ParseMarkers keeping only the markers k vouches for: those
// slipwatch believes.
func (k MarkerKeys) Verified(text string) []Marker {
	var out []Marker
	scanMarkers(text, func(m rawMarker) {
		if !m.usable() || !k.check(m).ok() {
			return
		}
		mk := Marker{Kind: m.kind, ID: m.id, EventKind: EventKind(m.eventKind)}
		if mk.Kind == MarkerStatus {
			mk.Record = m.decode()
		}
		out = append(out, mk)
	})
	return out
}

// Why a marker in slipwatch's own comment was not believed.
const (
	// RejectStale: unsigned or signed with an unknown key, in a comment
	// nobody edited since it was written: what an earlier version wrote,
	// or a key since rotated out signed. Expected after an upgrade or a
	// rotation; on Jira, whose marker lives in a comment property, it is
	// also what a planted marker looks like (setting a property does not
	// change the comment's update time).
	RejectStale = "stale"
	// RejectUnsigned: no signature, in a comment edited since written.
	RejectUnsigned = "unsigned"
	// RejectBadSignature: a signature no key gives, in a comment edited
	// since written.
	RejectBadSignature = "bad_signature"
)

// RejectedMarker is a marker in one of slipwatch's own comments that its
// keys do not vouch for. Reconcile ignores it: it neither hides an event
// nor restores a record (a status marker still says which comment to
// edit, and that edit signs it).
type RejectedMarker struct {
	Comment string // the comment's ID
	Kind    string // MarkerStatus or MarkerEvent
	ID      string // the marker's event or commitment ID
	Reason  string // RejectStale, RejectUnsigned or RejectBadSignature
}

// editedAfter is how much later than its creation a comment must have been
// updated to count as edited: trackers stamp both at once, to the second.
const editedAfter = time.Second

// Rejected lists the markers in slipwatch's comments on th that k does not
// vouch for, for the runner to log and count.
func (k MarkerKeys) Rejected(th *connectors.Thread) []RejectedMarker {
	if th == nil {
		return nil
	}
	var out []RejectedMarker
	for _, c := range th.Comments {
		if !c.BySelf || !strings.Contains(c.Hidden, markerPrefix) {
			continue
		}
		edited := c.UpdatedAt.Sub(c.CreatedAt) > editedAfter
		scanMarkers(c.Hidden, func(m rawMarker) {
			if !m.usable() {
				return
			}
			v := k.check(m)
			if v.ok() {
				return
			}
			r := RejectedMarker{Comment: c.ID, Kind: m.kind, ID: m.id, Reason: RejectStale}
			switch {
			case !edited:
			case v == unsigned:
				r.Reason = RejectUnsigned
			default:
				r.Reason = RejectBadSignature
			}
			out = append(out, r)
		})
	}
	return out
}

// ParseMarkers finds slipwatch's markers in text, signed or not (whether
// slipwatch believes one is MarkerKeys.Verified's question). It survives
// edits around the markers and ignores malformed or oversized ones without
// panicking; a status marker whose JSON does not decode is returned
// without Record.
func ParseMarkers(text string) []Marker {
	var out []Marker
	scanMarkers(text, func(m rawMarker) {
		if !m.usable() {
			return
		}
		mk := Marker{Kind: m.kind, ID: m.id, EventKind: EventKind(m.eventKind)}
		if mk.Kind == MarkerStatus {
			mk.Record = m.decode()
		}
		out = append(out, mk)
	})
	return out
}
