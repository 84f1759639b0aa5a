package store

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPollSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	teams := []string{"github:acme/api", "github:acme/web", "jira:PLAT"}
	if added, removed, err := s.SyncPolls(ctx, teams, now); err != nil || added != 3 || removed != 0 {
		t.Fatalf("first sync: added %d removed %d, %v; want 3 cold teams", added, removed, err)
	}
	if added, _, _ := s.SyncPolls(ctx, teams, now.Add(time.Minute)); added != 0 {
		t.Errorf("a second sync added %d teams again", added)
	}
	cold, _ := s.ColdPolls(ctx, 10)
	if diff := cmp.Diff(teams, sorted(cold)); diff != "" {
		t.Errorf("cold (-want +got):\n%s", diff)
	}

	// A pace of 25 with first polls costing 10: two start, the third waits
	// for credit.
	pace := Pace{Rate: 1, Burst: 25}
	var polls []PollStart
	for _, k := range cold {
		polls = append(polls, PollStart{Key: k, Cost: 10, Every: 5 * time.Minute})
	}
	started, err := s.StartPolls(ctx, "github", now, pace, polls)
	if err != nil || len(started) != 2 {
		t.Fatalf("started %v, %v; want two within the credit", started, err)
	}
	if again, _ := s.StartPolls(ctx, "github", now, pace, polls); len(again) != 0 {
		t.Errorf("started %v again at the same instant: no credit left and the others are no longer cold", again)
	}
	// Five seconds later the credit is 5+5: enough for the third.
	if late, _ := s.StartPolls(ctx, "github", now.Add(5*time.Second), pace, polls); len(late) != 1 || late[0] != cold[2] {
		t.Errorf("five seconds later started %v, want %s", late, cold[2])
	}
	st, _ := s.PollStats(ctx)
	if st.Scheduled != 3 || st.Cold != 0 || !st.NextDue.Equal(now.Add(5*time.Minute)) {
		t.Errorf("stats %+v, want three scheduled, the first due an interval on", st)
	}
	msgs, err := s.Read(ctx, "A", 10, 50*time.Millisecond)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("the stream has %v, %v; want the three polls", msgs, err)
	}

	// Nothing is due before its time; a team's next poll moves with
	// SchedulePoll and only forward with PullPolls.
	if due, _ := s.DuePolls(ctx, now.Add(time.Minute), 10); len(due) != 0 {
		t.Errorf("due after a minute: %v", due)
	}
	_ = s.SchedulePoll(ctx, "github:acme/api", now.Add(time.Hour))
	_ = s.PullPolls(ctx, map[string]time.Time{"github:acme/api": now.Add(2 * time.Hour), "jira:PLAT": now.Add(time.Minute)})
	due, _ := s.DuePolls(ctx, now.Add(30*time.Minute), 10)
	if diff := cmp.Diff([]string{"jira:PLAT", "github:acme/web"}, due); diff != "" {
		t.Errorf("due at 09:30, earliest first (-want +got):\n%s", diff)
	}
	if due, _ := s.DuePolls(ctx, now.Add(time.Hour), 10); len(due) != 3 {
		t.Errorf("due at 10:00: %v, want all three (PullPolls never pushes back)", due)
	}

	// A dropped team leaves with its statistics and is not scheduled again.
	_ = s.PutTeamState(ctx, "jira:PLAT", []byte(`{"n":1}`))
	_ = s.AddTeamSpend(ctx, "jira:PLAT", 4, now)
	if _, removed, _ := s.SyncPolls(ctx, teams[:2], now); removed != 1 {
		t.Errorf("removed %d, want jira:PLAT", removed)
	}
	_ = s.SchedulePoll(ctx, "jira:PLAT", now)
	if st, _ := s.PollStats(ctx); st.Scheduled != 2 {
		t.Errorf("%d scheduled after dropping one, want 2", st.Scheduled)
	}
	if data, a, _ := s.TeamState(ctx, "jira:PLAT"); data != nil || a.Spent != 0 {
		t.Errorf("dropped team kept state %s, activity %+v", data, a)
	}
}

func TestPollPaceShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var teams []string
	for _, n := range "abcdefghij" {
		teams = append(teams, "github:acme/"+string(n))
	}
	_, _, _ = s.SyncPolls(ctx, teams, now)
	var polls []PollStart
	for _, k := range teams {
		polls = append(polls, PollStart{Key: k, Cost: 1, Every: time.Minute})
	}
	// Two replicas at the same instant draw on one credit and one
	// per-minute cap.
	pace := Pace{Rate: 0, Burst: 100, PerMinute: 4}
	a, _ := s.StartPolls(ctx, "github", now, pace, polls)
	b, _ := s.StartPolls(ctx, "github", now.Add(time.Second), pace, polls)
	if len(a)+len(b) != 4 {
		t.Errorf("replicas started %d and %d in one minute, want 4 in all", len(a), len(b))
	}
	c, _ := s.StartPolls(ctx, "github", now.Add(time.Minute), pace, polls)
	if len(c) != 4 {
		t.Errorf("the next minute started %d, want 4", len(c))
	}
	// Another bucket has its own credit.
	_, _, _ = s.SyncPolls(ctx, append(teams, "jira:PLAT"), now)
	if j, _ := s.StartPolls(ctx, "jira", now.Add(time.Minute), Pace{Rate: -1}, []PollStart{{Key: "jira:PLAT", Cost: 1e9}}); len(j) != 1 {
		t.Errorf("an unlimited pace started %v", j)
	}
}

func TestTeamActivityAndHeartbeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	_ = s.AddTeamSpend(ctx, "github:acme/api", 3, time.Time{})
	_ = s.AddTeamSpend(ctx, "github:acme/api", 2, now)
	_ = s.MarkHooks(ctx, map[string]time.Time{"github:acme/web": now.Add(time.Minute)})
	got, err := s.Activity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]TeamActivity{
		"github:acme/api": {Spent: 5, Wrote: now},
		"github:acme/web": {Hook: now.Add(time.Minute)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("activity (-want +got):\n%s", diff)
	}
	if n, _ := s.Heartbeat(ctx, "A", now, 30*time.Second); n != 1 {
		t.Errorf("one replica counts %d", n)
	}
	if n, _ := s.Heartbeat(ctx, "B", now.Add(10*time.Second), 30*time.Second); n != 2 {
		t.Errorf("two replicas count %d", n)
	}
	if n, _ := s.Heartbeat(ctx, "B", now.Add(50*time.Second), 30*time.Second); n != 1 {
		t.Errorf("after A fell silent: %d, want 1", n)
	}
	_ = s.Leave(ctx, "B")
	if n, _ := s.Heartbeat(ctx, "C", now.Add(51*time.Second), 30*time.Second); n != 1 {
		t.Errorf("after B left: %d, want 1", n)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
