package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// The dashboard's bearer token (server.api_token) in this test.
const apiToken = "e2e-dashboard-api-token-7c6b5a4938"

const webRepo = "acme/web"

// TestDashboardInBrowser runs the daemon with real Redis and the sandbox
// GitHub, lets it reconcile a small portfolio, and reads the pages in a
// real headless Chromium: every commitment listed, filters and sorting by
// URL and by the form, the commitment page's SVG chart with its promise
// lines and forecast fan, the track record, keyboard focus and the dark
// scheme — with no request leaving the page's origin, no console error,
// and the token required. SLIPWATCH_SCREENSHOTS=<dir> also saves a PNG of
// each page there (docs/ keeps the README's).
func TestDashboardInBrowser(t *testing.T) {
	chrome := chromiumPath(t)
	w := newWorld(t, options{repos: []string{webRepo}})
	w.env = append(w.env, "SLIPWATCH_SERVER_API_TOKEN="+apiToken)
	p := w.portfolio()
	d := w.start("A")

	// The daemon polls the repos and reconciles each milestone; the lead
	// then recommits Payments on its thread, and Auth is delivered.
	views := waitForCommitments(t, d, len(p.titles), func(vs []apiView) bool {
		for _, v := range vs {
			if v.Title == p.payments && len(w.tracking(p.paymentsMS)) == 0 {
				return false
			}
		}
		return true
	})
	issue := w.tracking(p.paymentsMS)[0]
	recommit := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	w.gh.AddComment(repoName, issue, lead, "/commit "+recommit+" the card vendor moved its API freeze")
	if code, body := d.send(commentHook(issue, p.paymentsMS, "/commit "+recommit)); code != http.StatusAccepted {
		t.Fatalf("comment webhook: %d %s", code, body)
	}
	w.gh.UpdateMilestone(repoName, p.authMS, func(m *githubtest.Milestone) { m.State, m.ClosedAt = "closed", time.Now() })
	if code, body := d.send(milestoneHook("closed", p.authMS)); code != http.StatusAccepted {
		t.Fatalf("milestone webhook: %d %s", code, body)
	}
	views = waitForCommitments(t, d, len(p.titles), func(vs []apiView) bool {
		ok := 0
		for _, v := range vs {
			if (v.Title == p.payments && len(v.Commitments) == 2) || (v.Title == p.auth && v.Delivered != nil) {
				ok++
			}
		}
		return ok == 2
	})
	byTitle := map[string]apiView{}
	for _, v := range views {
		byTitle[v.Title] = v
	}

	origin := strings.TrimSuffix(d.url("/"), "/")
	b := newBrowser(t, chrome, origin)

	t.Run("the token is required", func(t *testing.T) {
		tab := b.tab(t, "")
		for _, path := range []string{"/", "/commitments/" + byTitle[p.payments].ID, "/track-record", "/api/v1/commitments"} {
			resp := tab.open(path)
			if resp.Status != http.StatusUnauthorized {
				t.Errorf("%s without the token: %d", path, resp.Status)
			}
			if body := tab.eval(`document.body.innerText`); strings.Contains(body, "Commitments") || !strings.Contains(body, "401") {
				t.Errorf("%s without the token shows: %q", path, body)
			}
		}
		wrong := b.tab(t, "not-the-"+apiToken)
		if resp := wrong.open("/"); resp.Status != http.StatusUnauthorized {
			t.Errorf("a wrong token: %d", resp.Status)
		}
	})

	reader := b.tab(t, apiToken)
	t.Run("portfolio lists every commitment", func(t *testing.T) {
		tab := reader.in(t)
		if resp := tab.open("/"); resp.Status != http.StatusOK {
			t.Fatalf("GET /: %d", resp.Status)
		}
		got := tab.titles()
		if diff := cmpSet(p.titles, got); diff != "" {
			t.Errorf("rows: %s", diff)
		}
		// Counts per health at the top add up to every commitment.
		counts := evalAs[[]int](tab, `[...document.querySelectorAll('.counts a:not(.count-all) .count-n')].map(e => +e.textContent)`)
		sum := 0
		for _, n := range counts {
			sum += n
		}
		if sum != len(p.titles) {
			t.Errorf("health counts %v add up to %d, want %d", counts, sum, len(p.titles))
		}
		// Every health is a word in the row, not a colour alone.
		for _, h := range evalAs[[]string](tab, `[...document.querySelectorAll('tbody .health')].map(e => e.textContent.trim())`) {
			if !strings.ContainsAny(h, "abcdefghijklmnopqrstuvwxyz") {
				t.Errorf("a health without a word: %q", h)
			}
		}
		tab.screenshot("dashboard-portfolio.png")
	})

	t.Run("filters and sorting by URL", func(t *testing.T) {
		tab := reader.in(t)
		tests := []struct {
			query string
			want  []string
			order bool // want is the order too
		}{
			{"?team=" + url.QueryEscape(webRepo), p.web, false},
			{"?team=" + url.QueryEscape(repoName), p.api, false},
			{"?health=delivered_on_time", []string{"v2.8 SSO", p.auth}, false},
			{"?health=delivered_late", []string{"v2.7 Export", "w0.8 Onboarding"}, false},
			{"?health=overdue", []string{p.landing}, true},
			{"?tracker=jira", nil, true},
			{"?sort=deliverable", sortedFold(p.titles, false), true},
			{"?sort=deliverable&order=desc", sortedFold(p.titles, true), true},
			{"?team=" + url.QueryEscape(repoName) + "&sort=deliverable&order=desc", sortedFold(p.api, true), true},
		}
		for _, tt := range tests {
			if resp := tab.open("/" + tt.query); resp.Status != http.StatusOK {
				t.Fatalf("GET /%s: %d", tt.query, resp.Status)
			}
			got := tab.titles()
			if tt.order && !slices.Equal(got, tt.want) {
				t.Errorf("/%s: rows %q, want %q", tt.query, got, tt.want)
			} else if diff := cmpSet(tt.want, got); diff != "" {
				t.Errorf("/%s: %s", tt.query, diff)
			}
		}
		// The same through the form, as a reader without JavaScript would:
		// choose a team and submit; the URL then keeps the view.
		tab.open("/")
		tab.do(chromedp.SetValue(chromedp.CSS("#f-team"), webRepo), chromedp.SetValue(chromedp.CSS("#f-sort"), "deliverable"))
		tab.submit(`form.filters button[type=submit]`)
		loc := tab.eval(`location.search`)
		if !strings.Contains(loc, "team=acme%2Fweb") || !strings.Contains(loc, "sort=deliverable") {
			t.Errorf("the form submitted to %q", loc)
		}
		if diff := cmpSet(p.web, tab.titles()); diff != "" {
			t.Errorf("after the form: %s", diff)
		}
		// A column header sorts, and the second click turns the order round.
		tab.open("/?sort=due")
		tab.submit(`th[aria-sort] a`)
		if loc := tab.eval(`location.search`); !strings.Contains(loc, "order=desc") || !strings.Contains(loc, "sort=due") {
			t.Errorf("the sorted header links to %q", loc)
		}
	})

	t.Run("commitment page draws the chart", func(t *testing.T) {
		tab := reader.in(t)
		tab.open("/")
		tab.submit(fmt.Sprintf(`tr[data-id=%q] a.title`, byTitle[p.payments].ID))
		if path := tab.eval(`location.pathname`); path != "/commitments/"+byTitle[p.payments].ID {
			t.Fatalf("the link led to %s", path)
		}
		for sel, want := range map[string]int{
			"svg.burnup[role=img]":          1,
			"svg.burnup title":              1,
			"svg.burnup desc":               1,
			"svg.burnup polygon.fan":        1,
			"svg.burnup .fan-p50":           1,
			"svg.burnup .fan-p85":           1,
			"svg.burnup .fan-p95":           1,
			"svg.burnup .promise-first":     1,
			"svg.burnup .promise-current":   1,
			"svg.burnup polyline.done":      1,
			"svg.burnup polyline.total":     1,
			"details.chart-data table":      1,
			"table caption":                 3, // the series, the history, the due dates
			"#history-heading + * tbody tr": 2,
		} {
			if n := evalAs[int](tab, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)); n != want {
				t.Errorf("%s: %d, want %d", sel, n, want)
			}
		}
		// The lines stand at their dates: the first promise left of the
		// current one, the fan's P50 left of its P95; and they are drawn.
		xs := evalAs[map[string]float64](tab, `(() => {
			const r = s => document.querySelector(s).getBoundingClientRect();
			return {first: r('.promise-first line').left, current: r('.promise-current line').left,
				p50: r('.fan-p50').right, p95: r('.fan-p95').right, fan: r('polygon.fan').width};
		})()`)
		if !(xs["first"] < xs["current"] && xs["p50"] <= xs["p95"] && xs["fan"] > 0) {
			t.Errorf("chart geometry: %v", xs)
		}
		hist := tab.eval(`document.querySelector('#history-heading').parentElement.innerText`)
		for _, s := range []string{lead, "the card vendor moved its API freeze", recommit, "/commit on the thread"} {
			if !strings.Contains(hist, s) {
				t.Errorf("the history lacks %q:\n%s", s, hist)
			}
		}
		tab.screenshot("dashboard-commitment.png")
	})

	t.Run("track record", func(t *testing.T) {
		tab := reader.in(t)
		if resp := tab.open("/track-record"); resp.Status != http.StatusOK {
			t.Fatalf("GET /track-record: %d", resp.Status)
		}
		text := tab.eval(`document.querySelector('main').innerText`)
		for _, s := range []string{"GitHub " + repoName, "GitHub " + webRepo, "Every team, all time"} {
			if !strings.Contains(text, s) {
				t.Errorf("the track record lacks %q", s)
			}
		}
		// acme/api delivered in three months (Export late, SSO on time,
		// Auth now); the months between are on the axis, empty.
		if n := evalAs[int](tab, `document.querySelectorAll('#team-1 svg.bars rect.bar').length`); n != 3 {
			t.Errorf("acme/api: %d bars, want one per month with a delivery (3)", n)
		}
		if share := tab.eval(`document.querySelector('#team-1 table.months tbody tr th').parentElement.innerText`); !strings.Contains(share, "0%") {
			t.Errorf("the first month (Export, late) reads %q", share)
		}
		tab.screenshot("dashboard-track-record.png")
	})

	t.Run("keyboard and dark scheme", func(t *testing.T) {
		tab := reader.in(t)
		tab.open("/")
		tab.do(chromedp.KeyEvent("\t"))
		focus := evalAs[map[string]string](tab, `(() => { const e = document.activeElement, s = getComputedStyle(e);
			return {cls: e.className, outline: s.outlineStyle + ' ' + s.outlineWidth}; })()`)
		if focus["cls"] != "skip" || strings.HasPrefix(focus["outline"], "none") {
			t.Errorf("first Tab focuses %v; want the visible skip link", focus)
		}
		light := tab.eval(`getComputedStyle(document.body).backgroundColor`)
		if _, err := chromedp.Call(tab.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
			t.Fatal(err)
		}
		if dark := tab.eval(`getComputedStyle(document.body).backgroundColor`); dark == light {
			t.Errorf("the dark scheme keeps the light background %s", light)
		}
	})

	// Across every page read with the token: nothing requested from
	// another origin, nothing logged as an error, the token never shown.
	tab := reader.in(t)
	for _, u := range tab.requested() {
		if !strings.HasPrefix(u, origin+"/") {
			t.Errorf("the page requested %s, outside %s", u, origin)
		}
	}
	if n := len(tab.requested()); n < 10 {
		t.Errorf("only %d requests seen: the network listener is not working", n)
	}
	for _, m := range tab.errors() {
		t.Errorf("console: %s", m)
	}
	for _, html := range tab.pages() {
		if strings.Contains(html, apiToken) {
			t.Error("a page shows the API token")
		}
	}
	for _, s := range append(slices.Clone(secrets), apiToken) {
		if strings.Contains(string(d.out.bytes()), s) {
			t.Errorf("the daemon printed a secret (%.6s…)", s)
		}
	}
}

