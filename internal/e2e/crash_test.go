package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// crashSeed fixes the script and the kill points; E2E_SEED replays
// another run.
func crashSeed(t *testing.T) uint64 {
	seed := uint64(20261123)
	if s := os.Getenv("E2E_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("E2E_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d (E2E_SEED=%d replays this run)", seed, seed)
	return seed
}

// ms is the script's view of one milestone.
type ms struct {
	n, issue int
	due      time.Time
	promise  string // the commitment slipwatch should hold, YYYY-MM-DD
	open     bool
	// answered says a command by someone who may not commit (a stranger's
	// /commit, octocat's status request) was answered on its thread: the
	// next ones within the hour are not (one such answer per thread per
	// hour), and a script runs for minutes.
	answered bool
}

// outsider records the answer a command by someone who may not commit
// gets on m's thread: the first one only.
func (s *script) outsider(m *ms) {
	if !m.answered {
		s.exp.add(m.n, reconcile.EvReply, 1)
		m.answered = true
	}
}

// script drives a world with scripted events: each step changes the
// sandbox like a person would, sends GitHub's webhook for it, records the
// comments it should cause, and waits until they are there.
type script struct {
	t      *testing.T
	w      *world
	rng    *rand.Rand
	ds     []*daemon
	exp    expect
	ms     []*ms
	sent   []delivery
	kills  int
	steps  map[string]int
	titles []string
	fanout bool // send each change to every daemon, with its own delivery ID
}

func newScript(t *testing.T, w *world, seed uint64, ds ...*daemon) *script {
	return &script{t: t, w: w, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ds: ds, exp: expect{}, steps: map[string]int{}}
}

func day(days int) time.Time {
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, days).Add(17 * time.Hour)
}

// daemon picks the replica a delivery goes to.
func (s *script) daemon() *daemon { return s.ds[s.rng.IntN(len(s.ds))] }

func (s *script) open() []*ms {
	var out []*ms
	for _, m := range s.ms {
		if m.open && m.issue != 0 {
			out = append(out, m)
		}
	}
	return out
}

// step runs one scripted event; kill says whether to kill -9 a daemon
// while it works on it.
func (s *script) step(kill bool) {
	s.t.Helper()
	var (
		m    *ms
		dl   delivery
		wait func() bool
		kind string
	)
	open := s.open()
	r := s.rng.IntN(100)
	switch {
	case len(s.ms) < 3 || (r < 12 && len(open) < 6 && len(s.ms) < 12):
		kind = "create milestone"
		title := fmt.Sprintf("v%d.0", len(s.ms)+1)
		if len(s.titles) > 0 {
			title, s.titles = s.titles[0], s.titles[1:]
		}
		due := 20 + s.rng.IntN(60)
		m = &ms{n: s.w.newMilestone(title, due, 3+s.rng.IntN(4)), due: day(due), open: true}
		m.promise = m.due.Format(time.DateOnly)
		s.ms = append(s.ms, m)
		s.exp.add(m.n, reconcile.EvCommitted, 1)
		dl = milestoneHook("created", m.n)
		wait = func() bool {
			if !s.w.converged(s.exp, m.n) {
				return false
			}
			if tr := s.w.tracking(m.n); len(tr) > 0 {
				m.issue = tr[0]
				return true
			}
			return false
		}
	case len(open) == 0:
		kind = "webhook only"
		dl = milestoneHook("edited", s.ms[0].n)
	case r < 40:
		kind = "due date change"
		m = open[s.rng.IntN(len(open))]
		due := day(5 + s.rng.IntN(120))
		for due.Format(time.DateOnly) == m.due.Format(time.DateOnly) || due.Format(time.DateOnly) == m.promise {
			due = due.AddDate(0, 0, 1)
		}
		m.due = due
		s.w.gh.UpdateMilestone(repoName, m.n, func(g *githubtest.Milestone) { g.DueOn = due })
		dl = milestoneHook("edited", m.n)
		want := due.Format(time.DateOnly)
		wait = func() bool { return strings.Contains(s.w.statusLine(m.n, "Current due date"), want) }
	case r < 58:
		kind = "/commit by the lead"
		m = open[s.rng.IntN(len(open))]
		date := day(30 + s.rng.IntN(150)).Format(time.DateOnly)
		for date == m.promise {
			date = day(31 + s.rng.IntN(150)).Format(time.DateOnly)
		}
		m.promise = date
		s.w.gh.AddComment(repoName, m.issue, lead, "/commit "+date+" scope agreed with leadership")
		s.exp.add(m.n, reconcile.EvReply, 1)
		s.exp.add(m.n, reconcile.EvRecommitted, 1)
		dl = commentHook(m.issue, m.n, "/commit "+date)
		wait = func() bool {
			return s.w.converged(s.exp, m.n) && strings.Contains(s.w.statusLine(m.n, "Promise"), date)
		}
	case r < 66:
		kind = "/commit by a stranger"
		m = open[s.rng.IntN(len(open))]
		s.w.gh.AddComment(repoName, m.issue, stranger, "/commit "+day(400).Format(time.DateOnly)+" trust me")
		s.outsider(m)
		dl = commentHook(m.issue, m.n, "/commit")
	case r < 72:
		kind = "/slipwatch status"
		m = open[s.rng.IntN(len(open))]
		s.w.gh.AddComment(repoName, m.issue, "octocat", "/slipwatch status")
		s.outsider(m)
		dl = commentHook(m.issue, m.n, "/slipwatch status")
	case r < 78:
		kind = "plain comment"
		m = open[s.rng.IntN(len(open))]
		s.w.gh.AddComment(repoName, m.issue, "octocat", "Looks good; the API freeze holds.")
		dl = commentHook(m.issue, m.n, "Looks good")
	case r < 88 && len(open) > 1:
		kind = "milestone closed"
		m = open[s.rng.IntN(len(open))]
		m.open = false
		s.w.gh.UpdateMilestone(repoName, m.n, func(g *githubtest.Milestone) { g.State, g.ClosedAt = "closed", time.Now() })
		s.exp.add(m.n, reconcile.EvDelivered, 1)
		dl = milestoneHook("closed", m.n)
	default:
		kind = "replayed delivery"
		if len(s.sent) == 0 {
			dl = milestoneHook("edited", s.ms[0].n)
			break
		}
		dl = s.sent[s.rng.IntN(len(s.sent))]
	}
	s.steps[kind]++
	if m != nil && wait == nil {
		wait = func() bool { return s.w.converged(s.exp, m.n) }
	}
	if s.fanout && kind != "replayed delivery" {
		// Every replica gets the change at once (as with one hook per
		// replica): they race for the same key.
		var wg sync.WaitGroup
		for _, d := range s.ds {
			cp := dl
			cp.id = newID()
			wg.Go(func() { d.send(cp) })
		}
		wg.Wait()
	}
	d := s.daemon()
	status, body := d.send(dl)
	if kind == "replayed delivery" && status != 0 && (status != 202 || body != "duplicate") && len(s.sent) > 0 {
		s.t.Errorf("replayed delivery %s: %d %q, want 202 duplicate", dl.id, status, body)
	}
	s.sent = append(s.sent, dl)
	if kill {
		// Somewhere in observing, claiming, posting or saving.
		time.Sleep(time.Duration(s.rng.IntN(80)) * time.Millisecond)
		victim := s.ds[s.rng.IntN(len(s.ds))]
		victim.restart()
		s.kills++
	}
	if wait == nil {
		return
	}
	// GitHub does not resend on its own, but an operator (or the next
	// poll) does: redeliver the same delivery while waiting. (90 s: the
	// whole suite shares two cores with the race detector on, and two
	// daemons restarted at random can take most of a minute to agree.)
	deadline := time.Now().Add(90 * time.Second)
	for !wait() {
		if time.Now().After(deadline) {
			s.t.Fatalf("step %q on milestone %d did not converge; thread now: %+v", kind, m.n, s.w.thread(m.n).events)
		}
		if !eventually(3*time.Second, wait) {
			d.send(dl) // not s.daemon(): the RNG must not depend on timing
		}
	}
}

