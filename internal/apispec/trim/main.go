// Command trim writes internal/apispec/testdata from the published API
// descriptions and webhook examples, so that tests need neither the
// network nor the multi-megabyte originals:
//
//	npm pack @octokit/openapi@23.0.2 @octokit/webhooks-examples@7.6.1
//	curl -fsSLo jira-cloud-platform-v3.json https://raw.githubusercontent.com/jarekbird/jira-api-mcp-wrapper/9a9e84dacce9900b0bd4f1f095f5f1bdf3ce0168/swagger-v3.v3.json
//	go run ./internal/apispec/trim \
//		-openapi octokit-openapi-23.0.2.tgz \
//		-webhooks octokit-webhooks-examples-7.6.1.tgz \
//		-jira jira-cloud-platform-v3.json
//
// (internal/apispec/testdata/PROVENANCE.md says where each input comes
// from; -jira-webhooks DIR copies captured Jira deliveries in.)
//
// From each description it keeps every operation (method, path, path and
// query parameters with their types and enums, the request body's media
// types and property names), and for the operations the sandboxes serve
// (the lists below) the request body's schema, every response's schema
// and examples, and the schemas those name, without descriptions. The
// output is deterministic: the same inputs give the same bytes.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/slipwatch/slipwatch/internal/apispec/openapi"
)

// githubFull are the GitHub operations githubtest serves (and the GitHub
// App's, which ghinstallation calls): their answers are checked.
var githubFull = []string{
	"users/get-authenticated",
	"apps/get-authenticated",
	"apps/create-installation-access-token",
	"issues/list-milestones",
	"issues/get-milestone",
	"issues/get",
	"issues/list-for-repo",
	"issues/create",
	"issues/update",
	"issues/list-comments-for-repo",
	"issues/list-comments",
	"issues/create-comment",
	"issues/update-comment",
	"repos/get-collaborator-permission-level",
	"repos/list-for-org",
	"repos/list-for-user",
	"repos/list-for-authenticated-user",
	"apps/list-repos-accessible-to-installation",
}

// jiraFull are the Jira operations jiratest serves.
var jiraFull = []string{
	"getServerInfo",
	"getCurrentUser",
	"getProject",
	"searchProjects", // Cloud: jira.projects ["*"]
	"getAllProjects", // Data Center: jira.projects ["*"]
	"getFields",      // Data Center: the Epic Link field
	"getProjectVersions",
	"getVersion",
	"searchAndReconsileIssuesUsingJql", // Cloud: /rest/api/3/search/jql
	"searchForIssuesUsingJql",          // Data Center: /rest/api/2/search (deprecated in Cloud)
	"getIssue",
	"createIssue",
	"getComments",
	"getChangeLogs", // Cloud: the description's last editor (Data Center: getIssue?expand=changelog)
	"addComment",
	"updateComment",
	"getCommentProperty",
	"setCommentProperty",
}

func main() {
	octokit := flag.String("openapi", "", "the npm tarball of @octokit/openapi")
	ghes := flag.String("ghes", "ghes-3.17", "which GHES description of the tarball to keep")
	webhooks := flag.String("webhooks", "", "the npm tarball of @octokit/webhooks-examples")
	jira := flag.String("jira", "", "Atlassian's Jira Cloud platform v3 OpenAPI description (JSON)")
	jiraHooks := flag.String("jira-webhooks", "", "a folder of Jira webhook deliveries (*.json) to copy")
	out := flag.String("out", "internal/apispec/testdata", "where to write")
	flag.Parse()
	if *octokit == "" && *webhooks == "" && *jira == "" && *jiraHooks == "" {
		fmt.Fprintln(os.Stderr, "trim: nothing to do; see go doc ./internal/apispec/trim")
		os.Exit(2)
	}
	if err := run(*octokit, *ghes, *webhooks, *jira, *jiraHooks, *out); err != nil {
		fmt.Fprintln(os.Stderr, "trim:", err)
		os.Exit(1)
	}
}

