package reconcile

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// EventMarker is the hidden marker of an event or reply comment.
func EventMarker(id string, kind EventKind) string {
	return fmt.Sprintf("<!-- slipwatch:event id=%s kind=%s -->", id, kind)
}

// StatusMarker is the hidden marker of the status comment: the record's
// commitment history, so a flushed Redis loses nothing that was shown.
// encoding/json escapes <, > and &, so the JSON can never close the HTML
// comment early.
func StatusMarker(r Record) string {
	m := statusRecord(r)
	data, _ := json.Marshal(m)
	for len(data) > MaxStatusJSON && (len(m.Announced) > 0 || len(m.Targets) > 1 || len(m.Commitments) > 1) {
		switch {
		case len(m.Announced) > 0:
			m.Announced = m.Announced[min(len(m.Announced), 16):]
		case len(m.Targets) > 1:
			m.Targets = m.Targets[1:]
		default:
			m.Commitments = append(m.Commitments[:1:1], m.Commitments[2:]...)
		}
		data, _ = json.Marshal(m)
	}
	return "<!-- slipwatch:status id=" + r.ID + " v=" + strconv.Itoa(Schema) + " " + string(data) + " -->"
}

// statusRecord is what the marker keeps: identity, history, announced IDs.
func statusRecord(r Record) Record {
	return Record{Schema: Schema, ID: r.ID, Ref: r.Ref, Commitments: r.Commitments, Targets: r.Targets, Declared: r.Declared,
		Delivered: r.Delivered, DeliveredOn: r.DeliveredOn, AtRisk: r.AtRisk, Announced: r.Announced}
}

// markerPrefix opens every marker; scanning for it first keeps comments
// without one cheap.
const markerPrefix = "<!-- slipwatch:"

// maxMarkers is how many markers one text yields at most.
const maxMarkers = 64

// rawMarker is a marker as found, its status JSON not yet decoded:
// Reconcile needs the record only when Redis lost it.
type rawMarker struct {
	kind, id, eventKind, version, json string
}

// scanMarkers calls yield for each well-formed marker in text, leftmost
// first, never overlapping, at most maxMarkers. The grammar (what the
// regular expression below would match; markers_test.go checks the two
// agree):
//
//	<!-- slipwatch:(status|event) id=([0-9a-f]{1,64})(?: kind=([a-z_]{1,32}))?(?: v=([0-9]{1,4}) (\{[^\n]*?\}))? -->
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

// ParseMarkers finds slipwatch's markers in text. It survives edits around
// the markers and ignores malformed or oversized ones without panicking;
// a status marker whose JSON does not decode is returned without Record.
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
