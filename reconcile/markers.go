package reconcile

import (
	"encoding/json"
	"fmt"
	"regexp"
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
	Kind      string // status or event
	ID        string // commitment ID (status) or event ID
	EventKind string // slipped, at_risk, … (event markers)
	Record    *Record
}

// EventMarker is the hidden marker of an event or reply comment.
func EventMarker(id, kind string) string {
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
	return fmt.Sprintf("<!-- slipwatch:status id=%s v=%d %s -->", r.ID, Schema, data)
}

// statusRecord is what the marker keeps: identity, history, announced IDs.
func statusRecord(r Record) Record {
	return Record{Schema: Schema, ID: r.ID, Ref: r.Ref, Commitments: r.Commitments, Targets: r.Targets, Declared: r.Declared,
		Delivered: r.Delivered, DeliveredOn: r.DeliveredOn, AtRisk: r.AtRisk, Announced: r.Announced}
}

var markerRE = regexp.MustCompile(`<!-- slipwatch:(status|event) id=([0-9a-f]{1,64})(?: kind=([a-z_]{1,32}))?(?: v=([0-9]{1,4}) (\{[^\n]*?\}))? -->`)

// ParseMarkers finds slipwatch's markers in text. It survives edits around
// the markers and ignores malformed or oversized ones without panicking;
// a status marker whose JSON does not decode is returned without Record.
func ParseMarkers(text string) []Marker {
	var out []Marker
	for _, m := range markerRE.FindAllStringSubmatch(text, 64) {
		mk := Marker{Kind: m[1], ID: m[2], EventKind: m[3]}
		if mk.Kind == MarkerEvent && mk.EventKind == "" {
			continue
		}
		if mk.Kind == MarkerStatus {
			if m[4] != fmt.Sprint(Schema) || len(m[5]) > maxMarkerJSON {
				continue
			}
			var r Record
			if err := json.Unmarshal([]byte(m[5]), &r); err == nil && r.ID == mk.ID {
				mk.Record = &r
			}
		}
		out = append(out, mk)
	}
	return out
}
