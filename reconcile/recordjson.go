package reconcile

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// appendRecordJSON appends what json.Marshal(r) returns, byte for byte,
// without reflection: every pass renders the status marker to see whether
// it changed, and encoding/json was a fifth of the pass. It handles the
// usual values and reports ok=false for anything else (a string needing
// escapes, a time json.Marshal refuses), and the caller falls back to
// encoding/json. recordjson_test.go compares the two on varied records, so
// a field added to Record without adding it here fails the tests.
func appendRecordJSON(b []byte, r Record) ([]byte, bool) {
	e := jsonAppender{b: b, ok: true}
	e.raw(`{"schema":`)
	e.int(r.Schema)
	e.raw(`,"id":`)
	e.str(r.ID)
	e.raw(`,"ref":{"tracker":`)
	e.str(string(r.Ref.Tracker))
	e.raw(`,"team":`)
	e.str(r.Ref.Team)
	e.raw(`,"kind":`)
	e.str(string(r.Ref.Kind))
	e.raw(`,"id":`)
	e.str(r.Ref.ID)
	e.raw(`},"title":`)
	e.str(r.Title)
	if r.URL != "" {
		e.raw(`,"url":`)
		e.str(r.URL)
	}
	if len(r.Commitments) > 0 {
		e.raw(`,"commitments":[`)
		for i, c := range r.Commitments {
			if i > 0 {
				e.raw(",")
			}
			e.raw(`{"date":`)
			e.date(c.Date)
			e.raw(`,"source":`)
			e.str(string(c.Source))
			if c.By != "" {
				e.raw(`,"by":`)
				e.str(c.By)
			}
			e.raw(`,"at":`)
			e.time(c.At)
			if c.Reason != "" {
				e.raw(`,"reason":`)
				e.str(c.Reason)
			}
			e.raw(`,"scope":`)
			e.int(c.Scope)
			e.raw("}")
		}
		e.raw("]")
	}
	e.raw(`,"declared":`)
	e.date(r.Declared)
	if len(r.Targets) > 0 {
		e.raw(`,"targets":[`)
		for i, t := range r.Targets {
			if i > 0 {
				e.raw(",")
			}
			e.raw(`{"date":`)
			e.date(t.Date)
			e.raw(`,"at":`)
			e.time(t.At)
			e.raw("}")
		}
		e.raw("]")
	}
	e.raw(`,"done":`)
	e.int(r.Done)
	e.raw(`,"total":`)
	e.int(r.Total)
	if r.Delivered {
		e.raw(`,"delivered":true`)
	}
	e.raw(`,"delivered_on":`)
	e.date(r.DeliveredOn)
	f := r.Forecast
	e.raw(`,"forecast":{"enough":`)
	e.bool(f.Enough)
	e.raw(`,"samples":`)
	e.int(f.Samples)
	e.raw(`,"remaining":`)
	e.int(f.Remaining)
	e.raw(`,"p50":`)
	e.date(f.P50)
	e.raw(`,"p85":`)
	e.date(f.P85)
	e.raw(`,"p95":`)
	e.date(f.P95)
	if f.Input != "" {
		e.raw(`,"input":`)
		e.str(f.Input)
	}
	if !f.Promised.IsZero() {
		e.raw(`,"promised":`)
		e.date(f.Promised)
	}
	if f.ChanceKnown {
		e.raw(`,"chance_known":true`)
	}
	e.optFloat(`,"chance":`, f.Chance)
	e.optFloat(`,"share":`, f.Share)
	if f.Concurrent != 0 {
		e.raw(`,"concurrent":`)
		e.int(f.Concurrent)
	}
	if f.Added != 0 {
		e.raw(`,"added":`)
		e.int(f.Added)
	}
	e.optFloat(`,"growth":`, f.Growth)
	e.optFloat(`,"pace":`, f.Pace)
	e.raw(`},"health":`)
	e.str(string(r.Health))
	if r.AtRisk {
		e.raw(`,"at_risk":true`)
	}
	if len(r.Announced) > 0 {
		e.raw(`,"announced":[`)
		for i, id := range r.Announced {
			if i > 0 {
				e.raw(",")
			}
			e.str(id)
		}
		e.raw("]")
	}
	if r.StatusHash != "" {
		e.raw(`,"status_hash":`)
		e.str(r.StatusHash)
	}
	if r.Thread != "" {
		e.raw(`,"thread":`)
		e.str(r.Thread)
	}
	if l := r.Linked; l != nil {
		e.raw(`,"linked":{"ref":{"tracker":`)
		e.str(string(l.Ref.Tracker))
		e.raw(`,"team":`)
		e.str(l.Ref.Team)
		e.raw(`,"kind":`)
		e.str(string(l.Ref.Kind))
		e.raw(`,"id":`)
		e.str(l.Ref.ID)
		e.raw(`},"title":`)
		e.str(l.Title)
		if l.URL != "" {
			e.raw(`,"url":`)
			e.str(l.URL)
		}
		e.raw(`,"target":`)
		e.date(l.Target)
		e.raw(`,"done":`)
		e.int(l.Done)
		e.raw(`,"total":`)
		e.int(l.Total)
		if l.Delivered {
			e.raw(`,"delivered":true`)
		}
		e.raw("}")
	}
	if r.Observed != "" {
		e.raw(`,"observed":`)
		e.str(r.Observed)
	}
	e.raw("}")
	return e.b, e.ok
}

