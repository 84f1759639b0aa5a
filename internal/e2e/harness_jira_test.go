package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
	"github.com/slipwatch/slipwatch/reconcile"
)

// The sandbox Jira's project, as the config names it.
const (
	jiraProject   = "PLAT"
	jiraProjectID = "10000"
)

// jiraEdition is how one kind of Jira site is deployed: Cloud
// authenticates slipwatch with an email and API token and signs its
// webhooks; Data Center takes a personal access token and cannot sign, so
// its webhook URL carries a token.
type jiraEdition struct {
	name       string
	cloud      bool
	deployment string // jira.deployment
}

// addJira starts the world's sandbox Jira and returns the jira: section
// of the config.
func (w *world) addJira(ed jiraEdition) string {
	w.t.Helper()
	// Index: the daemon's JQL names dates relative to today, so the
	// sandbox answers it by evaluating it, as Jira's index would.
	w.jira = apispec.JiraSandbox(w.t, jiratest.Options{Cloud: ed.cloud, Index: true, Fail: w.t.Errorf})
	w.jira.SetProject(jiraProjectID, jiraProject)
	auth, hook := `{ pat: "${E2E_JIRA_PAT}" }`, `webhook_token: "${E2E_JIRA_WEBHOOK_TOKEN}"`
	w.jira.RequireAuth("Bearer " + jiraPAT)
	w.env = append(w.env, "E2E_JIRA_PAT="+jiraPAT, "E2E_JIRA_WEBHOOK_TOKEN="+jiraHookToken)
	if ed.cloud {
		auth, hook = fmt.Sprintf(`{ email: %q, api_token: "${E2E_JIRA_API_TOKEN}" }`, jiraEmail), `webhook_secret: "${E2E_JIRA_WEBHOOK_SECRET}"`
		w.jira.RequireAuth("Basic " + jiraBasic)
		w.env = append(w.env, "E2E_JIRA_API_TOKEN="+jiraAPIToken, "E2E_JIRA_WEBHOOK_SECRET="+jiraHookSecret)
	}
	return fmt.Sprintf(`
jira:
  base_url: "%s"
  deployment: %s
  auth: %s
  %s
  projects: [%s]
  deliverables: { versions: true, jql: "issuetype = Epic AND duedate is not EMPTY" }
  create_tracking_issue: true
  tracking_label: slipwatch
  tracking_issue_type: Task
  write_interval: 20ms
`, w.jira.URL, ed.deployment, auth, hook, jiraProject)
}

// jiraAuth is how a Jira delivery authenticates itself.
type jiraAuth int

const (
	jiraAuthRight jiraAuth = iota // as the edition's Jira is configured to
	jiraAuthWrong                 // a wrong secret or token
	jiraAuthNone                  // neither signature nor token
)

