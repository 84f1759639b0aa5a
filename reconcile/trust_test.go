package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwatch/slipwatch/connectors"
)

// statusBody is the status comment as the thread shows it now.
func (w *world) statusBody() string {
	for _, c := range w.thread.Comments {
		if c.BySelf && strings.Contains(c.Hidden, "slipwatch:status") {
			return c.Body
		}
	}
	return ""
}

func (w *world) promises() []string {
	var out []string
	for _, c := range w.rec.Commitments {
		out = append(out, c.Date.String()+" "+string(c.Source)+" by "+c.By+" at "+c.At.Format("01-02 15:04"))
	}
	return out
}

// TestDeclaredLineObeysCommitRules: a "Committed:" line is held to the
// rules of /commit. A date in the past is not taken, and the status
// comment says why (it used to become the promise: "Committed:
// 2020-01-01" made the deliverable overdue at once). A line written by
// someone who may not commit is not taken either (on Jira anyone with Edit
// Issues can edit a description); once someone who may commit writes it,
// it settles like any new line.
func TestDeclaredLineObeysCommitRules(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	steps := []struct {
		name       string
		at         time.Time
		before     func()
		want       []EventKind
		wantStatus string // a line the status comment must show; "" none of the notes
	}{
		{"first sight: the baseline", day("2026-11-02"), nil, []EventKind{EvCommitted, EvStatus}, ""},
		{"a date in the past", day("2026-11-03"), func() { w.d.Description = "Committed: 2020-01-01" }, []EventKind{EvStatus},
			"The description's Committed: 2020-01-01 is in the past; not taken."},
		{"still in the past an hour later", day("2026-11-03").Add(2 * time.Hour), nil, nil,
			"The description's Committed: 2020-01-01 is in the past; not taken."},
		{"yesterday is past too", day("2026-11-04"), func() { w.d.Description = "Committed: 2026-11-03" }, []EventKind{EvStatus},
			"The description's Committed: 2026-11-03 is in the past; not taken."},
		{"written by someone who may not commit", day("2026-11-05"), func() {
			w.d.Description, w.d.DescriptionBy, w.d.DescriptionByCanCommit = "Committed: 2027-06-01", "mallory", false
		}, []EventKind{EvStatus}, "The description's Committed: 2027-06-01 was written by mallory, who may not record a commitment; not taken."},
		{"and it never settles into a promise", day("2026-11-06"), nil, nil,
			"The description's Committed: 2027-06-01 was written by mallory, who may not record a commitment; not taken."},
		{"rewritten by someone who may: it settles", day("2026-11-07"), func() {
			w.d.Description, w.d.DescriptionBy, w.d.DescriptionByCanCommit = "Committed: 2026-12-20", "jane", true
		}, []EventKind{EvStatus}, ""},
		{"an hour later: the recommitment, hers", day("2026-11-07").Add(time.Hour), nil, []EventKind{EvRecommitted, EvStatus}, ""},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		got := w.step(st.at)
		if !slices.Contains(st.want, EvStatus) {
			got = slices.DeleteFunc(got, func(k EventKind) bool { return k == EvStatus })
		}
		if diff := cmp.Diff(st.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: actions (-want +got):\n%s", st.name, diff)
		}
		status := w.statusBody()
		switch {
		case st.wantStatus != "" && !strings.Contains(unescapeMarkdown(status), st.wantStatus):
			t.Errorf("%s: the status comment does not say %q:\n%s", st.name, st.wantStatus, status)
		case st.wantStatus == "" && strings.Contains(status, "not taken"):
			t.Errorf("%s: the status comment still names a line not taken:\n%s", st.name, status)
		}
	}
	want := []string{
		"2026-12-01 baseline_first_seen by slipwatch at 11-02 09:00",
		"2026-12-20 declared_description by jane at 11-07 09:00",
	}
	if diff := cmp.Diff(want, w.promises()); diff != "" {
		t.Errorf("commitments (-want +got):\n%s", diff)
	}
}

// unescapeMarkdown undoes the escaping render gives user text, enough to
// compare a sentence.
func unescapeMarkdown(s string) string {
	return strings.NewReplacer(`\-`, "-", `\_`, "_", `\*`, "*", "\u200b", "").Replace(s)
}