type jsonAppender struct {
	b  []byte
	ok bool
}

func (e *jsonAppender) raw(s string) { e.b = append(e.b, s...) }
func (e *jsonAppender) int(n int)    { e.b = strconv.AppendInt(e.b, int64(n), 10) }
func (e *jsonAppender) bool(v bool)  { e.b = strconv.AppendBool(e.b, v) }

// optFloat writes name and v unless v is zero (omitempty), as
// encoding/json does for the values a forecast holds; others (tiny, huge,
// NaN) take the slow path.
func (e *jsonAppender) optFloat(name string, v float64) {
	if v == 0 {
		return
	}
	if a := math.Abs(v); !(a >= 1e-6 && a < 1e21) {
		e.ok = false
		return
	}
	e.raw(name)
	e.b = strconv.AppendFloat(e.b, v, 'f', -1, 64)
}

// str writes s quoted when no byte needs an escape; encoding/json escapes
// <, > and & too (which is what keeps a marker's JSON from closing its
// HTML comment).
func (e *jsonAppender) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			e.ok = false
			return
		}
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, s...)
	e.b = append(e.b, '"')
}

// date writes what connectors.Date.MarshalJSON does.
func (e *jsonAppender) date(d connectors.Date) {
	switch {
	case d.IsZero():
		e.raw("null")
	case d.Year < 0 || d.Year > 9999 || d.Month < 1 || d.Month > 99 || d.Day < 0 || d.Day > 99:
		e.ok = false
	default:
		e.b = append(e.b, '"')
		e.b = appendDate(e.b, d)
		e.b = append(e.b, '"')
	}
}

// time writes what time.Time.MarshalJSON does, which refuses years outside
// 0..9999 and zone offsets of a day or more.
func (e *jsonAppender) time(t time.Time) {
	if y := t.Year(); y < 0 || y > 9999 {
		e.ok = false
		return
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		e.ok = false
		return
	}
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

// appendDate writes d as YYYY-MM-DD, as connectors.Date.String does for
// years 0..9999.
func appendDate(b []byte, d connectors.Date) []byte {
	b = appendPadded(b, d.Year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(d.Month), 2)
	b = append(b, '-')
	return appendPadded(b, d.Day, 2)
}

func appendPadded(b []byte, n, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], int64(n), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// marshalRecord is json.Marshal(r), fast for the usual record.
func marshalRecord(b []byte, r Record) []byte {
	if out, ok := appendRecordJSON(b, r); ok {
		return out
	}
	data, _ := json.Marshal(r)
	return append(b, data...)
}