// portfolio is the test's deliverables, by title.
type portfolio struct {
	titles, api, web        []string
	payments, auth, landing string
	paymentsMS, authMS      int
}

// portfolio adds the deliverables: in acme/api a pace of about one
// closed issue a day, Payments (forecastable, to be recommitted), Search
// (due in five days with most work open: at risk) and Auth (to be
// delivered); in acme/web Mobile (on track, no pace) and Landing (overdue);
// and in both, milestones delivered in earlier months, late or on time.
func (w *world) portfolio() portfolio {
	now := time.Now().UTC()
	day := func(n int) time.Time { return now.Truncate(24*time.Hour).AddDate(0, 0, n).Add(17 * time.Hour) }
	for i := range 30 {
		w.gh.AddIssue(repoName, githubtest.Issue{Title: fmt.Sprint("chore ", i), CreatedAt: now.AddDate(0, 0, -40), ClosedAt: now.AddDate(0, 0, -1-i)})
	}
	add := func(repo, title, desc string, due, items, done int) int {
		ms := w.gh.AddMilestone(repo, githubtest.Milestone{Title: title, Description: desc, DueOn: day(due), CreatedAt: now.AddDate(0, 0, -30)})
		for i := range items {
			is := githubtest.Issue{Title: fmt.Sprintf("%s task %d", title, i), Milestone: ms, CreatedAt: now.AddDate(0, 0, -25+i%10)}
			if i < done {
				is.ClosedAt = now.AddDate(0, 0, -12+i%12)
			}
			w.gh.AddIssue(repo, is)
		}
		return ms
	}
	// Delivered in the past months, for the track record: closed after
	// its due date (late), or before it. Each was delivered before
	// slipwatch first saw it, so only the promise its description declares
	// counts (docs/tracking.md, quiet about the past).
	delivered := func(repo, title string, due, closed, items int) {
		ms := w.gh.AddMilestone(repo, githubtest.Milestone{Title: title, DueOn: day(due), State: "closed", ClosedAt: day(closed),
			Description: "Committed: " + day(due).Format("2006-01-02"),
			CreatedAt:   now.AddDate(0, 0, closed-40)})
		for i := range items {
			w.gh.AddIssue(repo, githubtest.Issue{Title: fmt.Sprintf("%s task %d", title, i), Milestone: ms,
				CreatedAt: now.AddDate(0, 0, closed-35+i), ClosedAt: now.AddDate(0, 0, closed-items+i)})
		}
	}
	delivered(repoName, "v2.7 Export", -100, -95, 8) // 53 days before SSO: always another month
	delivered(repoName, "v2.8 SSO", -40, -42, 10)
	delivered(webRepo, "w0.8 Onboarding", -50, -38, 6)

	p := portfolio{payments: "v3.0 Payments", auth: "v2.9 Auth", landing: "w0.9 Landing"}
	p.paymentsMS = add(repoName, p.payments, "Card payments.\n\nCommitted: "+day(21).Format("2006-01-02"), 21, 24, 10)
	add(repoName, "v3.1 Search", "", 5, 30, 3)
	p.authMS = add(repoName, p.auth, "", 10, 6, 6)
	add(webRepo, "w1.0 Mobile", "", 40, 12, 2)
	add(webRepo, p.landing, "", -3, 5, 4)
	p.api = []string{p.payments, "v3.1 Search", p.auth, "v2.7 Export", "v2.8 SSO"}
	p.web = []string{"w1.0 Mobile", p.landing, "w0.8 Onboarding"}
	p.titles = append(slices.Clone(p.api), p.web...)
	return p
}

