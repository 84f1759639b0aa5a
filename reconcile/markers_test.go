package reconcile

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

// grammarRE is the marker grammar as a regular expression: the reference
// the hand-written scanner must agree with.
var grammarRE = regexp.MustCompile(`<!-- slipwatch:(status|event) id=([0-9a-f]{1,64})(?: kind=([a-z_]{1,32}))?(?: v=([0-9]{1,4}) (\{[^\n]*?\}))? -->`)

func scanAll(text string) []rawMarker {
	var got []rawMarker
	scanMarkers(text, func(m rawMarker) { got = append(got, m) })
	return got
}

func grammarAll(text string) []rawMarker {
	var want []rawMarker
	for _, m := range grammarRE.FindAllStringSubmatch(text, maxMarkers) {
		want = append(want, rawMarker{kind: m[1], id: m[2], eventKind: m[3], version: m[4], json: m[5]})
	}
	return want
}

var rawOpt = cmp.AllowUnexported(rawMarker{})

func TestScanMarkersAgreesWithGrammar(t *testing.T) {
	long := Record{ID: "abcd", Announced: []string{"a", "b"}, Commitments: []Commitment{{Date: connectors.Date{Year: 2026, Month: 12, Day: 1}}}}
	tests := map[string]string{
		"event":                EventMarker("0123456789abcdef", "slipped"),
		"status":               StatusMarker(long),
		"edited around":        "hello\n" + EventMarker("ff", "at_risk") + " and more " + EventMarker("ee", "overdue") + "\n",
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
		"many":                 strings.Repeat(EventMarker("ab", "x"), maxMarkers+3),
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
	f.Add(EventMarker("0123456789abcdef", "slipped") + "\n" + StatusMarker(Record{ID: "ab"}))
	f.Add("<!-- slipwatch:status id=ab v=1 {\"x\":\"} -->\"} -->")
	f.Add("<!-- slipwatch:<!-- slipwatch:event id=ab kind=x -->")
	f.Add(fmt.Sprintf("<!-- slipwatch:event id=%s kind=%s -->", strings.Repeat("f", 64), strings.Repeat("_", 32)))
	f.Fuzz(func(t *testing.T, text string) {
		if diff := cmp.Diff(grammarAll(text), scanAll(text), rawOpt); diff != "" {
			t.Fatalf("scanner and grammar disagree on %q (-grammar +scanner):\n%s", text, diff)
		}
	})
}
