package jira

import (
	"net/http"
	"strings"
)

// endpoint is the request path as a template, for metric labels with a
// bounded number of values: "/rest/api/2/issue/{key}/comment".
func endpoint(r *http.Request) string {
	p := r.URL.Path
	// OAuth calls go to /ex/jira/<cloud id>/rest/...; a site may live under
	// a context path (/jira/rest/...). Both end where the REST path starts.
	if i := strings.Index(p, "/rest/"); i >= 0 {
		p = p[i:]
	} else {
		return "other"
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i := 1; i < len(segs); i++ {
		switch segs[i-1] {
		case "issue", "project":
			segs[i] = "{key}"
		case "version", "comment":
			segs[i] = "{id}"
		case "properties":
			segs[i] = "{property}"
		}
	}
	// Paths outside what slipwatch calls stay bounded too.
	if len(segs) > 8 {
		segs = append(segs[:8], "…")
	}
	return "/" + strings.Join(segs, "/")
}
