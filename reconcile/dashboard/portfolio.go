package dashboard

import (
	"cmp"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// row is one commitment in the portfolio, every cell already text.
type row struct {
	ID, Tracker, TrackerName, Team, Kind, Title string
	URL, ThreadURL, Thread                      string
	First, Promise, Due                         string
	P50, P85, P95, Chance                       string
	Health                                      reconcile.Health
	HealthNote                                  string // the delivery date of a delivered promise
	Done, Total, Percent                        int
	Slip                                        string // days against the first promise, or —
	Changed                                     instant

	// Sort keys; has* false sorts last whatever the order.
	first, promise, due, p50, p85, p95 connectors.Date
	chance                             float64
	hasChance                          bool
	slip                               int
	hasSlip                            bool
	changed                            time.Time
}

// rowOf is r as the portfolio shows it on today.
func rowOf(r reconcile.Record, today connectors.Date, loc *time.Location) row {
	w := row{ID: r.ID, Tracker: string(r.Ref.Tracker), TrackerName: trackerName(string(r.Ref.Tracker)), Team: r.Ref.Team,
		Kind: kindName(r.Ref.Kind), Title: r.Title, URL: r.URL, ThreadURL: r.ThreadURL, Thread: r.Thread,
		Health: r.Health, Done: r.Done, Total: r.Total}
	if w.Title == "" {
		w.Title = r.Ref.ID
	}
	if r.Total > 0 {
		w.Percent = r.Done * 100 / r.Total
	}
	first, hasFirst := r.First()
	cur, _ := r.Commitment()
	due, hasDue := r.Target()
	w.first, w.promise = first.Date, cur.Date
	if hasDue {
		w.due = due
	}
	w.First, w.Promise, w.Due = dateText(w.first), dateText(w.promise), dateText(w.due)

	f := r.Forecast
	switch {
	case r.Delivered:
		w.P50, w.P85, w.P95 = dash, dash, dash
		w.HealthNote = r.DeliveredOn.String()
	case f.Enough && f.Remaining == 0:
		w.P50, w.P85, w.P95 = "done", "done", "done"
		w.p50, w.p85, w.p95 = today, today, today
	case f.Enough:
		w.p50, w.p85, w.p95 = f.P50, f.P85, f.P95
		w.P50, w.P85, w.P95 = dateText(f.P50), dateText(f.P85), dateText(f.P95)
	default:
		w.P50, w.P85, w.P95 = dash, dash, dash
	}
	w.Chance = dash
	if !r.Delivered && f.ChanceKnown {
		w.Chance, w.chance, w.hasChance = percentText(f.Chance), f.Chance, true
	}

	w.Slip = dash
	if hasFirst {
		w.slip, w.hasSlip = slipDays(r, first.Date, today), true
		w.Slip = strconv.Itoa(w.slip)
	}
	w.changed = lastChange(r)
	w.Changed = instantOf(w.changed, loc)
	return w
}

// slipDays is how many days the promise has moved past the first one: to
// the delivery once delivered; while open, to the latest of the current
// promise, the due date and, once past both, today. Never below zero: an
// early delivery is on time, as the track record counts it.
func slipDays(r reconcile.Record, first, today connectors.Date) int {
	end := first
	if r.Delivered {
		end = r.DeliveredOn
	} else {
		if cur, ok := r.Commitment(); ok && cur.Date.After(end) {
			end = cur.Date
		}
		if due, ok := r.Target(); ok && due.After(end) {
			end = due
		}
		if today.After(end) {
			end = today
		}
	}
	return max(end.Sub(first), 0)
}

// lastChange is when the promise or the due date last changed.
func lastChange(r reconcile.Record) time.Time {
	var last time.Time
	for _, c := range r.Commitments {
		if c.At.After(last) {
			last = c.At
		}
	}
	for _, t := range r.Targets {
		if t.At.After(last) {
			last = t.At
		}
	}
	return last
}

// column is a sortable column of the portfolio.
type column struct {
	Key, Label string
	Numeric    bool // right-aligned
	cmp        func(a, b *row) (int, bool)
}

// both compares two values that both rows have.
func both[T cmp.Ordered](a, b T) (int, bool) { return cmp.Compare(a, b), true }

// dates compares two dates, a zero one being missing.
func dates(a, b connectors.Date) (int, bool) {
	switch {
	case a.IsZero() && b.IsZero():
		return 0, true
	case a.IsZero():
		return 1, false
	case b.IsZero():
		return -1, false
	}
	return cmp.Compare(dateKey(a), dateKey(b)), true
}

func missing(ha, hb bool) (int, bool) {
	switch {
	case ha == hb:
		return 0, true
	case !ha:
		return 1, false
	}
	return -1, false
}

// columns in the order of the table. cmp says a<b, and false when the
// answer is about a missing value (which sorts last either way).
var columns = []column{
	{Key: "team", Label: "Team", cmp: func(a, b *row) (int, bool) {
		if c := cmp.Compare(a.Tracker, b.Tracker); c != 0 {
			return c, true
		}
		return both(a.Team, b.Team)
	}},
	{Key: "deliverable", Label: "Deliverable", cmp: func(a, b *row) (int, bool) {
		if c := compareFold(a.Title, b.Title); c != 0 {
			return c, true
		}
		return both(a.Title, b.Title)
	}},
	{Key: "first", Label: "First promise", cmp: func(a, b *row) (int, bool) { return dates(a.first, b.first) }},
	{Key: "promise", Label: "Current promise", cmp: func(a, b *row) (int, bool) { return dates(a.promise, b.promise) }},
	{Key: "due", Label: "Due date", cmp: func(a, b *row) (int, bool) { return dates(a.due, b.due) }},
	{Key: "p50", Label: "P50", cmp: func(a, b *row) (int, bool) { return dates(a.p50, b.p50) }},
	{Key: "p85", Label: "P85", cmp: func(a, b *row) (int, bool) { return dates(a.p85, b.p85) }},
	{Key: "p95", Label: "P95", cmp: func(a, b *row) (int, bool) { return dates(a.p95, b.p95) }},
	{Key: "chance", Label: "Chance", Numeric: true, cmp: func(a, b *row) (int, bool) {
		if !a.hasChance || !b.hasChance {
			return missing(a.hasChance, b.hasChance)
		}
		return both(a.chance, b.chance)
	}},
	{Key: "health", Label: "Health", cmp: func(a, b *row) (int, bool) { return both(healthRank(a.Health), healthRank(b.Health)) }},
	{Key: "progress", Label: "Progress", Numeric: true, cmp: func(a, b *row) (int, bool) {
		if c := cmp.Compare(a.Percent, b.Percent); c != 0 {
			return c, true
		}
		return both(a.Done, b.Done)
	}},
	{Key: "slip", Label: "Slip (days)", Numeric: true, cmp: func(a, b *row) (int, bool) {
		if !a.hasSlip || !b.hasSlip {
			return missing(a.hasSlip, b.hasSlip)
		}
		return both(a.slip, b.slip)
	}},
	{Key: "changed", Label: "Last change", cmp: func(a, b *row) (int, bool) {
		if a.changed.IsZero() || b.changed.IsZero() {
			return missing(!a.changed.IsZero(), !b.changed.IsZero())
		}
		return both(a.changed.UnixNano(), b.changed.UnixNano())
	}},
}

// compareFold orders a and b ignoring ASCII case, without allocating.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			return cmp.Compare(ca, cb)
		}
	}
	return cmp.Compare(len(a), len(b))
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func columnOf(key string) (column, bool) {
	for _, c := range columns {
		if c.Key == key {
			return c, true
		}
	}
	return column{}, false
}

