package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// CheckResult is one pass over every configured team.
type CheckResult struct {
	Commitments []reconcile.View
	Errors      []error // teams or deliverables that could not be read
	// Unresolved are link sides not found on their tracker: a link to
	// something that does not exist (or was renamed).
	Unresolved []string
	// Teams are the repos and projects each tracker watched, as
	// configured or as found (jira.projects: ["*"]).
	Teams map[connectors.Tracker][]string
	// Discovered is what each wildcard of the config found.
	Discovered []Found
}

// Check observes and reconciles every deliverable of every team once,
// without the queue. With apply it acts and saves exactly as the daemon
// does, the month's track record and the period's digest included (it
// schedules nothing); without, it posts and saves nothing.
func (r *Runner) Check(ctx context.Context, apply bool) CheckResult {
	var res CheckResult
	trackers := slices.Sorted(maps.Keys(r.conns))
	for _, t := range trackers {
		conn := r.conns[t]
		if d, ok := conn.(discoverer); ok && d.DiscoverEvery() > 0 {
			if _, err := r.discover(ctx, t, d); err != nil {
				res.Errors = append(res.Errors, err)
			}
		}
		for _, team := range conn.Teams() {
			refs, err := conn.List(ctx, team)
			if err != nil {
				res.Errors = append(res.Errors, fmt.Errorf("list %s %s: %w", t, team, err))
				continue
			}
			for _, ref := range refs {
				// One pass: no schedule, whatever the core wants next.
				rec, _, err := r.reconcileOne(ctx, conn, ref, apply && !r.opt.DryRun)
				if err != nil {
					res.Errors = append(res.Errors, err)
					continue
				}
				if rec.IsZero() {
					continue
				}
				res.Commitments = append(res.Commitments, reconcile.ViewOf(rec))
			}
		}
	}
	if apply && r.opt.TrackRecord != "" {
		if err := r.postOnThread(ctx, TrackRecordKey(r.opt.TrackRecord), r.opt.Now()); err != nil {
			res.Errors = append(res.Errors, err)
		}
	}
	res.Unresolved = r.UnresolvedLinks()
	res.Teams = r.Teams()
	res.Discovered = r.Discovered()
	return res
}

// Err is the pass's errors joined, or nil.
func (c CheckResult) Err() error { return errors.Join(c.Errors...) }
