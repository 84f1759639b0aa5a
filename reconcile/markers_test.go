package reconcile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

// grammarRE is the marker grammar as a regular expression: the reference
// the hand-written scanner must agree with.
var grammarRE = regexp.MustCompile(`<!-- slipwatch:(status|event) id=([0-9a-f]{1,64})(?: kind=([a-z_]{1,32}))?(?: sig=([0-9a-f]{32}))?(?: v=([0-9]{1,4}) (\{[^\n]*?\}))? -->`)

func scanAll(text string) []rawMarker {
	var got []rawMarker
	scanMarkers(text, func(m rawMarker) { got = append(got, m) })
	return got
}

func grammarAll(text string) []rawMarker {
	var want []rawMarker
	for _, m := range grammarRE.FindAllStringSubmatch(text, maxMarkers) {
		want = append(want, rawMarker{kind: m[1], id: m[2], eventKind: m[3], sig: m[4], version: m[5], json: m[6]})
	}
	return want
}

var rawOpt = cmp.AllowUnexported(rawMarker{})

func TestScanMarkersAgreesWithGrammar(t *testing.T) {
	k := settings().Markers
	long := Record{ID: "abcd", Announced: []string{"a", "b"}, Commitments: []Commitment{{Date: connectors.Date{Year: 2026, Month: 12, Day: 1}}}}
	tests := map[string]string{
		"event":                k.EventMarker("0123456789abcdef", "slipped"),
		"status":               k.StatusMarker(long),
		"unsigned event":       MarkerKeys{}.EventMarker("0123456789abcdef", "slipped"),
		"unsigned status":      MarkerKeys{}.StatusMarker(long),
		"edited around":        "hello\n" + k.EventMarker("ff", "at_risk") + " and more " + k.EventMarker("ee", "overdue") + "\n",
		"sig too short":        "<!-- slipwatch:event id=ab kind=x sig=" + strings.Repeat("a", 31) + " -->",
		"sig too long":         "<!-- slipwatch:event id=ab kind=x sig=" + strings.Repeat("a", 33) + " -->",
		"sig after v":          "<!-- slipwatch:status id=ab v=1 sig=" + strings.Repeat("a", 32) + " {} -->",
		"id too long":          "<!-- slipwatch:event id=" + strings.Repeat("a", 65) + " kind=x -->",
		"id of 64":             "<!-- slipwatch:event id=" + strings.Repeat("a", 64) + " kind=x -->",
		"kind too long":        "<!-- slipwatch:event id=ab kind=" + strings.Repeat("k", 33) + " -->",
		"upper-case id":        "<!-- slipwatch:event id=AB kind=x -->",
		"no kind":              "<!-- slipwatch:event id=ab -->",
		"json over a newline":  "<!-- slipwatch:status id=ab v=1 {\"id\":\n\"ab\"} -->",
		"json ends early":      "<!-- slipwatch:status id=ab v=1 {\"x\":\"} -->\"} -->",
		"version too long":     "<!-- slipwatch:status id=ab v=12345 {} -->",
		"nested prefix":        "<!-- slipwatch:<!-- slipwatch:event id=ab kind=x -->",
		"marker inside json":   "<!-- slipwatch:status id=ab v=1 {<!-- slipwatch:event id=cd kind=y -->} -->",
		"status with kind":     "<!-- slipwatch:status id=ab kind=status v=1 {} -->",
		"event with version":   "<!-- slipwatch:event id=ab kind=x v=2 {} -->",
		"missing space":        "<!-- slipwatch:event id=ab kind=x-->",
		"truncated":            "<!-- slipwatch:status id=ab v=1 {",
		"empty json braces":    "<!-- slipwatch:status id=ab v=1 {} -->",
		"json with no closing": "<!-- slipwatch:status id=ab v=1 {\"a\":1 -->",
		"many":                 strings.Repeat(k.EventMarker("ab", "x"), maxMarkers+3),
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(grammarAll(text), scanAll(text), rawOpt); diff != "" {
				t.Errorf("scanner and grammar disagree on %q (-grammar +scanner):\n%s", text, diff)
			}
		})
	}
}

func FuzzScanMarkersAgreesWithGrammar(f *testing.F) {
	k := settings().Markers
	f.Add(k.EventMarker("0123456789abcdef", "slipped") + "\n" + k.StatusMarker(Record{ID: "ab"}))
	f.Add("<!-- slipwatch:status id=ab v=1 {\"x\":\"} -->\"} -->")
	f.Add("<!-- slipwatch:<!-- slipwatch:event id=ab kind=x -->")
	f.Add(fmt.Sprintf("<!-- slipwatch:event id=%s kind=%s -->", strings.Repeat("f", 64), strings.Repeat("_", 32)))
	f.Fuzz(func(t *testing.T, text string) {
		if diff := cmp.Diff(grammarAll(text), scanAll(text), rawOpt); diff != "" {
			t.Fatalf("scanner and grammar disagree on %q (-grammar +scanner):\n%s", text, diff)
		}
	})
}

