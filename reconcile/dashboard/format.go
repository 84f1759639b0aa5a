package dashboard

import (
	"html/template"
	"strconv"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// dash stands for a value that is not known (no promise, no forecast
// yet, no chance computed).
const dash = "—"

// healths is every health, worst first: the order of the counts at the
// top, of the health filter and of sorting by health.
var healths = []reconcile.Health{reconcile.Overdue, reconcile.Slipped, reconcile.AtRisk, reconcile.OnTrack,
	reconcile.NoDate, reconcile.DeliveredLate, reconcile.DeliveredOnTime}

// healthRank is h's place in healths; an unknown health goes last.
func healthRank(h reconcile.Health) int {
	for i, x := range healths {
		if x == h {
			return i
		}
	}
	return len(healths)
}

// healthText is how a health reads: never a colour alone.
func healthText(h reconcile.Health) string {
	switch h {
	case reconcile.OnTrack:
		return "on track"
	case reconcile.AtRisk:
		return "at risk"
	case reconcile.Slipped:
		return "slipped"
	case reconcile.Overdue:
		return "overdue"
	case reconcile.DeliveredOnTime:
		return "delivered on time"
	case reconcile.DeliveredLate:
		return "delivered late"
	case reconcile.NoDate:
		return "no date"
	case "":
		return "unknown"
	}
	return string(h)
}

// healthIcon is a shape for each health, so that it reads in grey too.
func healthIcon(h reconcile.Health) string {
	switch h {
	case reconcile.OnTrack:
		return "●"
	case reconcile.AtRisk:
		return "▲"
	case reconcile.Slipped:
		return "▼"
	case reconcile.Overdue:
		return "■"
	case reconcile.DeliveredOnTime:
		return "✓"
	case reconcile.DeliveredLate:
		return "✓"
	}
	return "○"
}

// trackerName is the tracker as people call it.
func trackerName(t string) string {
	switch connectors.Tracker(t) {
	case connectors.GitHub:
		return "GitHub"
	case connectors.Jira:
		return "Jira"
	}
	return t
}

// kindName is the kind of deliverable as people call it.
func kindName(k connectors.Kind) string {
	switch k {
	case connectors.Milestone:
		return "milestone"
	case connectors.Version:
		return "version"
	case connectors.Issue:
		return "epic"
	}
	return string(k)
}

func sourceText(s reconcile.Source) string {
	switch s {
	case reconcile.DeclaredDescription:
		return "“Committed:” line in the description"
	case reconcile.DeclaredCommand:
		return "/commit on the thread"
	case reconcile.BaselineFirstSeen:
		return "first due date seen"
	}
	return string(s)
}

// dateText is d as YYYY-MM-DD, or — for no date. It formats by hand:
// a portfolio of a thousand rows has seven thousand dates.
func dateText(d connectors.Date) string {
	if d.IsZero() {
		return dash
	}
	if d.Year < 0 || d.Year > 9999 {
		return d.String()
	}
	b := [10]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0'}
	for i, y := 3, d.Year; i >= 0; i, y = i-1, y/10 {
		b[i] = byte('0' + y%10)
	}
	b[5], b[6] = byte('0'+int(d.Month)/10), byte('0'+int(d.Month)%10)
	b[8], b[9] = byte('0'+d.Day/10), byte('0'+d.Day%10)
	return string(b[:])
}

// dateKey orders dates without the time zone arithmetic of Date.Days.
func dateKey(d connectors.Date) int { return d.Year*10000 + int(d.Month)*100 + d.Day }

func percentText(share float64) string { return strconv.Itoa(int(share*100+0.5)) + "%" }

func chanceText(f reconcile.Forecast) string {
	if !f.ChanceKnown {
		return dash
	}
	return percentText(f.Chance)
}

func daysText(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

func oneDecimal(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"healthText":  healthText,
	"healthIcon":  healthIcon,
	"trackerName": trackerName,
	"percent":     percentText,
	"oneDecimal":  oneDecimal,
	"days":        daysText,
}

// instant is a moment shown as a date in the configured zone, with the
// machine-readable instant for <time datetime>.
type instant struct {
	Text, Machine string
}

func instantOf(t time.Time, loc *time.Location) instant {
	if t.IsZero() {
		return instant{Text: dash}
	}
	return instant{Text: t.In(loc).Format("2006-01-02"), Machine: t.UTC().Format(time.RFC3339)}
}
