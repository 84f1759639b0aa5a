package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipwatch/slipwatch/reconcile"
	"github.com/slipwatch/slipwatch/reconcile/store"
)

// runReport is `slipwatch report`: each team's say/do record, from the
// records in Redis (what the daemon or check --apply saved).
func runReport(e *env, o *options) int {
	rc, err := store.Dial(e.cfg.Redis)
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch report: %v\n", err)
		return exitFailed
	}
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := store.New(rc, e.cfg.Redis.Prefix, store.Options{})
	recs, err := loadRecords(ctx, st)
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch report: %v\n", err)
		return exitFailed
	}
	teams := reconcile.TrackRecord(recs)
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"teams": teams})
		return exitOK
	}
	if len(teams) == 0 {
		fmt.Fprintln(e.stdout, "No commitments recorded yet: run the daemon, or slipwatch check --apply.")
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEAM\tPROMISES\tDELIVERED\tON TIME (FIRST DATE)\tMEDIAN SLIP\tMEAN SLIP\tRECOMMITS/PROMISE\tOPEN AT RISK")
	for _, t := range teams {
		onTime := "-"
		if t.Delivered > 0 {
			onTime = fmt.Sprintf("%d (%.0f%%)", t.OnTime, t.OnTimeShare*100)
		}
		fmt.Fprintf(tw, "%s %s\t%d\t%d\t%s\t%.1fd\t%.1fd\t%.2f\t%d\n", t.Tracker, t.Team, t.Commitments, t.Delivered, onTime,
			t.MedianSlipDays, t.MeanSlipDays, t.RecommitsPerItem, t.OpenAtRisk)
	}
	_ = tw.Flush()
	return exitOK
}

// loadRecords reads and decodes every stored record, in key order. A
// record that does not decode is skipped: the next reconcile rewrites it.
func loadRecords(ctx context.Context, st *store.Store) ([]reconcile.Record, error) {
	stored, err := st.ListRecords(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(stored, func(a, b store.StoredRecord) int { return strings.Compare(a.Key, b.Key) })
	recs := make([]reconcile.Record, 0, len(stored))
	for _, s := range stored {
		var r reconcile.Record
		if err := json.Unmarshal(s.Data, &r); err == nil {
			recs = append(recs, r)
		}
	}
	return recs, nil
}
