package reconcile_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoNetwork keeps the core a pure function of its inputs:
// reconcile (and connectors, the vocabulary it shares with the trackers)
// must not reach the network stack, so nothing in a decision can dial,
// and the core stays cheap to build and fuzz. HTTP helpers belong in
// connectors/httpx.
func TestCoreImportsNoNetwork(t *testing.T) {
	t.Parallel()
	// go test puts its own GOROOT/bin first on PATH, so this is the go
	// that builds the test.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps: %v\n%s", err, msg)
	}
	forbidden := map[string]bool{"net": true, "net/http": true, "crypto/tls": true}
	seen := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		seen++
		if forbidden[pkg] {
			t.Errorf("reconcile depends on %s", pkg)
		}
		if strings.HasPrefix(pkg, "github.com/slipwatch/slipwatch/") {
			for imp := range strings.FieldsSeq(imports) {
				if forbidden[imp] {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list named %d packages; the listing is not what this test expects:\n%s", seen, out)
	}
}