// view is the portfolio's query: what the URL asks for. Unknown values
// are ignored, so an old bookmark still opens.
type view struct {
	Team, Tracker string
	Health        reconcile.Health
	Sort          string
	Desc          bool
}

const defaultSort = "health"

func viewOf(q url.Values) view {
	v := view{Team: q.Get("team"), Tracker: q.Get("tracker"), Health: reconcile.Health(q.Get("health")), Sort: q.Get("sort")}
	if _, ok := columnOf(v.Sort); !ok {
		v.Sort = defaultSort
	}
	v.Desc = q.Get("order") == "desc"
	if healthRank(v.Health) == len(healths) {
		v.Health = ""
	}
	if v.Tracker != string(connectors.GitHub) && v.Tracker != string(connectors.Jira) {
		v.Tracker = ""
	}
	return v
}

// query is v as a URL query ("?…"), the defaults left out.
func (v view) query() string {
	q := url.Values{}
	if v.Team != "" {
		q.Set("team", v.Team)
	}
	if v.Tracker != "" {
		q.Set("tracker", v.Tracker)
	}
	if v.Health != "" {
		q.Set("health", string(v.Health))
	}
	if v.Sort != defaultSort || v.Desc {
		q.Set("sort", v.Sort)
	}
	if v.Desc {
		q.Set("order", "desc")
	}
	if len(q) == 0 {
		return "./"
	}
	return "?" + q.Encode()
}

