package github

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// repository and installation_repositories deliveries ask for discovery
// when they can change what an owner/* entry finds, and only then.
func TestRepositoryEventsAskForDiscovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, event string
		repos             []string
		app               bool
		want              bool
	}{
		{"created in a watched organisation", "repository.created.json", "repository", []string{"Octocoders/*"}, false, true},
		{"created elsewhere", "repository.created.json", "repository", []string{"acme/*"}, false, false},
		{"created, nothing discovered", "repository.created.json", "repository", []string{"Octocoders/Hello-World"}, false, false},
		{"renamed", "repository.renamed.json", "repository", []string{"octocoders/*"}, false, true},
		{"transferred from anywhere", "repository.transferred.json", "repository", []string{"octocat/*"}, false, true},
		{"installation given a repository", "installation_repositories.added.json", "installation_repositories", []string{"Codertocat/*"}, true, true},
		{"installation lost a repository", "installation_repositories.removed.json", "installation_repositories", []string{"octocat/*"}, true, true},
		{"installation event with a token", "installation_repositories.added.json", "installation_repositories", []string{"Codertocat/*"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := webhookClient(t, func(g *config.GitHub, _ *Options) {
				g.Repos = tt.repos
				if tt.app {
					g.Token = ""
					g.App = &config.App{ID: 1, InstallationID: 2, PrivateKey: config.Secret(testKeyPEM(t))}
				}
			})
			body := payload(t, tt.file)
			ev, err := c.ParseWebhook(delivery(tt.event, "0b989ba4-242f-11e5-81e1-c7b6966d2516", body, sign("current-secret", body)))
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if ev.Discover != tt.want || len(ev.Refs) > 0 || len(ev.Teams) > 0 {
				t.Errorf("event %+v, want Discover %v and nothing else", ev, tt.want)
			}
		})
	}
}

// testKeyPEM is a fresh App private key, PEM.
func testKeyPEM(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// A delivery about a repository of a watched owner that this process has
// not found yet (made moments ago, or before the first look-up) is queued:
// the worker looks the owner up again before it reads.
func TestWebhookOfAnUndiscoveredRepositoryIsQueued(t *testing.T) {
	t.Parallel()
	c := webhookClient(t, func(g *config.GitHub, _ *Options) { g.Repos = []string{"codertocat/*"} })
	body := payload(t, "milestone.closed.json")
	ev, err := c.ParseWebhook(delivery("milestone", "0b989ba4-242f-11e5-81e1-c7b6966d2516", body, sign("current-secret", body)))
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.Ref{{Tracker: connectors.GitHub, Team: hello, Kind: connectors.Milestone, ID: "1"}}
	if diff := cmp.Diff(want, ev.Refs); diff != "" || ev.Discover {
		t.Errorf("event %+v (-want +got refs):\n%s", ev, diff)
	}
}
