package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// pollTrackRecord asks for the month's track-record comment, once per poll
// interval across replicas, until this replica has seen it on its thread.
// The ask goes through the queue like any key, so it has one worker at a
// time across replicas (the work lease), retries with backoff and parks
// like any other work. It is due half an interval after the poll, so a
// first deployment's first comment counts the deliverables that poll
// found, not none.
func (r *Runner) pollTrackRecord(ctx context.Context) {
	if r.opt.TrackRecord == "" || r.trackRecordSeen() {
		return
	}
	key := TrackRecordKey(r.opt.TrackRecord).String()
	if !r.pollLease(ctx, key) {
		return
	}
	if err := r.store.Defer(ctx, key, r.opt.Now().Add(r.opt.PollInterval/2)); err != nil {
		r.m.redisErrors.WithLabelValues("enqueue").Inc()
		r.log.Warn("cannot enqueue the track record", "thread", r.opt.TrackRecord, "err", err)
	}
}

// month is now's month in the configured zone, as the core counts it.
func (r *Runner) month(now time.Time) string {
	return reconcile.TrackRecordMonth(now, r.settings.Location)
}

func (r *Runner) trackRecordSeen() bool {
	r.trackMu.Lock()
	defer r.trackMu.Unlock()
	return r.trackMonth == r.month(r.opt.Now())
}

func (r *Runner) sawTrackRecord(month string) {
	r.trackMu.Lock()
	r.trackMonth = month
	r.trackMu.Unlock()
}

// postTrackRecord posts the month's track-record comment on the key's
// thread unless it is there: the same exactly-once protocol as an event
// comment (the marker on the thread, then the ledger claim).
func (r *Runner) postTrackRecord(ctx context.Context, k Key) error {
	t, thread := k.Tracker, k.Thread
	conn, ok := r.conns[t]
	if !ok {
		return fmt.Errorf("%w: track record thread %s: %s is not configured", connectors.ErrTerminal, thread, t)
	}
	// One instant for the whole pass: one that straddles midnight on the
	// 1st must not mark the new month seen with the old one's comment.
	now := r.opt.Now()
	th, err := conn.ReadThread(ctx, thread)
	if err != nil {
		return fmt.Errorf("read the track-record thread %s: %w", thread, err)
	}
	recs, err := r.records(ctx)
	if err != nil {
		return fmt.Errorf("track record: %w", err)
	}
	teams := reconcile.TrackRecord(recs)
	a, ok := reconcile.TrackRecordPost(t, th, now, r.settings, teams)
	if !ok {
		r.sawTrackRecord(r.month(now))
		return nil
	}
	if len(teams) == 0 {
		// Nothing promised yet (or nothing reconciled yet): a comment
		// saying so is noise; the next poll asks again.
		r.log.Debug("no promises yet; the track record waits", "thread", thread)
		return nil
	}
	log := r.log.With("thread", thread, "tracker", string(t))
	if r.opt.DryRun {
		log.Info("would post the monthly track record (dry run)", "event_id", a.EventID)
		return nil
	}
	if err := r.apply(ctx, conn, th, a, log); err != nil {
		return err
	}
	r.sawTrackRecord(r.month(now))
	return nil
}
