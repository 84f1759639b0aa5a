package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
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
		for _, c := range []string{"run", "check", "report", "backtest", "testdrive", "version"} {
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

func TestDescribeBuild(t *testing.T) {
	const (
		rev    = "d53732bf02472703ef8d044fe113f7dda27ffe78"
		pseudo = "v0.0.0-20261123100000-d53732bf0247"
	)
	stamp := func(version, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/slipwatch/slipwatch", Version: version},
			Settings: []debug.BuildSetting{{Key: "-trimpath", Value: "true"}, {Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
				{Key: "vcs.time", Value: "2026-11-23T10:00:00Z"}, {Key: "vcs.modified", Value: modified}}}
	}
	noStamp := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/slipwatch/slipwatch", Version: "(devel)"}}
	tests := []struct {
		name                string
		ldVersion, ldCommit string
		bi                  *debug.BuildInfo
		want                string
	}{
		{"plain go build of a clean checkout", "", "", stamp(pseudo, "false"),
			"slipwatch " + pseudo + " commit " + rev + " (2026-11-23T10:00:00Z) go1.26.0"},
		{"plain go build with local changes", "", "", stamp(pseudo+"+dirty", "true"),
			"slipwatch " + pseudo + "+dirty commit " + rev + "-dirty (2026-11-23T10:00:00Z) go1.26.0"},
		{"plain go build at a tag", "", "", stamp("v1.4.0", "false"),
			"slipwatch v1.4.0 commit " + rev + " (2026-11-23T10:00:00Z) go1.26.0"},
		{"ldflags win over the stamp", "v1.2.3", "abc1234", stamp(pseudo, "true"),
			"slipwatch v1.2.3 commit abc1234 go1.26.0"},
		{"make build of a dirty checkout: the stamp adds to the same commit", "v1.2.3-dirty", "d53732b", stamp(pseudo+"+dirty", "true"),
			"slipwatch v1.2.3-dirty commit d53732b-dirty (2026-11-23T10:00:00Z) go1.26.0"},
		{"ldflags without a stamp (the Dockerfile)", "v1.2.3", "abc1234", noStamp,
			"slipwatch v1.2.3 commit abc1234 go1.26.0"},
		{"no stamp, no ldflags (go run, -buildvcs=false)", "", "", noStamp,
			"slipwatch (devel) commit unknown go1.26.0"},
		{"no build info at all", "", "", nil,
			"slipwatch (devel) commit unknown " + runtime.Version()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, describeBuild(tt.ldVersion, tt.ldCommit, tt.bi).String()); diff != "" {
				t.Errorf("version line (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVersionFromGit builds slipwatch as someone who cloned it would, with
// a plain `go build` in a git checkout, and expects the commit in the
// version line. The tree is copied into a fresh repository: Go stamps
// only a checkout whose .git is a directory (not a worktree), and only
// with -buildvcs on (its default, auto).
func TestVersionFromGit(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("WARNING: git not on PATH; the version from git is NOT tested")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	copyTree(t, root, repo)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
			"GIT_AUTHOR_DATE=2026-11-23T10:00:00Z", "GIT_COMMITTER_DATE=2026-11-23T10:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("git", "init", "-q")
	run("git", "add", "-A")
	run("git", "-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "snapshot")
	rev := run("git", "rev-parse", "HEAD")
	bin := filepath.Join(repo, "slipwatch")

	run("go", "build", "-o", bin, "./cmd/slipwatch")
	want := regexp.MustCompile(`^slipwatch v0\.0\.0-20261123100000-` + rev[:12] + ` commit ` + rev + ` \(2026-11-23T10:00:00Z\) go1\.\d+`)
	if got := run(bin, "version"); !want.MatchString(got) {
		t.Errorf("clean checkout: version line %q, want it to match %s", got, want)
	}

	f, err := os.OpenFile(filepath.Join(repo, "cmd", "slipwatch", "main.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n// a local change\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	run("go", "build", "-o", bin, "./cmd/slipwatch")
	if got := run(bin, "version"); !strings.Contains(got, " commit "+rev+"-dirty (2026-11-23T10:00:00Z) ") {
		t.Errorf("with a local change: version line %q, want commit %s-dirty", got, rev)
	}
}

// copyTree copies the regular files under src to dst, leaving out version
// control and build output.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.Name() == ".git" || rel == "bin" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy the module: %v", err)
	}
}