// TestDeclaredLineOnJiraSaysWho: on Jira, the status comment names the
// user who wrote a line not taken, in wiki markup.
func TestDeclaredLineOnJiraSaysWho(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.d.Ref = connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}
	w.d.Description, w.d.DescriptionBy, w.d.DescriptionByCanCommit = "Checkout.\n*Committed:* 2027-01-15", "557058:bbbb", false
	w.step(day("2026-11-02"))
	if c, _ := w.rec.Commitment(); c.Source != BaselineFirstSeen {
		t.Errorf("commitment %+v, want the baseline: the line's writer may not commit", c)
	}
	if !strings.Contains(w.statusBody(), "written by 557058:bbbb, who may not record a commitment; not taken.") {
		t.Errorf("status comment:\n%s", w.statusBody())
	}
	// With the line by someone who may commit, it is the first promise.
	w2 := newWorld(t, "2026-12-01", 10, 2)
	w2.d.Ref = w.d.Ref
	w2.d.Description, w2.d.DescriptionBy, w2.d.DescriptionByCanCommit = "Checkout.\n*Committed:* 2027-01-15", "557058:aaaa", true
	w2.step(day("2026-11-02"))
	if diff := cmp.Diff([]string{"2027-01-15 declared_description by 557058:aaaa at 11-02 09:00"}, w2.promises()); diff != "" {
		t.Errorf("commitments (-want +got):\n%s", diff)
	}
}

// TestDeclaredLineInAnExampleIsNoPromise: a "Committed:" line in a code
// block or a quote of the description is an example, as for commands.
func TestDeclaredLineInAnExampleIsNoPromise(t *testing.T) {
	tests := []struct {
		name    string
		tracker connectors.Tracker
		desc    string
		want    string // the date declared, "" none
	}{
		{"plain", connectors.GitHub, "Release train.\n**Committed to leadership:** 2026-12-10", "2026-12-10"},
		{"a list item", connectors.GitHub, "- Committed: 2026-12-10", "2026-12-10"},
		{"fenced", connectors.GitHub, "How to promise:\n```\nCommitted: 2026-12-10\n```", ""},
		{"indented", connectors.GitHub, "How to promise:\n\n    Committed: 2026-12-10", ""},
		{"quoted", connectors.GitHub, "> Committed: 2026-12-10", ""},
		{"hidden", connectors.GitHub, "<!-- Committed: 2026-12-10 -->", ""},
		{"the last plain one wins", connectors.GitHub, "Committed: 2026-12-10\n```\nCommitted: 2026-12-31\n```", "2026-12-10"},
		{"jira plain", connectors.Jira, "*Committed:* 2026-12-10", "2026-12-10"},
		{"jira code", connectors.Jira, "{code}\nCommitted: 2026-12-10\n{code}", ""},
		{"jira noformat", connectors.Jira, "{noformat}Committed: 2026-12-10{noformat}", ""},
		{"jira quote", connectors.Jira, "{quote}\nCommitted: 2026-12-10\n{quote}", ""},
		{"jira bq.", connectors.Jira, "bq. Committed: 2026-12-10", ""},
	}
	for _, tt := range tests {
		d, ok := declaredDate(tt.tracker, tt.desc)
		got := ""
		if ok {
			got = d.String()
		}
		if got != tt.want {
			t.Errorf("%s: declaredDate(%q) = %q, want %q", tt.name, tt.desc, got, tt.want)
		}
	}
}

// TestEditedCommand: a /commit made by editing an old comment is made at
// the edit, not when the comment was first written: it is recorded at the
// edit's time and taken in that order. It used to be recorded at the
// comment's creation, ahead of commands written in between, which then
// overruled it.
func TestEditedCommand(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.step(day("2026-11-02"))
	// Two comments in a row; the first is edited into a command after the
	// second was written, and both are seen in one pass.
	w.comment("jane", true, "Plan looks fine.", day("2026-11-03"))
	w.comment("jane", true, "/commit 2026-12-15 vendor late", day("2026-11-03").Add(time.Hour))
	edited := &w.thread.Comments[len(w.thread.Comments)-2]
	edited.Body, edited.UpdatedAt = "/commit 2026-12-22 vendor later still", day("2026-11-04")
	got := w.step(day("2026-11-04").Add(time.Hour))
	if n := countKind(got, EvRecommitted); n != 2 {
		t.Errorf("actions %v, want two recommitments", got)
	}
	want := []string{
		"2026-12-01 baseline_first_seen by slipwatch at 11-02 09:00",
		"2026-12-15 declared_command by jane at 11-03 10:00",
		"2026-12-22 declared_command by jane at 11-04 09:00", // the edit's time, and the last word
	}
	if diff := cmp.Diff(want, w.promises()); diff != "" {
		t.Errorf("commitments (-want +got):\n%s", diff)
	}

	// An edit of the reason alone is not a new command; an edit of the date
	// is, at its own time.
	edited = &w.thread.Comments[slices.IndexFunc(w.thread.Comments, func(c connectors.Comment) bool { return c.Body == "/commit 2026-12-22 vendor later still" })]
	edited.Body, edited.UpdatedAt = "/commit 2026-12-22 the vendor is later still", day("2026-11-05")
	if got := w.step(day("2026-11-05").Add(time.Hour)); countKind(got, EvReply) != 0 || countKind(got, EvRecommitted) != 0 {
		t.Errorf("editing the reason: actions %v, want none", got)
	}
	edited.Body, edited.UpdatedAt = "/commit 2027-01-10 vendor", day("2026-11-06")
	w.step(day("2026-11-06").Add(time.Hour))
	if c, _ := w.rec.Commitment(); c.Date.String() != "2027-01-10" || !c.At.Equal(day("2026-11-06")) {
		t.Errorf("commitment %+v, want 2027-01-10 at the edit", c)
	}
}

