package reconcile

import (
	"strconv"

	"github.com/slipwatch/slipwatch/connectors"
)

// The forecast in words, for people who read a status comment, `check`
// or the API rather than docs/forecast.md: the chance of the promise and
// the inputs that explain it. The comments, View and the CLI share them.

// percentText is a chance as people read one: a whole percent, never
// "100%" or "0%" for what the trials only make very likely or unlikely.
func percentText(c float64) string {
	switch {
	case c >= 0.995:
		return "over 99%"
	case c < 0.005:
		return "under 1%"
	}
	return strconv.Itoa(int(c*100+0.5)) + "%"
}

// chanceText is the chance of meeting the promise, "62% likely by the
// promised 2026-12-01", or why there is none ("" without a promise).
func chanceText(f Forecast) string {
	switch {
	case f.Promised.IsZero():
		return ""
	case !f.Enough:
		return "not enough history"
	case f.Remaining == 0:
		return "all items done"
	case !f.ChanceKnown:
		return ""
	}
	return percentText(f.Chance) + " likely by the promised " + dateString(f.Promised)
}

// inputsText is what the chance and dates rest on, in one line: the
// deliverable's share of the team's pace, the other deliverables in
// progress and the scope added since the promise ("" without a forecast).
func inputsText(f Forecast, kind connectors.Kind) string {
	if !f.Enough || f.Remaining == 0 || f.Share == 0 {
		return "" // no forecast, or one saved before the model had inputs
	}
	noun, nouns := kindNouns(kind)
	share := "all"
	if f.Share < 0.995 {
		share = percentText(f.Share)
	}
	s := "this " + noun + " gets " + share + " of the team's " + rateText(f.Pace) + " items a day"
	switch f.Concurrent {
	case 0:
		s += "; no other " + noun + " is in progress"
	case 1:
		s += "; 1 other " + noun + " is in progress"
	default:
		s += "; " + strconv.Itoa(f.Concurrent) + " other " + nouns + " are in progress"
	}
	if f.Promised.IsZero() {
		return s
	}
	switch f.Added {
	case 0:
		return s + "; no items added since the promise"
	case 1:
		return s + "; 1 item added since the promise"
	}
	return s + "; " + strconv.Itoa(f.Added) + " items added since the promise"
}

// rateText is a pace in items a day: "2", "1.4", "0.3".
func rateText(v float64) string {
	if v >= 10 {
		return strconv.Itoa(int(v + 0.5))
	}
	return strconv.FormatFloat(float64(int(v*10+0.5))/10, 'f', -1, 64)
}

// kindNouns names a kind of deliverable as its tracker's people do.
func kindNouns(k connectors.Kind) (one, many string) {
	switch k {
	case connectors.Milestone:
		return "milestone", "milestones"
	case connectors.Version:
		return "version", "versions"
	}
	return "deliverable", "deliverables"
}

// confidenceText is forecast.confidence as a percent, "85%".
func confidenceText(s Settings) string { return strconv.Itoa(int(s.Confidence*100+0.5)) + "%" }
