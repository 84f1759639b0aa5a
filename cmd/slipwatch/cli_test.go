package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildBinary builds slipwatch once per test run, as a user would run it.
func buildBinary(t *testing.T, ldflags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "slipwatch")
	args := []string{"build", "-o", bin}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runBinary(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

func TestBinary(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t, "-X main.version=v1.2.3 -X main.commit=abc1234")
	secretEnv := []string{"GITHUB_TOKEN=ghp_do_not_print"}

	t.Run("bad config exits 2 naming each key", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runBinary(t, bin, secretEnv, "check", "--config", "testdata/bad.yaml")
		if code != 2 {
			t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr)
		}
		want := strings.Join([]string{
			`poll.interval: 1s is below the minimum of 10s (the trackers' quotas)`,
			`forecast.confidence: 1.5 is not in (0,1)`,
			`github.repos[1]: "acme" is not owner/name`,
			`jira.auth: set exactly one of email+api_token, pat, oauth2`,
		}, "\n") + "\n"
		if diff := cmp.Diff(want, stderr); diff != "" {
			t.Errorf("stderr (-want +got):\n%s", diff)
		}
		if stdout != "" {
			t.Errorf("stdout = %q, want nothing", stdout)
		}
		if strings.Contains(stderr, "ghp_do_not_print") {
			t.Error("the token leaked into the output")
		}
	})

	t.Run("config from SLIPWATCH_CONFIG", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runBinary(t, bin, append(secretEnv, "SLIPWATCH_CONFIG=testdata/bad.yaml"), "run")
		if code != 2 || !strings.Contains(stderr, `github.repos[1]: "acme" is not owner/name`) {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("bad env value exits 2", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runBinary(t, bin, append(secretEnv, "SLIPWATCH_POLL_INTERVAL=often"), "check", "--config", "testdata/good.yaml")
		if code != 2 || !strings.Contains(stderr, "poll.interval: SLIPWATCH_POLL_INTERVAL is not a duration") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("missing file exits 2", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runBinary(t, bin, nil, "check", "--config", "testdata/nope.yaml")
		if code != 2 || !strings.Contains(stderr, "testdata/nope.yaml") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("bad flag exits 2", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runBinary(t, bin, nil, "check", "--nope")
		if code != 2 || !strings.Contains(stderr, "flag provided but not defined: -nope") {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("unknown command exits 2", func(t *testing.T) {
		t.Parallel()
		_, stderr, code := runBinary(t, bin, nil, "deploy")
		if code != 2 || !strings.Contains(stderr, `unknown command "deploy"`) {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
	})

	t.Run("help on each command exits 0", func(t *testing.T) {
		t.Parallel()
		for _, c := range []string{"run", "check", "report", "testdrive", "version"} {
			_, stderr, code := runBinary(t, bin, nil, c, "--help")
			if code != 0 || !strings.Contains(stderr, "Usage of slipwatch "+c) {
				t.Errorf("%s --help: exit %d, stderr:\n%s", c, code, stderr)
			}
		}
	})

	t.Run("version", func(t *testing.T) {
		t.Parallel()
		stdout, _, code := runBinary(t, bin, nil, "version")
		want := "slipwatch v1.2.3 commit abc1234 " + runtime.Version() + "\n"
		if code != 0 || stdout != want {
			t.Fatalf("exit %d, stdout %q, want %q", code, stdout, want)
		}
	})
}

// TestVersionFallback: without -ldflags the version comes from the build
// info, never an empty string.
func TestVersionFallback(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t, "")
	stdout, _, code := runBinary(t, bin, nil, "version")
	if code != 0 || !regexp.MustCompile(`^slipwatch \S+ commit \S+ go1\.\d+`).MatchString(stdout) {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}
