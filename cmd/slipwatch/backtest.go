package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile/backtest"
)

// historian reads a team's past: what `slipwatch backtest` replays. Both
// connectors have it.
type historian interface {
	Tracker() connectors.Tracker
	Teams() []string
	History(ctx context.Context, team string, begin connectors.Date) (connectors.Past, error)
}

// backtestTeam is one team's figures as --json prints them.
type backtestTeam struct {
	Tracker      string `json:"tracker"`
	Team         string `json:"team"`
	Deliverables int    `json:"deliverables"`
	Promised     int    `json:"promised"`
	// P85Held of P85Judged: the P85 date stated when work began held.
	P85Held   int          `json:"p85_held"`
	P85Judged int          `json:"p85_judged"`
	New       backtestFigs `json:"new"`
	Old       backtestFigs `json:"old"`
}

// backtestFigs are one model's figures; a share is null when nothing was
// judged.
type backtestFigs struct {
	// Coverage of the dates stated when work began and at 25, 50 and 75 %
	// of the time it took.
	P85 [backtest.NumCheckpoints]*float64 `json:"p85_coverage"`
	P50 [backtest.NumCheckpoints]*float64 `json:"p50_coverage"`
	// ChanceStated is the mean chance stated while the promise was ahead,
	// ChanceMet the share of those promises met, over ChanceN statements.
	ChanceStated *float64 `json:"chance_stated"`
	ChanceMet    *float64 `json:"chance_met"`
	ChanceN      int      `json:"chance_n"`
	Late         int      `json:"late"`
}

func figures(s backtest.Stats) backtestFigs {
	var f backtestFigs
	for c := range backtest.NumCheckpoints {
		if v, ok := s.P85(c); ok {
			f.P85[c] = &v
		}
		if v, ok := s.P50(c); ok {
			f.P50[c] = &v
		}
	}
	if stated, met, n := s.Chance(); n > 0 {
		f.ChanceStated, f.ChanceMet, f.ChanceN = &stated, &met, n
	}
	f.Late = s.Late
	return f
}

// runBacktest is `slipwatch backtest`: the forecast replayed on each
// team's own delivered deliverables, as read from the trackers.
func runBacktest(e *env, o *options) int {
	a, err := build(e.cfg, deps{logOut: e.stderr})
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch backtest: %v\n", err)
		return exitFailed
	}
	defer a.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	s := settings(e.cfg)
	today := connectors.DateOf(time.Now(), s.Location)
	begin := today.AddDays(-o.days)

	var teams []backtestTeam
	failed := false
	for _, conn := range a.trackers {
		h, ok := conn.(historian)
		if !ok {
			continue
		}
		for _, team := range h.Teams() {
			past, err := h.History(ctx, team, begin)
			if err != nil {
				fmt.Fprintf(e.stderr, "slipwatch backtest: %s %s: %v\n", h.Tracker(), team, err)
				failed = true
				continue
			}
			r := backtest.Own(past.Team, backtest.FromPast(past, s.Location), s)
			teams = append(teams, backtestTeam{Tracker: string(h.Tracker()), Team: r.Team, Deliverables: r.Deliverables,
				Promised: r.Promised, P85Held: r.Held, P85Judged: r.Judged, New: figures(r.New), Old: figures(r.Old)})
		}
	}
	if o.json {
		if teams == nil {
			teams = []backtestTeam{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"since": begin, "until": today, "confidence": s.Confidence, "teams": teams})
	} else {
		printBacktest(e, teams, begin, s.Confidence)
	}
	if failed {
		return exitFailed
	}
	return exitOK
}

func printBacktest(e *env, teams []backtestTeam, begin connectors.Date, confidence float64) {
	pc := int(confidence*100 + 0.5)
	fmt.Fprintf(e.stdout, "The forecast replayed on what each team delivered since %s, one day at a time, as the daemon would have\n", begin)
	fmt.Fprintf(e.stdout, "made it then; old is the model before issue #20. Coverage: the share finished by the date stated when work\n")
	fmt.Fprintf(e.stdout, "began and at 25/50/75%% of the way; chance: the mean chance stated of meeting the promise, and how often it was.\n\n")
	if len(teams) == 0 {
		fmt.Fprintln(e.stdout, "No team to replay: configure github.repos or jira.projects.")
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TEAM\tDELIVERED\tP%d HELD\tP%d 25/50/75%%\tP50 25/50/75%%\tCHANCE STATED → MET\tOLD P%d 25/50/75%%\n", pc, pc, pc)
	for _, t := range teams {
		held := "-"
		if t.P85Judged > 0 {
			held = fmt.Sprintf("%d of %d", t.P85Held, t.P85Judged)
		}
		chance := "-"
		if t.New.ChanceN > 0 {
			chance = fmt.Sprintf("%s → %s (%d)", pct(t.New.ChanceStated), pct(t.New.ChanceMet), t.New.ChanceN)
		}
		fmt.Fprintf(tw, "%s %s\t%d\t%s\t%s\t%s\t%s\t%s\n", t.Tracker, t.Team, t.Deliverables, held,
			way(t.New.P85), way(t.New.P50), chance, way(t.Old.P85))
	}
	_ = tw.Flush()
	fmt.Fprintln(e.stdout)
	for _, t := range teams {
		switch {
		case t.P85Judged == 0:
			fmt.Fprintf(e.stdout, "%s %s: nothing delivered since %s with enough history to judge.\n", t.Tracker, t.Team, begin)
		default:
			fmt.Fprintf(e.stdout, "For %s the %d%% date has held for %d of %d past deliverables.\n", t.Team, pc, t.P85Held, t.P85Judged)
		}
	}
}

// way is the coverage at 25, 50 and 75 % of the way.
func way(v [backtest.NumCheckpoints]*float64) string {
	return pct(v[1]) + " / " + pct(v[2]) + " / " + pct(v[3])
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", *v*100)
}
