package jiratest_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipwatch/slipwatch/internal/apispec"

	"github.com/google/go-cmp/cmp"

	"github.com/slipwatch/slipwatch/connectors/jira/jiratest"
)

func newServer(t *testing.T, cloud bool) *jiratest.Server {
	t.Helper()
	s := apispec.JiraSandbox(t, jiratest.Options{Cloud: cloud, Fail: t.Errorf})
	return s
}

// do sends a request as slipwatch would and returns the status, the
// ETag and the body.
func do(t *testing.T, s *jiratest.Server, method, path string, header map[string]string, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "slipwatch/test")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// Not http.DefaultClient: another parallel test's Server.Close closes
	// the default transport's idle connections, which can break this
	// request as it takes one.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("ETag"), string(b)
}

func releaseDateOf(t *testing.T, body, id string) any {
	t.Helper()
	var vs []map[string]any
	if err := json.Unmarshal([]byte(body), &vs); err != nil {
		t.Fatalf("versions list %s: %v", body, err)
	}
	for _, v := range vs {
		if v["id"] == id {
			return v["releaseDate"]
		}
	}
	t.Fatalf("version %s not in %s", id, body)
	return nil
}

// A test moves a version's date; the connector, revalidating the list
// with the ETag it has, must be told it changed.
func TestVersionChangeChangesETag(t *testing.T) {
	tests := []struct {
		name  string
		cloud bool
		setup func(s *jiratest.Server) string // returns the version to move
		move  func(s *jiratest.Server, id string)
	}{
		{name: "added, SetReleaseDate", cloud: true,
			setup: func(s *jiratest.Server) string {
				return s.AddVersion("PLAT", jiratest.Version{Name: "v2", ReleaseDate: "2026-06-01"})
			},
			move: func(s *jiratest.Server, id string) { s.SetReleaseDate(id, "2026-07-15") }},
		{name: "added, UpdateVersion", cloud: false,
			setup: func(s *jiratest.Server) string {
				s.AddVersion("PLAT", jiratest.Version{Name: "v1", ReleaseDate: "2026-03-01", Released: true})
				return s.AddVersion("PLAT", jiratest.Version{Name: "v2", ReleaseDate: "2026-06-01"})
			},
			move: func(s *jiratest.Server, id string) {
				s.UpdateVersion(id, func(v map[string]any) { v["releaseDate"] = "2026-07-15" })
			}},
		{name: "from a file, SetReleaseDate", cloud: false,
			setup: func(s *jiratest.Server) string {
				s.SetVersionsFile("PLAT", "project-versions.server.json")
				return "12323557"
			},
			move: func(s *jiratest.Server, id string) { s.SetReleaseDate(id, "2026-07-15") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tt.cloud)
			id := tt.setup(s)
			const list = "/rest/api/2/project/PLAT/versions"

			status, etag, _ := do(t, s, "GET", list, nil, "")
			if status != http.StatusOK || etag == "" {
				t.Fatalf("GET versions = %d with ETag %q, want 200 with an ETag", status, etag)
			}
			if status, _, _ := do(t, s, "GET", list, map[string]string{"If-None-Match": etag}, ""); status != http.StatusNotModified {
				t.Fatalf("GET versions with the current ETag = %d, want 304", status)
			}

			tt.move(s, id)
			status, etag2, body := do(t, s, "GET", list, map[string]string{"If-None-Match": etag}, "")
			if status != http.StatusOK || etag2 == etag {
				t.Fatalf("GET versions after the move = %d with ETag %q (was %q), want 200 with a new ETag", status, etag2, etag)
			}
			if got := releaseDateOf(t, body, id); got != "2026-07-15" {
				t.Errorf("releaseDate in the list = %v, want 2026-07-15", got)
			}
			_, _, one := do(t, s, "GET", "/rest/api/2/version/"+id, nil, "")
			if got := releaseDateOf(t, "["+one+"]", id); got != "2026-07-15" {
				t.Errorf("releaseDate of GET /version/%s = %v, want 2026-07-15", id, got)
			}
		})
	}
}

