package dashboard

import (
	"net/http"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// promiseRow is one entry of a commitment's history.
type promiseRow struct {
	N                  int
	Date, Change       string // the date promised; "+14 days" against the one before
	Source, By, Reason string
	At                 instant
}

// targetRow is one due date seen on the tracker.
type targetRow struct {
	Date string
	At   instant
}

type commitmentData struct {
	Row       row
	Key       string
	Delivered string
	History   []promiseRow
	Targets   []targetRow
	Chart     *burnup
	Forecast  reconcile.Forecast
	Pace      string // completed items a day, the team's
	Share     string // the deliverable's share of that pace
	Open      bool
}

func (h *handler) commitment(w http.ResponseWriter, r *http.Request) {
	const root = "../"
	id := r.PathValue("id")
	var found *reconcile.Record
	if !h.each(w, r, root, func(rec reconcile.Record) bool {
		if rec.ID == id {
			found = &rec
		}
		return found == nil
	}) {
		return
	}
	if found != nil {
		d := buildCommitment(*found, h.opt.Now(), h.opt.Location)
		h.render(w, http.StatusOK, "commitment", h.newPage(d.Row.Title, root, "portfolio", d))
		return
	}
	h.fail(w, http.StatusNotFound, root, "No such commitment",
		"slipwatch has no commitment with this ID. It may have been renamed or removed on the tracker; the portfolio lists every one it knows.")
}

// buildCommitment is the page of rec at now.
func buildCommitment(rec reconcile.Record, now time.Time, loc *time.Location) *commitmentData {
	today := connectors.DateOf(now, loc)
	d := &commitmentData{Row: rowOf(rec, today, loc), Key: rec.Ref.Key(), Forecast: rec.Forecast, Open: !rec.Delivered}
	if rec.Delivered {
		d.Delivered = rec.DeliveredOn.String()
	}
	var prev connectors.Date
	for i, c := range rec.Commitments {
		p := promiseRow{N: i + 1, Date: c.Date.String(), Source: sourceText(c.Source), By: c.By, Reason: c.Reason, At: instantOf(c.At, loc)}
		if i > 0 {
			switch n := c.Date.Sub(prev); {
			case n > 0:
				p.Change = "+" + daysText(n)
			case n < 0:
				p.Change = "−" + daysText(-n)
			}
		}
		prev = c.Date
		d.History = append(d.History, p)
	}
	for _, t := range rec.Targets {
		d.Targets = append(d.Targets, targetRow{Date: dateText(t.Date), At: instantOf(t.At, loc)})
	}
	if f := rec.Forecast; f.Pace > 0 {
		d.Pace = strconv.FormatFloat(f.Pace, 'f', 1, 64)
	}
	if f := rec.Forecast; f.Share > 0 {
		d.Share = percentText(f.Share)
	}
	d.Chart = newBurnup(rec, today)
	return d
}
