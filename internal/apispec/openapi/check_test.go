package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testSpec is a small description in the trimmed format, in GitHub's
// manner: every check below is judged against it.
const testSpec = `{"source":{"title":"test"},
"operations":[
{"id":"list-issues","method":"GET","path":"/repos/{owner}/{repo}/issues","params":[{"name":"state","in":"query","schema":{"type":"string","enum":["open","closed","all"]}},{"name":"per_page","in":"query","schema":{"type":"integer"}},{"name":"milestone","in":"query"}],"full":true,
 "responses":{"200":{"content":{"application/json":{"schema":{"type":"array","items":{"$ref":"#/components/schemas/issue"}}}}},"404":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/basic-error"}}}}}},
{"id":"create-issue","method":"POST","path":"/repos/{owner}/{repo}/issues","body":{"required":true,"content":["application/json"],"properties":["labels","milestone","title"],
 "schema":{"type":"object","required":["title"],"properties":{"title":{"oneOf":[{"type":"string"},{"type":"integer"}]},"milestone":{"nullable":true,"oneOf":[{"type":"string"},{"type":"integer"}]},"labels":{"type":"array","items":{"oneOf":[{"type":"string"},{"type":"object","properties":{"name":{"type":"string"}}}]}}}}},
 "full":true,"responses":{"201":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/issue"}}}}}},
{"id":"list-repo-comments","method":"GET","path":"/repos/{owner}/{repo}/issues/comments","full":true,"responses":{"200":{"content":{"application/json":{"schema":{"type":"array"}}}}}},
{"id":"get-issue","method":"GET","path":"/repos/{owner}/{repo}/issues/{issue_number}","params":[{"name":"issue_number","in":"path","schema":{"type":"integer"}}]},
{"id":"set-thing","method":"PUT","path":"/things/{id}","body":{"content":["application/json"],"properties":["a","b"]}},
{"id":"download","method":"GET","path":"/files/{name}.zip"}
],
"schemas":{
"basic-error":{"type":"object","properties":{"message":{"type":"string"}}},
"issue":{"type":"object","required":["id","title","state","milestone"],"properties":{"id":{"type":"integer"},"title":{"type":"string"},"state":{"type":"string","enum":["open","closed"]},"milestone":{"allOf":[{"$ref":"#/components/schemas/nullable-milestone"}]},"labels":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"}}}}}},
"nullable-milestone":{"type":"object","nullable":true,"required":["number"],"properties":{"number":{"type":"integer"}}}
}}`

func newTestSpec(t *testing.T) *Spec {
	t.Helper()
	var f File
	if err := json.Unmarshal([]byte(testSpec), &f); err != nil {
		t.Fatal(err)
	}
	return NewSpec("test", f)
}

