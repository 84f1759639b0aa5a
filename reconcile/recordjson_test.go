package reconcile

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

// fullRecord sets every field of Record, so a field added to Record and
// not to appendRecordJSON shows up as a difference.
func fullRecord() Record {
	d := connectors.Date{Year: 2026, Month: 12, Day: 1}
	at := time.Date(2026, 11, 2, 9, 30, 0, 123456789, time.FixedZone("", 5*3600+30*60))
	return Record{
		Schema: Schema, ID: "0123456789abcdef", Ref: ref, Title: "v2.0", URL: "https://github.com/acme/api/milestone/7",
		Commitments: []Commitment{
			{Date: d, Source: BaselineFirstSeen, By: "slipwatch", At: at, Scope: 10},
			{Date: d.AddDays(14), Source: DeclaredCommand, By: "jane", At: at.Add(time.Hour), Reason: "SSO added", Scope: 12},
		},
		Declared: d,
		Targets:  []TargetChange{{Date: d, At: at}, {At: at.UTC()}},
		Done:     3, Total: 12, Delivered: true, DeliveredOn: d.AddDays(3),
		Forecast: Forecast{Enough: true, Samples: 40, Remaining: 9, P50: d, P85: d.AddDays(1), P95: d.AddDays(2), Input: "x|9",
			Promised: d, ChanceKnown: true, Chance: 0.6235, Share: 0.333, Concurrent: 2, Added: 4, Growth: 0.25, Pace: 3.5},
		Health:     DeliveredLate,
		AtRisk:     true,
		Announced:  []string{"aa", "bb"},
		StatusHash: "cc", Thread: "acme/api#100",
		Linked:   &LinkedSide{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10042"}, Title: "2.0 GA", URL: "https://acme.atlassian.net/v", Target: connectors.DateOf(time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), time.UTC), Done: 3, Total: 6, Delivered: true},
		Observed: "0123456789abcdef",
	}
}

func TestRecordJSONMatchesEncodingJSON(t *testing.T) {
	tests := map[string]func(*Record){
		"every field":       func(*Record) {},
		"zero":              func(r *Record) { *r = Record{} },
		"status marker":     func(r *Record) { *r = statusRecord(*r) },
		"html in a reason":  func(r *Record) { r.Commitments[1].Reason = "<!-- a & b -->" },
		"quote and newline": func(r *Record) { r.Commitments[1].Reason = "say \"no\"\n\tthen\\" },
		"unicode":           func(r *Record) { r.Commitments[1].By = "jürgen\u2028" },
		"invalid utf-8":     func(r *Record) { r.Commitments[1].Reason = "a\xffb" },
		"year 10000":        func(r *Record) { r.Commitments[0].At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"negative year":     func(r *Record) { r.Targets[0].At = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) },
		"zone of a day":     func(r *Record) { r.Targets[0].At = r.Targets[0].At.In(time.FixedZone("", 24*3600)) },
		"zone just inside":  func(r *Record) { r.Targets[0].At = r.Targets[0].At.In(time.FixedZone("", -(24*3600 - 1))) },
		"date year 12345":   func(r *Record) { r.Declared = connectors.Date{Year: 12345, Month: 1, Day: 2} },
		"date year 7":       func(r *Record) { r.Declared = connectors.Date{Year: 7, Month: 1, Day: 2} },
		"odd date":          func(r *Record) { r.Forecast.P50, r.Declared = connectors.Date{}, connectors.Date{Month: 13} },
		"negative numbers":  func(r *Record) { r.Done, r.Forecast.Samples = -1, -5 },
		"chance zero":       func(r *Record) { r.Forecast.Chance, r.Forecast.Share = 0, 1 },
		"tiny chance":       func(r *Record) { r.Forecast.Chance = 1e-9 },
		"huge pace":         func(r *Record) { r.Forecast.Pace = 1e22 },
		"negative added":    func(r *Record) { r.Forecast.Added, r.Forecast.Concurrent = -3, -1 },
		"empty slices":      func(r *Record) { r.Commitments, r.Targets, r.Announced = []Commitment{}, []TargetChange{}, []string{} },
	}
	if _, ok := appendRecordJSON(nil, fullRecord()); !ok {
		t.Fatal("a usual record takes the slow path")
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			r := fullRecord()
			change(&r)
			want, _ := json.Marshal(r)
			got := marshalRecord([]byte("prefix"), r)
			if diff := cmp.Diff("prefix"+string(want), string(got)); diff != "" {
				t.Errorf("(-encoding/json +ours):\n%s", diff)
			}
		})
	}
}

// oldStatusMarker is StatusMarker as it was written on top of
// encoding/json; the fast one must produce the same text.
func oldStatusMarker(r Record) string {
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

func TestStatusMarkerBoundedAndUnchanged(t *testing.T) {
	big := fullRecord()
	for i := range 60 {
		big.Announced = append(big.Announced, fmt.Sprintf("%016x", i))
		big.Targets = append(big.Targets, TargetChange{Date: connectors.Date{Year: 2027, Month: 1, Day: 1 + i%28}, At: big.Targets[0].At})
		big.Commitments = append(big.Commitments, Commitment{Date: connectors.Date{Year: 2027, Month: 2, Day: 1 + i%28}, Source: DeclaredCommand,
			By: "jane", Reason: strings.Repeat("r", 80), At: big.Targets[0].At})
	}
	if data, _ := json.Marshal(statusRecord(big)); len(data) <= MaxStatusJSON {
		t.Fatalf("the oversized record is only %d bytes", len(data))
	}
	for name, r := range map[string]Record{"small": fullRecord(), "oversized": big} {
		t.Run(name, func(t *testing.T) {
			got := StatusMarker(r)
			if diff := cmp.Diff(oldStatusMarker(r), got); diff != "" {
				t.Errorf("(-old +new):\n%s", diff)
			}
			ms := ParseMarkers(got)
			if len(ms) != 1 || ms[0].Record == nil {
				t.Fatalf("marker does not parse back: %d markers", len(ms))
			}
			if n := len(got); n > MaxStatusJSON+100 {
				t.Errorf("marker is %d bytes", n)
			}
			first, _ := ms[0].Record.First()
			if want, _ := r.First(); first.Date != want.Date {
				t.Errorf("the first commitment was dropped: %s, want %s", first.Date, want.Date)
			}
		})
	}
}

func TestDateStringMatchesDate(t *testing.T) {
	for _, d := range []connectors.Date{{}, {Year: 2026, Month: 12, Day: 1}, {Year: 7, Month: 1, Day: 2}, {Year: 9999, Month: 12, Day: 31},
		{Year: 10000, Month: 1, Day: 1}, {Year: -3, Month: 1, Day: 1}, {Year: 2026, Month: 100, Day: 1}, {Year: 2026}} {
		if got, want := dateString(d), d.String(); got != want {
			t.Errorf("dateString(%#v) = %q, want %q", d, got, want)
		}
	}
}
