package dashboard

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// The burn-up's drawing area, in SVG user units; CSS scales it to the page.
const (
	chartW, chartH            = 760, 340
	padLeft, padRight         = 44, 20
	padTop, padBottom         = 58, 30
	plotW, plotH              = chartW - padLeft - padRight, chartH - padTop - padBottom
	markLabelGap      float64 = 92 // labels closer than this go on another line
)

// tick is an axis label at a position.
type tick struct {
	Pos   string // x or y, formatted
	Label string
}

// mark is a vertical line at a date: a promise, the due date, today.
type mark struct {
	Class  string // CSS classes: promise-first, promise-current, due, today, delivered
	Label  string
	X      string
	LabelX string
	LabelY string
	Anchor string // text-anchor
	date   connectors.Date
	x      float64
}

// fanLine is one of the forecast's dates: a line from today's done to
// the scope at that date.
type fanLine struct {
	Class, Label           string
	X1, Y1, X2, Y2, LX, LY string
}

// seriesRow is one day of the chart's data, for its table.
type seriesRow struct {
	Date        string
	Done, Total int
}

// burnup is the commitment page's chart, every coordinate computed here
// and the SVG written by the template (which escapes every text).
type burnup struct {
	W, H                       int
	PlotLeft, PlotTop          int
	PlotRight, PlotBottom      int
	Title, Desc                string
	XTicks, YTicks             []tick
	Total, Done, DoneArea, Fan string
	FanLines                   []fanLine
	Marks                      []mark
	Rows                       []seriesRow
}

// newBurnup draws r's burn-up from its series, with the forecast fan from
// today while r is open, and its promises, due date and today as lines.
func newBurnup(r reconcile.Record, today connectors.Date) *burnup {
	s := r.Series
	if s.IsZero() {
		// A record from before the series: today's counts alone.
		s = reconcile.Series{From: today, Done: []int{r.Done}, Total: []int{r.Total}}
	}
	c := &burnup{W: chartW, H: chartH, PlotLeft: padLeft, PlotTop: padTop, PlotRight: padLeft + plotW, PlotBottom: padTop + plotH}

	var marks []mark
	add := func(class, label string, d connectors.Date) {
		if !d.IsZero() {
			marks = append(marks, mark{Class: class, Label: label, date: d})
		}
	}
	first, hasFirst := r.First()
	cur, _ := r.Commitment()
	if hasFirst {
		add("promise-first", "first promise "+first.Date.String(), first.Date)
		if cur.Date != first.Date {
			add("promise-current", "promise "+cur.Date.String(), cur.Date)
		}
	}
	if due, ok := r.Target(); ok {
		add("due", "due "+due.String(), due)
	}
	end := s.Last()
	f := r.Forecast
	fan := !r.Delivered && f.Enough && f.Remaining > 0 && !f.P50.IsZero()
	if r.Delivered {
		add("delivered", "delivered "+r.DeliveredOn.String(), r.DeliveredOn)
	} else {
		add("today", "today", today)
	}

	// The time axis spans the series, the marks and the fan, plus a margin.
	lo, hi := s.From, end
	for _, m := range marks {
		lo, hi = earliest(lo, m.date), latest(hi, m.date)
	}
	if fan {
		hi = latest(hi, f.P95)
		hi = latest(hi, f.P85)
	}
	span := max(hi.Sub(lo), 6)
	pad := max(1, span/30)
	lo, hi = lo.AddDays(-pad), lo.AddDays(span+pad)
	x := func(d connectors.Date) float64 {
		return float64(padLeft) + float64(d.Sub(lo))/float64(hi.Sub(lo))*plotW
	}

	top := 1
	for _, t := range s.Total {
		top = max(top, t)
	}
	top = max(top, r.Total)
	step := niceStep(top)
	top = (top + step - 1) / step * step
	y := func(n int) float64 { return float64(padTop) + plotH - float64(n)/float64(top)*plotH }
	for n := 0; n <= top; n += step {
		c.YTicks = append(c.YTicks, tick{Pos: coord(y(n)), Label: strconv.Itoa(n)})
	}
	days := niceDays(hi.Sub(lo))
	for d := lo.AddDays(1); !d.After(hi); d = d.AddDays(days) {
		label := monthDay(d)
		if hi.Sub(lo) > 300 {
			label += " " + strconv.Itoa(d.Year)
		}
		c.XTicks = append(c.XTicks, tick{Pos: coord(x(d)), Label: label})
	}

	var done, total, area strings.Builder
	for i := range s.Len() {
		d := s.From.AddDays(i)
		c.Rows = append(c.Rows, seriesRow{Date: d.String(), Done: s.Done[i], Total: s.Total[i]})
		fmt.Fprintf(&done, "%s,%s ", coord(x(d)), coord(y(s.Done[i])))
		fmt.Fprintf(&total, "%s,%s ", coord(x(d)), coord(y(s.Total[i])))
	}
	c.Done, c.Total = strings.TrimSpace(done.String()), strings.TrimSpace(total.String())
	fmt.Fprintf(&area, "%s,%s %s %s,%s", coord(x(s.From)), coord(y(0)), c.Done, coord(x(end)), coord(y(0)))
	c.DoneArea = area.String()

	nowDone, scope := s.Done[s.Len()-1], s.Total[s.Len()-1]
	if fan {
		x0, y0 := coord(x(end)), coord(y(nowDone))
		yEnd := coord(y(scope))
		c.Fan = fmt.Sprintf("%s,%s %s,%s %s,%s", x0, y0, coord(x(f.P50)), yEnd, coord(x(f.P95)), yEnd)
		for i, p := range []struct {
			class, label string
			d            connectors.Date
		}{{"fan-p50", "P50", f.P50}, {"fan-p85", "P85", f.P85}, {"fan-p95", "P95", f.P95}} {
			xe := x(p.d)
			c.FanLines = append(c.FanLines, fanLine{Class: p.class, Label: p.label, X1: x0, Y1: y0, X2: coord(xe), Y2: yEnd,
				LX: coord(xe), LY: coord(y(scope) - 6 - float64(i%2)*11)})
		}
	}

	// Marks on the same day are one line; labels that would collide go
	// on the next line up.
	slices.SortStableFunc(marks, func(a, b mark) int { return a.date.Sub(b.date) })
	var merged []mark
	for _, m := range marks {
		if n := len(merged); n > 0 && merged[n-1].date == m.date {
			merged[n-1].Class += " " + m.Class
			merged[n-1].Label += " · " + strings.TrimSuffix(m.Label, " "+m.date.String())
			continue
		}
		merged = append(merged, m)
	}
	// A label goes on the lowest line where it does not overlap the one
	// before it (widths estimated at the font's 11 px, bold).
	var ends [4]float64
	for i := range ends {
		ends[i] = math.Inf(-1)
	}
	for i := range merged {
		m := &merged[i]
		m.x = x(m.date)
		m.X = coord(m.x)
		w := float64(len([]rune(m.Label)))*6.7 + 4
		start, anchor := m.x+3, "start"
		if m.x+3+w > float64(padLeft)+plotW+padRight {
			start, anchor = m.x-3-w, "end"
		}
		level := 0
		for level < len(ends)-1 && start < ends[level]+8 {
			level++
		}
		ends[level] = start + w
		m.LabelY = coord(float64(padTop) - 8 - float64(level)*14)
		m.Anchor = anchor
		m.LabelX = coord(m.x + 3)
		if anchor == "end" {
			m.LabelX = coord(m.x - 3)
		}
	}
	c.Marks = merged

	c.Title = "Burn-up of " + label(r)
	c.Desc = describe(r, s, f, fan, today)
	return c
}

