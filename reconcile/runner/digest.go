package runner

import (
	"context"
	"log/slog"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// digestSeen reports whether this replica has seen the current period's
// digest on the track-record thread, or no digest is wanted, so a poll
// need not ask for it.
func (r *Runner) digestSeen() bool {
	if r.opt.DigestEvery <= 0 {
		return true
	}
	start, _ := reconcile.DigestPeriod(r.opt.Now(), r.opt.DigestEvery, r.settings.Location)
	r.trackMu.Lock()
	defer r.trackMu.Unlock()
	return r.digestStart.Equal(start)
}

func (r *Runner) sawDigest(start time.Time) {
	r.trackMu.Lock()
	r.digestStart = start
	r.trackMu.Unlock()
}

// postDigest posts the period's digest on th unless it is there, or there
// is nothing to say.
func (r *Runner) postDigest(ctx context.Context, conn Connector, th *connectors.Thread, recs []reconcile.Record, now time.Time, log *slog.Logger) error {
	every := r.opt.DigestEvery
	if every <= 0 {
		return nil
	}
	start, _ := reconcile.DigestPeriod(now, every, r.settings.Location)
	a, status := reconcile.DigestPost(conn.Tracker(), th, now, every, recs, r.settings)
	switch status {
	case reconcile.DigestPosted:
		r.sawDigest(start)
		return nil
	case reconcile.DigestQuiet:
		if !anyPromise(recs) {
			// Nothing promised yet (or nothing reconciled yet): the next
			// poll asks again.
			log.Debug("no promises yet; the digest waits")
			return nil
		}
		log.Info("nothing open and nothing changed; no digest this period", "period", start.Format(time.RFC3339))
		r.sawDigest(start)
		return nil
	}
	if r.opt.DryRun {
		log.Info("would post the digest (dry run)", "event_id", a.EventID, "period", start.Format(time.RFC3339))
		return nil
	}
	if err := r.apply(ctx, conn, th, a, log); err != nil {
		return err
	}
	r.sawDigest(start)
	return nil
}

func anyPromise(recs []reconcile.Record) bool {
	for _, rec := range recs {
		if _, ok := rec.First(); ok {
			return true
		}
	}
	return false
}
