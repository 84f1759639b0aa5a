package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/reconcile"
)

// get serves one request and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w.Code, w.Body.String(), w.Header()
}

var rowRE = regexp.MustCompile(`<tr data-id="([0-9a-f]+)" data-health="([a-z_]+)">`)

// titles are the portfolio's rows, by title, in order.
func titles(t *testing.T, body string) []string {
	t.Helper()
	byID := map[string]string{}
	for _, r := range records() {
		byID[r.ID] = r.Title
	}
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, byID[m[1]])
	}
	return out
}

func TestPortfolioListsEveryCommitment(t *testing.T) {
	t.Parallel()
	h := newHandler(records())
	code, body, hdr := get(t, h, "/")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", code, hdr.Get("Content-Type"))
	}
	// Worst first: the default order is by health.
	want := []string{"2.0", "v2.1 Mobile", "v2.0 Billing", "Checkout v3", "v1.6 Auth", "v1.7 Export", "v1.8 Search"}
	if diff := cmp.Diff(want, titles(t, body)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, s := range []string{
		// The at-risk row, cell by cell.
		`<td class="date">2026-10-16</td>
<td class="date">2026-10-30</td>
<td class="date">2026-10-30</td>
<td class="date">2026-10-29</td>
<td class="date">2026-11-03</td>
<td class="date">2026-11-06</td>
<td class="num">62%</td>`,
		// Health as a word, not only a colour.
		`<span class="health health-at_risk"><span aria-hidden="true">▲</span> at risk</span>`,
		// Links to the tracker and the thread.
		`href="https://github.com/acme/api/milestone/2"`, `href="https://github.com/acme/api/issues/12"`,
		// Slip against the first promise: Billing moved from Oct 16 to 30; the
		// overdue Jira version is 19 days past its promise on Oct 20.
		`<td class="num">14</td>`, `<td class="num">19</td>`,
		// Counts per health at the top.
		`<span class="count-n">2</span> <span class="count-label"><span aria-hidden="true">✓</span> delivered on time</span>`,
		// Semantic table with captions and scoped headers, labelled filters.
		`<th scope="col" aria-sort="ascending">`, `<caption id="portfolio-caption">7 of 7 commitments</caption>`,
		`<label for="f-team">Team</label>`, `<label for="f-health">Health</label>`, `<label for="f-tracker">Tracker</label>`,
		`<form class="filters" method="get"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the portfolio lacks %q", s)
		}
	}
	// A commitment whose chance the model has not given yet shows a dash.
	mobile := strings.Split(strings.Split(body, `<tr data-id="`+records()[2].ID)[1], "</tr>")[0]
	if !strings.Contains(mobile, `<td class="num">—</td>`) {
		t.Errorf("unknown chance not shown as —:\n%s", mobile)
	}
}

func TestPortfolioFiltersAndSortsByURL(t *testing.T) {
	t.Parallel()
	h := newHandler(records())
	tests := []struct {
		query string
		want  []string
	}{
		{"?team=acme/web", []string{"v2.1 Mobile"}},
		{"?tracker=jira", []string{"2.0", "Checkout v3"}},
		{"?health=delivered_on_time", []string{"v1.7 Export", "v1.8 Search"}},
		{"?team=acme/api&health=at_risk", []string{"v2.0 Billing"}},
		{"?sort=deliverable", []string{"2.0", "Checkout v3", "v1.6 Auth", "v1.7 Export", "v1.8 Search", "v2.0 Billing", "v2.1 Mobile"}},
		{"?sort=deliverable&order=desc", []string{"v2.1 Mobile", "v2.0 Billing", "v1.8 Search", "v1.7 Export", "v1.6 Auth", "Checkout v3", "2.0"}},
		// Missing values sort last in either order, by tracker, team and title.
		{"?sort=p85", []string{"v2.0 Billing", "v2.1 Mobile", "v1.6 Auth", "v1.7 Export", "v1.8 Search", "2.0", "Checkout v3"}},
		{"?sort=p85&order=desc", []string{"v2.1 Mobile", "v2.0 Billing", "v1.6 Auth", "v1.7 Export", "v1.8 Search", "2.0", "Checkout v3"}},
		// Mobile's due date is 21 days past its first promise; the Jira
		// version is 19 days overdue; Billing recommitted 14 days later.
		{"?sort=slip&order=desc", []string{"v2.1 Mobile", "2.0", "v2.0 Billing", "v1.6 Auth", "v1.7 Export", "v1.8 Search", "Checkout v3"}},
		{"?sort=chance", []string{"v2.0 Billing", "v1.6 Auth", "v1.7 Export", "v1.8 Search", "v2.1 Mobile", "2.0", "Checkout v3"}},
		{"?sort=changed&order=desc", []string{"v2.1 Mobile", "Checkout v3", "v2.0 Billing", "v1.8 Search", "v1.6 Auth", "2.0", "v1.7 Export"}},
		// Unknown values are ignored: an old bookmark still opens.
		{"?sort=bogus&health=purple&tracker=gitlab", []string{"2.0", "v2.1 Mobile", "v2.0 Billing", "Checkout v3", "v1.6 Auth", "v1.7 Export", "v1.8 Search"}},
		{"?team=nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			code, body, _ := get(t, h, "/"+tt.query)
			if code != http.StatusOK {
				t.Fatalf("%d", code)
			}
			if diff := cmp.Diff(tt.want, titles(t, body)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if tt.want == nil && !strings.Contains(body, "No commitment matches these filters") {
				t.Error("an empty result does not say so")
			}
		})
	}
}

// TestPortfolioLinksKeepTheView: the header links sort while keeping the
// filters, the second click turns the order round, and the form shows the
// choices of the URL.
func TestPortfolioLinksKeepTheView(t *testing.T) {
	t.Parallel()
	_, body, _ := get(t, newHandler(records()), "/?team=acme/api&sort=due")
	for _, s := range []string{
		`<th scope="col" aria-sort="ascending"><a href="?order=desc&amp;sort=due&amp;team=acme%2Fapi">Due date`,
		`<a href="?sort=p50&amp;team=acme%2Fapi">P50</a>`,
		`<option value="acme/api" selected>acme/api</option>`,
		`<option value="due" selected>Due date</option>`,
		`<a href="?health=delivered_on_time&amp;sort=due&amp;team=acme%2Fapi" class="count health-delivered_on_time">`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("lacks %q", s)
		}
	}
}

