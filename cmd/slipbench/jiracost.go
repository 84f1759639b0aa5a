package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/jira"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// The Jira rows: what a poll cycle costs against the sandbox Jira
// (connectors/jira/jiratest, Cloud and Data Center), for slipwatch's
// connector and two baselines that remember less.

// Each sandbox project: versions (half released) of issues each, with
// a tracking issue; epics with children; support work resolved over the
// window.
const (
	jiraVersions      = 8
	jiraVersionIssues = 30
	jiraEpics         = 3
	jiraEpicChildren  = 10
	jiraSupport       = 30
)

// jiraEditionCost is one edition's figures.
type jiraEditionCost struct {
	Cloud                  bool
	Slip, Naive, Stateless [3]int // requests per cycle: cold, warm, changed
	Day                    int    // slipwatch's requests over DayPolls polls of DayProjects projects, nothing changed
	DayPolls, DayProjects  int
	Resolved, Commented    int // the changed cycle's changes
}

// jiraCostResult is the section's figures.
type jiraCostResult struct {
	Projects int
	Editions []jiraEditionCost
	Took     time.Duration
}

// measureJiraCost runs the cycles on both editions, then dayPolls warm
// polls (26 hours' worth include each project's daily full read).

// jiraCycles name the three measured polls: a cold start, a warm poll with
// nothing changed, and one after a few issues changed.
var jiraCycles = [3]string{"cold", "warm (nothing changed)", "1 % of issues changed"}

func measureJiraCost(ctx context.Context, projects, dayPolls int) (jiraCostResult, error) {
	start := time.Now()
	res := jiraCostResult{Projects: projects}
	for _, cloud := range []bool{true, false} {
		e, err := measureJiraEdition(ctx, cloud, projects, dayPolls)
		if err != nil {
			return res, fmt.Errorf("%s: %w", jiraEditionName(cloud), err)
		}
		res.Editions = append(res.Editions, e)
	}
	res.Took = time.Since(start)
	return res, nil
}

func jiraEditionName(cloud bool) string {
	if cloud {
		return "Jira Cloud"
	}
	return "Jira Data Center"
}

func measureJiraEdition(ctx context.Context, cloud bool, projects, dayPolls int) (jiraEditionCost, error) {
	e := jiraEditionCost{Cloud: cloud}
	clk := &clock{now: time.Date(2026, 9, 7, 9, 0, 0, 0, time.UTC)}
	s := jiratest.New(jiratest.Options{Cloud: cloud, Index: true})
	defer s.Close()
	s.SetNow(clk.Now)
	names := buildJiraWorld(s, clk, projects)

	transport := loopback(8)
	defer transport.CloseIdleConnections()
	cfg := &config.Jira{BaseURL: s.URL, Deployment: config.JiraDataCenter, Projects: names,
		Deliverables:        config.Deliverables{Versions: true, JQL: config.DefaultJiraJQL},
		CreateTrackingIssue: true, TrackingLabel: config.DefaultJiraTrackingLabel, TrackingIssueType: config.DefaultJiraTrackingType,
		Auth: config.Auth{PAT: "slipbench-pat"}}
	if cloud {
		cfg.Deployment, cfg.Auth = config.JiraCloud, config.Auth{Email: "bot@example.com", APIToken: "slipbench-token"}
	}
	newConn := func() (*jira.Client, error) {
		return jira.New(cfg, jira.Options{Transport: transport, Now: clk.Now, Version: "slipbench"})
	}
	slip, err := newConn()
	if err != nil {
		return e, err
	}
	naive := &naiveJira{base: s.URL, cloud: cloud, hc: &http.Client{Transport: transport}, now: clk.Now,
		jql: config.DefaultJiraJQL, label: config.DefaultJiraTrackingLabel, markers: map[string]string{}, throughput: map[string]time.Time{}}
	measure := func(poll func() error) (int, error) {
		n := s.Requests()
		err := poll()
		return s.Requests() - n, err
	}
	for i := range 3 {
		if i == 2 {
			e.Resolved, e.Commented = changeJira(s, clk, names)
		}
		if i > 0 {
			clk.advance(5 * time.Minute)
		}
		if e.Slip[i], err = measure(func() error { return pollCycle(ctx, slip, names) }); err != nil {
			return e, fmt.Errorf("slipwatch %s cycle: %w", jiraCycles[i], err)
		}
		if e.Naive[i], err = measure(func() error { return naive.cycle(ctx, names) }); err != nil {
			return e, fmt.Errorf("naive %s cycle: %w", jiraCycles[i], err)
		}
		fresh, err := newConn()
		if err != nil {
			return e, err
		}
		if e.Stateless[i], err = measure(func() error { return pollCycle(ctx, fresh, names) }); err != nil {
			return e, fmt.Errorf("stateless %s cycle: %w", jiraCycles[i], err)
		}
	}
	// Warm 5-minute polls with nothing changed: the versions list's turns
	// included, and over 26 hours every project's daily full read. Two
	// projects tell the cost per project as well as all would.
	e.DayPolls, e.DayProjects = dayPolls, min(2, len(names))
	n := s.Requests()
	for range e.DayPolls {
		clk.advance(5 * time.Minute)
		if err := pollCycle(ctx, slip, names[:e.DayProjects]); err != nil {
			return e, fmt.Errorf("slipwatch day of polls: %w", err)
		}
	}
	e.Day = s.Requests() - n
	return e, nil
}

