package store

import (
	"context"
	"testing"
)

func TestLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, Options{})
	const link = "acme/api#milestone=v2.0 PLAT/version=2.0"
	if k, err := s.GetLink(ctx, link, "jira"); err != nil || k != "" {
		t.Fatalf("unresolved side = %q, %v; want \"\"", k, err)
	}
	steps := []struct {
		key  string
		news bool
	}{
		{"jira:PLAT/version/10042", true},
		{"jira:PLAT/version/10042", false},
		{"jira:PLAT/version/10077", true}, // the version was recreated
	}
	for _, st := range steps {
		news, err := s.PutLink(ctx, link, "jira", st.key)
		if err != nil || news != st.news {
			t.Errorf("PutLink(%s) = %v, %v; want news %v", st.key, news, err, st.news)
		}
		if k, _ := s.GetLink(ctx, link, "jira"); k != st.key {
			t.Errorf("GetLink = %q, want %q", k, st.key)
		}
	}
	if k, _ := s.GetLink(ctx, link, "github"); k != "" {
		t.Errorf("the other side resolved to %q without being put", k)
	}
}
