package runner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors"
)

func TestKeyRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string // as on the stream, written by this and older versions
		want Key
	}{
		{"github:acme/api/milestone/7", DeliverableKey(connectors.Ref{Tracker: connectors.GitHub, Team: "acme/api", Kind: connectors.Milestone, ID: "7"})},
		{"jira:PLAT/version/10042", DeliverableKey(connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "10042"})},
		{"jira:PLAT/issue/PLAT-12", DeliverableKey(connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"})},
		{"github:acme/api", TeamKey(connectors.GitHub, "acme/api")},
		{"jira:PLAT", TeamKey(connectors.Jira, "PLAT")},
		{"track-record:acme/api#12", TrackRecordKey("acme/api#12")},
		{"track-record:PLAT-100", TrackRecordKey("PLAT-100")},
		{"discover:github", DiscoverKey(connectors.GitHub)},
		{"discover:jira", DiscoverKey(connectors.Jira)},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			got, err := ParseKey(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseKey (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tt.s {
				t.Errorf("String() = %q, want %q", s, tt.s)
			}
		})
	}
	// The fields say what the key is about, whatever its kind.
	if k := TrackRecordKey("acme/leadership#3"); k.Tracker != connectors.GitHub || k.Kind != KeyTrackRecord {
		t.Errorf("GitHub thread: %+v", k)
	}
	if k := TrackRecordKey("LEAD-3"); k.Tracker != connectors.Jira {
		t.Errorf("Jira thread: %+v", k)
	}
	if k := DeliverableKey(connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Version, ID: "1"}); k.Tracker != connectors.Jira || k.Team != "PLAT" {
		t.Errorf("deliverable: %+v", k)
	}
}

func TestParseKeyRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", ":", "github", "github:", "jira:", "gitlab:acme/api", "GitHub:acme/api",
		"github:acme", "github:acme/", "github:/api", "github:acme/api/", "github:acme/api/milestone",
		"github:acme/api/milestone/", "github:acme/api/pull/7", "jira:PL/AT/version/1", "jira:PLAT/version",
		"track-record:", "track-record:acme/api", "track-record:acme/api#", "track-record:acme/api#x", "track-record:acme/api#0",
		"track-record:acme#12", "track-record:PLAT", "track-record:PLAT-", "track-record:-12", "track-record:PL AT-1",
		"track-record:PLAT-1x", "track-record:a/b/c#1",
		"discover:", "discover:gitlab", "discover:github/acme", "discover:GitHub",
	} {
		if k, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) = %+v, want an error", s, k)
		}
	}
	// Whatever a key says, parsing it never panics and a good one round-trips.
	for _, s := range []string{"track-record:track-record:x#1", "jira:track-record:1", strings.Repeat("/", 100), "github:a/b#1"} {
		if k, err := ParseKey(s); err == nil && k.String() != s {
			t.Errorf("ParseKey(%q) = %+v, which prints as %q", s, k, k.String())
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"github:acme/api/milestone/7", "jira:PLAT", "track-record:acme/api#12", "track-record:PLAT-100", "github:acme/api", "discover:github"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			return
		}
		if k.String() != s {
			t.Fatalf("ParseKey(%q).String() = %q", s, k.String())
		}
		again, err := ParseKey(k.String())
		if err != nil || again != k {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}
