package jira

import (
	"context"
	"testing"

	gojira "github.com/andygrunwald/go-jira"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

// TestCanCommitMatchesIdentityNeverEmail: commands.allow names a Jira
// Cloud user by account ID, exactly, and a Data Center user by user name
// or user key; an e-mail address, which users can often change
// themselves, never matches, nor does a display name.
func TestCanCommitMatchesIdentityNeverEmail(t *testing.T) {
	t.Parallel()
	f := newFakeJira(t, true)
	c, _ := newTestClient(t, f, func(_ *config.Jira, o *Options) {
		o.Allow = []string{"557058:aaaa", "jane@example.com", "JSmith", "Jane Doe"}
	})
	tests := []struct {
		name string
		user gojira.User
		want bool
	}{
		{"cloud: the listed account ID", gojira.User{AccountID: "557058:aaaa"}, true},
		{"cloud: an account ID of another case is another account", gojira.User{AccountID: "557058:AAAA"}, false},
		{"cloud: a listed e-mail address", gojira.User{AccountID: "557058:bbbb", EmailAddress: "jane@example.com"}, false},
		{"cloud: a listed display name", gojira.User{AccountID: "557058:cccc", DisplayName: "Jane Doe"}, false},
		{"cloud: an account whose legacy name is listed", gojira.User{AccountID: "557058:dddd", Name: "jsmith"}, false},
		{"datacenter: the listed user name, any case", gojira.User{Name: "jsmith", Key: "JIRAUSER10400"}, true},
		{"datacenter: renamed, the key is listed", gojira.User{Name: "john.smith", Key: "jsmith"}, true},
		{"datacenter: a listed e-mail address", gojira.User{Name: "mallory", Key: "JIRAUSER10300", EmailAddress: "jane@example.com"}, false},
		{"datacenter: a listed display name", gojira.User{Name: "eve", Key: "JIRAUSER10500", DisplayName: "Jane Doe"}, false},
		{"nobody", gojira.User{}, false},
	}
	for _, tt := range tests {
		if got := c.canCommit(&tt.user); got != tt.want {
			t.Errorf("%s: canCommit = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestThreadCommandsByIdentity: through the sandbox, as each edition
// shows its users, a command counts for the user commands.allow names,
// whatever e-mail address the others show; an edited comment is its
// editor's (Jira's updateAuthor), at the edit's time.
func TestThreadCommandsByIdentity(t *testing.T) {
	for _, cloud := range []bool{true, false} {
		name := map[bool]string{true: "cloud", false: "datacenter"}[cloud]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			seedEpic(f)
			f.SetJQL(`parent = "PLAT-12"`, "PLAT-13", "PLAT-14")
			f.SetJQL(`parent = "PLAT-12" OR "Epic Link" = "PLAT-12"`, "PLAT-13", "PLAT-14")
			u := usersFor(cloud)
			// The impostor shows the allowed user's e-mail address (Cloud
			// shows addresses only where users let it; the allowed one
			// hides hers).
			impostor := map[string]any{"accountId": "557058:eeee", "emailAddress": "jane@example.com", "displayName": "Jane"}
			if !cloud {
				impostor = map[string]any{"name": "eve", "key": "JIRAUSER10600", "emailAddress": "jane@example.com", "displayName": "Jane"}
			}
			f.AddComment("PLAT-12", u.allowed, "/commit 2026-07-01 plan", "2026-03-02T10:00:00.000+0000")
			f.AddComment("PLAT-12", impostor, "/commit 2026-07-02", "2026-03-03T10:00:00.000+0000")
			// An allowed user's old comment rewritten by another, and
			// another's old comment rewritten by the allowed user.
			rewritten := f.AddComment("PLAT-12", u.allowed, "Plan looks fine.", "2026-03-04T10:00:00.000+0000")
			f.EditComment(rewritten.ID, u.other, "/commit 2026-09-01", "2026-03-08T10:00:00.000+0000")
			adopted := f.AddComment("PLAT-12", u.other, "Draft: /commit later", "2026-03-05T10:00:00.000+0000")
			f.EditComment(adopted.ID, u.allowed, "/commit 2026-08-01 agreed", "2026-03-09T10:00:00.000+0000")
			c, _ := newTestClient(t, f, func(_ *config.Jira, o *Options) {
				o.Allow = []string{"557058:aaaa", "Jane", "jane@example.com"} // the address must not count
			})
			snap, err := c.Observe(context.Background(), connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"})
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			id := func(m map[string]any) string {
				if a, ok := m["accountId"].(string); ok {
					return a
				}
				return m["name"].(string)
			}
			type seen struct {
				Author, EditedBy, Writer string
				CanCommit                bool
				WrittenAt                string
			}
			var got []seen
			for _, cm := range snap.Thread.Comments {
				got = append(got, seen{cm.Author, cm.EditedBy, cm.Writer(), cm.AuthorCanCommit, cm.WrittenAt().UTC().Format("01-02 15:04")})
			}
			want := []seen{
				{id(u.allowed), "", id(u.allowed), true, "03-02 10:00"},
				{id(impostor), "", id(impostor), false, "03-03 10:00"},
				{id(u.allowed), id(u.other), id(u.other), false, "03-08 10:00"},
				{id(u.other), id(u.allowed), id(u.allowed), true, "03-09 10:00"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCommittedLineAuthor: an issue's Committed: line is whoever last
// changed it, from the changelog (Cloud's /changelog, read from its last
// page; Data Center's expand=changelog), else the issue's creator; an
// edit elsewhere in the description does not change who wrote the line.
// It is read again only when the issue changed.
func TestCommittedLineAuthor(t *testing.T) {
	for _, cloud := range []bool{true, false} {
		name := map[bool]string{true: "cloud", false: "datacenter"}[cloud]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeJira(t, cloud)
			f.SetPageSize(2) // the changelog pages
			u := usersFor(cloud)
			f.AddIssue("PLAT-12", map[string]any{
				"summary": "Checkout v2", "description": "Checkout rewrite.\nCommitted: 2026-12-01", "duedate": "2026-06-30",
				"created": "2026-01-05T09:00:00.000+0000", "updated": "2026-01-05T09:00:00.000+0000", "status": openStatus(),
				"project": map[string]any{"id": "10000", "key": "PLAT"}, "creator": u.allowed,
			})
			f.SetJQL(epicJQL, "PLAT-12")
			f.SetJQL(`parent = "PLAT-12"`)
			f.SetJQL(`parent = "PLAT-12" OR "Epic Link" = "PLAT-12"`)
			f.SetJQL(`project = "PLAT" AND (resolved >= "2026-01-27")`)
			c, _ := newTestClient(t, f, nil)
			ref := connectors.Ref{Tracker: connectors.Jira, Team: "PLAT", Kind: connectors.Issue, ID: "PLAT-12"}
			changelogHits := func() int {
				if cloud {
					return f.Hits("GET /rest/api/2/issue/PLAT-12/changelog")
				}
				return f.Hits("GET /rest/api/2/issue/PLAT-12")
			}
			id := func(m map[string]any) string {
				if a, ok := m["accountId"].(string); ok {
					return a
				}
				return m["name"].(string)
			}
			type by struct {
				Who string
				Can bool
			}
			observe := func(step string, want by) {
				t.Helper()
				snap, err := c.Observe(context.Background(), ref)
				if err != nil {
					t.Fatalf("%s: Observe: %v", step, err)
				}
				if got := (by{snap.Deliverable.DescriptionBy, snap.Deliverable.DescriptionByCanCommit}); got != want {
					t.Errorf("%s: the line is %+v's, want %+v's", step, got, want)
				}
			}

			observe("written at creation by an allowed user", by{id(u.allowed), true})
			reads := changelogHits()
			observe("nothing changed", by{id(u.allowed), true})
			if n := changelogHits(); n != reads {
				t.Errorf("the changelog was read again (%d times) though the issue did not change", n-reads)
			}

			f.EditDescription("PLAT-12", u.other, "Checkout rewrite.\nCommitted: 2026-10-01", "2026-03-01T09:00:00.000+0000")
			observe("the line changed by someone not allowed", by{id(u.other), false})

			// Several edits by the allowed user elsewhere in the
			// description, and other fields' changes: the changelog pages,
			// and the line is still the other's.
			for i, text := range []string{"Checkout rewrite (v2).", "Checkout rewrite (v2, EU).", "Checkout rewrite, EU first."} {
				at := "2026-03-0" + string(rune('2'+i)) + "T09:00:00.000+0000"
				f.EditDescription("PLAT-12", u.allowed, text+"\nCommitted: 2026-10-01", at)
				f.AddHistory("PLAT-12", jiratest.History{Author: u.allowed, Created: at, Items: []jiratest.HistoryItem{{Field: "duedate", FromString: "2026-06-30", ToString: "2026-07-31"}}})
			}
			observe("edits elsewhere by an allowed user", by{id(u.other), false})

			f.EditDescription("PLAT-12", u.allowed, "Checkout rewrite, EU first.\n*Committed:* 2026-11-15", "2026-03-09T09:00:00.000+0000")
			observe("the line changed by the allowed user", by{id(u.allowed), true})

			f.EditDescription("PLAT-12", u.other, "No date any more.", "2026-03-09T10:00:00.000+0000")
			observe("no line: nobody's", by{"", false})
		})
	}
}
