package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// The testdrive runs the real daemon code — config, store, the GitHub
// connector over HTTP, reconcile, the runner's pass — against an embedded
// Redis (miniredis) and a sandbox GitHub API on loopback, on a simulated
// clock, through a scripted eight weeks of three milestones and the Monday
// after, when the last weekly digest tells how they ended.

const tdRepo = "acme/api"

// tdClock is the simulated clock every part reads.
type tdClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tdClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *tdClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// tdLine is one thing slipwatch said, for --json.
type tdLine struct {
	Date      string `json:"date"`
	Milestone string `json:"milestone"`
	Event     string `json:"event"`
	Author    string `json:"author,omitempty"`
	Body      string `json:"body"`
}

// tdScript is the story: what people do on the tracker, day by day.
type tdScript struct {
	gh      *githubtest.Server
	clock   *tdClock
	ms      map[string]int   // title → milestone number
	open    map[string][]int // title → open issue numbers
	rate    map[string]float64
	credit  map[string]float64
	threads map[string]int // title → tracking issue number
}

// tdTrackRecord names the leadership thread in the story.
const tdTrackRecord = "track record"

// tdDays is the story's length: eight weeks from a Monday, and the Monday
// after, whose digest tells how the last promises ended.
const tdDays = 8*7 + 1

func day(start time.Time, n int) time.Time { return start.AddDate(0, 0, n) }

