package reconcile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slipwatch/slipwatch/connectors"
)

// TestStatusFitsTheTrackers: a record with 700 alternating recommitments,
// each with the longest reason, by a login full of markup, and a title
// full of it too. The status comment the pass writes, as each connector
// writes it, stays within the tracker's limit, and its marker still
// restores the record.
func TestStatusFitsTheTrackers(t *testing.T) {
	for _, tr := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
		t.Run(string(tr), func(t *testing.T) {
			r := alternating(goldenRecord(longTitle), 700)
			r.Ref.Tracker = tr
			r.ID = CommitmentID(r.Ref)
			due, _ := r.Target()
			d := connectors.Deliverable{Ref: r.Ref, Title: longTitle, DueDate: due}
			th := connectors.Thread{ID: "acme/api#100"}
			_, actions, _ := Reconcile(r, Observation{Snapshot: connectors.Snapshot{Deliverable: d, Thread: &th}}, t1102.AddDate(0, 0, 1), settings())
			var status *Action
			for i := range actions {
				if actions[i].Kind == UpsertStatus {
					status = &actions[i]
				}
			}
			if status == nil {
				t.Fatalf("no status comment among %v", kindsOf(actions))
			}
			written, limit := utf16Len(status.Body), MaxJiraComment
			if tr == connectors.GitHub {
				written, limit = utf16Len(status.Body+"\n\n"+status.Marker), MaxGitHubComment
			}
			t.Logf("%s: %d characters written of %d, marker %d bytes", tr, written, limit, len(status.Marker))
			if written > limit {
				t.Errorf("the status comment is %d characters, over %s's %d", written, tr, limit)
			}
			if !strings.Contains(status.Body, "691 earlier dates not shown") {
				t.Errorf("the history is not capped:\n%s", status.Body)
			}
			ms := settings().Markers.Verified(status.Marker)
			if len(ms) != 1 || ms[0].Record == nil || ms[0].Record.Commitments[0].Date != d1201 {
				t.Errorf("the marker does not restore the first promise")
			}
		})
	}
}

// TestTrackRecordFitsTheTrackers: a track record of 2,000 teams is cut to
// the tracker's limit, at a line, saying so.
func TestTrackRecordFitsTheTrackers(t *testing.T) {
	var teams []TeamRecord
	for i := range 2000 {
		teams = append(teams, TeamRecord{Tracker: "github", Team: fmt.Sprintf("acme/service-with-a-long-name-%04d", i), Commitments: 9,
			Delivered: 7, OnTime: 5, OnTimeShare: 5.0 / 7, MedianSlipDays: 3, MeanSlipDays: 4.5, Recommitments: 4, RecommitsPerItem: 4.0 / 9, OpenAtRisk: 1})
	}
	for _, tr := range []connectors.Tracker{connectors.GitHub, connectors.Jira} {
		a, ok := TrackRecordPost(tr, &connectors.Thread{ID: "acme/leadership#1"}, t1102, settings(), teams)
		if !ok {
			t.Fatal("no track record")
		}
		written, limit := utf16Len(a.Body), MaxJiraComment
		if tr == connectors.GitHub {
			written, limit = utf16Len(a.Body+"\n\n"+a.Marker), MaxGitHubComment
		}
		if written > limit || written < limit-2000 || !strings.Contains(a.Body, "cut to fit the tracker's limit") {
			t.Errorf("%s: track record of %d characters (limit %d), cut note %v", tr, written, limit, strings.Contains(a.Body, "cut to fit"))
		}
	}
}

func TestFitCutsAtALine(t *testing.T) {
	line := strings.Repeat("é🟢", 50) + "\n" // 150 UTF-16 units a line
	body := strings.Repeat(line, 1000)
	got := fitWithin(connectors.GitHub, body, "<!-- m -->", 10000)
	if n := utf16Len(got) + 2 + len("<!-- m -->"); n > 10000 {
		t.Errorf("%d characters, over 10000", n)
	}
	kept, _, _ := strings.Cut(got, "\n**Cut to fit**")
	if kept == "" || strings.Count(kept, line) != strings.Count(kept, "\n") {
		t.Errorf("not cut at a line: %q", kept[max(0, len(kept)-40):])
	}
	if short := Shorten(connectors.Jira, Action{Body: body}); utf16Len(short.Body) > shortComment {
		t.Errorf("shortened to %d characters", utf16Len(short.Body))
	}
	if got := fitWithin(connectors.Jira, "small", "m", 100); got != "small" {
		t.Errorf("a body that fits was changed: %q", got)
	}
}
