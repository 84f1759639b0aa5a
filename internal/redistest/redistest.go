// Package redistest starts a real redis-server for a test package.
//
// Tests talk to Redis itself, never a mock: the store's guarantees are
// Redis's (SET NX, Lua atomicity, consumer groups). Call Start from
// TestMain; each test takes its own key prefix so tests can run in
// parallel on one server. Without redis-server on the PATH, Start fails
// when CI=true and asks the caller to skip, loudly, otherwise.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoServer means redis-server is not installed and CI is not set.
var ErrNoServer = errors.New("redis-server not found on PATH; install it (apt-get install redis-server) — tests needing Redis are SKIPPED")

// Server is one redis-server process.
type Server struct {
	Addr     string // host:port
	Password string // AUTH password ("" when none is required)
	dir      string
	args     []string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has been reaped
	n        atomic.Int64
}

// Options tune StartWith.
type Options struct {
	// Password makes the server require AUTH (requirepass), so a test
	// can prove the password never shows in what slipwatch prints.
	Password string
}

// Start runs redis-server on a free loopback port in a temp dir, with
// append-only persistence so Restart keeps what was written.
func Start() (*Server, error) { return StartWith(Options{}) }

// StartWith is Start with options.
func StartWith(o Options) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			return nil, fmt.Errorf("redis-server is required in CI: %w", err)
		}
		return nil, ErrNoServer
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Password: o.Password, dir: dir}
	s.args = []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"}
	if o.Password != "" {
		s.args = append(s.args, "--requirepass", o.Password)
	}
	if err := s.start(bin); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// requireBinary finds name for a test: missing, it fails t when CI=true
// and skips it loudly otherwise.
func requireBinary(t testing.TB, name string) string {
	t.Helper()
	if bin, err := exec.LookPath(name); err == nil {
		return bin
	}
	if p := "/usr/bin/" + name; fileExists(p) {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("redistest: %s is required in CI (apt-get install redis-server redis-tools)", name)
	}
	t.Skipf("WARNING: %s not found on PATH (apt-get install redis-server redis-tools) — this test is SKIPPED", name)
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// StartFor starts a server of t's own, stopped when t ends: persistence
// off, the given redis-server arguments appended (e.g. "--requirepass",
// or "--tls-port" and its files). Missing redis-server fails t in CI and
// skips it elsewhere.
func StartFor(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := requireBinary(t, "redis-server")
	s, err := startNode(bin, false, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// startNode starts a persistence-free server on a free port; with bus it
// also needs port+10000 free, a cluster node's bus port. A free port can
// be taken between finding and binding it, so it tries a few.
func startNode(bin string, bus bool, extra ...string) (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	for range 5 {
		var port int
		if port, err = freePortFor(bus); err != nil {
			break
		}
		s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir}
		s.args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--protected-mode", "no"}, extra...)
		if err = s.start(bin); err == nil {
			return s, nil
		}
	}
	_ = os.RemoveAll(dir)
	return nil, err
}

func freePort() (int, error) { return freePortFor(false) }

func freePortFor(bus bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !bus {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		if b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000)); err == nil {
			_ = b.Close()
			return port, nil
		}
	}
	return 0, errors.New("redistest: no free port pair for a cluster node")
}

func (s *Server) start(bin string) error {
	logPath := filepath.Join(s.dir, "redis.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("redis-server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, s.args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			// -NOAUTH: up, and asking for the password it was given.
			if strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH") {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start:\n%s", s.Addr, logTail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.Kill()
	return fmt.Errorf("redis-server did not answer on %s:\n%s", s.Addr, logTail(logPath))
}

func logTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Log is the end of the server's log, for a test's failure message.
func (s *Server) Log() string { return logTail(filepath.Join(s.dir, "redis.log")) }

// Stop kills the server and removes its files.
func (s *Server) Stop() {
	s.Kill()
	_ = os.RemoveAll(s.dir)
}

// Kill stops the server abruptly (SIGKILL, as a crash would) without
// removing its data.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Restart starts a killed server again on the same port and data.
func (s *Server) Restart() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(s.dir, "dump.rdb"))
	return s.start(bin)
}

// Client returns a client for t, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.Password, MaxRetries: 5, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis ping: %v", err)
	}
	return c
}

// Prefix returns a key prefix no other test on this server uses.
func (s *Server) Prefix(t testing.TB) string {
	return fmt.Sprintf("t%d:", s.n.Add(1))
}

// Main is a TestMain body: start a server, run the tests, stop it. setup
// receives the server (nil when skipped) before m.Run.
func Main(m *testing.M, setup func(*Server)) {
	srv, err := Start()
	switch {
	case errors.Is(err, ErrNoServer):
		fmt.Fprintln(os.Stderr, "WARNING:", err)
		setup(nil)
	case err != nil:
		fmt.Fprintln(os.Stderr, "redistest:", err)
		os.Exit(1)
	default:
		setup(srv)
	}
	code := m.Run()
	if srv != nil {
		srv.Stop()
	}
	os.Exit(code)
}
