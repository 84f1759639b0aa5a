package reconcile

import "testing"

func TestViewLabel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ key, team, title, want string }{
		{"github:acme/api/milestone/3", "acme/api", "v2.0", "acme/api milestone v2.0"},
		{"jira:PLAT/version/10010", "PLAT", "2.0", "PLAT version 2.0"},
		{"jira:PLAT/issue/PLAT-12", "PLAT", "Checkout v2", "PLAT-12 Checkout v2"},
	} {
		if got := (View{Key: tt.key, Team: tt.team, Title: tt.title}).Label(); got != tt.want {
			t.Errorf("Label(%s) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