// apiView is what /api/v1/commitments says of one commitment.
type apiView struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Delivered   *string           `json:"delivered"`
	Commitments []json.RawMessage `json:"commitments"`
}

// waitForCommitments polls the API (with the token) until it lists n
// commitments, each with a promise, and ready holds.
func waitForCommitments(t *testing.T, d *daemon, n int, ready func([]apiView) bool) []apiView {
	t.Helper()
	var views []apiView
	waitFor(t, 3*time.Minute, fmt.Sprintf("%d commitments in /api/v1", n), func() bool {
		req, _ := http.NewRequest(http.MethodGet, d.url("/api/v1/commitments"), nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var out struct {
			Commitments []apiView `json:"commitments"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Commitments) != n {
			return false
		}
		for _, v := range out.Commitments {
			if len(v.Commitments) == 0 {
				return false
			}
		}
		views = out.Commitments
		return ready(views)
	})
	return views
}

// chromiumPath finds the browser: SLIPWATCH_CHROMIUM, else chromium on
// PATH. Without one the test is skipped, loudly — except in CI, where a
// missing browser is a failure (.ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("SLIPWATCH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI for the dashboard's browser test (apt-get install chromium)")
	}
	t.Skip("WARNING: no chromium on PATH; the dashboard is NOT tested in a browser (apt-get install chromium)")
	return ""
}

// browser is one headless Chromium for the test, reading one daemon.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string // the daemon's origin
}

func newBrowser(t *testing.T, path, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not have a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return &browser{t: t, ctx: ctx, base: base}
}

// tab is one tab of the browser, sending the bearer token (if any) with
// every request, and recording what it requests and logs. in gives it the
// (sub)test that uses it.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	rec  *recorder
}

// recorder keeps what a tab requested, logged as an error, and showed.
type recorder struct {
	mu   sync.Mutex
	urls []string
	errs []string
	html []string
}

func (tb *tab) in(t *testing.T) *tab { c := *tb; c.t = t; return &c }

func (b *browser) tab(t *testing.T, token string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, base: b.base, rec: &recorder{}}
	if err := chromedp.Listen(ctx, tb.rec.event); err != nil {
		t.Fatal(err)
	}
	if token != "" {
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + token}}); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

// event runs on the browser's reader: it only records.
func (r *recorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.urls = append(r.urls, ev.Request.URL)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			r.errs = append(r.errs, "console."+string(ev.Type))
		}
	case *runtime.EventExceptionThrown:
		r.errs = append(r.errs, "exception: "+ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			r.errs = append(r.errs, fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

func (tb *tab) requested() []string {
	r := tb.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.urls)
}
func (tb *tab) errors() []string {
	r := tb.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}
func (tb *tab) pages() []string {
	r := tb.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.html)
}

// open navigates to path on the daemon and returns the document's
// response, keeping its HTML for the checks at the end.
func (tb *tab) open(path string) *network.Response {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(tb.base+path))
	if err != nil {
		tb.t.Fatalf("open %s: %v", path, err)
	}
	tb.keepHTML()
	return resp
}

// submit clicks sel (a link or a submit button) and waits for the page it
// loads.
func (tb *tab) submit(sel string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	before := tb.eval(`performance.timeOrigin + ''`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
	if !eventually(20*time.Second, func() bool {
		return tb.eval(`performance.timeOrigin + ''`) != before && tb.eval(`document.readyState`) == "complete"
	}) {
		tb.t.Fatalf("clicking %s loaded no page", sel)
	}
	tb.keepHTML()
}

func (tb *tab) keepHTML() {
	html := tb.eval(`document.documentElement.outerHTML`)
	tb.rec.mu.Lock()
	tb.rec.html = append(tb.rec.html, html)
	tb.rec.mu.Unlock()
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) eval(js string) string {
	tb.t.Helper()
	return evalAs[string](tb, js)
}

func evalAs[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// titles are the portfolio's rows, in order.
func (tb *tab) titles() []string {
	return evalAs[[]string](tb, `[...document.querySelectorAll('tbody tr[data-id] a.title')].map(a => a.textContent)`)
}

// screenshot saves the whole page as name in $SLIPWATCH_SCREENSHOTS.
func (tb *tab) screenshot(name string) {
	dir := os.Getenv("SLIPWATCH_SCREENSHOTS")
	if dir == "" {
		return
	}
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// cmpSet says how got differs from want as sets, or "".
func cmpSet(want, got []string) string {
	w, g := slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	if slices.Equal(w, g) {
		return ""
	}
	return fmt.Sprintf("got %q, want %q (any order)", got, want)
}

// sortedFold is titles sorted as the portfolio sorts by deliverable.
func sortedFold(titles []string, desc bool) []string {
	out := slices.Clone(titles)
	slices.SortFunc(out, func(a, b string) int {
		c := strings.Compare(strings.ToLower(a), strings.ToLower(b))
		if desc {
			return -c
		}
		return c
	})
	return out
}
