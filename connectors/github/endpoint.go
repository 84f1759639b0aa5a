package github

import (
	"net/http"
	"strings"
)

// pathWords are the literal path segments kept in an endpoint template;
// anything else becomes a placeholder, so the metric label set stays small
// whatever URLs a Link header brings.
var pathWords = map[string]bool{
	"repos": true, "repositories": true, "milestones": true, "issues": true, "comments": true,
	"collaborators": true, "permission": true, "labels": true, "user": true, "users": true,
	"app": true, "installations": true, "access_tokens": true, "rate_limit": true, "search": true,
}

// endpoint is the template of r's path under the API root basePath:
// "/repos/{owner}/{repo}/issues/{number}/comments".
func endpoint(basePath string, r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(basePath, "/"))
	segs := strings.Split(strings.Trim(p, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		switch {
		case i == 1 && segs[0] == "repos":
			out = append(out, "{owner}")
		case i == 2 && segs[0] == "repos":
			out = append(out, "{repo}")
		case i == 1 && segs[0] == "repositories":
			out = append(out, "{id}")
		case i > 0 && (segs[i-1] == "collaborators" || segs[i-1] == "users"):
			out = append(out, "{user}")
		case isDigits(s):
			out = append(out, "{number}")
		case pathWords[s]:
			out = append(out, s)
		default:
			out = append(out, "{x}")
		}
	}
	return "/" + strings.Join(out, "/")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// nextLink is the rel="next" target of a Link header, verbatim: GitHub's
// next pages may live under another path (/repositories/{id}/issues), and
// following them as given keeps each page's URL — and so its cache
// entry — the same from one poll to the next.
func nextLink(header []string) string {
	for _, h := range header {
		for rest := h; ; {
			start := strings.IndexByte(rest, '<')
			if start < 0 {
				break
			}
			end := strings.IndexByte(rest[start:], '>')
			if end < 0 {
				break
			}
			target := rest[start+1 : start+end]
			rest = rest[start+end+1:]
			params := rest
			if next := strings.IndexByte(rest, '<'); next >= 0 {
				params = rest[:next]
			}
			params = strings.TrimRight(strings.TrimSpace(params), ",")
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
					if rel == "next" {
						return target
					}
				}
			}
		}
	}
	return ""
}
