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
	recs, ok := h.records(w, r, root)
	if !ok {
		return
	}
	h.render(w, http.StatusOK, "trackrecord", h.newPage("Track record", root, "track-record", buildTrackRecord(recs, h.opt)))
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
