// Command slipbench measures slipwatch against its baselines in one run
// and writes BENCHMARKS.md: API cost per poll against a naive poller,
// reconcile throughput, the dashboard's portfolio against the JSON API,
// webhook intake against a bare handler, webhook → comment latency, the
// daemon's memory and start, a scale model, the forecast backtest (issue
// #20's targets, old model beside new), and the repos one token watches
// under the rate-limit budget (issue #22).
//
//	go run ./cmd/slipbench [-short] [-out BENCHMARKS.md]
//
// A -short run prints its report to stdout unless -out names a file: its
// smaller sizes are for a quick look and for CI, and must not replace the
// committed figures of a full run. -only runs some sections (a comma
// list of cost, throughput, dashboard, intake, latency, memory, backtest,
// budget; budget runs cost too, whose costs it models from) and prints to
// stdout too:
//
//	go run ./cmd/slipbench -only budget
//
// It is self-contained: it starts its own redis-server and sandbox
// trackers on loopback, builds and runs the slipwatch binary, stops
// everything it started, and gives up after -timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/slipwatch/slipwatch/reconcile/backtest"
)

// sizes are how big each section's run is.
type sizes struct {
	Repos, Milestones, Issues  int           // API cost world
	Commitments                int           // pure reconciles, daemon records
	EndToEnd                   int           // keys through the Redis queue
	RateFor                    time.Duration // per pure-throughput figure
	IntakeClosed, IntakeOpen   time.Duration // per load phase
	IntakeRounds               int
	LatencySamples             int
	PageRounds                 int             // dashboard: rounds of each page and its baseline
	Backtest                   backtest.Config // the forecast backtest
	JiraProjects, JiraDayPolls int             // Jira API cost world; warm polls priced over a day
	BudgetRepos                int             // repos of the budget run
	BudgetSim                  time.Duration   // the most simulated time it runs
}

func fullSizes() sizes {
	return sizes{Repos: 50, Milestones: 20, Issues: 30, Commitments: 10000, EndToEnd: 10000, RateFor: 2 * time.Second,
		IntakeClosed: 4 * time.Second, IntakeOpen: 4 * time.Second, IntakeRounds: 2, LatencySamples: 20, PageRounds: 21,
		Backtest: backtest.FullConfig(), JiraProjects: 6, JiraDayPolls: 26 * 12, BudgetRepos: modelRepos, BudgetSim: 8 * time.Hour}
}

// shortSizes keep a run under a minute (and the CI test with -race).
func shortSizes() sizes {
	return sizes{Repos: 4, Milestones: 10, Issues: 30, Commitments: 300, EndToEnd: 300, RateFor: 300 * time.Millisecond,
		IntakeClosed: time.Second, IntakeOpen: time.Second, IntakeRounds: 1, LatencySamples: 3, PageRounds: 5,
		Backtest: backtest.ShortConfig(), JiraProjects: 2, JiraDayPolls: 24, BudgetRepos: 100, BudgetSim: 2 * time.Hour}
}

// dashboardCommitments is the portfolio size the issue sets the target at.
const dashboardCommitments = 1000

// results are every figure of one run.
type results struct {
	Machine    machine
	Sizes      sizes
	Cost       costResult
	JiraCost   jiraCostResult
	Throughput throughputResult
	Intake     intakeResult
	Latency    latencyResult
	Memory     memoryResult
	Pages      pagesResult
	Backtest   backtest.Report
	Budget     budgetResult
	Sections   []section
	Errors     []error
}

func main() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) }

func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("slipbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	short := fs.Bool("short", false, "smaller sizes: the whole run in under a minute")
	out := fs.String("out", "", `where to write the report ("-": stdout); default BENCHMARKS.md, stdout with -short`)
	timeout := fs.Duration("timeout", 30*time.Minute, "give up (and stop everything started) after this long")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	onlyFlag := fs.String("only", "", "run only these sections, a comma list of "+strings.Join(sectionNames, ", ")+" (budget runs cost too); the report goes to stdout unless -out names a file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	only, err := parseOnly(*onlyFlag)
	if err != nil {
		fmt.Fprintf(stderr, "slipbench: -only: %v\n", err)
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "slipbench: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "slipbench: cpu profile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	sz := fullSizes()
	if *short {
		sz = shortSizes()
	}
	switch {
	case *out != "":
	case *short, len(only) > 0:
		*out = "-"
	default:
		*out = "BENCHMARKS.md"
	}
	res := run(ctx, sz, *short, only, stderr)
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "slipbench: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	if err := writeReport(w, res.Machine, res.Sections); err != nil {
		fmt.Fprintf(stderr, "slipbench: write report: %v\n", err)
		return 1
	}
	if *out != "-" {
		fmt.Fprintf(stderr, "slipbench: wrote %s\n", *out)
	}
	for _, err := range res.Errors {
		fmt.Fprintf(stderr, "slipbench: %v\n", err)
	}
	if len(res.Errors) > 0 {
		return 1
	}
	return 0
}

// sectionNames are the sections -only can name.
var sectionNames = []string{"cost", "jiracost", "throughput", "dashboard", "intake", "latency", "memory", "backtest", "budget"}

// parseOnly reads -only: nil runs every section.
func parseOnly(s string) (map[string]bool, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]bool{}
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(sectionNames, n) {
			return nil, fmt.Errorf("%q is not one of %s", n, strings.Join(sectionNames, ", "))
		}
		out[n] = true
	}
	if out["budget"] {
		out["cost"] = true // the model prices repos by the measured costs
	}
	return out, nil
}

