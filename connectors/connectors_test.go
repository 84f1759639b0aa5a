package connectors

import (
	"encoding/json"
	"testing"
	"time"
)

func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, ref := range []Ref{
		{Tracker: GitHub, Team: "acme/api", Kind: Milestone, ID: "7"},
		{Tracker: Jira, Team: "PLAT", Kind: Version, ID: "10042"},
		{Tracker: Jira, Team: "PLAT", Kind: Issue, ID: "PLAT-12"},
	} {
		got, err := ParseKey(ref.Key())
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", ref.Key(), err)
		}
		if got != ref {
			t.Errorf("ParseKey(%q) = %+v, want %+v", ref.Key(), got, ref)
		}
	}
}

func TestParseKeyRejects(t *testing.T) {
	t.Parallel()
	for _, key := range []string{
		"", "github", "github:acme/api", "github:acme/milestone/7", "gitlab:acme/api/milestone/7",
		"github:acme/api/pull/7", "github:acme/api/milestone/", "jira:PL/AT/version/1",
	} {
		if _, err := ParseKey(key); err == nil {
			t.Errorf("ParseKey(%q) succeeded, want an error", key)
		}
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Date
		ok   bool
	}{
		{"2026-12-01", Date{2026, time.December, 1}, true},
		{"2024-02-29", Date{2024, time.February, 29}, true},
		{"2026-02-29", Date{}, false},
		{"2026-12-1", Date{}, false},
		{"99999-01-01", Date{}, false},
		{"1969-12-31", Date{}, false},
		{"", Date{}, false},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestDueConvertsInstantInZone(t *testing.T) {
	t.Parallel()
	// GitHub stores a due date picked in the UI as an instant; 07:00 UTC on
	// Dec 1 is still Dec 1 in Berlin but Nov 30 in Honolulu.
	d := Deliverable{DueAt: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	honolulu, _ := time.LoadLocation("Pacific/Honolulu")
	if got, _ := d.Due(berlin); got != (Date{2026, 12, 1}) {
		t.Errorf("Berlin: %v", got)
	}
	if got, _ := d.Due(honolulu); got != (Date{2026, 11, 30}) {
		t.Errorf("Honolulu: %v", got)
	}
	if _, ok := (Deliverable{}).Due(time.UTC); ok {
		t.Error("a deliverable without a due date reports one")
	}
}

func TestDateArithmeticAndJSON(t *testing.T) {
	t.Parallel()
	d := Date{2026, time.March, 28}
	if got := d.AddDays(3); got != (Date{2026, time.March, 31}) {
		t.Errorf("AddDays: %v", got)
	}
	if got := (Date{2027, 1, 1}).Sub(Date{2026, 12, 1}); got != 31 {
		t.Errorf("Sub = %d", got)
	}
	b, err := json.Marshal(struct {
		A Date
		B Date
	}{A: d})
	if err != nil || string(b) != `{"A":"2026-03-28","B":null}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var back struct{ A, B Date }
	if err := json.Unmarshal(b, &back); err != nil || back.A != d || !back.B.IsZero() {
		t.Errorf("Unmarshal = %+v, %v", back, err)
	}
}

func TestCountThroughput(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	from := Date{2026, 11, 1}
	to := Date{2026, 11, 3}
	closed := []time.Time{
		time.Date(2026, 10, 31, 23, 30, 0, 0, time.UTC), // Nov 1 00:30 in Berlin
		time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 3, 23, 30, 0, 0, time.UTC), // Nov 4 in Berlin: outside
		time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),   // before the window
	}
	got := CountThroughput(closed, from, to, berlin)
	if want := []int{1, 2, 0}; !equalInts(got.Daily, want) {
		t.Fatalf("Daily = %v, want %v", got.Daily, want)
	}
	if got.Total() != 3 {
		t.Fatalf("Total = %d, want 3", got.Total())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCountFacts pins the team-level facts a connector derives from the
// window's completions (the backtest counts them the same way).
func TestCountFacts(t *testing.T) {
	t.Parallel()
	from := Date{Year: 2026, Month: 11, Day: 1}
	day := func(n, hour int) time.Time {
		return from.AddDays(n).Time(time.UTC).Add(time.Duration(hour) * time.Hour)
	}
	done := []Completion{
		// a: open, first completed on day 2; one item added on day 3.
		{Deliverable: "a", Open: true, Created: day(-10, 9), Closed: day(2, 12)},
		{Deliverable: "a", Open: true, Created: day(-10, 9), Closed: day(4, 12)},
		{Deliverable: "a", Open: true, Created: day(3, 9), Closed: day(5, 12)},
		// b: delivered; both items planned (one created the morning of
		// its first completion).
		{Deliverable: "b", Created: day(-3, 9), Closed: day(1, 10)},
		{Deliverable: "b", Created: day(1, 9), Closed: day(1, 11)},
		// Support work, and a completion after the window.
		{Created: day(0, 9), Closed: day(2, 9)},
		{Deliverable: "c", Open: true, Created: day(0, 9), Closed: day(9, 9)},
		// d: begun before the window: what was created in it was added;
		// of the four created before it, one counts as planned.
		{Deliverable: "d", Open: true, Begun: true, Created: day(0, 9), Closed: day(1, 12)},
		{Deliverable: "d", Open: true, Begun: true, Created: day(-20, 9), Closed: day(3, 12)},
		{Deliverable: "d", Open: true, Begun: true, Created: day(-20, 9), Closed: day(3, 13)},
		{Deliverable: "d", Open: true, Begun: true, Created: day(-20, 9), Closed: day(4, 12)},
		{Deliverable: "d", Open: true, Begun: true, Created: day(-2, 9), Closed: day(5, 12)},
	}
	tp := Throughput{From: from, To: from.AddDays(6)}
	tp.CountFacts(done, time.UTC)
	want := Throughput{From: from, To: from.AddDays(6), Active: 2, Assigned: 10, ScopeAdded: 2, ScopePlannedClosed: 5}
	if tp.Active != want.Active || tp.Assigned != want.Assigned || tp.ScopeAdded != want.ScopeAdded || tp.ScopePlannedClosed != want.ScopePlannedClosed {
		t.Errorf("facts %+v, want %+v", tp, want)
	}
}