// Writes counts what a tracker would have acted on: 2xx answers to POST,
// PUT and DELETE, canned ones included; reads and refused writes are not.
func TestWrites(t *testing.T) {
	s := newServer(t, false)
	s.AddIssue("PLAT-3", nil)
	c := s.AddComment("PLAT-3", s.Self(), "hello", "2026-03-01T10:00:00.000+0000")
	s.Queue("POST /rest/api/2/issue/PLAT-3/comment", jiratest.Response{Status: 503, Body: `{"errorMessages":["down"]}`})
	s.Queue("DELETE /rest/api/2/comment/"+c.ID+"/properties/slipwatch", jiratest.Response{Status: 204})
	steps := []struct {
		method, path, body string
		wantStatus         int
		wantWrites         int
	}{
		{method: "GET", path: "/rest/api/2/issue/PLAT-3/comment", wantStatus: 200, wantWrites: 0},
		{method: "POST", path: "/rest/api/2/issue/PLAT-3/comment", body: `{"body":"x"}`, wantStatus: 503, wantWrites: 0},
		{method: "POST", path: "/rest/api/2/issue/PLAT-3/comment", body: `{"body":"x"}`, wantStatus: 201, wantWrites: 1},
		{method: "POST", path: "/rest/api/2/issue/PLAT-3/comment", body: `{}`, wantStatus: 400, wantWrites: 1},
		{method: "PUT", path: "/rest/api/2/comment/" + c.ID + "/properties/slipwatch", body: `{"marker":"m"}`, wantStatus: 201, wantWrites: 2},
		{method: "PUT", path: "/rest/api/2/comment/" + c.ID + "/properties/slipwatch", body: `{"marker":"m2"}`, wantStatus: 200, wantWrites: 3},
		{method: "PUT", path: "/rest/api/2/issue/PLAT-3/comment/" + c.ID, body: `{"body":"edited"}`, wantStatus: 200, wantWrites: 4},
		{method: "PUT", path: "/rest/api/2/issue/PLAT-3/comment/999", body: `{"body":"edited"}`, wantStatus: 404, wantWrites: 4},
		{method: "DELETE", path: "/rest/api/2/comment/" + c.ID + "/properties/slipwatch", wantStatus: 204, wantWrites: 5},
		{method: "POST", path: "/rest/api/2/issue", body: `{"fields":{"project":{"key":"PLAT"},"summary":"t"}}`, wantStatus: 201, wantWrites: 6},
	}
	for i, st := range steps {
		status, _, body := do(t, s, st.method, st.path, nil, st.body)
		if status != st.wantStatus {
			t.Fatalf("step %d: %s %s = %d %s, want %d", i, st.method, st.path, status, body, st.wantStatus)
		}
		if got := s.Writes(); got != st.wantWrites {
			t.Errorf("step %d: after %s %s Writes = %d, want %d", i, st.method, st.path, got, st.wantWrites)
		}
	}
	if m, ok := s.Marker(c.ID); !ok || m != "m2" {
		t.Errorf("Marker = %q, %v; want m2", m, ok)
	}
	want := []jiratest.Comment{
		{ID: c.ID, Issue: "PLAT-3", Author: s.Self(), Body: "edited", Created: c.Created, Updated: "2026-03-10T09:01:00.000+0000", Marker: "m2"},
		{ID: "20003", Issue: "PLAT-3", Author: s.Self(), Body: "x", Created: "2026-03-10T09:00:00.000+0000", Updated: "2026-03-10T09:00:00.000+0000"},
	}
	if diff := cmp.Diff(want, s.Comments("PLAT-3")); diff != "" {
		t.Errorf("Comments (-want +got):\n%s", diff)
	}
}

func keysOf(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}

func firstOfFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rest", name))
	if err != nil {
		t.Fatal(err)
	}
	var vs []json.RawMessage
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs[0]
}

