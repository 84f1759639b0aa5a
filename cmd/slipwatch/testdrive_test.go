package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
	"github.com/slipwatch/slipwatch/internal/apispec"
)

// TestTestdrive runs the README's first command as a user does, with
// proxies pointing nowhere: it must need no network, exit 0, and tell the
// whole story.
func TestTestdrive(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t, "")
	noNet := []string{"HTTP_PROXY=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1", "ALL_PROXY=http://127.0.0.1:1"}
	stdout, stderr, code := runBinary(t, bin, noNet, "testdrive", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	seen := map[string]bool{}
	bodies := map[string]string{}
	var digests []tdLine
	var final struct {
		Commitments []struct {
			Title  string `json:"title"`
			Health string `json:"health"`
		} `json:"commitments"`
	}
	for line := range strings.SplitSeq(strings.TrimSpace(stdout), "\n") {
		var l tdLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if l.Event != "" {
			seen[l.Milestone+" "+l.Event] = true
			bodies[l.Milestone+" "+l.Event] += l.Body
			if l.Event == "digest" {
				digests = append(digests, l)
			}
			continue
		}
		_ = json.Unmarshal([]byte(line), &final)
	}
	for _, want := range []string{
		"v2.0 Billing committed", "v2.0 Billing at_risk", "v2.0 Billing slipped", "v2.0 Billing reply",
		"v2.0 Billing recommitted", "v2.0 Billing delivered", "v1.8 Search pulled_in", "v1.8 Search delivered",
		"v2.1 Mobile scope_grew", "v2.1 Mobile slipped", "v2.1 Mobile overdue", "v2.1 Mobile delivered",
		"track record track_record", "track record digest",
	} {
		if !seen[want] {
			t.Errorf("the story lacks %q (saw %v)", want, seen)
		}
	}
	// The forecast speaks in chances: the promise's in its committed
	// comment, and at_risk says how likely the date still is, and why.
	for key, want := range map[string][]string{
		"v2.0 Billing committed": {"likely by then", "85% likely by "},
		"v2.0 Billing at_risk":   {"likely to finish by the promised 2026-10-16", "Why: this milestone gets", "other milestones are in progress"},
	} {
		for _, w := range want {
			if !strings.Contains(bodies[key], w) {
				t.Errorf("%s lacks %q:\n%s", key, w, bodies[key])
			}
		}
	}
	health := map[string]string{}
	for _, c := range final.Commitments {
		health[c.Title] = c.Health
	}
	if health["v1.8 Search"] != "delivered_on_time" || health["v2.1 Mobile"] != "delivered_late" {
		t.Errorf("final health = %v", health)
	}
	// A digest every Monday of the story, each telling that week's news:
	// the slip and the recommitment in week 3's, both deliveries in the
	// last, which has nothing left open.
	var mondays []string
	for _, d := range digests {
		mondays = append(mondays, d.Date)
	}
	if want := "2026-09-07 2026-09-14 2026-09-21 2026-09-28 2026-10-05 2026-10-12 2026-10-19 2026-10-26 2026-11-02"; strings.Join(mondays, " ") != want {
		t.Fatalf("digests on %v, want one each Monday: %s", mondays, want)
	}
	for i, want := range map[int][]string{
		3: {"Slipped: acme/api milestone v2.0 Billing: due 2026-10-30, was 2026-10-16", "Recommitted: acme/api milestone v2.0 Billing: 2026-10-16 to 2026-10-30 (+14 days), committed by lead-jane"},
		8: {"Delivered: acme/api milestone v2.0 Billing: on 2026-10-28, as promised for 2026-10-30; first promised for 2026-10-16.",
			"Delivered: acme/api milestone v2.1 Mobile: on 2026-10-28, 5 days after the promised 2026-10-23.", "No promise is open."},
	} {
		for _, w := range want {
			if !strings.Contains(digests[i].Body, w) {
				t.Errorf("the digest of %s lacks %q:\n%s", digests[i].Date, w, digests[i].Body)
			}
		}
	}
	text, _, code := runBinary(t, bin, noNet, "testdrive")
	if code != 0 || !strings.Contains(text, "Track record of acme/api: 3 of 3 promises delivered, 1 on time") {
		t.Errorf("text output (exit %d) lacks the track record:\n%s", code, text)
	}
	// The digest's table, lined up for a terminal.
	if !regexp.MustCompile(`(?m)^   acme/api milestone v2\.1 Mobile +2026-10-23 +2026-11-06 +\S+ +\S+ +🔴 overdue +18/19$`).MatchString(text) {
		t.Errorf("text output lacks the digest's table row of v2.1 Mobile:\n%s", text)
	}
}

// TestTestdriveTrafficIsDocumented runs the testdrive in the test's
// process with its sandbox checked: every request the connector sends in
// the eight weeks is one GitHub documents, and every answer matches
// GitHub's schemas. (The binary itself carries no description.)
func TestTestdriveTrafficIsDocumented(t *testing.T) {
	t.Parallel()
	c, err := apispec.GitHubChecker()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	e := &env{stdout: &stdout, stderr: &stderr, sandbox: func(gh *githubtest.Server) { gh.SetChecker(c.Check) }}
	if code := runTestdrive(e, &options{json: true}); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	apispec.Report(t, "testdrive's githubtest", c)
	if len(c.Operations()) < 8 {
		t.Errorf("only %d operations checked: %v", len(c.Operations()), c.Operations())
	}
}

// TestReadmeShowsTheTestdrive: every comment the README shows slipwatch
// posting ("**slipwatch[bot]** · DATE" and its quote) is one the
// testdrive posts that day, word for word (the quote's Markdown read as
// the testdrive prints it). The README says its examples are the exact
// text posted; this keeps that true when the forecast or a template
// changes. The status comment is left out: the README shows it as it
// reads at the end of the story, and the testdrive prints events.
func TestReadmeShowsTheTestdrive(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if code := runTestdrive(&env{stdout: &stdout, stderr: &stderr}, &options{json: true}); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	posted := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(stdout.String()), "\n") {
		var l tdLine
		if err := json.Unmarshal([]byte(line), &l); err == nil && l.Event != "" {
			posted[l.Date+"\n"+l.Body] = true
		}
	}
	head := regexp.MustCompile(`^\*\*slipwatch\[bot\]\*\* · (\d{4}-\d{2}-\d{2})$`)
	lines := strings.Split(string(readme), "\n")
	shown := 0
	for i := 0; i < len(lines); i++ {
		m := head.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		var quote []string
		for i += 2; i < len(lines) && strings.HasPrefix(lines[i], ">"); i++ {
			quote = append(quote, strings.TrimPrefix(strings.TrimPrefix(lines[i], ">"), " "))
		}
		body := plain(strings.Join(quote, "\n"))
		if strings.Contains(body, "Delivery status:") {
			continue
		}
		shown++
		if !posted[m[1]+"\n"+body] {
			t.Errorf("README.md shows, on %s, a comment the testdrive does not post that day:\n%s", m[1], body)
		}
	}
	if shown < 8 {
		t.Fatalf("found %d of slipwatch's comments in README.md: has its layout changed?", shown)
	}
}
