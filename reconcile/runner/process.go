package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// errBusy means another worker holds what this one needs (a key's lease or
// an event's claim): try again shortly, it is not a failure.
var errBusy = errors.New("busy elsewhere")

// Process does one key's work: a team key lists the team and enqueues its
// deliverables; a deliverable key is observed, reconciled, acted on and
// saved. It is safe to call any number of times for the same key.
func (r *Runner) Process(ctx context.Context, key string) error {
	k, err := ParseKey(key)
	if err != nil {
		return fmt.Errorf("%w: %v", connectors.ErrTerminal, err)
	}
	switch k.Kind {
	case KeyTrackRecord:
		return r.processThread(ctx, k)
	case KeyTeam:
		return r.list(ctx, k.Tracker, k.Team)
	}
	conn, ok := r.conns[k.Tracker]
	if !ok {
		return fmt.Errorf("%w: %s is not configured", connectors.ErrTerminal, k.Tracker)
	}
	_, next, err := r.reconcileOne(ctx, conn, k.Ref, !r.opt.DryRun)
	if err != nil || r.opt.DryRun || next.IsZero() {
		return err
	}
	return r.requeue(ctx, key, next)
}

// minRequeue is the soonest a reconciled key is scheduled again: the core
// only names instants after its now, but a replica whose clock runs behind
// the one that promoted the key must not spin on it.
const minRequeue = time.Second