// buildJiraWorld fills the sandbox, each thing stamped when it happened so
// that nothing looks recently updated.
func buildJiraWorld(s *jiratest.Server, clk *clock, projects int) []string {
	now := clk.Now()
	defer clk.set(now)
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }
	day := func(days int) time.Time { return now.AddDate(0, 0, days) }
	var self map[string]any
	if s.Cloud() {
		self = map[string]any{"accountId": "5b10a2844c20165700ede21g"}
	} else {
		self = map[string]any{"name": "slipwatch", "key": "JIRAUSER10100"}
	}
	lead := map[string]any{"accountId": "557058:lead", "name": "lead", "key": "JIRAUSER10200"}
	done := map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}}
	todo := map[string]any{"name": "To Do", "statusCategory": map[string]any{"key": "new"}}
	var names []string
	for p := range projects {
		key := fmt.Sprintf("P%02d", p)
		names = append(names, key)
		s.AddProject(key, "")
		n := 0
		add := func(fields map[string]any) string {
			n++
			k := fmt.Sprintf("%s-%d", key, n)
			fields["project"] = map[string]any{"key": key}
			if fields["status"] == nil {
				fields["status"] = todo
			}
			s.AddIssue(k, fields)
			return k
		}
		thread := func(k string, at time.Time) {
			s.AddComment(k, lead, "/commit "+at.AddDate(0, 0, 60).Format(time.DateOnly)+" as agreed", stamp(at))
			c := s.AddComment(k, self, "Status", stamp(at.Add(time.Hour)))
			s.SetMarker(c.ID, "<!-- slipwatch:status id=x v=1 {} -->")
		}
		for v := range jiraVersions {
			released := v < jiraVersions/2
			due := day(14 * (v - jiraVersions/2 + 1))
			id := s.AddVersion(key, jiratest.Version{Name: fmt.Sprintf("%s %d.0", key, v), ReleaseDate: due.Format(time.DateOnly), Released: released})
			in := []any{map[string]any{"id": id}}
			for i := range jiraVersionIssues {
				f := map[string]any{"fixVersions": in, "created": stamp(day(-200 + v*5 + i/3))}
				if released || i < jiraVersionIssues/3 {
					f["status"], f["resolutiondate"] = done, stamp(due.AddDate(0, 0, -1-i%20).Add(-time.Hour))
				}
				add(f)
			}
			t := add(map[string]any{"fixVersions": in, "labels": []any{config.DefaultJiraTrackingLabel}, "summary": "Delivery tracking",
				"created": stamp(day(-100))})
			thread(t, day(-90))
		}
		for ep := range jiraEpics {
			epic := add(map[string]any{"issuetype": map[string]any{"name": "Epic"}, "summary": fmt.Sprintf("Epic %d", ep),
				"duedate": day(30 + 20*ep).Format(time.DateOnly), "created": stamp(day(-120))})
			s.AddComment(epic, lead, "Planned", stamp(day(-110)))
			for i := range jiraEpicChildren {
				f := map[string]any{"created": stamp(day(-100 + i))}
				if s.Cloud() {
					f["parent"] = map[string]any{"key": epic}
				} else {
					f["Epic Link"] = epic
				}
				if i < jiraEpicChildren/3 {
					f["status"], f["resolutiondate"] = done, stamp(day(-1-i*3))
				}
				add(f)
			}
		}
		for i := range jiraSupport {
			add(map[string]any{"status": done, "created": stamp(day(-60)), "resolutiondate": stamp(day(-1 - i*41/jiraSupport))})
		}
	}
	return names
}

