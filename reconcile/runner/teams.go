package runner

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/slipwatch/slipwatch/connectors"
)

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
