package connectors

import (
	"encoding/json"
	"fmt"
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

// FuzzDateText: the hand-written formatting writes every date, odd or
// not, exactly as fmt's %04d-%02d-%02d does, and as JSON what reads back
// as the same date.
func FuzzDateText(f *testing.F) {
	for _, d := range []Date{{2026, 12, 1}, {1970, 1, 1}, {9999, 12, 31}, {0, 0, 1}, {-5, 3, 4}, {10000, 1, 1}, {2026, 13, 100}, {2026, -1, 5}} {
		f.Add(d.Year, int(d.Month), d.Day)
	}
	f.Fuzz(func(t *testing.T, y, m, day int) {
		d := Date{Year: y, Month: time.Month(m), Day: day}
		if d.IsZero() {
			return
		}
		if want := fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day); d.String() != want {
			t.Fatalf("%#v prints %q, want %q", d, d.String(), want)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := json.Marshal(d.String()); string(b) != string(want) {
			t.Fatalf("%#v is JSON %s, want %s", d, b, want)
		}
		if p, err := ParseDate(d.String()); err == nil {
			var back Date
			if err := json.Unmarshal(b, &back); err != nil || back != p {
				t.Fatalf("%s read back as %v (%v)", b, back, err)
			}
		}
	})
}
