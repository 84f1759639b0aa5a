package github

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipwatch/slipwatch/connectors"
)

// TestPullRequestEventsThatMoveCounts: a pull request is an item of its
// milestone, so the pull_request actions that change the milestone's
// counts name it; pushes, reviews and labels do not.
func TestPullRequestEventsThatMoveCounts(t *testing.T) {
	t.Parallel()
	c := webhookClient(t, nil)
	one := []connectors.Ref{{Tracker: connectors.GitHub, Team: hello, Kind: connectors.Milestone, ID: "1"}}
	for _, tt := range []struct {
		action string
		want   []connectors.Ref
	}{
		{"opened", one}, {"closed", one}, {"reopened", one}, {"milestoned", one}, {"demilestoned", one},
		{"synchronize", nil}, {"labeled", nil}, {"review_requested", nil}, {"edited", nil},
	} {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			var p map[string]any
			if err := json.Unmarshal(payload(t, "pull_request.closed.milestone.json"), &p); err != nil {
				t.Fatal(err)
			}
			p["action"] = tt.action
			body, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := c.ParseWebhook(delivery("pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", body, sign("current-secret", body)))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if diff := cmp.Diff(tt.want, ev.Refs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("refs (-want +got):\n%s", diff)
			}
		})
	}
}
