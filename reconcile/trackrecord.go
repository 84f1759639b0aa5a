package reconcile

import (
	"math"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// TrackRecordPost is the track-record comment for the month that holds now
// (in s.Location) on thread th, signed with s.Markers, in tracker t's markup, or false when slipwatch's
// own comment for that month is already there. One comment per thread and
// month: its event ID is derived from both, so every replica and every
// restart decides the same, and the runner's claim and the marker on the
// thread keep it to one post.
func TrackRecordPost(t connectors.Tracker, th *connectors.Thread, now time.Time, s Settings, teams []TeamRecord) (Action, bool) {
	loc := s.Location
	id := hashID(string(EvTrackRecord), th.ID, TrackRecordMonth(now, loc))
	for _, c := range th.Comments {
		if !c.BySelf {
			continue
		}
		posted := false
		scanMarkers(c.Hidden, func(m rawMarker) {
			posted = posted || (m.kind == MarkerEvent && m.id == id && s.Markers.check(m).ok())
		})
		if posted {
			return Action{}, false
		}
	}
	marker := s.Markers.EventMarker(id, EvTrackRecord)
	body := fit(t, render(t, trackRecordDoc(now.In(zone(loc)).Format("January 2006"), teams)), marker)
	return Action{Kind: PostEvent, EventID: id, EventKind: EvTrackRecord, Body: body, Marker: marker}, true
}

// TrackRecordMonth is the month ("2026-11") of now in loc (nil: UTC): one
// track-record comment each.
func TrackRecordMonth(now time.Time, loc *time.Location) string {
	return now.In(zone(loc)).Format("2006-01")
}

func zone(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// trackRecordDoc says, per team, how the dates promised held: the figures
// of `slipwatch report` and GET /api/v1/track-record, in words.
func trackRecordDoc(month string, teams []TeamRecord) doc {
	d := doc{title: "Track record, " + month, note: "Posted monthly by slipwatch; slipwatch report and /api/v1/track-record give the same figures."}
	if len(teams) == 0 {
		d.lines = []line{text("No promises recorded yet.")}
		return d
	}
	d.lines = []line{text("How each team's delivery dates held, judged against the first date promised; a recommitment does not reset the clock.")}
	for _, tr := range teams {
		v := text("%s, %s delivered, %s open at risk.", promises(tr.Commitments), tr.Delivered, tr.OpenAtRisk)
		if tr.Delivered > 0 {
			v = text("%s, %s delivered, %s on time (%s); slip median %s, mean %s; %s recommitments per promise; %s open at risk.",
				promises(tr.Commitments), tr.Delivered, tr.OnTime, percent(tr.OnTimeShare), days(tr.MedianSlipDays), days(tr.MeanSlipDays),
				oneDecimal(tr.RecommitsPerItem), tr.OpenAtRisk)
		}
		d.items = append(d.items, item{label: trackerName(connectors.Tracker(tr.Tracker)) + " " + tr.Team, value: v})
	}
	return d
}

func promises(n int) string {
	if n == 1 {
		return "1 promise"
	}
	return strconv.Itoa(n) + " promises"
}

func percent(share float64) string { return strconv.Itoa(int(share*100+0.5)) + "%" }

func oneDecimal(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func days(f float64) string {
	switch {
	case f == 1:
		return "1 day"
	case f == math.Trunc(f):
		return strconv.FormatFloat(f, 'f', 0, 64) + " days"
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " days"
}
