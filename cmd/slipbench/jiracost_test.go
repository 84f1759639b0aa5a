package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The Jira rows hold what issue 22 asks of them on both editions: a warm
// poll with nothing changed is at most one request per project, a changed
// one pays for what changed, and the baselines are not broken (the naive
// poller reads every deliverable again, the stateless one reads all).
func TestJiraCost(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const projects = 2
	res, err := measureJiraCost(ctx, projects, 24)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Editions) != 2 {
		t.Fatalf("%d editions measured, want Cloud and Data Center", len(res.Editions))
	}
	for _, e := range res.Editions {
		name := jiraEditionName(e.Cloud)
		cold, warm, changed := e.Slip[0], e.Slip[1], e.Slip[2]
		if warm > projects {
			t.Errorf("%s: warm poll %d requests for %d projects, want at most one each", name, warm, projects)
		}
		// Per project: the change search, the JQL search, the commented
		// thread and the threads of the versions whose issues were
		// resolved: far below a cold read.
		if changed <= warm || changed >= cold {
			t.Errorf("%s: changed poll %d requests, want between warm %d and cold %d", name, changed, warm, cold)
		}
		if e.Naive[1] < 20*projects {
			t.Errorf("%s: naive warm poll %d requests: the baseline reads too little", name, e.Naive[1])
		}
		if e.Stateless[1] < cold-2 { // the fresh connector asks myself and serverInfo once more
			t.Errorf("%s: stateless warm poll %d requests, cold %d: the baseline remembers", name, e.Stateless[1], cold)
		}
		if per := float64(e.Day) / float64(e.DayPolls*e.DayProjects); per > 1.2 {
			t.Errorf("%s: a day of polls cost %.2f requests per project per poll, want about one", name, per)
		}
	}
	var b strings.Builder
	if err := writeReport(&b, machine{}, []section{jiraCostSection(res)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "≤ 1 per project | PASS") || strings.Contains(b.String(), "| MISS |") {
		t.Errorf("report:\n%s", b.String())
	}
}
