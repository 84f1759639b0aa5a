package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// TestCheckAnOrganisation: with github.repos: [acme/*] check looks the
// organisation up, reports every repository it found, and says what it
// found, in text and in JSON.
func TestCheckAnOrganisation(t *testing.T) {
	t.Parallel()
	gh, cfg := sandbox(t)
	gh.AddOrg("acme")
	gh.SetRepo(githubtest.Repo{Name: "acme/web"})
	gh.AddMilestone("acme/web", githubtest.Milestone{Title: "w1"})
	gh.SetRepo(githubtest.Repo{Name: "acme/attic", Archived: true})
	gh.AddMilestone("acme/attic", githubtest.Milestone{Title: "a1"})
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(data), "repos: [acme/api]", "repos: [acme/*]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t, "")
	env := []string{"GITHUB_TOKEN=ghp_check_token"}
	stdout, stderr, code := runBinary(t, bin, env, "check", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"acme/api milestone v2.0", "acme/web milestone w1", "github acme/*: 2 repositories\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "acme/attic") {
		t.Errorf("check reports the archived repository:\n%s", stdout)
	}
	stdout, _, code = runBinary(t, bin, env, "check", "--config", cfg, "--json")
	var out struct {
		Discovered []struct {
			Tracker, Pattern string
			Found            int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &out); code != 0 || err != nil {
		t.Fatalf("check --json: exit %d, %v:\n%s", code, err, stdout)
	}
	if len(out.Discovered) != 1 || out.Discovered[0].Tracker != "github" || out.Discovered[0].Pattern != "acme/*" || out.Discovered[0].Found != 2 {
		t.Errorf("discovered %+v", out.Discovered)
	}
}
