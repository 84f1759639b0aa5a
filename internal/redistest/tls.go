package redistest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// StartTLS starts a server of t's own that also listens with TLS, on the
// returned address, using the given PEM files; clients need no
// certificate of their own. A redis-server built without TLS fails t when
// CI=true (Debian's package has TLS, so CI expects it) and skips it
// loudly elsewhere.
func StartTLS(t testing.TB, certFile, keyFile, caFile string) (s *Server, tlsAddr string) {
	t.Helper()
	bin := requireBinary(t, "redis-server")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s, err = startNode(bin, false, "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no")
	if err != nil {
		// Without BUILD_TLS=yes the tls-* directives do not exist.
		if strings.Contains(err.Error(), "Bad directive") {
			msg := "redis-server was built without TLS support (needs BUILD_TLS=yes, as Debian's redis-server package is)"
			if os.Getenv("CI") == "true" {
				t.Fatalf("redistest: %s; CI expects TLS:\n%v", msg, err)
			}
			t.Skipf("WARNING: %s — this test is SKIPPED", msg)
		}
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, "127.0.0.1:" + strconv.Itoa(port)
}