func run(octokit, ghes, webhooks, jira, jiraHooks, out string) error {
	if octokit != "" {
		pkg, integrity, files, err := readTarball(octokit, "package/package.json", "package/generated/api.github.com.json", "package/generated/"+ghes+".json")
		if err != nil {
			return err
		}
		name := npmName(files["package/package.json"])
		for _, f := range []struct{ file, out string }{
			{"generated/api.github.com.json", "api.github.com.json"},
			{"generated/" + ghes + ".json", ghes + ".json"},
		} {
			src := openapi.Source{Package: name, File: f.file, Integrity: integrity}
			if err := trimFile(files["package/"+f.file], src, githubFull, filepath.Join(out, f.out)); err != nil {
				return fmt.Errorf("%s %s: %w", pkg, f.file, err)
			}
		}
	}
	if jira != "" {
		b, err := os.ReadFile(jira)
		if err != nil {
			return err
		}
		src := openapi.Source{Package: filepath.Base(jira), File: filepath.Base(jira), Integrity: integrityOf(b)}
		if err := trimFile(b, src, jiraFull, filepath.Join(out, "jira-cloud-platform-v3.json")); err != nil {
			return fmt.Errorf("%s: %w", jira, err)
		}
	}
	if webhooks != "" {
		_, _, files, err := readTarball(webhooks, "package/api.github.com/index.json")
		if err != nil {
			return err
		}
		if err := writeExamples(files["package/api.github.com/index.json"], filepath.Join(out, "webhooks", "github-examples.json.gz")); err != nil {
			return fmt.Errorf("%s: %w", webhooks, err)
		}
	}
	if jiraHooks != "" {
		names, err := filepath.Glob(filepath.Join(jiraHooks, "*.json"))
		if err != nil {
			return err
		}
		dir := filepath.Join(out, "webhooks", "jira")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// readTarball returns the wanted files of an npm tarball, its name and its
// integrity as npm writes it (sha512, base64).
func readTarball(file string, want ...string) (string, string, map[string][]byte, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", "", nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return "", "", nil, fmt.Errorf("%s: %w", file, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", nil, fmt.Errorf("%s: %w", file, err)
		}
		if slices.Contains(want, h.Name) {
			if files[h.Name], err = io.ReadAll(tr); err != nil {
				return "", "", nil, fmt.Errorf("%s: %s: %w", file, h.Name, err)
			}
		}
	}
	for _, w := range want {
		if files[w] == nil {
			return "", "", nil, fmt.Errorf("%s has no %s", file, w)
		}
	}
	return filepath.Base(file), integrityOf(raw), files, nil
}