// What the sandbox builds must carry every field of the real payloads,
// or a connector could come to rely on a field only the fake lacks.
func TestShapes(t *testing.T) {
	missing := func(real, built []string) []string {
		var out []string
		for _, k := range real {
			if !slices.Contains(built, k) {
				out = append(out, k)
			}
		}
		return out
	}
	for _, tt := range []struct {
		cloud bool
		file  string
	}{{cloud: true, file: "project-versions.cloud.json"}, {cloud: false, file: "project-versions.server.json"}} {
		s := newServer(t, tt.cloud)
		id := s.AddVersion("PLAT", jiratest.Version{Name: "v2", Description: "d", ReleaseDate: "2026-06-01", Released: true})
		_, _, body := do(t, s, "GET", "/rest/api/2/version/"+id, nil, "")
		if diff := cmp.Diff([]string(nil), missing(keysOf(t, firstOfFile(t, tt.file)), keysOf(t, []byte(body)))); diff != "" {
			t.Errorf("%s: fields AddVersion leaves out (-want +got):\n%s", tt.file, diff)
		}
		var v struct{ ProjectID json.Number }
		if err := json.Unmarshal([]byte(body), &v); err != nil || v.ProjectID == "" {
			t.Errorf("projectId of %s = %q, %v: want a number, as Jira writes it", body, v.ProjectID, err)
		}
	}

	s := newServer(t, false)
	s.AddIssue("PLAT-3", nil)
	_, _, body := do(t, s, "POST", "/rest/api/2/issue/PLAT-3/comment", nil, `{"body":"x"}`)
	real, err := os.ReadFile(filepath.Join("testdata", "rest", "comment.created.v2.json"))
	if err != nil {
		t.Fatal(err)
	}
	// visibility is there only on restricted comments.
	if diff := cmp.Diff([]string{"visibility"}, missing(keysOf(t, real), keysOf(t, []byte(body)))); diff != "" {
		t.Errorf("fields a created comment leaves out (-want +got):\n%s", diff)
	}
}

// TestIndex: with Options.Index, an issue slipwatch created is found by the
// query slipwatch sends for it, and a JQL Jira would refuse gets its 400.
func TestIndex(t *testing.T) {
	t.Parallel()
	s := apispec.JiraSandbox(t, jiratest.Options{Cloud: true, Index: true, Fail: t.Errorf})
	s.AddIssue("PLAT-1", map[string]any{"project": map[string]any{"key": "PLAT"}, "issuetype": map[string]any{"name": "Epic"}, "duedate": "2026-12-01"})
	status, _, _ := do(t, s, http.MethodPost, "/rest/api/2/issue", nil,
		`{"fields":{"project":{"key":"PLAT"},"summary":"Delivery tracking: 2.0","issuetype":{"name":"Task"},"labels":["slipwatch"],"fixVersions":[{"id":"10010"}]}}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d", status)
	}
	search := func(jql string) (int, []string) {
		t.Helper()
		status, _, body := do(t, s, http.MethodGet, "/rest/api/3/search/jql?fields=labels&jql="+url.QueryEscape(jql), nil, "")
		var res struct {
			Issues []struct {
				Key string `json:"key"`
			} `json:"issues"`
			ErrorMessages []string `json:"errorMessages"`
		}
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		var keys []string
		for _, is := range res.Issues {
			keys = append(keys, is.Key)
		}
		return status, append(keys, res.ErrorMessages...)
	}
	for jql, want := range map[string][]string{
		`project = "PLAT" AND (fixVersion = 10010 AND labels = "slipwatch")`: {"PLAT-901"},
		`project = "PLAT" AND (issuetype = Epic AND duedate is not EMPTY)`:   {"PLAT-1"},
		`project = "PLAT"`: {"PLAT-1", "PLAT-901"},
		`project = "OPS"`:  nil,
		`"Team Goal" = x`:  {"Field 'Team Goal' does not exist or you do not have permission to view it."},
	} {
		status, got := search(jql)
		wantStatus := http.StatusOK
		if strings.Contains(jql, "Team Goal") {
			wantStatus = http.StatusBadRequest
		}
		if status != wantStatus || !slices.Equal(got, want) {
			t.Errorf("%s: %d %q, want %d %q", jql, status, got, wantStatus, want)
		}
	}
}
