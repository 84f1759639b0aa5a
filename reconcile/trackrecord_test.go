package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// TestTrackRecordPostOncePerMonth: the month's comment is decided again
// until slipwatch's own marker for it is on the thread; a pasted marker
// does not count, and the month is the configured zone's.
func TestTrackRecordPostOncePerMonth(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	teams := []TeamRecord{{Tracker: "github", Team: "acme/api", Commitments: 1}}
	s := settings()
	s.Location = berlin
	nov := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	first, ok := TrackRecordPost(connectors.GitHub, &connectors.Thread{ID: "acme/api#1"}, nov, s, teams)
	if !ok || first.Kind != PostEvent || first.EventKind != EvTrackRecord || !strings.Contains(first.Body, "Track record, November 2026") {
		t.Fatalf("empty thread: %+v %v; want the November comment", first, ok)
	}
	mine := connectors.Comment{ID: "1", BySelf: true, Body: first.Body, Hidden: first.Body + first.Marker}
	pasted := connectors.Comment{ID: "2", Author: "mallory", Body: first.Marker, Hidden: first.Marker}
	// A marker planted in slipwatch's own comment by someone who may edit
	// it: unsigned, or signed with a key slipwatch does not have.
	planted := connectors.Comment{ID: "3", BySelf: true, Hidden: MarkerKeys{}.EventMarker(first.EventID, EvTrackRecord)}
	forged := connectors.Comment{ID: "4", BySelf: true, Hidden: NewMarkerKeys([]byte("not slipwatch's key")).EventMarker(first.EventID, EvTrackRecord)}

	tests := []struct {
		name     string
		comments []connectors.Comment
		now      time.Time
		want     string // the month of the comment to post; "" none
	}{
		{"posted this month", []connectors.Comment{mine}, nov.AddDate(0, 0, 10), ""},
		{"only pasted by someone else", []connectors.Comment{pasted}, nov, "November 2026"},
		{"planted unsigned in slipwatch's comment", []connectors.Comment{planted}, nov, "November 2026"},
		{"planted with another key", []connectors.Comment{forged}, nov, "November 2026"},
		{"next month", []connectors.Comment{mine}, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), "December 2026"},
		// 23:30 UTC on 30 November is already December in Berlin.
		{"month of the zone", []connectors.Comment{mine}, time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), "December 2026"},
		{"last minute of the month in the zone", []connectors.Comment{mine}, time.Date(2026, 11, 30, 22, 59, 0, 0, time.UTC), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, ok := TrackRecordPost(connectors.GitHub, &connectors.Thread{ID: "acme/api#1", Comments: tt.comments}, tt.now, s, teams)
			switch {
			case tt.want == "" && ok:
				t.Errorf("posts again: %q", a.Body)
			case tt.want != "" && (!ok || !strings.Contains(a.Body, "Track record, "+tt.want)):
				t.Errorf("got %v %q, want the %s comment", ok, a.Body, tt.want)
			case ok && a.EventID == first.EventID && tt.want != "November 2026":
				t.Errorf("a new month kept November's event ID %s", a.EventID)
			}
		})
	}
}
