package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// StartSentinel starts a Sentinel monitoring master as masterName, stopped
// when t ends. args go into the Sentinel's config file, one directive a
// line (e.g. "requirepass x", or "sentinel auth-pass <name> x" for a
// master behind a password).
func StartSentinel(t testing.TB, master *Server, masterName string, conf ...string) *Server {
	t.Helper()
	bin := requireBinary(t, "redis-server")
	host, port, ok := strings.Cut(master.Addr, ":")
	if !ok {
		t.Fatalf("redistest: master address %q is not host:port", master.Addr)
	}
	dir, err := os.MkdirTemp("", "redistest-sentinel-")
	if err != nil {
		t.Fatal(err)
	}
	// Sentinel rewrites its config file, so it gets its own, writable.
	file := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("sentinel monitor %s %s %s 1\n", masterName, host, port) + strings.Join(conf, "\n") + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatal(err)
	}
	var s *Server
	for range 5 {
		var p int
		if p, err = freePort(); err != nil {
			break
		}
		s = &Server{Addr: "127.0.0.1:" + strconv.Itoa(p), dir: dir,
			args: []string{file, "--sentinel", "--port", strconv.Itoa(p), "--bind", "127.0.0.1", "--protected-mode", "no", "--dir", dir}}
		if err = s.start(bin); err == nil {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}