// TestEditedCommandIsTheEditors: on Jira, a comment someone else edited
// is the editor's: the editor must be allowed, and is the one recorded.
func TestEditedCommandIsTheEditors(t *testing.T) {
	w := newWorld(t, "2026-12-01", 10, 2)
	w.d.Ref = connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}
	w.step(day("2026-11-02"))
	// jane's old comment, rewritten by mallory (who may not commit): the
	// connector says so with EditedBy and AuthorCanCommit.
	w.thread.Comments = append(w.thread.Comments, connectors.Comment{ID: "j1", Author: "jane", EditedBy: "mallory",
		Body: "/commit 2027-03-01", CreatedAt: day("2026-11-03"), UpdatedAt: day("2026-11-04"), AuthorCanCommit: false})
	// mallory's old comment, rewritten by jane (who may).
	w.thread.Comments = append(w.thread.Comments, connectors.Comment{ID: "j2", Author: "mallory", EditedBy: "jane",
		Body: "/commit 2026-12-20 agreed", CreatedAt: day("2026-11-03"), UpdatedAt: day("2026-11-05"), AuthorCanCommit: true})
	w.step(day("2026-11-05").Add(time.Hour))
	want := []string{
		"2026-12-01 baseline_first_seen by slipwatch at 11-02 09:00",
		"2026-12-20 declared_command by jane at 11-05 09:00",
	}
	if diff := cmp.Diff(want, w.promises()); diff != "" {
		t.Errorf("commitments (-want +got):\n%s", diff)
	}
	var refusal string
	for _, c := range w.thread.Comments {
		if c.BySelf && strings.Contains(c.Body, "may not record") {
			refusal = c.Body
		}
	}
	if !strings.Contains(refusal, "mallory may not record a commitment") {
		t.Errorf("the refusal names not the editor:\n%s", refusal)
	}
}

// TestDescriptionFlipFlop: 700 edits of the description alternating two
// dates, a pass after each (as webhooks cause), do not make 699
// recommitments: a date must stand Settle, and going back to the date
// taken is no change. Measured at a few paces; the figure is in
// docs/reliability.md.
func TestDescriptionFlipFlop(t *testing.T) {
	for _, pace := range []time.Duration{10 * time.Second, 5 * time.Minute, 59 * time.Minute} {
		t.Run(pace.String(), func(t *testing.T) {
			w := newWorld(t, "2027-06-01", 10, 2)
			w.d.Description = "Committed: 2026-12-01"
			at := day("2026-11-02")
			w.step(at)
			recommits, longest := 0, 0
			for i := range 700 {
				date := "2026-12-15"
				if i%2 == 1 {
					date = "2026-12-01"
				}
				w.d.Description = "Committed: " + date
				at = at.Add(pace)
				recommits += countKind(w.step(at), EvRecommitted)
				longest = max(longest, len(w.statusBody()))
			}
			// The last edit (back to the first date) stands: no change.
			recommits += countKind(w.step(at.Add(2*time.Hour)), EvRecommitted)
			t.Logf("700 edits %s apart: %d recommitted, %d commitments, status comment at most %d characters", pace, recommits, len(w.rec.Commitments), longest)
			if recommits > 3 {
				t.Errorf("%d recommitments from 700 edits %s apart, want at most a handful", recommits, pace)
			}
		})
	}
}

func ExampleParseCommand() {
	for _, body := range []string{
		"/commit 2026-12-01 the vendor is late",
		"To record a promise, write:\n```\n/commit 2026-12-01 reason\n```",
		"> /commit 2026-12-01\n\nThat was last quarter's.",
	} {
		c, ok := ParseCommand(connectors.GitHub, body)
		fmt.Printf("%v %q %q\n", ok, c.Verb, c.Reason)
	}
	// Output:
	// true "commit" "the vendor is late"
	// false "" ""
	// false "" ""
}
