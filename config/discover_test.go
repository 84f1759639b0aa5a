package config

import (
	"strings"
	"testing"
	"time"
)

// github.repos takes owner/* beside owner/name; links and the track
// record's thread may name a repository of such an owner.
func TestOwnerWildcards(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		env  []string
		want string // the error; "" for none
	}{
		{name: "an organisation", file: "github: { token: t, repos: [acme/*] }"},
		{name: "an organisation and a fork of it by name", file: "github: { token: t, repos: [acme/*, acme/fork] }"},
		{name: "by environment", file: "github: { token: t }", env: []string{"SLIPWATCH_GITHUB_REPOS=acme/*, octocat/hello"}},
		{name: "a link into a discovered repository",
			file: "github: { token: t, repos: [acme/*] }\njira: { base_url: https://x.atlassian.net, auth: { pat: p }, projects: [PLAT] }\n" +
				"links: [{ github: \"acme/api#milestone=v1\", jira: \"PLAT/version=1\" }]"},
		{name: "the track record in a discovered repository", file: "github: { token: t, repos: [acme/*] }\ntrack_record: { thread: \"acme/leadership#12\" }"},
		{name: "a link outside", file: "github: { token: t, repos: [acme/*] }\njira: { base_url: https://x.atlassian.net, auth: { pat: p }, projects: [PLAT] }\n" +
			"links: [{ github: \"other/api#milestone=v1\", jira: \"PLAT/version=1\" }]",
			want: `links[0].github: repo "other/api" is not in github.repos`},
		{name: "every owner", file: "github: { token: t, repos: [\"*\"] }", want: `github.repos[0]: "*" is not owner/name`},
		{name: "a partial wildcard", file: "github: { token: t, repos: [acme/api-*] }", want: `github.repos[0]: "acme/api-*" is not owner/name`},
		{name: "twice", file: "github: { token: t, repos: [acme/*, ACME/*] }", want: `github.repos[1]: "ACME/*" is listed twice`},
		{name: "discovery too often", file: "github: { token: t, repos: [acme/*], discover_every: 30s }", want: "github.discover_every: 30s is below 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.file), tt.env)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Parse = %v, want %s", err, tt.want)
			case tt.want == "" && c.GitHub.DiscoverEvery.D() != time.Hour:
				t.Errorf("discover_every = %v, want the default 1h", c.GitHub.DiscoverEvery)
			}
		})
	}
}