// sendJira delivers a Jira webhook with the delivery identifier id, and
// returns the status and body (0 when the daemon could not be reached).
func (d *daemon) sendJira(body []byte, id string, a jiraAuth) (int, string) {
	ed := d.w.ed
	u := d.url("/webhooks/jira")
	secret, token := jiraHookSecret, jiraHookToken
	if a == jiraAuthWrong {
		secret, token = "not-"+secret, "not-"+token
	}
	if !ed.cloud && a != jiraAuthNone {
		u += "?token=" + url.QueryEscape(token)
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("User-Agent", "Atlassian Webhook HTTP Client")
	req.Header.Set("X-Atlassian-Webhook-Identifier", id)
	if ed.cloud && a != jiraAuthNone {
		req.Header.Set("X-Hub-Signature", sign(secret, body))
	}
	return do(req)
}

// jiraDeliverable names a deliverable in the sandbox Jira: a version by
// its id, or an issue (an epic) by its key.
type jiraDeliverable struct {
	version string
	epic    string
}

func (jd jiraDeliverable) String() string {
	if jd.version != "" {
		return "version " + jd.version
	}
	return "epic " + jd.epic
}

// jiraThreadIssues are the keys of the issues that are jd's thread: the
// tracking issues of a version (label slipwatch, in the version), or the
// epic.
func (w *world) jiraThreadIssues(jd jiraDeliverable) []string {
	if jd.epic != "" {
		if _, ok := w.jira.Issue(jd.epic); !ok {
			return nil
		}
		return []string{jd.epic}
	}
	var keys []string
	for _, is := range w.jira.Issues() {
		labels, _ := is.Fields["labels"].([]any)
		if !slices.Contains(labels, any("slipwatch")) {
			continue
		}
		versions, _ := is.Fields["fixVersions"].([]any)
		for _, v := range versions {
			if m, _ := v.(map[string]any); m != nil && fmt.Sprint(m["id"]) == jd.version {
				keys = append(keys, is.Key)
			}
		}
	}
	return keys
}

// bySelf reports whether the sandbox's credential user wrote c.
func (w *world) bySelf(c jiratest.Comment) bool {
	self := w.jira.Self()
	if id, ok := self["accountId"]; ok {
		return c.Author["accountId"] == id
	}
	return c.Author["key"] == self["key"]
}

// jiraThread is what is written on jd's thread, as thread is for a
// milestone. Markers are read from the comments' entity property, never
// from their bodies; visible lists what readers could see of a marker
// (text in a body, a slipwatch comment without its property).
func (w *world) jiraThread(jd jiraDeliverable) (thread, []string) {
	keys := w.jiraThreadIssues(jd)
	th := thread{issues: len(keys), events: map[reconcile.EventKind][]string{}}
	var visible []string
	for _, k := range keys {
		for _, c := range w.jira.Comments(k) {
			th.bodies = append(th.bodies, c.Body)
			if strings.Contains(c.Body, "slipwatch:") || strings.Contains(c.Body, "<!--") {
				visible = append(visible, fmt.Sprintf("%s comment %s has marker text in its body", k, c.ID))
			}
			if !w.bySelf(c) {
				continue
			}
			ms := reconcile.ParseMarkers(c.Marker)
			if len(ms) != 1 {
				visible = append(visible, fmt.Sprintf("%s comment %s by slipwatch has %d markers in its property %q", k, c.ID, len(ms), c.Marker))
			}
			for _, m := range ms {
				switch m.Kind {
				case reconcile.MarkerEvent:
					th.events[m.EventKind] = append(th.events[m.EventKind], m.ID)
				case reconcile.MarkerStatus:
					th.statuses++
				}
			}
		}
	}
	return th, visible
}

// jiraStatus is jd's status comment (the first, should there be more).
func (w *world) jiraStatus(jd jiraDeliverable) (jiratest.Comment, bool) {
	for _, k := range w.jiraThreadIssues(jd) {
		for _, c := range w.jira.Comments(k) {
			if !w.bySelf(c) {
				continue
			}
			for _, m := range reconcile.ParseMarkers(c.Marker) {
				if m.Kind == reconcile.MarkerStatus {
					return c, true
				}
			}
		}
	}
	return jiratest.Comment{}, false
}

// jiraStatusLine is the line of jd's status comment containing label,
// with Jira's markup escapes removed ("2026\-12\-01" reads 2026-12-01).
func (w *world) jiraStatusLine(jd jiraDeliverable, label string) string {
	c, ok := w.jiraStatus(jd)
	if !ok {
		return ""
	}
	for line := range strings.SplitSeq(c.Body, "\n") {
		if strings.Contains(line, label) {
			return strings.ReplaceAll(line, `\`, "")
		}
	}
	return ""
}

// jiraExpect is the comments a Jira scenario expects per deliverable.
type jiraExpect map[jiraDeliverable]map[reconcile.EventKind]int

// jiraTally counts the Jira threads as tally counts milestones'; a marker
// readers could see makes its thread bad.
func (w *world) jiraTally(e jiraExpect) figures {
	var f figures
	for jd, kinds := range e {
		th, visible := w.jiraThread(jd)
		f.add(jd.String(), th, kinds)
		f.BadThreads = append(f.BadThreads, visible...)
	}
	return f
}