func integrityOf(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// npmName is "name@version" from a package.json.
func npmName(pkgJSON []byte) string {
	var p struct{ Name, Version string }
	_ = json.Unmarshal(pkgJSON, &p)
	return p.Name + "@" + p.Version
}

// writeExamples keeps each event's name and examples, gzipped: the
// examples are 4 MB of JSON that compresses thirtyfold.
func writeExamples(index []byte, out string) error {
	var events []struct {
		Name     string            `json:"name"`
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(index, &events); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, e := range events {
		for j, x := range e.Examples {
			var c bytes.Buffer
			if err := json.Compact(&c, x); err != nil {
				return err
			}
			e.Examples[j] = c.Bytes()
		}
		b, err := marshal(e)
		if err != nil {
			return err
		}
		buf.Write(b)
		if i < len(events)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, gz.Bytes(), 0o644)
}

// trimmer converts one OpenAPI document.
type trimmer struct {
	doc     map[string]any
	kept    map[string]*openapi.Schema
	pending []string
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func trimFile(b []byte, src openapi.Source, full []string, out string) error {
	t := &trimmer{kept: map[string]*openapi.Schema{}}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&t.doc); err != nil {
		return err
	}
	info, _ := t.doc["info"].(map[string]any)
	src.Title, _ = info["title"].(string)
	src.APIVersion, _ = info["version"].(string)
	f := openapi.File{Source: src, Schemas: map[string]*openapi.Schema{}}
	paths, _ := t.doc["paths"].(map[string]any)
	wanted := map[string]bool{}
	for _, id := range full {
		wanted[id] = true
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := t.deref(paths[p])
		for _, m := range methods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			op := t.deref(raw)
			o := &openapi.Operation{Method: strings.ToUpper(m), Path: p}
			o.ID, _ = op["operationId"].(string)
			o.Full = wanted[o.ID]
			delete(wanted, o.ID)
			o.Params = t.params(item["parameters"], op["parameters"])
			o.Body = t.body(op["requestBody"], o.Full)
			if o.Full {
				o.Responses = t.responses(op["responses"])
			}
			f.Operations = append(f.Operations, o)
		}
	}
	if len(wanted) > 0 {
		return fmt.Errorf("operations not in the description: %s", strings.Join(slices.Sorted(maps.Keys(wanted)), ", "))
	}
	for len(t.pending) > 0 {
		name := t.pending[0]
		t.pending = t.pending[1:]
		comps, _ := t.doc["components"].(map[string]any)
		schemas, _ := comps["schemas"].(map[string]any)
		t.kept[name] = t.schema(schemas[name], true, 0)
	}
	f.Schemas = t.kept
	return writeFile(f, out)
}

// deref follows $ref to the object it names.
func (t *trimmer) deref(x any) map[string]any {
	for range 32 {
		m, ok := x.(map[string]any)
		if !ok {
			return nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		x = t.lookup(ref)
	}
	return nil
}

func (t *trimmer) lookup(ref string) any {
	var x any = t.doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := x.(map[string]any)
		if !ok {
			return nil
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		x = m[part]
	}
	return x
}

// schema converts a Schema Object. keepRefs keeps references to
// components.schemas (queuing them); otherwise they are inlined, to a
// small depth, which is all parameters need.
func (t *trimmer) schema(x any, keepRefs bool, depth int) *openapi.Schema {
	m, ok := x.(map[string]any)
	if !ok {
		return nil
	}
	if ref, ok := m["$ref"].(string); ok {
		name, isSchema := strings.CutPrefix(ref, "#/components/schemas/")
		if isSchema && keepRefs {
			if _, done := t.kept[name]; !done && !slices.Contains(t.pending, name) {
				t.kept[name] = nil // reserved: converted from the queue
				t.pending = append(t.pending, name)
			}
			return &openapi.Schema{Ref: ref}
		}
		if depth > 4 {
			return &openapi.Schema{}
		}
		return t.schema(t.lookup(ref), keepRefs, depth+1)
	}
	s := &openapi.Schema{}
	switch ty := m["type"].(type) {
	case string:
		s.Type = ty
	case []any: // OpenAPI 3.1's ["string", "null"]
		for _, e := range ty {
			if e == "null" {
				s.Nullable = true
			} else if str, ok := e.(string); ok {
				s.Type = str
			}
		}
	}
	if n, ok := m["nullable"].(bool); ok && n {
		s.Nullable = true
	}
	if e, ok := m["enum"].([]any); ok {
		s.Enum = e
	}
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				s.Required = append(s.Required, name)
			}
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		s.Properties = map[string]*openapi.Schema{}
		for name, p := range props {
			if ps := t.schema(p, keepRefs, depth+1); ps != nil {
				s.Properties[name] = ps
			}
		}
	}
	switch ap := m["additionalProperties"].(type) {
	case bool:
		s.AdditionalProperties = &openapi.Additional{Allowed: ap}
	case map[string]any:
		sub := t.schema(ap, keepRefs, depth+1)
		if sub == nil {
			sub = &openapi.Schema{}
		}
		s.AdditionalProperties = &openapi.Additional{Allowed: true, Schema: sub}
	}
	s.Items = t.schema(m["items"], keepRefs, depth+1)
	s.AllOf = t.schemas(m["allOf"], keepRefs, depth)
	s.AnyOf = t.schemas(m["anyOf"], keepRefs, depth)
	s.OneOf = t.schemas(m["oneOf"], keepRefs, depth)
	return s
}