func TestCommitmentPage(t *testing.T) {
	t.Parallel()
	recs := records()
	h := newHandler(recs)
	code, body, _ := get(t, h, "/commitments/"+recs[0].ID)
	if code != http.StatusOK {
		t.Fatalf("%d\n%s", code, body)
	}
	for _, s := range []string{
		`<h1>v2.0 Billing</h1>`,
		// The chart: inline SVG with its text alternative.
		`<svg class="chart burnup"`, `role="img" aria-labelledby="burnup-title burnup-desc"`,
		`<title id="burnup-title">Burn-up of v2.0 Billing</title>`,
		`Forecast from today (2026-10-20): P50 2026-10-29, P85 2026-11-03, P95 2026-11-06. First promise 2026-10-16, current promise 2026-10-30. Due date 2026-10-30.`,
		`<polygon class="fan" points=`, `class="fan-line fan-p50"`, `class="fan-line fan-p95"`,
		`<g class="mark promise-first">`, `<g class="mark promise-current due">`, `<g class="mark today">`,
		`<polyline class="done" points=`, `<polyline class="total" points=`,
		// The series as a table, in <details>.
		`<summary>The chart’s data as a table</summary>`, `<tr><th scope="row">2026-10-20</th><td class="num">30</td><td class="num">45</td></tr>`,
		// The history: who, when, why, from which source.
		`<td>&#43;14 days</td><td>lead-jane</td><td class="date"><time datetime="2026-09-25T09:00:00Z">2026-09-25</time></td><td>/commit on the thread</td><td>payment provider delayed</td>`,
		`“Committed:” line in the description`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the commitment page lacks %q", s)
		}
	}
	// The lines stand where their dates are: first promise Oct 16 left of
	// today (Oct 20), left of the current promise (Oct 30), left of P95.
	xs := map[string]float64{}
	for _, m := range regexp.MustCompile(`<g class="mark ([a-z -]+)"><line x1="([0-9.]+)"`).FindAllStringSubmatch(body, -1) {
		xs[m[1]] = atof(t, m[2])
	}
	p95 := regexp.MustCompile(`class="fan-line fan-p95" x1="[0-9.]+" y1="[0-9.]+" x2="([0-9.]+)"`).FindStringSubmatch(body)
	if len(p95) < 2 || !(xs["promise-first"] < xs["today"] && xs["today"] < xs["promise-current due"] && xs["promise-current due"] < atof(t, p95[1])) {
		t.Errorf("lines out of order: %v, P95 at %v", xs, p95)
	}

	// Delivered: no fan, the delivery line instead of today.
	_, body, _ = get(t, h, "/commitments/"+recs[1].ID)
	if strings.Contains(body, `class="fan"`) || !strings.Contains(body, `class="mark delivered"`) {
		t.Error("a delivered commitment draws a forecast fan, or no delivery line")
	}
	// A record from before the series: one day, still a chart.
	_, body, _ = get(t, h, "/commitments/"+recs[2].ID)
	if !strings.Contains(body, `<tr><th scope="row">2026-10-20</th><td class="num">10</td><td class="num">19</td></tr>`) {
		t.Error("a record without a series does not chart today's counts")
	}

	code, body, _ = get(t, h, "/commitments/0123456789abcdef")
	if code != http.StatusNotFound || !strings.Contains(body, "No such commitment") {
		t.Errorf("unknown ID: %d", code)
	}
}

