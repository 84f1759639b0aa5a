package connectors

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar date with no time of day and no zone. Commitments and
// due dates are dates: "we said Dec 1" means the whole of Dec 1 wherever the
// team is, so they are never compared as instants.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses an ISO date (YYYY-MM-DD) strictly: "2026-12-1" and
// "2026-02-30" are errors, and so is a year outside 1970..9999.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	if t.Year() < 1970 || t.Year() > 9999 {
		return Date{}, fmt.Errorf("%q is out of range (years 1970 to 9999)", s)
	}
	return DateOf(t, time.UTC), nil
}

// DateOf is the calendar date of instant t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{Year: y, Month: m, Day: d}
}

// IsZero reports whether d is the zero Date (no date).
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return string(d.appendISO(make([]byte, 0, 10)))
}

// appendISO appends d as YYYY-MM-DD. Every status comment, marker and
// record writes dozens of dates a pass, so the common case skips fmt;
// anything outside four-digit years and two-digit fields goes through it,
// as before.
func (d Date) appendISO(b []byte) []byte {
	y, m, day := d.Year, int(d.Month), d.Day
	if y < 0 || y > 9999 || m < 0 || m > 99 || day < 0 || day > 99 {
		return fmt.Appendf(b, "%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+day/10), byte('0'+day%10))
}

// Time is midnight at the start of d in loc.
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Days is the number of days since 1970-01-01; it orders and subtracts dates
// without time zones getting in the way.
func (d Date) Days() int {
	return int(d.Time(time.UTC).Unix() / 86400)
}

// DateFromDays is the inverse of Days.
func DateFromDays(n int) Date {
	return DateOf(time.Unix(int64(n)*86400, 0), time.UTC)
}

// AddDays returns d moved by n days (n may be negative).
func (d Date) AddDays(n int) Date { return DateFromDays(d.Days() + n) }

// Sub is the number of days from e to d (d - e).
func (d Date) Sub(e Date) int { return d.Days() - e.Days() }

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool { return d.Days() < e.Days() }

// After reports whether d is strictly after e.
func (d Date) After(e Date) bool { return d.Days() > e.Days() }

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	// Digits and dashes only: nothing to escape.
	return append(d.appendISO(append(make([]byte, 0, 12), '"')), '"'), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	p, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
