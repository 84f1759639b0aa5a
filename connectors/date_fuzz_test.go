package connectors

import (
	"testing"
	"time"
)

// FuzzParseDate: ParseDate never panics, accepts only what it prints back
// unchanged (YYYY-MM-DD, years 1970..9999), and its dates survive the
// day arithmetic the forecast does.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-12-01", "2026-02-30", "99999-01-01", "1969-12-31", "9999-12-31", "2026-1-1", "+2026-12-01", "２０２６-12-01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) = %s: accepted a spelling it does not print", s, d)
		}
		if d.Year < 1970 || d.Year > 9999 {
			t.Fatalf("ParseDate(%q): year %d out of range", s, d.Year)
		}
		if back := DateFromDays(d.Days()); back != d {
			t.Fatalf("%s → %d days → %s", d, d.Days(), back)
		}
		if got := DateOf(d.Time(time.UTC), time.UTC); got != d {
			t.Fatalf("%s → instant → %s", d, got)
		}
	})
}