func runTestdrive(e *env, o *options) int {
	start := time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC) // a Monday
	clock := &tdClock{now: start}
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		fmt.Fprintf(e.stderr, "slipwatch testdrive: embedded redis: %v\n", err)
		return exitFailed
	}
	defer mr.Close()
	mr.SetTime(start)
	gh := githubtest.New(clock.Now)
	defer gh.Close()
	if e.sandbox != nil {
		e.sandbox(gh)
	}
	gh.Self = "slipwatch[bot]"

	s := &tdScript{gh: gh, clock: clock, ms: map[string]int{}, open: map[string][]int{}, rate: map[string]float64{},
		credit: map[string]float64{}, threads: map[string]int{}}
	s.setup(start)
	// Where leadership reads the monthly track record.
	leadership := gh.AddIssue(tdRepo, githubtest.Issue{Title: "Delivery track record", CreatedAt: start.AddDate(0, 0, -30)})

	cfg := config.Default()
	cfg.GitHub = &config.GitHub{BaseURL: gh.URL, Token: "testdrive-token", Repos: []string{tdRepo},
		TrackingLabel: config.DefaultGitHubTrackingLabel, CreateTrackingIssue: true, WriteInterval: config.Duration(config.DefaultGitHubWriteInterval)}
	cfg.Commands.Allow = []string{config.AllowGitHub + ":lead-jane"}
	cfg.TrackRecord.Thread = fmt.Sprintf("%s#%d", tdRepo, leadership)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "slipwatch testdrive: %v\n", err)
		return exitFailed
	}
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	// No proxy, ever: everything is on loopback.
	transport := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 8}
	a, err := build(cfg, deps{redis: rc, transport: transport, now: clock.Now, logOut: io.Discard, writeInterval: time.Nanosecond})
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch testdrive: %v\n", err)
		return exitFailed
	}
	defer a.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.runner.Authenticate(ctx); err != nil {
		fmt.Fprintf(e.stderr, "slipwatch testdrive: %v\n", err)
		return exitFailed
	}

	if !o.json {
		fmt.Fprintf(e.stdout, "slipwatch testdrive: eight simulated weeks of %s on a sandbox GitHub (%s) and an embedded Redis.\n", tdRepo, gh.URL)
		fmt.Fprintln(e.stdout, "Each block is a comment slipwatch posted on a milestone's tracking issue, or on")
		fmt.Fprintf(e.stdout, "issue #%d (track_record.thread): the track record once a month, the digest every Monday 09:00.\n", leadership)
	}
	seen := map[int64]bool{}
	enc := json.NewEncoder(e.stdout)
	for d := range tdDays {
		now := day(start, d)
		clock.set(now.Add(-time.Hour)) // people act at 08:00
		mr.SetTime(now)
		s.act(d, now)
		// slipwatch looks at 09:00 and 17:00 (the daemon every few
		// minutes): a new due date is announced once it has stood an hour.
		for _, at := range []time.Duration{0, 8 * time.Hour} {
			clock.set(now.Add(at))
			mr.SetTime(now.Add(at))
			res := a.runner.Check(ctx, true)
			if err := res.Err(); err != nil {
				fmt.Fprintf(e.stderr, "slipwatch testdrive: %v\n", err)
				return exitFailed
			}
		}
		threads := s.trackingIssues()
		threads[tdTrackRecord] = leadership
		// The milestones' news first, then the leadership thread's, which
		// is posted after them and tells of them.
		titles := slices.DeleteFunc(slices.Sorted(maps.Keys(threads)), func(t string) bool { return t == tdTrackRecord })
		for _, title := range append(titles, tdTrackRecord) {
			for _, c := range gh.Comments(tdRepo, threads[title]) {
				if seen[c.ID] || c.User != gh.Self {
					seen[c.ID] = true
					continue
				}
				seen[c.ID] = true
				kind := eventKind(c.Body)
				if kind == "status" {
					continue
				}
				line := tdLine{Date: now.Format("2006-01-02"), Milestone: title, Event: kind, Body: plain(c.Body)}
				if o.json {
					_ = enc.Encode(line)
					continue
				}
				fmt.Fprintf(e.stdout, "\n── %s · %s · %s %s\n", line.Date, title, kind, strings.Repeat("─", max(0, 40-len(title)-len(kind))))
				body := strings.TrimSpace(line.Body)
				switch kind {
				case string(reconcile.EvStatusUpdate):
					// The weekly update in full is in the tracker; here its gist.
					body = gist(body)
				case string(reconcile.EvDigest):
					body = terminalTable(body)
				}
				for l := range strings.SplitSeq(body, "\n") {
					fmt.Fprintf(e.stdout, "   %s\n", l)
				}
			}
		}
		if o.speed > 0 {
			time.Sleep(time.Duration(float64(time.Second) / o.speed))
		}
	}
	// The end of the story is in the records the passes saved; no need to
	// ask the sandbox again.
	recs, err := loadRecords(ctx, a.store)
	if err != nil {
		fmt.Fprintf(e.stderr, "slipwatch testdrive: %v\n", err)
		return exitFailed
	}
	views := make([]reconcile.View, 0, len(recs))
	for _, r := range recs {
		views = append(views, reconcile.ViewOf(r))
	}
	if o.json {
		_ = enc.Encode(map[string]any{"commitments": views})
	} else {
		fmt.Fprintln(e.stdout, "\nWhere each promise ended:")
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  MILESTONE\tFIRST PROMISE\tLAST PROMISE\tDELIVERED\tHEALTH")
		for _, v := range views {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", v.Title, v.FirstCommittedText(), v.CommittedText(), v.DeliveredText(), v.Health)
		}
		_ = tw.Flush()
		for _, tr := range reconcile.TrackRecord(recs) {
			fmt.Fprintf(e.stdout, "\nTrack record of %s: %d of %d promises delivered, %d on time against the first date (%.0f%%); median slip %.1f days, mean %.1f; %d recommitments.\n",
				tr.Team, tr.Delivered, tr.Commitments, tr.OnTime, tr.OnTimeShare*100, tr.MedianSlipDays, tr.MeanSlipDays, tr.Recommitments)
		}
	}
	if o.keep {
		pages, stopPages, err := a.servePages()
		if err != nil {
			fmt.Fprintf(e.stderr, "slipwatch testdrive: %v\n", err)
			return exitFailed
		}
		defer stopPages()
		fmt.Fprintf(e.stdout, "\nThe dashboard is at %s (the story's promises, as of its last day).\n", pages)
		fmt.Fprintf(e.stdout, "\nThe sandbox GitHub API is up at %s (token: anything). Ctrl-C to stop.\n", gh.URL)
		<-ctx.Done()
	}
	return exitOK
}

