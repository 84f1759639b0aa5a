package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// slipwatchBin is the binary under test, built once by TestMain.
var slipwatchBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "slipwatch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	bin, err := build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	slipwatchBin = bin
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles cmd/slipwatch as a release does, without the race
// detector: the suite measures the binary people run.
func build(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "slipwatch")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", bin, "github.com/slipwatch/slipwatch/cmd/slipwatch")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/slipwatch: %w\n%s", err, out)
	}
	return bin, nil
}
