package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"

	_ "time/tzdata" // timezone must resolve on distroless images without /usr/share/zoneinfo
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the command ran and failed (or is not built yet)
	exitUsage  = 2 // bad flags or a bad config: nothing was done
)

const usage = `slipwatch keeps the delivery dates promised to leadership honest.

Usage:
  slipwatch run       --config FILE            run the daemon
  slipwatch check     --config FILE [--json] [--apply]
                                               one pass: print every commitment; post only with --apply
  slipwatch report    --config FILE [--json]   the track record per team
  slipwatch backtest  --config FILE [--json] [--days N]
                                               how often the forecast would have held on each team's past
  slipwatch testdrive [--json] [--speed S] [--keep]
                                               the whole loop on an embedded sandbox, no network
  slipwatch version                            version, commit and Go version

--config defaults to $SLIPWATCH_CONFIG. Every config key can also be set by
environment, e.g. SLIPWATCH_REDIS_URL. Run "slipwatch <command> --help" for a
command's flags.
`

// command is one subcommand: its flags and what it does once they and the
// config are good.
type command struct {
	name     string
	summary  string
	config   bool // needs --config
	setFlags func(fs *flag.FlagSet, o *options)
	run      func(e *env, o *options) int
}

type options struct {
	configPath string
	json       bool
	apply      bool
	keep       bool
	speed      float64
	days       int
}

// env is what a command may touch: its output and its config.
type env struct {
	stdout, stderr io.Writer
	cfg            *config.Config
	// sandbox, when set, is handed testdrive's sandbox GitHub before it
	// serves: a test checks its traffic against GitHub's description.
	sandbox func(*githubtest.Server)
}

func commands() []command {
	return []command{
		{name: "run", summary: "run the daemon", config: true, run: runDaemon},
		{name: "check", summary: "one pass over every commitment", config: true,
			setFlags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
				fs.BoolVar(&o.apply, "apply", false, "post what the pass decides (default: post nothing)")
			},
			run: runCheck},
		{name: "report", summary: "the track record per team", config: true,
			setFlags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
			},
			run: runReport},
		{name: "backtest", summary: "how often the forecast would have held on each team's own past", config: true,
			setFlags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
				fs.IntVar(&o.days, "days", 182, "replay what was delivered in the last N days")
			},
			run: runBacktest},
		{name: "testdrive", summary: "the whole loop on an embedded sandbox",
			setFlags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.json, "json", false, "print JSON lines instead of text")
				fs.Float64Var(&o.speed, "speed", 0, "simulated days per second (0 = as fast as possible)")
				fs.BoolVar(&o.keep, "keep", false, "leave the sandbox API and the dashboard up and print their URLs")
			},
			run: runTestdrive},
		{name: "version", summary: "print version, commit and Go version", run: printVersion},
	}
}

// cli runs slipwatch with args (without the program name) and returns the
// exit code. Flags and config are checked before anything does I/O.
func cli(args []string, stdout, stderr io.Writer, environ []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == name {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "slipwatch: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	o := &options{}
	fs := flag.NewFlagSet("slipwatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if cmd.config {
		fs.StringVar(&o.configPath, "config", lookup(environ, config.EnvConfig), "config file (default $SLIPWATCH_CONFIG)")
	}
	if cmd.setFlags != nil {
		cmd.setFlags(fs, o)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of slipwatch %s: %s\n", name, cmd.summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "slipwatch %s: unexpected arguments: %s\n", name, strings.Join(fs.Args(), " "))
		return exitUsage
	}
	if o.speed < 0 {
		fmt.Fprintf(stderr, "slipwatch %s: --speed %g is negative\n", name, o.speed)
		return exitUsage
	}
	if name == "backtest" && o.days < 1 {
		fmt.Fprintf(stderr, "slipwatch %s: --days %d is not a positive number of days\n", name, o.days)
		return exitUsage
	}
	e := &env{stdout: stdout, stderr: stderr}
	if cmd.config {
		// With no file, the config comes from SLIPWATCH_* variables alone,
		// as in a container that sets everything by env.
		cfg, err := config.Load(o.configPath, environ)
		if err != nil {
			if o.configPath == "" {
				fmt.Fprintln(stderr, "slipwatch: no --config and no $SLIPWATCH_CONFIG; settings came from SLIPWATCH_* variables only")
			}
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		e.cfg = cfg
	}
	return cmd.run(e, o)
}

func lookup(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// buildDesc is what the binary says about its build.
type buildDesc struct {
	Version, Commit, Go string
	// CommitTime is the commit's time (vcs.time), known only when the Go
	// toolchain stamped the build.
	CommitTime string
}

// describeBuild prefers the -ldflags values (the Makefile and Dockerfile
// set them, and the Dockerfile builds without .git) and falls back to what
// the Go toolchain stamped into a plain `go build` from a git checkout:
// the module version (a tag or a pseudo-version) and vcs.revision,
// vcs.modified and vcs.time.
func describeBuild(ldVersion, ldCommit string, bi *debug.BuildInfo) buildDesc {
	d := buildDesc{Version: ldVersion, Commit: ldCommit, Go: runtime.Version()}
	if bi != nil {
		if d.Version == "" && bi.Main.Version != "(devel)" {
			d.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			d.Go = bi.GoVersion
		}
		vcs := map[string]string{}
		for _, s := range bi.Settings {
			vcs[s.Key] = s.Value
		}
		rev := vcs["vcs.revision"]
		if d.Commit == "" {
			d.Commit = rev
		}
		// The stamp describes the tree that was built; it adds to an
		// -ldflags commit only when it names the same commit.
		if rev != "" && strings.HasPrefix(rev, d.Commit) {
			if vcs["vcs.modified"] == "true" {
				d.Commit += "-dirty"
			}
			d.CommitTime = vcs["vcs.time"]
		}
	}
	if d.Version == "" {
		d.Version = "(devel)"
	}
	if d.Commit == "" {
		d.Commit = "unknown"
	}
	return d
}

func (d buildDesc) String() string {
	s := "slipwatch " + d.Version + " commit " + d.Commit
	if d.CommitTime != "" {
		s += " (" + d.CommitTime + ")"
	}
	return s + " " + d.Go
}

func thisBuild() buildDesc {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(version, commit, bi)
}

// Version is what goes into the User-Agent and the version line.
func Version() string { return thisBuild().Version }

func printVersion(e *env, _ *options) int {
	fmt.Fprintln(e.stdout, thisBuild())
	return exitOK
}