func TestCheckRequest(t *testing.T) {
	s := newTestSpec(t)
	tests := []struct {
		name, method, path, query, body string
		wantOp                          string
		want                            []string
	}{
		{name: "documented", method: "GET", path: "/repos/acme/api/issues", query: "state=all&per_page=100&milestone=*", wantOp: "list-issues"},
		{name: "no such path", method: "GET", path: "/repos/acme/api/pulls",
			want: []string{"no such operation is documented"}},
		{name: "method not documented", method: "DELETE", path: "/repos/acme/api/issues",
			want: []string{"no such operation is documented (the path is documented for GET, POST)"}},
		{name: "a literal segment wins over a parameter", method: "GET", path: "/repos/acme/api/issues/comments", wantOp: "list-repo-comments"},
		{name: "path parameter of its type", method: "GET", path: "/repos/acme/api/issues/7", wantOp: "get-issue"},
		{name: "path parameter of another type", method: "GET", path: "/repos/acme/api/issues/seven", wantOp: "get-issue",
			want: []string{`path parameter "issue_number" = "seven": not an integer`}},
		{name: "parameter inside a segment", method: "GET", path: "/files/report.zip", wantOp: "download"},
		{name: "escaped slash stays in its segment", method: "GET", path: "/repos/acme/a%2Fb/issues", wantOp: "list-issues"},
		{name: "undocumented query parameter", method: "GET", path: "/repos/acme/api/issues", query: "state=open&assignee=me", wantOp: "list-issues",
			want: []string{`query parameter "assignee" is not documented`}},
		{name: "value outside the enum", method: "GET", path: "/repos/acme/api/issues", query: "state=done", wantOp: "list-issues",
			want: []string{`query parameter "state" = "done": not one of ["open","closed","all"]`}},
		{name: "not an integer", method: "GET", path: "/repos/acme/api/issues", query: "per_page=many", wantOp: "list-issues",
			want: []string{`query parameter "per_page" = "many": not an integer`}},
		{name: "body as documented", method: "POST", path: "/repos/acme/api/issues", wantOp: "create-issue",
			body: `{"title":"Delivery tracking: v2.0","milestone":7,"labels":["slipwatch",{"name":"x"}]}`},
		{name: "null where nullable", method: "POST", path: "/repos/acme/api/issues", wantOp: "create-issue", body: `{"title":"t","milestone":null}`},
		{name: "undocumented body property", method: "POST", path: "/repos/acme/api/issues", wantOp: "create-issue",
			body: `{"title":"t","assignee":"octocat"}`, want: []string{`request body $: property "assignee" is not documented`}},
		{name: "undocumented property of a nested object", method: "POST", path: "/repos/acme/api/issues", wantOp: "create-issue",
			body: `{"title":"t","labels":[{"name":"a","colour":"red"}]}`, want: []string{`request body $.labels[0]: property "colour" is not documented`}},
		{name: "body property of the wrong type", method: "POST", path: "/repos/acme/api/issues", wantOp: "create-issue",
			body: `{"title":true}`, want: []string{`request body $.title: matches none of oneOf: #0 request body $.title: boolean, want string; #1 request body $.title: boolean, want integer`}},
		{name: "required body property missing", method: "POST", path: "/repos/acme/api/issues", wantOp: "create-issue",
			body: `{"milestone":1}`, want: []string{`request body $: required property "title" is missing`}},
		{name: "required body missing", method: "POST", path: "/repos/acme/api/issues", wantOp: "create-issue",
			want: []string{"the request body is required but none was sent"}},
		{name: "body where none is documented", method: "GET", path: "/repos/acme/api/issues", body: `{}`, wantOp: "list-issues",
			want: []string{"a request body was sent but none is documented"}},
		{name: "body property not listed", method: "PUT", path: "/things/1", body: `{"a":1,"c":2}`, wantOp: "set-thing",
			want: []string{`request body property "c" is not documented`}},
		{name: "body not JSON", method: "PUT", path: "/things/1", body: `{"a":`, wantOp: "set-thing",
			want: []string{"the request body is not JSON: unexpected EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := map[string][]string{}
			if tt.query != "" {
				r := httptest.NewRequest(tt.method, tt.path+"?"+tt.query, nil)
				q = r.URL.Query()
			}
			op, got := s.CheckRequest(tt.method, tt.path, q, "application/json", []byte(tt.body))
			gotOp := ""
			if op != nil {
				gotOp = op.ID
			}
			if gotOp != tt.wantOp {
				t.Errorf("operation %q, want %q", gotOp, tt.wantOp)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	s := newTestSpec(t)
	list, _, _ := s.Operation("GET", "/repos/a/b/issues")
	get, _, _ := s.Operation("GET", "/repos/a/b/issues/1")
	const issue = `{"id":1,"title":"t","state":"open","milestone":{"number":3}}`
	tests := []struct {
		name   string
		op     *Operation
		status int
		ctype  string
		body   string
		want   []string
	}{
		{name: "valid", op: list, status: 200, body: `[` + issue + `]`},
		{name: "null where the schema is nullable", op: list, status: 200, body: `[{"id":1,"title":"t","state":"open","milestone":null}]`},
		{name: "a property the schema does not list", op: list, status: 200, body: `[{"id":1,"title":"t","state":"open","milestone":null,"type":"Bug"}]`},
		{name: "required property missing", op: list, status: 200, body: `[{"id":1,"title":"t","state":"open"}]`,
			want: []string{`$[0]: required property "milestone" is missing`}},
		{name: "several missing", op: list, status: 200, body: `[{"id":1}]`,
			want: []string{`$[0]: required properties "title", "state", "milestone" are missing`}},
		{name: "null where not nullable", op: list, status: 200, body: `[{"id":1,"title":null,"state":"open","milestone":null}]`,
			want: []string{`$[0].title: null, but the schema does not allow null`}},
		{name: "wrong type", op: list, status: 200, body: `[{"id":"1","title":"t","state":"open","milestone":null}]`,
			want: []string{`$[0].id: string "1", want integer`}},
		{name: "integer written as a float", op: list, status: 200, body: `[{"id":1.0,"title":"t","state":"open","milestone":null}]`},
		{name: "not an integer", op: list, status: 200, body: `[{"id":1.5,"title":"t","state":"open","milestone":null}]`,
			want: []string{`$[0].id: number 1.5, want integer`}},
		{name: "outside the enum", op: list, status: 200, body: `[{"id":1,"title":"t","state":"merged","milestone":null}]`,
			want: []string{`$[0].state: "merged" is not one of ["open","closed"]`}},
		{name: "through a reference", op: list, status: 200, body: `[{"id":1,"title":"t","state":"open","milestone":{"number":"3"}}]`,
			want: []string{`$[0].milestone.number: string "3", want integer`}},
		{name: "documented error", op: list, status: 404, body: `{"message":"Not Found"}`},
		{name: "undocumented status", op: list, status: 500, body: `{}`,
			want: []string{"status 500 is not documented for GET /repos/{owner}/{repo}/issues (list-issues) (documented: 200, 404)"}},
		{name: "not JSON", op: list, status: 200, body: `<html>`,
			want: []string{"the answer is not JSON: invalid character '<' looking for beginning of value"}},
		{name: "no body", op: list, status: 200, body: ``,
			want: []string{"the answer has no body; the description documents a JSON one"}},
		{name: "another media type", op: list, status: 200, ctype: "text/html", body: `x`,
			want: []string{`answer of type "text/html", documented: application/json`}},
		{name: "operation without kept answers", op: get, status: 200, body: issue,
			want: []string{`the trimmed description keeps no answers of GET /repos/{owner}/{repo}/issues/{issue_number} (get-issue): add "get-issue" to the trim command's list and regenerate testdata`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ctype
			if ct == "" {
				ct = "application/json; charset=utf-8"
			}
			got := s.CheckResponse(tt.op, tt.status, ct, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func exchange(method, target, reqBody string, status int, respBody string) (*http.Request, *http.Response) {
	req := httptest.NewRequest(method, target, strings.NewReader(reqBody))
	req.Header.Set("Content-Type", "application/json")
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader([]byte(respBody)))}
	return req, resp
}

// TestChecker: what a Checker records of the exchanges it is shown.
func TestChecker(t *testing.T) {
	s := newTestSpec(t)
	c := NewChecker([]*Spec{s}, Options{
		Path: func(p string) string { return strings.TrimPrefix(p, "/api/v3") },
		Alias: func(p string) (string, bool) {
			rest, ok := strings.CutPrefix(p, "/repositories/42/")
			return "/repos/by/id/" + rest, ok
		},
		Differences: []Difference{{Status: http.StatusNotModified, Method: http.MethodGet, Reason: "conditional GETs"}},
	})
	const good = `[{"id":1,"title":"t","state":"open","milestone":null}]`
	const bad = `[{"id":1,"title":"t","state":"merged","milestone":null}]`
	for _, x := range []struct {
		method, target, body string
		status               int
		answer               string
		canned               bool
	}{
		{"GET", "/api/v3/repos/acme/api/issues?state=open", "", 200, good, false},
		{"GET", "/api/v3/repos/acme/api/issues", "", 304, "", false},                 // allowed difference
		{"GET", "/repositories/42/issues?page=2&per_page=100", "", 200, good, false}, // alias; page is not documented here
		{"GET", "/api/v3/repos/acme/api/issues", "", 502, "<html>", true},            // canned: the answer is a test's
		{"GET", "/api/v3/repos/acme/api/issues", "", 200, bad, false},
		{"GET", "/api/v3/repos/acme/web/issues", "", 200, bad, false}, // the same problem again
		{"POST", "/api/v3/repos/acme/api/issues", `{"title":"t","body":"b"}`, 201, `{"id":2,"title":"t","state":"open","milestone":null}`, false},
		{"GET", "/api/v3/repos/acme/api/pulls", "", 404, `{}`, false},
	} {
		req, resp := exchange(x.method, x.target, x.body, x.status, x.answer)
		c.Check(req, resp, x.canned)
		// The caller can still read both bodies.
		if b, _ := io.ReadAll(resp.Body); string(b) != x.answer {
			t.Errorf("%s %s: answer body after Check = %q", x.method, x.target, b)
		}
	}
	want := []string{
		`test: request GET /repos/{owner}/{repo}/issues (list-issues): query parameter "page" is not documented`,
		`test: GET /repos/{owner}/{repo}/issues (list-issues) answered 200: $[*].state: "merged" is not one of ["open","closed"] (2 times)`,
		`test: request POST /repos/{owner}/{repo}/issues (create-issue): request body $: property "body" is not documented`,
		`test: GET /api/v3/repos/acme/api/pulls: no such operation is documented`,
	}
	if diff := cmp.Diff(want, c.Violations()); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	if got := c.Operations()["test GET /repos/{owner}/{repo}/issues (list-issues)"]; got != 5 {
		t.Errorf("answers of list-issues checked: %d, want 5 (all but the canned one)", got)
	}
}