// describe is the chart in words: its text alternative.
func describe(r reconcile.Record, s reconcile.Series, f reconcile.Forecast, fan bool, today connectors.Date) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Items done and in scope per day from %s to %s: %d of %d done on %s.", s.From, s.Last(),
		s.Done[s.Len()-1], s.Total[s.Len()-1], s.Last())
	if fan {
		fmt.Fprintf(&b, " Forecast from today (%s): P50 %s, P85 %s, P95 %s.", today, f.P50, f.P85, f.P95)
	}
	if first, ok := r.First(); ok {
		fmt.Fprintf(&b, " First promise %s", first.Date)
		if cur, _ := r.Commitment(); cur.Date != first.Date {
			fmt.Fprintf(&b, ", current promise %s", cur.Date)
		}
		b.WriteString(".")
	}
	if due, ok := r.Target(); ok {
		fmt.Fprintf(&b, " Due date %s.", due)
	}
	if r.Delivered {
		fmt.Fprintf(&b, " Delivered %s.", r.DeliveredOn)
	}
	return b.String()
}

func label(r reconcile.Record) string {
	if r.Title == "" {
		return r.Ref.Key()
	}
	return r.Title
}

// niceStep is a round step that gives at most six ticks up to top.
func niceStep(top int) int {
	for _, s := range []int{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000} {
		if top/s <= 6 {
			return s
		}
	}
	return int(math.Pow10(int(math.Ceil(math.Log10(float64(top) / 6)))))
}

// niceDays is a round number of days between date ticks, about six of
// them over span.
func niceDays(span int) int {
	for _, s := range []int{1, 2, 7, 14, 28, 56, 91, 182} {
		if span/s <= 7 {
			return s
		}
	}
	return 364
}

func monthDay(d connectors.Date) string { return d.Month.String()[:3] + " " + strconv.Itoa(d.Day) }