var (
	markerLine = regexp.MustCompile(`(?m)^\s*<!-- slipwatch:[^\n]*-->\s*$`)
	kindRE     = regexp.MustCompile(`<!-- slipwatch:(?:event id=[0-9a-f]+ kind=([a-z_]+)|(status))`)
	subRE      = regexp.MustCompile(`</?sub>`)
)

func eventKind(body string) string {
	m := kindRE.FindStringSubmatch(body)
	switch {
	case m == nil:
		return "comment"
	case m[2] != "":
		return "status"
	}
	return m[1]
}

// plain makes a comment readable in a terminal: no markers, no Markdown
// escapes.
func plain(body string) string {
	s := markerLine.ReplaceAllString(body, "")
	s = subRE.ReplaceAllString(s, "")
	s = strings.NewReplacer("**", "", `\`, "", "&lt;", "<", "&gt;", ">", "&amp;", "&", "@\u200b", "@").Replace(s)
	return strings.TrimSpace(s)
}

// terminalTable lines up the columns of a Markdown table for a terminal,
// without the separator row and the links' targets.
func terminalTable(body string) string {
	lines := strings.Split(body, "\n")
	var rows [][]string
	var widths []int
	for _, l := range lines {
		if !strings.HasPrefix(l, "|") || strings.HasPrefix(l, "| ---") {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(l, "| "), " |"), " | ")
		for i, c := range cells {
			cells[i] = linkRE.ReplaceAllString(c, "$1")
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], termWidth(cells[i]))
		}
		rows = append(rows, cells)
	}
	var out []string
	table := false
	for _, l := range lines {
		if !strings.HasPrefix(l, "|") {
			out = append(out, l)
			continue
		}
		if table {
			continue
		}
		table = true
		for _, cells := range rows {
			var b strings.Builder
			for i, c := range cells {
				b.WriteString(c)
				if i < len(cells)-1 {
					b.WriteString(strings.Repeat(" ", widths[i]-termWidth(c)+2))
				}
			}
			out = append(out, b.String())
		}
	}
	return strings.Join(out, "\n")
}

var linkRE = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// termWidth is how many columns s takes in a terminal: the health
// emojis take two.
func termWidth(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x1F000 {
			n++
		}
	}
	return n
}

// gist is the title, the one-line meaning, and the forecast, the chance
// and progress.
func gist(body string) string {
	var keep []string
	for l := range strings.SplitSeq(body, "\n") {
		switch {
		case strings.HasPrefix(l, "- Forecast:"), strings.HasPrefix(l, "- Chance:"), strings.HasPrefix(l, "- Progress:"), strings.HasPrefix(l, "- Promise:"):
			keep = append(keep, l)
		case len(keep) == 0 && strings.TrimSpace(l) != "":
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func (s *tdScript) trackingIssues() map[string]int {
	out := map[string]int{}
	for _, is := range s.gh.Issues(tdRepo) {
		if t, ok := strings.CutPrefix(is.Title, "Delivery tracking: "); ok {
			out[t] = is.Number
		}
	}
	return out
}

// setup builds the repo: six weeks of history (the team's pace) and three
// milestones with their work.
func (s *tdScript) setup(start time.Time) {
	// History: the six weeks before, the team closing three issues a
	// working day, as it will in the story, on the milestone it delivered
	// just before it begins.
	before := s.gh.AddMilestone(tdRepo, githubtest.Milestone{Title: "v1.7 Onboarding", DueOn: start.AddDate(0, 0, -2),
		State: "closed", ClosedAt: start.AddDate(0, 0, -1), CreatedAt: start.AddDate(0, 0, -70)})
	for i := range 42 {
		closed := start.AddDate(0, 0, -1-i)
		if wd := closed.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for j := range 3 {
			s.gh.AddIssue(tdRepo, githubtest.Issue{Title: fmt.Sprintf("v1.7 task %d.%d", i+1, j+1), Milestone: before,
				CreatedAt: start.AddDate(0, 0, -60), ClosedAt: closed.Add(time.Duration(j) * time.Hour)})
		}
	}
	add := func(title, desc string, due time.Time, items int, rate float64) {
		n := s.gh.AddMilestone(tdRepo, githubtest.Milestone{Title: title, Description: desc, DueOn: due})
		s.ms[title] = n
		s.rate[title] = rate
		for i := range items {
			is := s.gh.AddIssue(tdRepo, githubtest.Issue{Title: fmt.Sprintf("%s task %d", title, i+1), Milestone: n, CreatedAt: start.AddDate(0, 0, -7)})
			s.open[title] = append(s.open[title], is)
		}
	}
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 8, 0, 0, 0, time.UTC) }
	add("v1.8 Search", "", at(2026, 9, 25), 9, 1.0)
	add("v2.0 Billing", "Payments revamp.\n\nCommitted: 2026-10-16", at(2026, 10, 16), 45, 1.2)
	add("v2.1 Mobile", "", at(2026, 10, 23), 14, 0.5)
}

// act plays day d of the story.
func (s *tdScript) act(d int, now time.Time) {
	at := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 8, 0, 0, 0, time.UTC) }
	switch d {
	case 8: // week 2: Search is ahead; its date is pulled in
		s.due("v1.8 Search", at(2026, 9, 23))
	case 17: // week 3: Billing's due date moves out two weeks
		s.due("v2.0 Billing", at(2026, 10, 30))
	case 18: // someone without the right tries to commit; the lead does
		s.comment("v2.0 Billing", "intern-bob", "/commit 2026-10-20")
		s.comment("v2.0 Billing", "lead-jane", "The payment provider's API is two weeks late.\n/commit 2026-10-30 payment provider delayed")
	case 22: // scope lands on Mobile
		for i := range 5 {
			is := s.gh.AddIssue(tdRepo, githubtest.Issue{Title: fmt.Sprintf("v2.1 Mobile extra %d", i+1), Milestone: s.ms["v2.1 Mobile"], CreatedAt: now})
			s.open["v2.1 Mobile"] = append(s.open["v2.1 Mobile"], is)
		}
	case 33: // week 5: Mobile slips, nobody recommits
		s.due("v2.1 Mobile", at(2026, 11, 6))
	}
	if d%7 < 5 { // weekdays: the team closes issues at its pace
		for _, title := range slices.Sorted(maps.Keys(s.rate)) {
			rate := s.rate[title]
			s.credit[title] += rate
			for s.credit[title] >= 1 && len(s.open[title]) > 0 {
				s.credit[title]--
				n := s.open[title][0]
				s.open[title] = s.open[title][1:]
				s.gh.UpdateIssue(tdRepo, n, func(is *githubtest.Issue) { is.ClosedAt = now })
			}
			if len(s.open[title]) == 0 {
				s.gh.UpdateMilestone(tdRepo, s.ms[title], func(m *githubtest.Milestone) {
					if m.State != "closed" {
						m.State, m.ClosedAt = "closed", now
					}
				})
			}
		}
	}
}

func (s *tdScript) due(title string, t time.Time) {
	s.gh.UpdateMilestone(tdRepo, s.ms[title], func(m *githubtest.Milestone) { m.DueOn = t })
}

func (s *tdScript) comment(title, user, body string) {
	if n, ok := s.trackingIssues()[title]; ok {
		s.gh.AddComment(tdRepo, n, user, body)
	}
}