// requeue schedules key at next, when its reconcile said time alone makes
// news (controller-runtime's RequeueAfter): a settle ending, a new local
// day, a status-update slot. The schedule keeps the earlier of two times,
// so a retry due sooner is not pushed back.
func (r *Runner) requeue(ctx context.Context, key string, next time.Time) error {
	next = later(next, r.opt.Now().Add(minRequeue))
	if err := r.store.Defer(ctx, key, next); err != nil {
		r.m.redisErrors.WithLabelValues("defer").Inc()
		return fmt.Errorf("schedule %s for %s: %w", key, next.Format(time.RFC3339), err)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (r *Runner) list(ctx context.Context, t connectors.Tracker, team string) error {
	conn, ok := r.conns[t]
	if !ok {
		return fmt.Errorf("%w: %s is not configured", connectors.ErrTerminal, t)
	}
	refs, err := conn.List(ctx, team)
	if err != nil {
		return fmt.Errorf("list %s %s: %w", t, team, err)
	}
	for _, ref := range refs {
		if err := r.store.Enqueue(ctx, ref.Key()); err != nil {
			return fmt.Errorf("enqueue %s: %w", ref.Key(), err)
		}
	}
	return nil
}

// reconcileOne observes ref, reconciles it against its stored record and,
// when apply is set, acts and saves. It returns the new record either way,
// and when the core wants to look again without new input (zero: never).
func (r *Runner) reconcileOne(ctx context.Context, conn Connector, ref connectors.Ref, apply bool) (reconcile.Record, time.Time, error) {
	key := ref.Key()
	log := r.log.With("commitment", key, "tracker", string(ref.Tracker))
	prev, version, err := r.loadRecord(ctx, key)
	if err != nil {
		return reconcile.Record{}, time.Time{}, err
	}
	conn.PinThread(ref, prev.Thread)
	snap, err := conn.Observe(ctx, ref)
	if errors.Is(err, connectors.ErrNotFound) {
		// Deleted on the tracker: nothing left to say about it.
		log.Info("deliverable is gone from the tracker")
		r.m.reconciles.WithLabelValues("gone").Inc()
		return reconcile.Record{}, time.Time{}, nil
	}
	if err != nil {
		return reconcile.Record{}, time.Time{}, fmt.Errorf("observe %s: %w", key, err)
	}
	if th := snap.Thread; prev.Thread != "" && (th == nil || th.ID != prev.Thread) {
		to := ""
		if th != nil {
			to = th.ID
		}
		log.Warn("the deliverable's thread is gone from the tracker; choosing another", "from", prev.Thread, "to", to)
	}
	r.reportMarkers(ctx, snap.Thread, log)
	lk, err := r.partner(ctx, snap, apply)
	if err != nil {
		return reconcile.Record{}, time.Time{}, err
	}
	now := r.opt.Now()
	obs := reconcile.Observation{Snapshot: snap}
	if lk != nil {
		obs.Linked = lk.partner
	}
	rec, actions, next := reconcile.Reconcile(prev, obs, now, r.settings)
	if !apply {
		for _, a := range actions {
			log.Info("would act (dry run)", "action", a.Kind.String(), "event", a.EventKind, "event_id", a.EventID)
		}
		return rec, next, nil
	}
	if len(actions) > 0 && snap.Thread == nil {
		th, err := conn.EnsureThread(ctx, snap.Deliverable)
		if err != nil {
			return rec, next, fmt.Errorf("thread for %s: %w", key, err)
		}
		if th != nil {
			// Found or created: decide again with what is on it, so an
			// event already posted there is not posted twice.
			snap.Thread = th
			obs.Snapshot = snap
			rec, actions, next = reconcile.Reconcile(prev, obs, now, r.settings)
		} else {
			log.Info("no thread and create_tracking_issue is off; recording without comments", "actions", len(actions))
			actions = nil
		}
	}
	// The record is saved after each action, with what is done so far
	// (reconcile.Progress): a pass cut by its deadline, a crash or a
	// tracker that stops answering resumes where it stopped, and keeps
	// what it did.
	done := make([]bool, len(actions))
	for i, a := range actions {
		err := r.apply(ctx, conn, snap.Thread, a, log)
		if errors.Is(err, connectors.ErrTooLarge) {
			// Within the published limit (the core cuts every comment to
			// it), yet refused: a server set lower. A shorter comment, or
			// none; never a key parked for one comment.
			r.m.tooLarge.Inc()
			log.Warn("the tracker refused a comment for its size; writing a shorter one", "event", a.EventKind, "event_id", a.EventID, "chars", len(a.Body), "err", err)
			err = r.apply(ctx, conn, snap.Thread, reconcile.Shorten(conn.Tracker(), a), log)
			if errors.Is(err, connectors.ErrTooLarge) {
				r.m.tooLarge.Inc()
				log.Error("the tracker refused the shorter comment too; going on without it", "event", a.EventKind, "event_id", a.EventID, "err", err)
				continue
			}
		}
		if err != nil {
			return rec, next, err
		}
		done[i] = true
		if cp, ok := reconcile.Progress(prev, rec, actions, done); ok {
			if version, err = r.saveRecord(ctx, key, cp, version); err != nil {
				return rec, next, err
			}
		}
	}
	if len(actions) == 0 {
		if _, err := r.saveRecord(ctx, key, rec, version); err != nil {
			return rec, next, err
		}
	}
	if lk != nil && lk.partnerKey != "" && (lk.news || rec.Observed != prev.Observed) {
		// The other side is judged on this one too: it has news.
		if err := r.store.Enqueue(ctx, lk.partnerKey); err != nil {
			return rec, next, fmt.Errorf("enqueue linked %s: %w", lk.partnerKey, err)
		}
	}
	r.m.reconciles.WithLabelValues("ok").Inc()
	return rec, next, nil
}

// reportMarkers logs and counts the markers in slipwatch's comments on th
// that its keys do not vouch for; the core has ignored them.
func (r *Runner) reportMarkers(ctx context.Context, th *connectors.Thread, log *slog.Logger) {
	for _, m := range r.settings.Markers.Rejected(th) {
		r.m.markersRejected.WithLabelValues(m.Reason).Inc()
		level := slog.LevelWarn
		if m.Reason == reconcile.RejectStale {
			// An earlier version's marker, or a rotated key's: expected.
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "marker not signed with slipwatch's key; ignored",
			"thread", th.ID, "comment", m.Comment, "marker", m.Kind, "marker_id", m.ID, "reason", m.Reason)
	}
}

func (r *Runner) loadRecord(ctx context.Context, key string) (reconcile.Record, int64, error) {
	data, version, err := r.store.GetRecord(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return reconcile.Record{}, 0, nil
	}
	if err != nil {
		return reconcile.Record{}, 0, fmt.Errorf("load record %s: %w", key, err)
	}
	var rec reconcile.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		// An unreadable record is rebuilt from the thread's status marker
		// (the tracker is the record); keep the version for the CAS.
		r.log.Warn("stored record unreadable; rebuilding from the tracker", "commitment", key, "err", err)
		return reconcile.Record{}, version, nil
	}
	return rec, version, nil
}

// saveRecord stores rec if the stored version is still version, and
// returns the new version.
func (r *Runner) saveRecord(ctx context.Context, key string, rec reconcile.Record, version int64) (int64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return version, fmt.Errorf("encode record %s: %w", key, err)
	}
	v, err := r.store.PutRecord(ctx, key, data, version)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another replica saved a newer record meanwhile: reconcile
			// again on top of it (the comments are protected by markers
			// and the ledger, so repeating is safe).
			return version, fmt.Errorf("save record %s: %w", key, errBusy)
		}
		return version, fmt.Errorf("save record %s: %w", key, err)
	}
	return v, nil
}

