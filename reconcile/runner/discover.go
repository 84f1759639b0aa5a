package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// discoverTimeout bounds one look-up of a tracker's wildcard teams: an
// organisation of thousands of repositories is some tens of pages.
const discoverTimeout = 2 * time.Minute

// discoverDue looks conn's wildcard teams up when this replica has not
// for DiscoverEvery, before a poll enqueues the teams. A failure is logged
// and tried again at the next poll; the teams found before stay polled.
func (r *Runner) discoverDue(ctx context.Context, c Connector) {
	d, ok := c.(discoverer)
	if !ok || d.DiscoverEvery() <= 0 {
		return
	}
	t := c.Tracker()
	now := r.opt.Now()
	r.discoverMu.Lock()
	last, seen := r.discovered[t]
	r.discoverMu.Unlock()
	if seen && now.Sub(last) < d.DiscoverEvery() {
		return
	}
	if _, err := r.discover(ctx, t, d); err != nil && ctx.Err() == nil {
		r.log.Warn("cannot look the wildcard teams up; polling what was found before", "tracker", string(t), "err", err)
	}
}

// discover runs one look-up and remembers when it worked.
func (r *Runner) discover(ctx context.Context, t connectors.Tracker, d discoverer) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	added, err := d.Discover(ctx)
	if err != nil {
		return added, fmt.Errorf("discover %s teams: %w", t, err)
	}
	r.discoverMu.Lock()
	r.discovered[t] = r.opt.Now()
	r.discoverMu.Unlock()
	return added, nil
}

// processDiscover is a discovery key's work (a repository or an
// installation webhook): look up at once, and list the teams that joined
// so their deliverables are known before the next poll.
func (r *Runner) processDiscover(ctx context.Context, t connectors.Tracker) error {
	conn, ok := r.conns[t]
	if !ok {
		return fmt.Errorf("%w: %s is not configured", connectors.ErrTerminal, t)
	}
	d, ok := conn.(discoverer)
	if !ok || d.DiscoverEvery() <= 0 {
		return nil // nothing to discover: a stray key
	}
	added, err := r.discover(ctx, t, d)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, team := range added {
		key := TeamKey(t, team).String()
		if err := r.store.Enqueue(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("enqueue %s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// Found is what one wildcard of a tracker found ("github acme/*: 143
// repositories").
type Found struct {
	Tracker connectors.Tracker
	connectors.Discovery
}

func (f Found) String() string { return string(f.Tracker) + " " + f.Discovery.String() }

// Discovered is what every tracker's wildcards found at their last
// look-up, trackers in name order.
func (r *Runner) Discovered() []Found {
	var out []Found
	for _, t := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
		d, ok := r.conns[t].(discoverer)
		if !ok {
			continue
		}
		for _, ds := range d.Discoveries() {
			out = append(out, Found{Tracker: t, Discovery: ds})
		}
	}
	return out
}
