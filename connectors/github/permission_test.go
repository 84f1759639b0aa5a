package github

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// commitVerdict observes the world's milestone and says whether the last
// comment on its thread may commit, and that it is the one expected.
func commitVerdict(t *testing.T, c *Client, f *sandbox, ms int, body string) bool {
	t.Helper()
	// The repository's lists are reused for viewTTL: a poll comes later.
	f.advance(viewTTL)
	snap, err := c.Observe(context.Background(), milestoneRef(repo, ms))
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	cs := snap.Thread.Comments
	last := cs[len(cs)-1]
	if last.Body != body {
		t.Fatalf("last comment %q, want %q", last.Body, body)
	}
	return last.AuthorCanCommit
}

// TestRemovedCollaboratorStopsCommittingWithinMinutes: a collaborator's
// permission is remembered for at most five minutes. It was an hour, in
// which a collaborator removed from the repository could still record a
// promise.
func TestRemovedCollaboratorStopsCommittingWithinMinutes(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ms := w.ms
	if !commitVerdict(t, c, f, ms, "/commit 2026-06-01") {
		t.Fatal("the world's last command (Dana, in commands.allow) may not commit")
	}
	lookups := func() int { return f.Hits("GET /repos/acme/api/collaborators/alice/permission") }
	if n := lookups(); n != 1 {
		t.Fatalf("alice's permission read %d times, want once", n)
	}

	// alice is removed from the repository (her role falls back to read).
	f.SetPermission(repo, "alice", "read")
	f.AddComment(repo, w.tracking, "alice", "/commit 2026-04-20 one more")
	if !commitVerdict(t, c, f, ms, "/commit 2026-04-20 one more") {
		t.Error("a permission read 30 s ago was not reused")
	}
	if n := lookups(); n != 1 {
		t.Errorf("alice's permission read %d times within the cache time, want once", n)
	}

	f.advance(5 * time.Minute)
	f.AddComment(repo, w.tracking, "alice", "/commit 2026-04-25 and another")
	if commitVerdict(t, c, f, ms, "/commit 2026-04-25 and another") {
		t.Errorf("alice, removed %s ago, may still commit", 5*time.Minute+2*viewTTL)
	}

	// Her earlier command keeps the verdict it was given: it was judged
	// once, and its permission is not asked again on every poll.
	f.advance(5 * time.Minute)
	f.AddComment(repo, w.tracking, "carol", "thanks")
	f.advance(viewTTL)
	snap, err := c.Observe(context.Background(), milestoneRef(repo, ms))
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range snap.Thread.Comments {
		if cm.Body == "/commit 2026-04-20 one more" && !cm.AuthorCanCommit {
			t.Error("a command judged once was judged again")
		}
	}
	if n := lookups(); n != 2 {
		t.Errorf("alice's permission read %d times, want twice (one per new command past the cache time)", n)
	}
}

// TestAccessWebhooksForgetPermissions: a member, membership, organization
// or team delivery drops what is remembered of the user's permission, so
// the next command is judged on a fresh read, not within five minutes.
func TestAccessWebhooksForgetPermissions(t *testing.T) {
	t.Parallel()
	// The fields slipwatch reads of each event, in GitHub's payload shape
	// (GitHub's webhook reference; the rest of a payload is ignored).
	repository := map[string]any{"full_name": repo, "name": "api", "owner": map[string]any{"login": "acme"}}
	org := map[string]any{"login": "acme"}
	tests := []struct {
		event   string
		payload map[string]any
	}{
		{"member", map[string]any{"action": "removed", "member": map[string]any{"login": "Alice", "type": "User"},
			"repository": repository, "sender": map[string]any{"login": "admin"}}},
		{"membership", map[string]any{"action": "removed", "scope": "team", "member": map[string]any{"login": "alice"},
			"team": map[string]any{"name": "backend", "slug": "backend"}, "organization": org, "sender": map[string]any{"login": "admin"}}},
		{"organization", map[string]any{"action": "member_removed", "membership": map[string]any{"state": "active", "role": "member",
			"user": map[string]any{"login": "alice"}}, "organization": org, "sender": map[string]any{"login": "admin"}}},
		{"team", map[string]any{"action": "removed_from_repository", "team": map[string]any{"name": "backend", "slug": "backend"},
			"repository": repository, "organization": org, "sender": map[string]any{"login": "admin"}}},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			w := buildWorld(f)
			c := newTestClient(t, f, nil)
			f.AddComment(repo, w.tracking, "alice", "/commit 2026-04-20 first")
			if !commitVerdict(t, c, f, w.ms, "/commit 2026-04-20 first") {
				t.Fatal("alice (write) may not commit")
			}
			f.SetPermission(repo, "alice", "read")
			body, err := json.Marshal(tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := c.ParseWebhook(delivery(tt.event, "d-"+tt.event, body, sign("current-secret", body)))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if len(ev.Refs) != 0 || len(ev.Teams) != 0 {
				t.Errorf("an access change asks to reconcile %v %v", ev.Refs, ev.Teams)
			}
			f.AddComment(repo, w.tracking, "alice", "/commit 2026-04-25 second")
			if commitVerdict(t, c, f, w.ms, "/commit 2026-04-25 second") {
				t.Errorf("after a %s delivery, alice's permission was still the remembered one", tt.event)
			}
		})
	}
}

// The connector says a milestone's description may declare a commitment:
// editing a milestone takes write permission.
func TestMilestoneDescriptionByCanCommit(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	snap, err := c.Observe(context.Background(), connectors.Ref{Tracker: connectors.GitHub, Team: repo, Kind: connectors.Milestone, ID: strconv.Itoa(w.ms)})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.Deliverable.DescriptionByCanCommit {
		t.Error("a milestone's description is not trusted, though only writers can edit it")
	}
}
