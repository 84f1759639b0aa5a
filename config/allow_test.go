package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCommandsAllowNamesTheTracker: every commands.allow entry says which
// tracker its identity is on. One flat list matched against GitHub logins
// and Jira names let "jsmith", meant for Jira, allow whoever holds the
// GitHub login jsmith. An entry without a tracker is refused with the form
// to write, and e-mail addresses (which users can change themselves) are
// refused outright.
func TestCommandsAllowNamesTheTracker(t *testing.T) {
	t.Parallel()
	const gh = "github: {token: t, repos: [acme/api]}\n"
	tests := []struct {
		name  string
		allow string
		want  []string // problems; none: accepted
	}{
		{name: "scoped entries", allow: `[github:octocat, "jira:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", jira:jsmith, "github:dependabot[bot]"]`},
		{name: "a Data Center user name that is an address", allow: `["jira:jane@acme.example"]`},
		{name: "a bare login", allow: `[jsmith]`,
			want: []string{`commands.allow[0]: "jsmith" names no tracker: write "github:jsmith" or "jira:<account id>"`}},
		{name: "a bare e-mail address", allow: `[ok, "jane@example.com"]`,
			want: []string{
				`commands.allow[0]: "ok" names no tracker: write "github:ok" or "jira:<account id>"`,
				`commands.allow[1]: "jane@example.com" is an e-mail address, which slipwatch never matches (users can change theirs): write "jira:<account id>" (Cloud) or "jira:<user name>" (Data Center)`,
			}},
		{name: "a bare Cloud account ID", allow: `["557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"]`,
			want: []string{`commands.allow[0]: "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077" names no tracker: write "jira:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077" for a Jira Cloud account ID`}},
		{name: "an unknown tracker", allow: `["gitlab:jsmith"]`,
			want: []string{`commands.allow[0]: "gitlab:jsmith" names no tracker ("gitlab" is neither github nor jira): write "github:<login>" or "jira:<account id>"`}},
		{name: "a tracker in capitals is not one", allow: `["GitHub:jsmith"]`,
			want: []string{`commands.allow[0]: "GitHub:jsmith" names no tracker ("GitHub" is neither github nor jira): write "github:<login>" or "jira:<account id>"`}},
		{name: "no identity", allow: `["github:", "jira: jsmith", ""]`,
			want: []string{
				`commands.allow[0]: "github:" has no identity after "github:" (or spaces around it)`,
				`commands.allow[1]: "jira: jsmith" has no identity after "jira:" (or spaces around it)`,
				`commands.allow[2]: is empty`,
			}},
		{name: "not a GitHub login", allow: `["github:jane@example.com", "github:-x"]`,
			want: []string{
				`commands.allow[0]: "github:jane@example.com": "jane@example.com" is not a GitHub login`,
				`commands.allow[1]: "github:-x": "-x" is not a GitHub login`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte("commands: {allow: "+tt.allow+"}\n"+gh), nil)
			var got []string
			if err != nil {
				var es Errors
				if !errors.As(err, &es) {
					t.Fatalf("error is %T, want config.Errors: %v", err, err)
				}
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAllowFor: each connector gets the identities of its own tracker, in
// the order listed, without the prefix.
func TestAllowFor(t *testing.T) {
	t.Parallel()
	c := Commands{Allow: []string{"github:octocat", "jira:jsmith", "jira:557058:f58131cb", "github:Lead-Jane"}}
	if diff := cmp.Diff([]string{"octocat", "Lead-Jane"}, c.AllowFor(AllowGitHub)); diff != "" {
		t.Errorf("github (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"jsmith", "557058:f58131cb"}, c.AllowFor(AllowJira)); diff != "" {
		t.Errorf("jira (-want +got):\n%s", diff)
	}
	if got := (Commands{Allow: []string{"jsmith"}}).AllowFor(AllowGitHub); got != nil {
		t.Errorf("an unscoped entry allows %q on GitHub", got)
	}
}