func (v view) filters(w *row) bool {
	return (v.Team == "" || w.Team == v.Team) && (v.Tracker == "" || w.Tracker == v.Tracker)
}

// option is one choice of a filter's <select>.
type option struct {
	Value, Label string
	Selected     bool
}

// header is a column header: a link that sorts by it.
type header struct {
	Label, Href, Sort string // Sort: "ascending", "descending" or "" (aria-sort)
	Numeric           bool
}

// count is one health's number at the top, a link to the filter.
type count struct {
	Health   reconcile.Health
	N        int
	Href     string
	Selected bool
}

type portfolioData struct {
	Body     template.HTML // the rows (rows.go)
	All      int           // commitments in the store
	Shown    int
	Counts   []count
	AllHref  string
	Teams    []option
	Trackers []option
	Healths  []option
	Sorts    []option
	Orders   []option
	Headers  []header
	Filtered bool
	Today    string
}

func (h *handler) portfolio(w http.ResponseWriter, r *http.Request) {
	today := connectors.DateOf(h.opt.Now(), h.opt.Location)
	var cells []row
	if !h.each(w, r, "./", func(rec reconcile.Record) bool {
		cells = append(cells, rowOf(rec, today, h.opt.Location))
		return true
	}) {
		return
	}
	d := buildPortfolio(cells, viewOf(r.URL.Query()), today)
	h.render(w, http.StatusOK, "portfolio", h.newPage("Commitments", "./", "portfolio", d))
}

// buildPortfolio is the portfolio of the records' rows in view v, today.
func buildPortfolio(cells []row, v view, today connectors.Date) *portfolioData {
	d := &portfolioData{All: len(cells), Today: today.String()}
	rows := make([]*row, 0, len(cells))
	teams := map[string]bool{}
	perHealth := map[reconcile.Health]int{}
	for i := range cells {
		w := &cells[i]
		teams[w.Team] = true
		if !v.filters(w) {
			continue
		}
		perHealth[w.Health]++
		if v.Health != "" && w.Health != v.Health {
			continue
		}
		rows = append(rows, w)
	}
	col, _ := columnOf(v.Sort)
	slices.SortStableFunc(rows, func(a, b *row) int {
		c, both := col.cmp(a, b)
		if both && v.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		if c := cmp.Compare(a.Tracker, b.Tracker); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Team, b.Team); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	d.Body, d.Shown = tbody(rows), len(rows)
	d.Filtered = v.Team != "" || v.Tracker != "" || v.Health != ""

	// Counts within the team and tracker chosen; each links to its health.
	all := v
	all.Health = ""
	d.AllHref = all.query()
	for _, hl := range healths {
		if perHealth[hl] == 0 && hl != v.Health {
			continue
		}
		f := v
		f.Health = hl
		d.Counts = append(d.Counts, count{Health: hl, N: perHealth[hl], Href: f.query(), Selected: hl == v.Health})
	}

	d.Teams = []option{{Value: "", Label: "All teams", Selected: v.Team == ""}}
	for _, t := range sortedKeys(teams) {
		d.Teams = append(d.Teams, option{Value: t, Label: t, Selected: t == v.Team})
	}
	d.Trackers = []option{{Value: "", Label: "All trackers", Selected: v.Tracker == ""}}
	for _, t := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
		d.Trackers = append(d.Trackers, option{Value: string(t), Label: trackerName(string(t)), Selected: string(t) == v.Tracker})
	}
	d.Healths = []option{{Value: "", Label: "Any health", Selected: v.Health == ""}}
	for _, hl := range healths {
		d.Healths = append(d.Healths, option{Value: string(hl), Label: healthText(hl), Selected: hl == v.Health})
	}
	for _, c := range columns {
		d.Sorts = append(d.Sorts, option{Value: c.Key, Label: c.Label, Selected: c.Key == v.Sort})
		hd := header{Label: c.Label, Numeric: c.Numeric}
		s := v
		s.Sort, s.Desc = c.Key, false
		if c.Key == v.Sort {
			hd.Sort = "ascending"
			if v.Desc {
				hd.Sort = "descending"
			}
			s.Desc = !v.Desc // a second click turns the order round
		}
		hd.Href = s.query()
		d.Headers = append(d.Headers, hd)
	}
	d.Orders = []option{{Value: "asc", Label: "ascending", Selected: !v.Desc}, {Value: "desc", Label: "descending", Selected: v.Desc}}
	return d
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
