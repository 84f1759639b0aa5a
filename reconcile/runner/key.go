package runner

import (
	"fmt"
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
)

// KeyKind is what a work key asks for.
type KeyKind int

// Work key kinds.
const (
	KeyDeliverable KeyKind = iota + 1 // observe and reconcile one deliverable
	KeyTeam                           // list a team's deliverables and enqueue them
	KeyTrackRecord                    // post the month's track record and the period's digest on a thread
	KeyDiscover                       // look a tracker's wildcard teams up again
)

// Key is one unit of work on the queue. String is what goes on the stream,
// in the formats older replicas read and write too (a rolling upgrade
// shares one Redis):
//
//	github:acme/api/milestone/7, jira:PLAT/version/10042   a deliverable (connectors.Ref.Key)
//	github:acme/api, jira:PLAT                            a team
//	track-record:acme/api#12, track-record:PLAT-100       a track-record thread
//	discover:github                                       a tracker's discovery
//
// The digest has no key of its own: it is posted by the track-record
// thread's key (trackrecord.go), which older replicas parse too.
type Key struct {
	Kind    KeyKind
	Tracker connectors.Tracker
	Team    string         // repo or project key; "" for a track-record key
	Ref     connectors.Ref // KeyDeliverable only
	Thread  string         // KeyTrackRecord only: "acme/api#12" or "PLAT-100"
}

// trackRecordPrefix starts a track-record key, discoverPrefix a
// discovery key.
const (
	trackRecordPrefix = "track-record:"
	discoverPrefix    = "discover:"
)

// DiscoverKey is the key that looks the wildcard teams of tracker t up
// again (a GitHub owner/*), and lists the teams that joined.
func DiscoverKey(t connectors.Tracker) Key {
	return Key{Kind: KeyDiscover, Tracker: t}
}

// DeliverableKey is the key that reconciles ref.
func DeliverableKey(ref connectors.Ref) Key {
	return Key{Kind: KeyDeliverable, Tracker: ref.Tracker, Team: ref.Team, Ref: ref}
}

// TeamKey is the key that lists team on tracker t.
func TeamKey(t connectors.Tracker, team string) Key {
	return Key{Kind: KeyTeam, Tracker: t, Team: team}
}

// TrackRecordKey is the key that posts the month's track record and the
// period's digest on thread: a GitHub issue ("acme/api#12") or a Jira
// issue ("PLAT-100").
func TrackRecordKey(thread string) Key {
	t := connectors.Jira
	if strings.Contains(thread, "#") {
		t = connectors.GitHub
	}
	return Key{Kind: KeyTrackRecord, Tracker: t, Thread: thread}
}

func (k Key) String() string {
	switch k.Kind {
	case KeyDeliverable:
		return k.Ref.Key()
	case KeyTeam:
		return string(k.Tracker) + ":" + k.Team
	case KeyTrackRecord:
		return trackRecordPrefix + k.Thread
	case KeyDiscover:
		return discoverPrefix + string(k.Tracker)
	}
	return fmt.Sprintf("invalid key %#v", k)
}

// ParseKey reads a key off the stream; it is the inverse of String.
func ParseKey(s string) (Key, error) {
	if thread, ok := strings.CutPrefix(s, trackRecordPrefix); ok {
		if !threadID(thread) {
			return Key{}, fmt.Errorf("key %q: want track-record:owner/name#number or track-record:KEY-number", s)
		}
		return TrackRecordKey(thread), nil
	}
	if t, ok := strings.CutPrefix(s, discoverPrefix); ok {
		if connectors.Tracker(t) != connectors.GitHub && connectors.Tracker(t) != connectors.Jira {
			return Key{}, fmt.Errorf("key %q: want discover:github or discover:jira", s)
		}
		return DiscoverKey(connectors.Tracker(t)), nil
	}
	tracker, team, ok := strings.Cut(s, ":")
	t := connectors.Tracker(tracker)
	switch {
	case !ok:
		return Key{}, fmt.Errorf("key %q: want tracker:team[/kind/id] or track-record:thread", s)
	case t != connectors.GitHub && t != connectors.Jira:
		return Key{}, fmt.Errorf("key %q: unknown tracker %q", s, tracker)
	case teamName(t, team):
		return TeamKey(t, team), nil
	}
	ref, err := connectors.ParseKey(s)
	if err != nil {
		return Key{}, err
	}
	return DeliverableKey(ref), nil
}

// teamName reports whether s names a team on t: owner/name on GitHub, a
// project key on Jira.
func teamName(t connectors.Tracker, s string) bool {
	if t == connectors.GitHub {
		owner, name, ok := strings.Cut(s, "/")
		return ok && owner != "" && name != "" && !strings.Contains(name, "/")
	}
	return s != "" && !strings.Contains(s, "/")
}

// threadID reports whether s names an issue: owner/name#number on GitHub,
// KEY-number on Jira.
func threadID(s string) bool {
	repo, num, github := strings.Cut(s, "#")
	if !github {
		i := strings.LastIndexByte(s, '-')
		if i <= 0 || strings.ContainsAny(s[:i], "/ ") {
			return false
		}
		num = s[i+1:]
	} else if !teamName(connectors.GitHub, repo) {
		return false
	}
	if num == "" || num[0] == '0' {
		return false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
