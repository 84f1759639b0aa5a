package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// servePages serves the daemon's handler — the pages for people, the
// read API, the probes — on loopback for testdrive --keep, on :8080 when
// it is free (the port the README names) and on any free port otherwise.
// The pages show the testdrive's records at its simulated clock.
func (a *app) servePages() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return "", nil, fmt.Errorf("listen for the pages: %w", err)
		}
	}
	srv := &http.Server{Handler: a.runner.Handler(a.registry), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Warn("testdrive pages", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
