package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"
)

// runDaemon is `slipwatch run`.
func runDaemon(e *env, _ *options) int {
	a, err := build(e.cfg, deps{logOut: e.stderr})
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch run: %v\n", err)
		return exitFailed
	}
	defer a.Close()
	ln, err := net.Listen("tcp", e.cfg.Server.Listen)
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch run: listen on %s: %v\n", e.cfg.Server.Listen, err)
		return exitFailed
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.serve(ctx, ln); err != nil {
		a.log.Error("stopped", "err", err)
		return exitFailed
	}
	a.log.Info("stopped")
	return exitOK
}

// runCheck is `slipwatch check`: one pass, a table or JSON, nothing posted
// without --apply.
func runCheck(e *env, o *options) int {
	a, err := build(e.cfg, deps{logOut: e.stderr})
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch check: %v\n", err)
		return exitFailed
	}
	defer a.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := a.runner.Authenticate(ctx); err != nil {
		fmt.Fprintf(e.stderr, "slipwatch check: %v\n", err)
		return exitFailed
	}
	res := a.runner.Check(ctx, o.apply)
	if o.json {
		errs := make([]string, 0, len(res.Errors))
		for _, err := range res.Errors {
			errs = append(errs, err.Error())
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		unresolved := res.Unresolved
		if unresolved == nil {
			unresolved = []string{}
		}
		_ = enc.Encode(map[string]any{"commitments": res.Commitments, "errors": errs, "links_not_found": unresolved})
	} else {
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DELIVERABLE\tCOMMITTED\tTARGET\tFORECAST P85\tCHANCE\tPROGRESS\tHEALTH")
		for _, v := range res.Commitments {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Label(), v.CommittedText(), v.TargetText(), v.ForecastText(), v.ChanceText(), v.ProgressText(), v.Health)
		}
		_ = tw.Flush()
		// Below the table, each open promise's chance with what explains
		// it, as its status comment says them.
		for _, v := range res.Commitments {
			if v.Chance != "" && v.Why != "" {
				fmt.Fprintf(e.stdout, "%s: %s; %s.\n", v.Label(), v.Chance, v.Why)
			}
		}
		for _, u := range res.Unresolved {
			fmt.Fprintf(e.stdout, "link not found: %s\n", u)
		}
		for _, err := range res.Errors {
			fmt.Fprintf(e.stderr, "slipwatch check: %v\n", err)
		}
	}
	if len(res.Errors) > 0 {
		return exitFailed
	}
	return exitOK
}