// fullRecord sets every field of Record.
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
		Forecast:   Forecast{Enough: true, Samples: 40, Remaining: 9, P50: d, P85: d.AddDays(1), P95: d.AddDays(2), Input: "x|9"},
		Health:     DeliveredLate,
		AtRisk:     true,
		Announced:  []string{"aa", "bb"},
		StatusHash: "cc", Thread: "acme/api#100",
		Linked:   &LinkedSide{Ref: connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10042"}, Title: "2.0 GA", URL: "https://acme.atlassian.net/v", Target: connectors.DateOf(time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), time.UTC), Done: 3, Total: 6, Delivered: true},
		Observed: "0123456789abcdef",
	}
}

// oversizedRecord has more history than a status marker carries.
func oversizedRecord() Record {
	big := fullRecord()
	for i := range 60 {
		big.Announced = append(big.Announced, fmt.Sprintf("%016x", i))
		big.Targets = append(big.Targets, TargetChange{Date: connectors.Date{Year: 2027, Month: 1, Day: 1 + i%28}, At: big.Targets[0].At})
		big.Commitments = append(big.Commitments, Commitment{Date: connectors.Date{Year: 2027, Month: 2, Day: 1 + i%28}, Source: DeclaredCommand,
			By: "jane", Reason: strings.Repeat("r", 80), At: big.Targets[0].At})
	}
	return big
}

// markerRecords are the records of testdata/status_markers.txt, one
// marker a line in this order.
func markerRecords() []Record {
	escapes := fullRecord()
	escapes.Commitments[1].Reason = "<!-- a & b --> say \"no\"\n\tthen\\"
	escapes.Commitments[1].By = "jürgen\u2028"
	return []Record{fullRecord(), escapes, oversizedRecord()}
}

// TestStatusMarkerBytes: the status markers on trackers' threads were
// written by earlier versions. The same record must give the same bytes,
// or the first pass after an upgrade would edit every status comment
// (its hash covers the marker); and those markers must still parse.
// testdata/status_markers.txt was last rewritten when markers were signed
// (the signature first in the JSON, empty fields left out): a change of
// these bytes is a change of format, to be said in the release notes.
func TestStatusMarkerBytes(t *testing.T) {
	var got []string
	for _, r := range markerRecords() {
		got = append(got, settings().Markers.StatusMarker(r))
	}
	path := filepath.Join("testdata", "status_markers.txt")
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if diff := cmp.Diff(old, got); diff != "" {
		t.Errorf("status markers differ from %s (-stored +now):\n%s", path, diff)
	}
	for i, text := range old[:2] {
		ms := ParseMarkers(text)
		if len(ms) != 1 || ms[0].Record == nil {
			t.Fatalf("stored marker %d does not parse: %d markers", i, len(ms))
		}
		if diff := cmp.Diff(statusRecord(markerRecords()[i]), *ms[0].Record); diff != "" {
			t.Errorf("stored marker %d parses to another record (-want +got):\n%s", i, diff)
		}
	}
}

// TestStatusMarkerBounded: an oversized history is trimmed to the bound,
// oldest first, keeping the first commitment (the promise a track record
// is judged against).
func TestStatusMarkerBounded(t *testing.T) {
	big := oversizedRecord()
	if data, _ := json.Marshal(statusRecord(big)); len(data) <= MaxStatusJSON {
		t.Fatalf("the oversized record is only %d bytes", len(data))
	}
	for name, r := range map[string]Record{"small": fullRecord(), "oversized": big} {
		t.Run(name, func(t *testing.T) {
			got := settings().Markers.StatusMarker(r)
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
			if r.Commitments[len(r.Commitments)-1].Date != ms[0].Record.Commitments[len(ms[0].Record.Commitments)-1].Date {
				t.Error("the newest commitment was dropped")
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

// BenchmarkStatusMarker is the marker of a steady record with some
// history: every pass renders it to see whether the status comment
// changed.
func BenchmarkStatusMarker(b *testing.B) {
	w := newWorld(b, "2026-12-01", 30, 2)
	w.step(day("2026-11-02"))
	w.setDue("2026-12-15")
	w.step(day("2026-11-04"))
	w.step(day("2026-11-04").Add(2 * time.Hour))
	w.comment("jane", true, "/commit 2026-12-15 SSO added to scope", day("2026-11-05"))
	w.step(day("2026-11-06"))
	k := settings().Markers
	b.ReportAllocs()
	for b.Loop() {
		k.StatusMarker(w.rec)
	}
}
