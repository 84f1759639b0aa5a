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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin string) error {
	s.cmd = exec.Command(bin, s.args...)
	s.cmd.Dir = s.dir
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			// -NOAUTH: up, and asking for the password it was given.
			if strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = s.cmd.Process.Kill()
	return fmt.Errorf("redis-server did not answer on %s", s.Addr)
}

// Stop kills the server and removes its files.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
	_ = os.RemoveAll(s.dir)
}

// Kill stops the server abruptly without removing its data.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
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
