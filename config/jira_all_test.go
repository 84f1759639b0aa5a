package config

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// jira.projects: ["*"] is every project the account can browse; it stands
// alone, and a link or the track-record thread may name any project.
func TestJiraAllProjects(t *testing.T) {
	t.Parallel()
	const head = "jira: {base_url: https://acme.atlassian.net, auth: {pat: p}, "
	tests := []struct {
		name string
		file string
		env  []string
		want []string // problems; nil: valid
		all  bool
	}{
		{name: "every project", file: head + `projects: ["*"]}` + "\n", all: true},
		{name: "every project from the environment", file: head + "projects: [PLAT]}\n", env: []string{"SLIPWATCH_JIRA_PROJECTS=*"}, all: true},
		{name: "a link to any project", all: true, file: head + `projects: ["*"]}` + "\ngithub: {token: t, repos: [acme/api]}\n" +
			"links: [{github: 'acme/api#milestone=v2', jira: 'OPS/version=2.0'}]\n"},
		{name: "star beside keys", file: head + `projects: [PLAT, "*"]}` + "\n",
			want: []string{`jira.projects[1]: "*" (every project the account can browse) stands alone; drop the other keys`}},
		{name: "a pattern is no key", file: head + `projects: ["PL*"]}` + "\n",
			want: []string{`jira.projects[0]: "PL*" is not a Jira project key (e.g. PLAT) or "*"`}},
		{name: "intervals too short", file: head + `projects: ["*"], discover_every: 30s, versions_every: 0s}` + "\n",
			want: []string{`jira.discover_every: 30s is under 1m0s`, `jira.versions_every: 0s is under 1m0s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.file), tt.env)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got := c.Jira.AllProjects(); got != tt.all {
					t.Errorf("AllProjects = %v, want %v", got, tt.all)
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse = %v, want config.Errors", err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJiraIntervalDefaults(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("jira: {base_url: https://acme.atlassian.net, auth: {pat: p}, projects: [PLAT], discover_every: 2h}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Jira.DiscoverEvery.D(), 2*time.Hour; got != want {
		t.Errorf("discover_every = %v, want %v", got, want)
	}
	if got, want := c.Jira.VersionsEvery.D(), DefaultJiraVersionsEvery; got != want {
		t.Errorf("versions_every = %v, want the default %v", got, want)
	}
}