// statusLine is the line of milestone n's status comment that contains
// label, "" when there is none.
func (w *world) statusLine(n int, label string) string {
	for _, nr := range w.tracking(n) {
		for _, c := range w.gh.Comments(repoName, nr) {
			if c.User != bot || !strings.Contains(c.Body, "slipwatch:status") {
				continue
			}
			for line := range strings.SplitSeq(c.Body, "\n") {
				if strings.Contains(line, label) {
					return line
				}
			}
		}
	}
	return ""
}

// TestCrashAtRandomPoints is issue 7's crash test: 100 scripted events
// with kill -9 of the daemon at random points and restarts; every
// expected comment exists exactly once. Then Redis is flushed and the
// daemon restarted: the markers on the tracker are the record, so nothing
// is posted again.
func TestCrashAtRandomPoints(t *testing.T) {
	t.Parallel()
	w := newWorld(t, options{})
	d := w.start("daemon")
	s := newScript(t, w, crashSeed(t), d)
	const events = 100
	for i := range events {
		s.step(i > 3 && s.rng.IntN(100) < 10)
	}
	f := w.tally(s.exp)
	t.Logf("crash test: %d events %v, %d kill -9: %v", events, s.steps, s.kills, f)
	if !f.ok() {
		t.Fatalf("after kill -9: %v", f)
	}
	if s.kills == 0 {
		t.Fatal("the script killed nothing; the seed is no test")
	}

	// FLUSHALL, then a restart: every record comes back from the status
	// markers, and nothing is posted twice.
	d.kill()
	w.flushAll()
	d.run()
	for _, m := range s.ms {
		d.send(milestoneHook("edited", m.n))
	}
	waitFor(t, 30*time.Second, "records rebuilt after FLUSHALL", func() bool {
		_, body := d.getBody("/api/v1/commitments")
		return strings.Count(string(body), `"key": "github:`) >= len(s.ms)
	})
	// One more full round, so a duplicate would have been posted by now.
	for _, m := range s.ms {
		d.send(milestoneHook("edited", m.n))
	}
	waitFor(t, 20*time.Second, "second round after FLUSHALL", func() bool { return d.metric("slipwatch_reconciles_total", `result="ok"`) >= float64(2*len(s.ms)) })
	f = w.tally(s.exp)
	t.Logf("after FLUSHALL and restart: %v", f)
	if !f.ok() {
		t.Fatalf("after FLUSHALL: %v", f)
	}
	for _, m := range s.ms {
		if line := w.statusLine(m.n, "Promise"); !strings.Contains(line, m.promise) {
			t.Errorf("milestone %d: status after FLUSHALL says %q, want the promise %s", m.n, line, m.promise)
		}
	}
}
