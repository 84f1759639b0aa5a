package runner

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
)

// discoverer is a connector whose teams are found rather than listed in
// the config (jira.projects: ["*"]): Discover finds them again when that
// is due and returns those that joined, and Teams then answers what it
// found.
type discoverer interface {
	Discover(ctx context.Context) ([]string, error)
}

// teams are c's teams, found again first when c finds them. A failed
// discovery keeps what was found before.
func (r *Runner) teams(ctx context.Context, t connectors.Tracker, c interface{ Teams() []string }) []string {
	if d, ok := c.(discoverer); ok {
		if _, err := d.Discover(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("cannot discover teams; keeping those found before", "tracker", string(t), "err", err)
		}
	}
	return c.Teams()
}

// Teams are each tracker's teams as last found (no discovery), for check
// and /readyz.
func (r *Runner) Teams() map[connectors.Tracker][]string {
	out := map[connectors.Tracker][]string{}
	for t, c := range r.conns {
		out[t] = c.Teams()
	}
	return out
}

// writeTeams writes one line per tracker naming what it watches.
func writeTeams(w io.Writer, teams map[connectors.Tracker][]string) {
	for _, t := range slices.Sorted(maps.Keys(teams)) {
		ts := teams[t]
		fmt.Fprintf(w, "watching %s (%d): %s\n", t, len(ts), strings.Join(ts, ", "))
	}
}