func (t *trimmer) schemas(x any, keepRefs bool, depth int) []*openapi.Schema {
	list, _ := x.([]any)
	var out []*openapi.Schema
	for _, e := range list {
		if s := t.schema(e, keepRefs, depth+1); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// params are the path and query parameters, the operation's overriding
// the path item's of the same name and place.
func (t *trimmer) params(itemLevel, opLevel any) []openapi.Param {
	var out []openapi.Param
	add := func(x any) {
		list, _ := x.([]any)
		for _, e := range list {
			p := t.deref(e)
			in, _ := p["in"].(string)
			if in != "path" && in != "query" {
				continue
			}
			ap := openapi.Param{In: in}
			ap.Name, _ = p["name"].(string)
			ap.Required, _ = p["required"].(bool)
			ap.Required = ap.Required && in == "query" // a path parameter always is
			ap.Schema = t.paramSchema(p["schema"])
			if in == "path" && ap.Schema == nil {
				continue // the template names it; any text is a string
			}
			out = slices.DeleteFunc(out, func(o openapi.Param) bool { return o.In == ap.In && o.Name == ap.Name })
			out = append(out, ap)
		}
	}
	add(itemLevel)
	add(opLevel)
	return out
}

// paramSchema keeps what a parameter's value is checked by: its type, its
// enum, its items'. A plain string, which any text is, is dropped: most
// parameters are, and the file is a third smaller without them.
func (t *trimmer) paramSchema(x any) *openapi.Schema {
	s := t.schema(x, false, 0)
	if s == nil {
		return nil
	}
	out := &openapi.Schema{Type: s.Type, Enum: s.Enum}
	if s.Items != nil {
		out.Items = &openapi.Schema{Type: s.Items.Type, Enum: s.Items.Enum}
	}
	if (out.Type == "" || out.Type == "string") && len(out.Enum) == 0 && out.Items == nil {
		return nil
	}
	return out
}

func (t *trimmer) body(x any, full bool) *openapi.Body {
	rb := t.deref(x)
	if rb == nil {
		return nil
	}
	content, _ := rb["content"].(map[string]any)
	b := &openapi.Body{Content: slices.Sorted(maps.Keys(content))}
	b.Required, _ = rb["required"].(bool)
	js, _ := content["application/json"].(map[string]any)
	if js == nil {
		return b
	}
	props := map[string]bool{}
	b.Open = t.declared(js["schema"], props, 0)
	b.Properties = slices.Sorted(maps.Keys(props))
	if full {
		b.Schema = t.schema(js["schema"], true, 0)
	}
	return b
}

// declared collects the properties a body schema and its parts declare;
// it reports whether others are allowed (a map, or any object).
func (t *trimmer) declared(x any, into map[string]bool, depth int) bool {
	m := t.deref(x)
	if m == nil || depth > 16 {
		return true
	}
	if ty, _ := m["type"].(string); ty != "" && ty != "object" {
		return false
	}
	open := false
	if _, ok := m["additionalProperties"].(map[string]any); ok {
		open = true
	}
	props, hasProps := m["properties"].(map[string]any)
	for name := range props {
		into[name] = true
	}
	var parts []any
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := m[k].([]any)
		parts = append(parts, list...)
	}
	if !hasProps && m["additionalProperties"] == nil && len(parts) == 0 {
		return true
	}
	for _, p := range parts {
		if t.declared(p, into, depth+1) {
			open = true
		}
	}
	return open
}

func (t *trimmer) responses(x any) map[string]*openapi.Response {
	rs, _ := x.(map[string]any)
	out := map[string]*openapi.Response{}
	for code, raw := range rs {
		r := t.deref(raw)
		resp := &openapi.Response{}
		content, _ := r["content"].(map[string]any)
		for mt, rawMedia := range content {
			media, _ := rawMedia.(map[string]any)
			m := &openapi.Media{Schema: t.schema(media["schema"], true, 0)}
			if ex, ok := media["example"]; ok {
				m.Examples = map[string]json.RawMessage{"example": exampleJSON(ex)}
			}
			exs, _ := media["examples"].(map[string]any)
			for name, e := range exs {
				if m.Examples == nil {
					m.Examples = map[string]json.RawMessage{}
				}
				m.Examples[name] = exampleJSON(t.exampleValue(t.deref(e)["value"]))
			}
			if resp.Content == nil {
				resp.Content = map[string]*openapi.Media{}
			}
			resp.Content[mt] = m
		}
		out[code] = resp
	}
	return out
}

// exampleValue is v, or what it names: GHES's descriptions write some
// examples as a value that is itself a reference to a named example
// (value: {$ref: #/components/examples/issue}), which OpenAPI reads as a
// literal object but is plainly meant as the example it names.
func (t *trimmer) exampleValue(v any) any {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v
	}
	ref, ok := m["$ref"].(string)
	if !ok || !strings.HasPrefix(ref, "#/components/examples/") {
		return v
	}
	if named := t.deref(m); named != nil {
		return named["value"]
	}
	return v
}

// exampleJSON is an example's value; Atlassian writes its examples as
// strings of JSON.
func exampleJSON(v any) json.RawMessage {
	if s, ok := v.(string); ok && json.Valid([]byte(s)) {
		var c bytes.Buffer
		if json.Compact(&c, []byte(s)) == nil {
			return c.Bytes()
		}
	}
	b, _ := marshal(v)
	return b
}

// marshal is compact JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// writeFile writes one operation and one schema a line, so a regenerated
// description diffs operation by operation.
func writeFile(f openapi.File, out string) error {
	var buf bytes.Buffer
	src, err := marshal(f.Source)
	if err != nil {
		return err
	}
	fmt.Fprintf(&buf, "{\"source\":%s,\n\"operations\":[\n", src)
	for i, op := range f.Operations {
		b, err := marshal(op)
		if err != nil {
			return err
		}
		buf.Write(b)
		if i < len(f.Operations)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("],\n\"schemas\":{\n")
	names := slices.Sorted(maps.Keys(f.Schemas))
	for i, name := range names {
		k, _ := marshal(name)
		b, err := marshal(f.Schemas[name])
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "%s:%s", k, b)
		if i < len(names)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}}\n")
	if !json.Valid(buf.Bytes()) {
		return errors.New("wrote invalid JSON")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