// coord formats an SVG coordinate to a tenth of a unit.
func coord(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

func earliest(a, b connectors.Date) connectors.Date {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b connectors.Date) connectors.Date {
	if b.After(a) {
		return b
	}
	return a
}

// bars is the track-record chart: the on-time share of each month as
// bars (left axis), the mean slip of the month's deliveries as dots on a
// line (right axis), and the recommitments made under each month.
type bars struct {
	W, H                int
	PlotLeft, PlotRight int
	PlotTop, PlotBottom int
	Title, Desc         string
	Bars                []bar
	YTicks, SlipTicks   []tick
	SlipLine            string // polyline points over the months with deliveries
	RecommitY           string
}

type bar struct {
	X, Y, W, H, LX, LY, TX string
	Label, Month           string
	Empty                  bool // no delivery that month
	Class                  string
	SlipX, SlipY, Slip     string // the mean slip's dot; "" without deliveries
	Recommits              string // "↻2", or ""
}

// newBars draws a team's months.
func newBars(team string, months []reconcile.TeamMonth) *bars {
	const w, h, left, right, topPad, bottom = 680, 230, 44, 52, 22, 44
	b := &bars{W: w, H: h, PlotLeft: left, PlotRight: w - right, PlotTop: topPad, PlotBottom: h - bottom,
		Title: "On-time share, slip and recommitments by month, " + team, RecommitY: coord(float64(h - bottom + 34))}
	pw, ph := float64(w-left-right), float64(h-topPad-bottom)
	for _, p := range []int{0, 50, 100} {
		b.YTicks = append(b.YTicks, tick{Pos: coord(float64(topPad) + ph - float64(p)/100*ph), Label: strconv.Itoa(p) + "%"})
	}
	maxSlip := 1.0
	for _, m := range months {
		maxSlip = math.Max(maxSlip, m.MeanSlipDays)
	}
	step := niceStep(int(math.Ceil(maxSlip)))
	top := (int(math.Ceil(maxSlip)) + step - 1) / step * step
	slipY := func(v float64) float64 { return float64(topPad) + ph - v/float64(top)*ph }
	for v := 0; v <= top; v += step {
		b.SlipTicks = append(b.SlipTicks, tick{Pos: coord(slipY(float64(v))), Label: strconv.Itoa(v) + " d"})
	}
	n := max(len(months), 1)
	slot := pw / float64(n)
	bw := math.Min(slot*0.6, 44)
	var desc []string
	var line strings.Builder
	for i, m := range months {
		cx := float64(left) + slot*(float64(i)+0.5)
		bb := bar{Month: shortMonth(m.Month), TX: coord(cx), LX: coord(cx), X: coord(cx - bw/2), W: coord(bw)}
		if m.Recommitments > 0 {
			bb.Recommits = "↻" + strconv.Itoa(m.Recommitments)
		}
		text := m.Month + ": "
		if m.Delivered == 0 {
			bb.Empty, bb.Label = true, dash
			bb.LY = coord(float64(topPad) + ph - 4)
			text += "nothing delivered"
		} else {
			hgt := math.Max(m.OnTimeShare*ph, 1.5)
			bb.Y, bb.H = coord(float64(topPad)+ph-hgt), coord(hgt)
			bb.Label = percentText(m.OnTimeShare)
			bb.LY = coord(math.Max(float64(topPad)+ph-hgt-4, float64(topPad)-6))
			bb.Class = "share-good"
			if m.OnTimeShare < 0.5 {
				bb.Class = "share-poor"
			}
			bb.SlipX, bb.SlipY, bb.Slip = coord(cx), coord(slipY(m.MeanSlipDays)), oneDecimal(m.MeanSlipDays)
			fmt.Fprintf(&line, "%s,%s ", bb.SlipX, bb.SlipY)
			text += fmt.Sprintf("%d of %d on time, mean slip %s days", m.OnTime, m.Delivered, oneDecimal(m.MeanSlipDays))
		}
		if m.Recommitments > 0 {
			text += fmt.Sprintf(", %d recommitments", m.Recommitments)
		}
		desc = append(desc, text)
		b.Bars = append(b.Bars, bb)
	}
	b.SlipLine = strings.TrimSpace(line.String())
	b.Desc = "By month: on-time share against the first promise (bars), mean slip in days (dots), recommitments (↻). " + strings.Join(desc, "; ") + "."
	return b
}

// shortMonth is "Oct" from "2026-10", with the year in January.
func shortMonth(m string) string {
	year, month, ok := strings.Cut(m, "-")
	n, err := strconv.Atoi(month)
	if !ok || err != nil || n < 1 || n > 12 {
		return m
	}
	s := []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}[n-1]
	if n == 1 {
		s += " " + year
	}
	return s
}