func TestTrackRecordPage(t *testing.T) {
	t.Parallel()
	code, body, _ := get(t, newHandler(records()), "/track-record")
	if code != http.StatusOK {
		t.Fatalf("%d", code)
	}
	for _, s := range []string{
		`<caption id="teams-caption">Every team, all time</caption>`,
		`<h2 id="team-1-heading">GitHub acme/api</h2>`,
		`<svg class="chart bars"`, `<rect class="bar share-good"`, `<circle class="slip-dot"`, `↻1`,
		// August: v1.6 Auth, 10 days late against its first promise, and
		// its recommitment.
		`<tr><th scope="row">2026-08</th><td class="num">1</td><td class="num">0</td>
<td class="num">0%</td>
<td class="num">10</td>
<td class="num">10.0 d</td>
<td class="num">10 days</td>
<td class="num">1</td></tr>`,
		`<h2 id="team-3-heading">Jira PLAT</h2>`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the track record lacks %q", s)
		}
	}
}

// TestPagesAreSelfContained: nothing on a page comes from elsewhere — no
// script, no stylesheet, font or image but the package's own — and the
// response headers tell the browser to keep it that way.
func TestPagesAreSelfContained(t *testing.T) {
	t.Parallel()
	recs := records()
	h := newHandler(recs)
	resource := regexp.MustCompile(`<(?:link|img|script|iframe|source|use|image)\b[^>]*?(?:href|src)="([^"]*)"`)
	for _, path := range []string{"/", "/commitments/" + recs[0].ID, "/track-record", "/nowhere"} {
		_, body, hdr := get(t, h, path)
		if strings.Contains(body, "<script") || strings.Contains(body, "style=") || strings.Contains(body, "@import") {
			t.Errorf("%s has a script or inline style", path)
		}
		for _, m := range resource.FindAllStringSubmatch(body, -1) {
			if strings.Contains(m[1], "//") || strings.HasPrefix(m[1], "data:") {
				t.Errorf("%s loads %q", path, m[1])
			}
		}
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if hdr.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: links to the trackers would send a Referer", path)
		}
	}
	code, css, hdr := get(t, h, "/static/dashboard.css")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, s := range []string{"url(", "@import", "@font-face"} {
		if strings.Contains(css, s) {
			t.Errorf("the stylesheet fetches something: %q", s)
		}
	}
	for _, s := range []string{"prefers-color-scheme: dark", ":focus-visible"} {
		if !strings.Contains(css, s) {
			t.Errorf("the stylesheet lacks %q", s)
		}
	}
}

// TestPagesEscapeTrackerText: titles, reasons and URLs come from people on
// the trackers and are shown as text; a javascript: URL is no link.
func TestPagesEscapeTrackerText(t *testing.T) {
	t.Parallel()
	recs := records()
	recs[0].Title = `<script>alert(1)</script>`
	recs[0].URL = "javascript:alert(2)"
	recs[0].Commitments[1].Reason = `"><img src=x onerror=alert(3)>`
	h := newHandler(recs)
	for _, path := range []string{"/", "/commitments/" + recs[0].ID} {
		_, body, _ := get(t, h, path)
		for _, s := range []string{"<script>alert", "javascript:alert", "<img src=x"} {
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q unescaped", path, s)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the title as text", path)
		}
	}
}