// run measures every section (or those in only). A section that fails is
// reported as an error (in the result and the report) and the others
// still run.
func run(ctx context.Context, sz sizes, short bool, only map[string]bool, log io.Writer) *results {
	want := func(name string) bool { return only == nil || only[name] }
	started := time.Now()
	res := &results{Sizes: sz, Machine: machine{Cores: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), CPU: cpuModel(),
		OS: osName(), Mode: "full", Started: started}}
	if short {
		res.Machine.Mode = "short (-short: smaller sizes, shorter phases)"
	}
	step := func(name string) func() {
		fmt.Fprintf(log, "slipbench: %s…\n", name)
		t := time.Now()
		return func() { fmt.Fprintf(log, "slipbench: %s took %s\n", name, time.Since(t).Round(10*time.Millisecond)) }
	}
	fail := func(title string, err error) {
		err = fmt.Errorf("%s: %w", title, err)
		res.Errors = append(res.Errors, err)
		res.Sections = append(res.Sections, section{Title: title, Intro: "**Not measured in this run:** " + err.Error()})
	}
	defer func() { res.Machine.Took = time.Since(started) }()

	rs, err := startRedis(ctx)
	if err != nil {
		fail("Redis", err)
		return res
	}
	defer rs.Stop()
	rdb := rs.Client()
	defer rdb.Close()
	if info, err := rdb.Info(ctx, "server").Result(); err == nil {
		for _, l := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
				res.Machine.Redis = "redis-server " + v
			}
		}
	}

	if want("cost") {
		done := step("API cost")
		if res.Cost, err = measureCost(ctx, rdb, sz.Repos, sz.Milestones, sz.Issues); err != nil {
			fail("API cost per poll cycle", err)
		} else {
			res.Sections = append(res.Sections, costSection(res.Cost))
		}
		done()
	}

	if want("jiracost") {
		done := step("Jira API cost")
		if res.JiraCost, err = measureJiraCost(ctx, sz.JiraProjects, sz.JiraDayPolls); err != nil {
			fail("Jira API cost per poll cycle", err)
		} else {
			res.Sections = append(res.Sections, jiraCostSection(res.JiraCost))
		}
		done()
	}

	var commitments []commitment
	if want("throughput") || want("dashboard") || want("memory") {
		commitments, err = makeCommitments(sz.Commitments, time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC))
	}
	if want("throughput") {
		done := step("reconcile throughput")
		if err == nil {
			res.Throughput, err = measureThroughput(ctx, rdb, commitments, sz.EndToEnd, sz.RateFor)
		}
		if err != nil {
			fail("Reconcile throughput", err)
		} else {
			res.Sections = append(res.Sections, throughputSection(res.Throughput))
		}
		done()
	}

	if want("dashboard") {
		done := step("dashboard")
		if commitments == nil {
			fail("Dashboard: the portfolio page", fmt.Errorf("no commitments to show"))
		} else if res.Pages, err = measurePages(ctx, rdb, commitments[:min(len(commitments), dashboardCommitments)], sz.PageRounds); err != nil {
			fail("Dashboard: the portfolio page", err)
		} else {
			res.Sections = append(res.Sections, pagesSection(res.Pages))
		}
		done()
	}

	if want("intake") {
		done := step("webhook intake")
		if res.Intake, err = measureIntake(ctx, rdb, sz.IntakeClosed, sz.IntakeOpen, sz.IntakeRounds); err != nil {
			fail("Webhook intake", err)
		} else {
			res.Sections = append(res.Sections, intakeSection(res.Intake))
		}
		done()
	}

	if want("latency") {
		done := step("webhook → comment latency")
		if res.Latency, err = measureLatency(ctx, rdb, sz.LatencySamples); err != nil {
			fail("Latency: webhook received → comment posted", err)
		} else {
			res.Sections = append(res.Sections, latencySection(res.Latency))
		}
		done()
	}

	if want("memory") {
		done := step("memory and start")
		err = nil
		if commitments == nil {
			err = fmt.Errorf("no commitments to load")
		}
		var dir string
		if err == nil {
			dir, err = os.MkdirTemp("", "slipbench-bin-")
		}
		if err == nil {
			defer os.RemoveAll(dir)
			var bin string
			if bin, err = buildSlipwatch(ctx, dir); err == nil {
				res.Memory, err = measureDaemon(ctx, bin, commitments)
			}
		}
		if err != nil {
			fail("Memory and start", err)
		} else {
			res.Sections = append(res.Sections, memorySection(res.Memory))
		}
		done()
	}

	if res.Cost.Repos > 0 {
		res.Sections = append(res.Sections, scaleSection(res.Cost, res.Memory))
	}

	if want("backtest") {
		done := step("forecast backtest")
		if res.Backtest, err = measureBacktest(ctx, sz.Backtest); err != nil {
			fail("Forecast backtest", err)
		} else {
			res.Sections = append(res.Sections, backtestSection(res.Backtest))
		}
		done()
	}

	if want("budget") {
		done := step(fmt.Sprintf("rate-limit budget (%d repos, simulated clock)", sz.BudgetRepos))
		if res.Budget, err = measureBudget(ctx, rdb, res.Cost, sz.BudgetRepos, sz.BudgetSim); err != nil {
			fail("Rate-limit budget: repos per token", err)
		} else {
			res.Sections = append(res.Sections, budgetSection(res.Budget))
		}
		done()
	}
	return res
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func osName() string {
	s := runtime.GOOS + "/" + runtime.GOARCH
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		s += ", kernel " + strings.TrimSpace(string(b))
	}
	return s
}
