package githubtest

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed testdata/rest
var rest embed.FS

// templates are the decoded payloads of testdata/rest the sandbox fills
// in, read once.
var templates = sync.OnceValue(func() map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, name := range []string{"milestone.json", "issue.json", "issue-comment.json", "user.json", "collaborator-permission.json",
		"authenticated-user.json", "app.json", "installation-token.json"} {
		b, err := rest.ReadFile(path.Join("testdata/rest", name))
		if err != nil {
			panic("githubtest: " + err.Error()) // embedded: cannot happen
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			panic("githubtest: " + name + ": " + err.Error())
		}
		out[name] = m
	}
	return out
})

// template is a fresh copy of testdata/rest/<name>.
func (s *Server) template(name string) map[string]any {
	return deepCopy(templates()[name]).(map[string]any)
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

// Recorded is a real GitHub answer kept in testdata/rest (see its README)
// as a Fault to Inject: its status, its headers (canonical keys, without
// Content-Length and Content-Encoding) and its body. It reads the three
// recorded shapes there: {status_code, headers, body}, documented
// examples' {status, headers, body}, and octokit's {status, rawHeaders,
// response}.
func Recorded(name string) (Fault, error) {
	b, err := rest.ReadFile(path.Join("testdata/rest", name))
	if err != nil {
		return Fault{}, fmt.Errorf("githubtest: %w", err)
	}
	var rec struct {
		StatusCode int               `json:"status_code"`
		Status     int               `json:"status"`
		Headers    map[string]string `json:"headers"`
		RawHeaders []string          `json:"rawHeaders"`
		Body       json.RawMessage   `json:"body"`
		Response   json.RawMessage   `json:"response"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return Fault{}, fmt.Errorf("githubtest: recorded answer %s: %w", name, err)
	}
	f := Fault{Status: rec.StatusCode, Header: map[string]string{}, Body: string(rec.Body)}
	if f.Status == 0 {
		f.Status = rec.Status
	}
	for k, v := range rec.Headers {
		f.Header[http.CanonicalHeaderKey(k)] = v
	}
	if rec.RawHeaders != nil {
		// In octokit's recordings "body" is the request's; the answer is
		// "response".
		f.Body = string(rec.Response)
		for i := 0; i+1 < len(rec.RawHeaders); i += 2 {
			f.Header[http.CanonicalHeaderKey(rec.RawHeaders[i])] = rec.RawHeaders[i+1]
		}
	}
	// The files were re-serialised with indentation; GitHub sends compact
	// JSON, and the recorded length and encoding are no longer the body's.
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(f.Body)) == nil {
		f.Body = compact.String()
	}
	delete(f.Header, "Content-Length")
	delete(f.Header, "Content-Encoding")
	return f, nil
}

// recordedBody is the body of a recorded answer the sandbox itself gives.
var recordedBody = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, name := range []string{"error-404-not-found.recorded.json", "error-422-validation-failed.recorded.json"} {
		f, err := Recorded(name)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		out[name] = f.Body
	}
	return out
})

// notFound is GitHub's recorded 404. Called with the lock held.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.write(w, r, http.StatusNotFound, []byte(recordedBody()["error-404-not-found.recorded.json"]))
}

// validationFailed is GitHub's recorded 422. Called with the lock held.
func (s *Server) validationFailed(w http.ResponseWriter, r *http.Request) {
	s.write(w, r, http.StatusUnprocessableEntity, []byte(recordedBody()["error-422-validation-failed.recorded.json"]))
}

// MaxCommentChars is the longest comment body GitHub takes, in characters.
const MaxCommentChars = 65536

// bodyTooLong is GitHub's 422 for a comment body over MaxCommentChars.
// Called with the lock held.
func (s *Server) bodyTooLong(w http.ResponseWriter, r *http.Request) {
	s.json(w, r, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed",
		"errors": []any{map[string]any{"resource": "IssueComment", "code": "custom", "field": "body",
			"message": fmt.Sprintf("body is too long (maximum is %d characters)", MaxCommentChars)}},
		"documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
		"status":            "422",
	})
}

// json writes v. Called with the lock held.
func (s *Server) json(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a test's own values can get here; say so in the answer.
		status, body = http.StatusInternalServerError, []byte(`{"message":"githubtest: `+strings.ReplaceAll(err.Error(), `"`, `'`)+`"}`)
	}
	s.write(w, r, status, body)
}

func etagOf(b []byte) string {
	h := sha256.Sum256(b)
	return `W/"` + hex.EncodeToString(h[:16]) + `"`
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// htmlBase is where a person would open things.
const htmlBase = "https://github.example/"

func (s *Server) milestoneJSON(name string, rp *repo, m *Milestone) map[string]any {
	j := s.template("milestone.json")
	open, closed := 0, 0
	for _, is := range rp.issues {
		if is.Milestone == m.Number { // pull requests count, as on GitHub
			if is.ClosedAt.IsZero() {
				open++
			} else {
				closed++
			}
		}
	}
	api := strings.TrimSuffix(s.URL, "/") + "/repos/" + name
	j["url"] = fmt.Sprintf("%s/milestones/%d", api, m.Number)
	j["labels_url"] = fmt.Sprintf("%s/milestones/%d/labels", api, m.Number)
	j["html_url"] = fmt.Sprintf("%s%s/milestone/%d", htmlBase, name, m.Number)
	j["id"], j["number"], j["title"], j["description"], j["state"] = 100000+m.Number, m.Number, m.Title, m.Description, m.State
	j["open_issues"], j["closed_issues"] = open, closed
	j["due_on"], j["closed_at"], j["created_at"], j["updated_at"] = ts(m.DueOn), ts(m.ClosedAt), ts(m.CreatedAt), ts(m.UpdatedAt)
	return j
}

func (s *Server) issueJSON(name string, rp *repo, is *Issue) map[string]any {
	j := s.template("issue.json")
	api := strings.TrimSuffix(s.URL, "/") + "/repos/" + name
	j["url"] = fmt.Sprintf("%s/issues/%d", api, is.Number)
	j["repository_url"] = api
	j["comments_url"] = fmt.Sprintf("%s/issues/%d/comments", api, is.Number)
	j["html_url"] = fmt.Sprintf("%s%s/issues/%d", htmlBase, name, is.Number)
	j["id"], j["number"], j["title"], j["body"] = 200000+is.Number, is.Number, is.Title, is.Body
	j["state"], j["state_reason"] = "open", nil
	if !is.ClosedAt.IsZero() {
		j["state"], j["state_reason"] = "closed", "completed"
		if is.StateReason != "" {
			j["state_reason"] = is.StateReason
		}
	}
	j["created_at"], j["updated_at"], j["closed_at"] = ts(is.CreatedAt), ts(updated(is)), ts(is.ClosedAt)
	labels := []any{}
	for i, l := range is.Labels {
		labels = append(labels, map[string]any{"id": 300000 + i, "name": l, "color": "ededed", "default": false, "url": api + "/labels/" + l})
	}
	j["labels"] = labels
	n := 0
	for _, c := range rp.comments {
		if c.Issue == is.Number {
			n++
		}
	}
	j["comments"] = n
	j["user"] = s.userJSON(is.User)
	if m, ok := rp.milestones[is.Milestone]; ok {
		j["milestone"] = s.milestoneJSON(name, rp, m)
	} else {
		j["milestone"] = nil
	}
	delete(j, "pull_request")
	if is.PR {
		// The issues API lists pull requests too, marked by this object.
		html := fmt.Sprintf("%s%s/pull/%d", htmlBase, name, is.Number)
		j["pull_request"] = map[string]any{"url": fmt.Sprintf("%s/pulls/%d", api, is.Number), "html_url": html,
			"diff_url": html + ".diff", "patch_url": html + ".patch", "merged_at": ts(is.MergedAt)}
		j["html_url"] = html
	}
	return j
}

func (s *Server) commentJSON(name string, c *Comment) map[string]any {
	j := s.template("issue-comment.json")
	api := strings.TrimSuffix(s.URL, "/") + "/repos/" + name
	j["id"], j["body"] = c.ID, c.Body
	j["html_url"] = fmt.Sprintf("%s%s/issues/%d#issuecomment-%d", htmlBase, name, c.Issue, c.ID)
	j["url"] = fmt.Sprintf("%s/issues/comments/%d", api, c.ID)
	j["issue_url"] = fmt.Sprintf("%s/issues/%d", api, c.Issue)
	j["created_at"], j["updated_at"] = ts(c.CreatedAt), ts(c.UpdatedAt)
	j["user"] = s.userJSON(c.User)
	return j
}

// userJSON is login as GitHub writes a user in an issue or a comment
// (simple-user): the template's octocat renamed, with an id of its own.
func (s *Server) userJSON(login string) map[string]any {
	u := s.template("user.json")
	for k, v := range u {
		if str, ok := v.(string); ok && strings.HasPrefix(str, "https://api.github.com/users/octocat") {
			u[k] = strings.TrimSuffix(s.URL, "/") + "/users/" + login + strings.TrimPrefix(str, "https://api.github.com/users/octocat")
		}
	}
	u["login"], u["id"], u["html_url"] = login, userID(login), htmlBase+login
	u["node_id"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("04:User%d", userID(login))))
	if strings.HasSuffix(login, "[bot]") {
		u["type"] = "Bot"
	}
	return u
}

// userID is a stable id for login, as GitHub's do not change.
func userID(login string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()%10_000_000) + 1
}