// changeJira resolves 1 % of the open issues (at least one per project)
// and comments on one tracking issue per project, at the clock's now.
func changeJira(s *jiratest.Server, clk *clock, names []string) (resolved, commented int) {
	rng := rand.New(rand.NewPCG(22, 11))
	stamp := clk.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
	var open []string
	for _, is := range s.Issues() {
		if is.Fields["resolutiondate"] == nil && is.Fields["labels"] == nil && is.Fields["issuetype"] == nil {
			open = append(open, is.Key)
		}
	}
	rng.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
	pick := open[:max(len(names), len(s.Issues())/100)]
	for _, k := range pick {
		s.UpdateIssue(k, func(f map[string]any) {
			f["status"] = map[string]any{"name": "Done", "statusCategory": map[string]any{"key": "done"}}
			f["resolutiondate"] = stamp
		})
		resolved++
	}
	for _, p := range names {
		for _, is := range s.Issues() {
			if strings.HasPrefix(is.Key, p+"-") && is.Fields["labels"] != nil {
				s.AddComment(is.Key, map[string]any{"accountId": "557058:lead", "name": "lead"}, "/slipwatch status", stamp)
				commented++
				break
			}
		}
	}
	return resolved, commented
}

// naiveJira polls as slipwatch's connector did before its index: per
// project the versions list, the deliverables JQL and the resolved issues
// (reused for five minutes); per version the version, a search for its
// issues and its tracking issue's comments; per epic a search for it, one
// for its children and its comments. It remembers only the markers of
// slipwatch's comments, by comment and update, as that connector did.
type naiveJira struct {
	base, jql, label string
	cloud            bool
	hc               *http.Client
	now              func() time.Time

	mu         sync.Mutex
	markers    map[string]string
	throughput map[string]time.Time
}

type naiveIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Labels []string `json:"labels"`
	} `json:"fields"`
}

func (n *naiveJira) get(ctx context.Context, path string, q url.Values, out any) error {
	u := n.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "slipwatch/naive")
	req.Header.Set("Accept", "application/json")
	res, err := n.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
		return fmt.Errorf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// search pages a JQL search as the edition does.
func (n *naiveJira) search(ctx context.Context, jql, fields string) ([]naiveIssue, error) {
	var all []naiveIssue
	token := ""
	for {
		q := url.Values{"jql": {jql}, "fields": {fields}, "maxResults": {"100"}}
		var res struct {
			Issues        []naiveIssue `json:"issues"`
			Total         int          `json:"total"`
			NextPageToken string       `json:"nextPageToken"`
			IsLast        bool         `json:"isLast"`
		}
		path := "/rest/api/2/search"
		if n.cloud {
			path = "/rest/api/3/search/jql"
			if token != "" {
				q.Set("nextPageToken", token)
			}
		} else {
			q.Set("startAt", strconv.Itoa(len(all)))
		}
		if err := n.get(ctx, path, q, &res); err != nil {
			return nil, err
		}
		all = append(all, res.Issues...)
		if n.cloud {
			if res.IsLast || res.NextPageToken == "" {
				return all, nil
			}
			token = res.NextPageToken
		} else if len(res.Issues) == 0 || len(all) >= res.Total {
			return all, nil
		}
	}
}

