// Command slipwatch keeps the delivery dates a team promised to leadership
// honest: it watches GitHub milestones and Jira versions and epics, compares
// them with the dates committed and a forecast from real throughput, and
// says so on the trackers. See DESIGN.md and docs/ for the contract.
package main

import (
	"os"
)

// Set by -ldflags "-X main.version=… -X main.commit=…" in release builds.
var (
	version = ""
	commit  = ""
)

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}
