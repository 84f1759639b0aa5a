package github

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

func TestEndpointTemplates(t *testing.T) {
	t.Parallel()
	tests := []struct{ base, path, want string }{
		{"/", "/repos/acme/api/milestones", "/repos/{owner}/{repo}/milestones"},
		{"/", "/repos/acme/api/milestones/7", "/repos/{owner}/{repo}/milestones/{number}"},
		{"/api/v3/", "/api/v3/repos/acme/api/issues/42/comments", "/repos/{owner}/{repo}/issues/{number}/comments"},
		{"/", "/repos/acme/api/issues/comments/123456", "/repos/{owner}/{repo}/issues/comments/{number}"},
		{"/", "/repos/acme/api/collaborators/octocat/permission", "/repos/{owner}/{repo}/collaborators/{user}/permission"},
		{"/", "/repositories/515435940/issues", "/repositories/{id}/issues"},
		{"/", "/user", "/user"},
		{"/", "/app/installations/42/access_tokens", "/app/installations/{number}/access_tokens"},
		{"/", "/repos/acme/api/git/refs/heads/main", "/repos/{owner}/{repo}/{x}/{x}/{x}/{x}"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.path+"?page=2", nil)
		if got := endpoint(tt.base, r); got != tt.want {
			t.Errorf("endpoint(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header []string
		want   string
	}{
		{[]string{`<https://api.github.com/repositories/515435940/issues?per_page=3&page=2>; rel="next", <https://api.github.com/repositories/515435940/issues?per_page=3&page=5>; rel="last"`}, "https://api.github.com/repositories/515435940/issues?per_page=3&page=2"},
		{[]string{`<https://api.github.com/repositories/515435940/issues?per_page=3&page=4>; rel="prev", <https://api.github.com/repositories/515435940/issues?per_page=3&page=1>; rel="first"`}, ""},
		{[]string{`<https://x/a?labels=a,b&page=2>; rel="next"`}, "https://x/a?labels=a,b&page=2"},
		{[]string{`<https://x/a?page=1>; rel="prev"`, `<https://x/a?page=3>; rel=next`}, "https://x/a?page=3"},
		{nil, ""},
		{[]string{`garbage`}, ""},
	}
	for _, tt := range tests {
		if got := nextLink(tt.header); got != tt.want {
			t.Errorf("nextLink(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestMetricsSeeTemplatesAndNotModified(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	buildWorld(f)
	var mu sync.Mutex
	var seen []httpx.Observation
	c := newTestClient(t, f, func(_ *config.GitHub, o *Options) {
		o.Observe = func(ob httpx.Observation) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, ob)
		}
	})
	ctx := context.Background()
	for range 2 {
		if _, err := c.Observe(ctx, milestoneRef(repo, 1)); err != nil {
			t.Fatal(err)
		}
		f.advance(viewTTL)
	}
	mu.Lock()
	defer mu.Unlock()
	notModified := 0
	for _, ob := range seen {
		if strings.Contains(ob.Endpoint, "acme") || strings.ContainsAny(ob.Endpoint, "0123456789") {
			t.Errorf("endpoint label %q is not a template", ob.Endpoint)
		}
		if ob.NotModified {
			notModified++
		}
		if ob.Remaining < 0 {
			t.Errorf("%s %s: remaining quota not read", ob.Method, ob.Endpoint)
		}
	}
	if notModified != 3 {
		t.Errorf("%d observations of a 304, want 3 (the second read's lists)", notModified)
	}
}