func (n *naiveJira) cycle(ctx context.Context, names []string) error {
	return eachRepo(names, func(p string) error {
		if err := n.project(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
}

func (n *naiveJira) project(ctx context.Context, p string) error {
	in := func(jql string) string { return `project = "` + p + `" AND (` + jql + `)` }
	var vs []struct {
		ID       string `json:"id"`
		Archived bool   `json:"archived"`
	}
	if err := n.get(ctx, "/rest/api/2/project/"+p+"/versions", nil, &vs); err != nil {
		return err
	}
	epics, err := n.search(ctx, in(n.jql), "duedate")
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Archived {
			continue
		}
		var one map[string]any
		if err := n.get(ctx, "/rest/api/2/version/"+v.ID, nil, &one); err != nil {
			return err
		}
		items, err := n.search(ctx, in("fixVersion = "+v.ID), "created,updated,resolutiondate,statuscategorychangedate,status,labels")
		if err != nil {
			return err
		}
		for _, is := range items {
			if slices.Contains(is.Fields.Labels, n.label) {
				if err := n.thread(ctx, is.Key); err != nil {
					return err
				}
				break
			}
		}
		if err := n.resolved(ctx, p, in); err != nil {
			return err
		}
	}
	for _, ep := range epics {
		if _, err := n.search(ctx, in(`key = "`+ep.Key+`" AND (`+n.jql+`)`), "summary,description,duedate,created,updated,resolutiondate,statuscategorychangedate,status,project"); err != nil {
			return err
		}
		children := `parent = "` + ep.Key + `"`
		if !n.cloud {
			children += ` OR "Epic Link" = "` + ep.Key + `"`
		}
		if _, err := n.search(ctx, children, "created,updated,resolutiondate,statuscategorychangedate,status,labels"); err != nil {
			return err
		}
		if err := n.thread(ctx, ep.Key); err != nil {
			return err
		}
	}
	return nil
}

// resolved reads the project's resolved issues of the window, at most
// once per five minutes.
func (n *naiveJira) resolved(ctx context.Context, p string, in func(string) string) error {
	now := n.now()
	n.mu.Lock()
	at, ok := n.throughput[p]
	n.mu.Unlock()
	if ok && now.Sub(at) < 5*time.Minute {
		return nil
	}
	from := now.AddDate(0, 0, -42).Format(time.DateOnly)
	if _, err := n.search(ctx, in(`resolved >= "`+from+`"`), "resolutiondate"); err != nil {
		return err
	}
	n.mu.Lock()
	n.throughput[p] = now
	n.mu.Unlock()
	return nil
}

// thread reads an issue's comments, and the marker of each of
// slipwatch's not read before at its current update.
func (n *naiveJira) thread(ctx context.Context, key string) error {
	var res struct {
		Comments []struct {
			ID      string         `json:"id"`
			Updated string         `json:"updated"`
			Author  map[string]any `json:"author"`
		} `json:"comments"`
	}
	if err := n.get(ctx, "/rest/api/2/issue/"+key+"/comment", url.Values{"startAt": {"0"}, "maxResults": {"100"}}, &res); err != nil {
		return err
	}
	for _, c := range res.Comments {
		if c.Author["name"] != "slipwatch" && c.Author["accountId"] != "5b10a2844c20165700ede21g" {
			continue
		}
		memo := c.ID + "@" + c.Updated
		n.mu.Lock()
		_, ok := n.markers[memo]
		n.mu.Unlock()
		if ok {
			continue
		}
		var prop map[string]any
		if err := n.get(ctx, "/rest/api/2/comment/"+c.ID+"/properties/slipwatch", nil, &prop); err != nil {
			return err
		}
		n.mu.Lock()
		n.markers[memo] = fmt.Sprint(prop["value"])
		n.mu.Unlock()
	}
	return nil
}

func jiraCostSection(r jiraCostResult) section {
	s := section{
		Title: "Jira API cost per poll cycle",
		Intro: fmt.Sprintf("%d projects on the sandbox Jira (`connectors/jira/jiratest`, as Cloud and as Data Center: real payload shapes, "+
			"paging, a JQL evaluator, `updated` stamped by Jira's clock), each with %d versions (half released) of %d issues and a tracking issue "+
			"(a lead's /commit and slipwatch's status comment), %d epics of %d children, and %d support issues resolved over the window. "+
			"A cycle is what the daemon does per poll: List every project, Observe every deliverable. **slipwatch** = `connectors/jira` "+
			"(one index per project: a full read, then per poll one search for what changed; the versions list read every 30 minutes in place "+
			"of that search); **naive** = the connector's reads before the index (per project the versions list, the deliverables JQL and the "+
			"resolved issues; per version the version, its issues and its thread; per epic the epic, its children and its thread), rebuilt in "+
			"slipbench; **stateless** = a fresh `connectors/jira` each cycle (a full read every time). Jira charges every request, so every "+
			"request is counted. The changed cycle follows issues resolved (1 %%, at least one per project) and a comment on one thread per project.",
			r.Projects, jiraVersions, jiraVersionIssues, jiraEpics, jiraEpicChildren, jiraSupport),
	}
	per := func(n int) float64 { return float64(n) / float64(r.Projects) }
	for _, e := range r.Editions {
		ed := jiraEditionName(e.Cloud)
		for i, name := range jiraCycles {
			sl, nv, st := per(e.Slip[i]), per(e.Naive[i]), per(e.Stateless[i])
			rw := row{Measure: ed + ", " + name + ": requests per project", Value: num(sl),
				Baseline: num(nv) + " naive / " + num(st) + " stateless", Ratio: ratio(sl, nv) + " / " + ratio(sl, st)}
			switch i {
			case 1:
				rw.Target = "≤ 1 per project"
				rw.Verdict = verdict(e.Slip[i] <= r.Projects)
			case 2:
				rw.Measure = fmt.Sprintf("%s, %d issues resolved and %d threads commented: requests per project", ed, e.Resolved, e.Commented)
			}
			s.Rows = append(s.Rows, rw)
		}
		day := float64(e.Day) / float64(e.DayPolls*e.DayProjects)
		what := "the versions reads included"
		if e.DayPolls >= 26*12 {
			what = "the versions reads and each project's daily full read included"
		}
		hours := (time.Duration(e.DayPolls) * 5 * time.Minute).Hours()
		s.Rows = append(s.Rows, row{Measure: fmt.Sprintf("%s, %d polls (%g h) of %d projects with nothing changed, %s: requests per project per poll",
			ed, e.DayPolls, hours, e.DayProjects, what),
			Value: num(day), Baseline: num(per(e.Naive[1])) + " naive", Ratio: ratio(day, per(e.Naive[1]))})
	}
	s.Notes = append(s.Notes,
		"A warm poll costs slipwatch one request per project: the change search, or every 30 minutes (`jira.versions_every`) the versions list in its place. "+
			"A changed project pays one more search (which changed issues match the deliverables JQL) and one comment list per thread whose issue moved.",
		"Version changes (a release date moved, a release) touch no issue: without a `jira:version_*` webhook they are seen at the next versions read, within `jira.versions_every` plus a poll interval.",
		fmt.Sprintf("Sandbox and cycles took %s (simulated clock: 5 minutes between cycles).", r.Took.Round(100*time.Millisecond)))
	return s
}
