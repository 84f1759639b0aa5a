package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// The track-record thread (config track_record.thread) gets two periodic
// comments: the monthly track record and the digest (digest.every). One
// work key, track-record:<thread>, does both, so the thread is read once
// for the two, and a replica of an older version, which knows that key
// and only the monthly comment, still works it without parking it during
// a rolling upgrade; the digest it leaves out is asked for again by the
// next poll of a newer replica.

// pollTrackRecord asks for what is due on the track-record thread, once
// per poll interval across replicas, until this replica has seen both
// this month's track record and this period's digest there. The ask goes
// through the queue like any key, so it has one worker at a time across
// replicas (the work lease), retries with backoff and parks like any
// other work. It is due half an interval after the poll, so a first
// deployment's first comment counts the deliverables that poll found, not
// none.
func (r *Runner) pollTrackRecord(ctx context.Context) {
	if r.opt.TrackRecord == "" || r.trackRecordSeen() && r.digestSeen() {
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

// processThread is the work of a track-record key: what is due on the
// thread, then the key scheduled for the start of the next digest period,
// so the digest is posted then and not at the first poll after it.
func (r *Runner) processThread(ctx context.Context, k Key) error {
	now := r.opt.Now()
	if err := r.postOnThread(ctx, k, now); err != nil {
		return err
	}
	if r.opt.DigestEvery <= 0 || r.opt.DryRun {
		return nil
	}
	_, next := reconcile.DigestPeriod(now, r.opt.DigestEvery, r.settings.Location)
	return r.requeue(ctx, k.String(), next)
}

// postOnThread reads the key's thread and the records once and posts what
// is due there: the month's track record and the period's digest, each by
// the same exactly-once protocol as an event comment (the marker on the
// thread, then the ledger claim). now is one instant for the whole pass:
// one that straddles midnight on the 1st must not mark the new month seen
// with the old one's comment.
func (r *Runner) postOnThread(ctx context.Context, k Key, now time.Time) error {
	t, thread := k.Tracker, k.Thread
	conn, ok := r.conns[t]
	if !ok {
		return fmt.Errorf("%w: track record thread %s: %s is not configured", connectors.ErrTerminal, thread, t)
	}
	th, err := conn.ReadThread(ctx, thread)
	if err != nil {
		return fmt.Errorf("read the track-record thread %s: %w", thread, err)
	}
	recs, err := r.records(ctx)
	if err != nil {
		return fmt.Errorf("track record: %w", err)
	}
	log := r.log.With("thread", thread, "tracker", string(t))
	// Each is tried whatever the other did: one failing must not hold the
	// other back. A retry repeats both, which their markers make harmless.
	return errors.Join(r.postTrackRecord(ctx, conn, th, recs, now, log), r.postDigest(ctx, conn, th, recs, now, log))
}

// postTrackRecord posts the month's track-record comment on th unless it
// is there.
func (r *Runner) postTrackRecord(ctx context.Context, conn Connector, th *connectors.Thread, recs []reconcile.Record, now time.Time, log *slog.Logger) error {
	teams := reconcile.TrackRecord(recs)
	a, ok := reconcile.TrackRecordPost(conn.Tracker(), th, now, r.settings, teams)
	if !ok {
		r.sawTrackRecord(r.month(now))
		return nil
	}
	if len(teams) == 0 {
		// Nothing promised yet (or nothing reconciled yet): a comment
		// saying so is noise; the next poll asks again.
		log.Debug("no promises yet; the track record waits")
		return nil
	}
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
