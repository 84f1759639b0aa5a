package dashboard

import (
	"net/http"
	"strconv"

	"github.com/slipwatch/slipwatch/reconcile"
)

// teamSection is one team on the track-record page.
type teamSection struct {
	ID     string // the section's anchor
	Name   string // "GitHub acme/api"
	Record reconcile.TeamRecord
	Months []reconcile.TeamMonth
	Chart  *bars
}

type trackRecordData struct {
	Teams []teamSection
}

func (h *handler) trackRecord(w http.ResponseWriter, r *http.Request) {
	const root = "./"
	var recs []reconcile.Record
	if !h.each(w, r, root, func(rec reconcile.Record) bool {
		recs = append(recs, judged(rec))
		return true
	}) {
		return
	}
	h.render(w, http.StatusOK, "trackrecord", h.newPage("Track record", root, "track-record", buildTrackRecord(recs, h.opt)))
}

// judged is what the track record reads of rec (TestJudgedKeepsTheTrackRecord
// holds them equal): the rest of a record, its daily series, forecast
// and said events above all, is not kept for ten thousand records.
func judged(rec reconcile.Record) reconcile.Record {
	return reconcile.Record{ID: rec.ID, Ref: rec.Ref, Title: rec.Title, URL: rec.URL, Commitments: rec.Commitments,
		Targets: rec.Targets, Delivered: rec.Delivered, DeliveredOn: rec.DeliveredOn, Health: rec.Health, Historical: rec.Historical}
}

// buildTrackRecord is each team's record, all time and month by month.
func buildTrackRecord(recs []reconcile.Record, opt Options) *trackRecordData {
	months := map[string][]reconcile.TeamMonth{}
	for _, tm := range reconcile.TrackRecordByMonth(recs, opt.Location) {
		months[tm.Tracker+":"+tm.Team] = tm.Months
	}
	d := &trackRecordData{}
	for i, tr := range reconcile.TrackRecord(recs) {
		name := trackerName(tr.Tracker) + " " + tr.Team
		s := teamSection{ID: "team-" + strconv.Itoa(i+1), Name: name, Record: tr, Months: months[tr.Tracker+":"+tr.Team]}
		if len(s.Months) > 0 {
			s.Chart = newBars(name, s.Months)
		}
		d.Teams = append(d.Teams, s)
	}
	return d
}