func TestRecordsUnavailable(t *testing.T) {
	t.Parallel()
	h := New(SourceFunc(func(context.Context, func(reconcile.Record) bool) error {
		return errors.New("dial tcp 10.0.0.1:6379: connection refused")
	}), Options{})
	for _, path := range []string{"/", "/track-record", "/commitments/abc"} {
		code, body, _ := get(t, h, path)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "Records unavailable") || strings.Contains(body, "10.0.0.1") {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
}

func TestEmptyPortfolio(t *testing.T) {
	t.Parallel()
	_, body, _ := get(t, newHandler(nil), "/")
	if !strings.Contains(body, "No commitments yet") {
		t.Error("an empty store does not say what fills the page")
	}
	_, body, _ = get(t, newHandler(nil), "/track-record")
	if !strings.Contains(body, "No promises recorded yet") {
		t.Error("an empty track record does not say so")
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	t.Parallel()
	h := newHandler(records())
	if code, _, _ := get(t, h, "/favicon.ico"); code != http.StatusNotFound {
		t.Errorf("/favicon.ico: %d", code)
	}
	if code, _, _ := get(t, h, "/static/favicon.svg"); code != http.StatusOK {
		t.Errorf("favicon: %d", code)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", w.Code)
	}
}

func TestRequireToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-dashboard-token-0123456789"
	h := RequireToken(token, newHandler(records()))
	tests := []struct {
		name, header string
		want         int
		challenge    string
	}{
		{"none", "", http.StatusUnauthorized, `Bearer realm="slipwatch"`},
		{"wrong token", "Bearer nope", http.StatusUnauthorized, `Bearer realm="slipwatch", error="invalid_token"`},
		{"token as basic", "Basic " + token, http.StatusUnauthorized, `Bearer realm="slipwatch"`},
		{"prefix of the token", "Bearer " + token[:10], http.StatusUnauthorized, `Bearer realm="slipwatch", error="invalid_token"`},
		{"right", "Bearer " + token, http.StatusOK, ""},
		{"scheme in lower case", "bearer " + token, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, path := range []string{"/", "/static/dashboard.css", "/track-record"} {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != tt.want || w.Header().Get("WWW-Authenticate") != tt.challenge {
					t.Errorf("%s: %d %q, want %d %q", path, w.Code, w.Header().Get("WWW-Authenticate"), tt.want, tt.challenge)
				}
				if strings.Contains(w.Body.String(), token) || (tt.header != "" && tt.want != http.StatusOK && strings.Contains(w.Body.String(), tt.header)) {
					t.Errorf("%s: the answer repeats the token", path)
				}
			}
		})
	}
	if got := RequireToken("", http.NotFoundHandler()); got == nil {
		t.Error("no token: no handler")
	}
}

// TestImportsNoTrackerOrRedis keeps the pages a view of records: no
// tracker client and no Redis client may be linked into this package.
func TestImportsNoTrackerOrRedis(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/slipwatch/slipwatch/reconcile") || !slices.Contains(deps, "html/template") {
		t.Fatalf("go list named no reconcile or html/template; the listing is not what this test expects:\n%s", out)
	}
	for _, dep := range deps {
		for _, bad := range []string{"github.com/redis/", "github.com/google/go-github", "github.com/andygrunwald/go-jira",
			"github.com/slipwatch/slipwatch/connectors/github", "github.com/slipwatch/slipwatch/connectors/jira",
			"github.com/slipwatch/slipwatch/reconcile/store", "github.com/slipwatch/slipwatch/reconcile/runner"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("reconcile/dashboard depends on %s", dep)
			}
		}
	}
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return f
}

// BenchmarkPortfolio1000 renders the portfolio of 1,000 commitments, the
// target being well under 100 ms (slipbench reports it next to the JSON
// API for the same records).
func BenchmarkPortfolio1000(b *testing.B) {
	recs := many(1000)
	h := New(Records(recs), Options{Now: func() time.Time { return now }})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// TestJudgedKeepsTheTrackRecord: the track-record page keeps of each
// record only what judged copies; the core's track record, all time and
// by month, is the same from those copies as from the whole records.
func TestJudgedKeepsTheTrackRecord(t *testing.T) {
	t.Parallel()
	recs := records()
	var slim []reconcile.Record
	for _, r := range recs {
		slim = append(slim, judged(r))
	}
	if diff := cmp.Diff(reconcile.TrackRecord(recs), reconcile.TrackRecord(slim)); diff != "" {
		t.Errorf("TrackRecord from judged records (-whole +judged):\n%s", diff)
	}
	if diff := cmp.Diff(reconcile.TrackRecordByMonth(recs, time.UTC), reconcile.TrackRecordByMonth(slim, time.UTC)); diff != "" {
		t.Errorf("TrackRecordByMonth from judged records (-whole +judged):\n%s", diff)
	}
	if len(reconcile.TrackRecord(recs)) == 0 {
		t.Fatal("the fixture has no track record to compare")
	}
}