// apply performs one action. New comments follow the store's exactly-once
// protocol: the core has already left out every event whose marker is on
// the thread; the ledger claim keeps two workers from posting the same
// event at once; the claim is confirmed after posting. A post that fails
// ambiguously keeps its claim until it expires, by when the thread shows
// whether the comment landed.
func (r *Runner) apply(ctx context.Context, conn commenter, th *connectors.Thread, a reconcile.Action, log *slog.Logger) error {
	if a.Kind == reconcile.UpsertStatus && a.CommentID != "" {
		if _, err := conn.Edit(ctx, th, a.CommentID, a.Body, a.Marker); err != nil {
			return fmt.Errorf("edit status comment %s on %s: %w", a.CommentID, th.ID, err)
		}
		r.m.commentsEdited.Inc()
		log.Info("status comment updated", "comment", a.CommentID)
		return nil
	}
	claim, err := r.store.Claim(ctx, a.EventID, r.opt.Owner, r.opt.ClaimTTL)
	if err != nil {
		return fmt.Errorf("claim event %s: %w", a.EventID, err)
	}
	switch claim.State {
	case store.AlreadyPosted:
		log.Debug("event already posted", "event_id", a.EventID, "comment", claim.Entry.CommentID)
		return nil
	case store.HeldByOther:
		return fmt.Errorf("event %s: %w", a.EventID, errBusy)
	}
	c, err := conn.Post(ctx, th, a.Body, a.Marker)
	if errors.Is(err, connectors.ErrTooLarge) {
		// Refused outright: nothing was posted, so the claim can go now
		// rather than when it expires.
		if rerr := r.store.Release(ctx, a.EventID, r.opt.Owner); rerr != nil {
			log.Warn("could not release the claim of a refused comment", "event_id", a.EventID, "err", rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("post %s on %s: %w", a.EventKind, th.ID, err)
	}
	entry := store.LedgerEntry{Tracker: string(conn.Tracker()), Thread: th.ID, CommentID: c.ID, URL: c.URL, PostedAt: r.opt.Now()}
	if err := r.store.Confirm(ctx, a.EventID, r.opt.Owner, entry); err != nil {
		// Posted but not confirmed: the marker on the thread is the proof.
		log.Warn("posted but could not confirm in the ledger", "event_id", a.EventID, "err", err)
	}
	kind := a.EventKind
	if a.Kind == reconcile.UpsertStatus {
		kind = reconcile.EvStatus
	}
	r.m.posted.WithLabelValues(string(kind)).Inc()
	log.Info("comment posted", "event", kind, "event_id", a.EventID, "comment", c.ID, "url", c.URL)
	return nil
}
