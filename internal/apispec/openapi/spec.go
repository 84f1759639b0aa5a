// Package openapi is the part of OpenAPI 3.0 that slipwatch's checks of
// its tracker traffic need: a trimmed description format (written by
// internal/apispec/trim), path-template matching, and validation of
// requests and answers against the description's parameters and schemas.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
)

// File is a trimmed description as committed in testdata: every operation
// with its parameters and its request body's property names; for the
// operations marked Full, also the request body's schema, the responses
// and their examples; and the schemas those name.
type File struct {
	Source     Source             `json:"source"`
	Operations []*Operation       `json:"operations"`
	Schemas    map[string]*Schema `json:"schemas"`
}

// Source says where a trimmed description comes from.
type Source struct {
	Title      string `json:"title"`       // info.title
	APIVersion string `json:"api_version"` // info.version
	Package    string `json:"package"`     // npm package@version, or a file
	File       string `json:"file"`        // path inside it
	Integrity  string `json:"integrity"`   // of the package or file read
}

// Operation is one documented method on one path.
type Operation struct {
	ID     string  `json:"id"`
	Method string  `json:"method"` // upper case
	Path   string  `json:"path"`   // template: /repos/{owner}/{repo}/issues
	Params []Param `json:"params,omitempty"`
	Body   *Body   `json:"body,omitempty"`
	// Full: Body.Schema and Responses are kept. The sandboxes serve only
	// such operations; the trim command's list says which they are.
	Full      bool                 `json:"full,omitempty"`
	Responses map[string]*Response `json:"responses,omitempty"` // by status code, or "default"
}

// Param is a path or query parameter (headers and cookies are not kept).
type Param struct {
	Name     string  `json:"name"`
	In       string  `json:"in"`
	Required bool    `json:"required,omitempty"`
	Schema   *Schema `json:"schema,omitempty"`
}

// Body is an operation's request body.
type Body struct {
	Required   bool     `json:"required,omitempty"`
	Content    []string `json:"content"`              // media types
	Properties []string `json:"properties,omitempty"` // of the JSON object, when it is one
	// Open: the JSON body may carry properties Properties does not list
	// (a map, or a value of any shape).
	Open   bool    `json:"open,omitempty"`
	Schema *Schema `json:"schema,omitempty"` // Full operations only
}

// Response is one documented answer.
type Response struct {
	Content map[string]*Media `json:"content,omitempty"` // nil: documented without a body
}

// Media is the schema and the published examples of a response's body.
type Media struct {
	Schema   *Schema                    `json:"schema,omitempty"`
	Examples map[string]json.RawMessage `json:"examples,omitempty"`
}

// Spec is a loaded description, ready to check against.
type Spec struct {
	File
	// Name is how violations name it: "github.com", "GHES 3.17", "Jira Cloud v3".
	Name string

	byMethod map[string][]*template
}

type template struct {
	op   *Operation
	segs []segment
}

// segment is one path segment of a template: a literal, or a parameter
// with the literal text around it ("{name}", "{archive}.zip").
type segment struct {
	literal        string
	param          string
	prefix, suffix string
}

// NewSpec indexes f for checking.
func NewSpec(name string, f File) *Spec {
	s := &Spec{File: f, Name: name, byMethod: map[string][]*template{}}
	for _, op := range f.Operations {
		t := &template{op: op}
		for _, seg := range strings.Split(strings.Trim(op.Path, "/"), "/") {
			open, close := strings.IndexByte(seg, '{'), strings.IndexByte(seg, '}')
			if open < 0 || close < open {
				t.segs = append(t.segs, segment{literal: seg})
				continue
			}
			t.segs = append(t.segs, segment{param: seg[open+1 : close], prefix: seg[:open], suffix: seg[close+1:]})
		}
		s.byMethod[op.Method] = append(s.byMethod[op.Method], t)
	}
	return s
}

// Operation is the documented operation method and path (the API path,
// without a server prefix such as /api/v3) are, with the values of its
// path parameters. When several templates match, the one with a literal
// where the others have a parameter wins, as OpenAPI says.
func (s *Spec) Operation(method, p string) (*Operation, map[string]string, bool) {
	segs := splitPath(p)
	var best *template
	var bestVals map[string]string
	for _, t := range s.byMethod[strings.ToUpper(method)] {
		vals, ok := t.match(segs)
		if ok && (best == nil || t.moreLiteral(best)) {
			best, bestVals = t, vals
		}
	}
	if best == nil {
		return nil, nil, false
	}
	return best.op, bestVals, true
}

// Methods are the methods documented on the path p matches, for a
// message about a method that is not.
func (s *Spec) Methods(p string) []string {
	segs := splitPath(p)
	var out []string
	for m, ts := range s.byMethod {
		for _, t := range ts {
			if _, ok := t.match(segs); ok {
				out = append(out, m)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// splitPath splits an escaped or plain path into unescaped segments.
func splitPath(p string) []string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range parts {
		if u, err := url.PathUnescape(s); err == nil {
			parts[i] = u
		}
	}
	return parts
}

func (t *template) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(t.segs) {
		return nil, false
	}
	vals := map[string]string{}
	for i, s := range t.segs {
		v := segs[i]
		if s.param == "" {
			if v != s.literal {
				return nil, false
			}
			continue
		}
		if len(v) <= len(s.prefix)+len(s.suffix) || !strings.HasPrefix(v, s.prefix) || !strings.HasSuffix(v, s.suffix) {
			return nil, false
		}
		vals[s.param] = v[len(s.prefix) : len(v)-len(s.suffix)]
	}
	return vals, true
}

// moreLiteral says t is the more specific of two matching templates.
func (t *template) moreLiteral(o *template) bool {
	for i := range t.segs {
		a, b := t.segs[i].param == "", o.segs[i].param == ""
		if a != b {
			return a
		}
	}
	return false
}

// Param is the operation's parameter called name, located in in ("query"
// or "path").
func (op *Operation) Param(in, name string) (Param, bool) {
	for _, p := range op.Params {
		if p.In == in && p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// String is "GET /repos/{owner}/{repo}/issues (issues/list-for-repo)".
func (op *Operation) String() string {
	return op.Method + " " + op.Path + " (" + op.ID + ")"
}

// checkValue checks a path or query parameter's value against the
// parameter's schema: integers, booleans, numbers and enums are checked;
// an array's value may repeat or list its items with commas.
func (s *Spec) checkValue(p Param, values []string) []string {
	if p.Schema == nil {
		return nil
	}
	v := &validator{schemas: s.Schemas}
	sch, err := v.resolve(p.Schema)
	if err != nil || sch == nil {
		return nil
	}
	var problems []string
	for _, raw := range values {
		items := []string{raw}
		item := sch
		if sch.Type == "array" && sch.Items != nil {
			items = strings.Split(raw, ",")
			if item, err = v.resolve(sch.Items); err != nil || item == nil {
				continue
			}
		}
		for _, it := range items {
			if msg := scalarProblem(item, it); msg != "" {
				problems = append(problems, fmt.Sprintf("%s parameter %q = %q: %s", p.In, p.Name, raw, msg))
			}
		}
	}
	return problems
}

// scalarProblem says what is wrong with a parameter's text as a value of
// s, or "".
func scalarProblem(s *Schema, text string) string {
	var x any = text
	switch s.Type {
	case "integer":
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return "not an integer"
		}
		x = json.Number(text)
	case "number":
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return "not a number"
		}
		x = json.Number(text)
	case "boolean":
		b, err := strconv.ParseBool(text)
		if err != nil || (text != "true" && text != "false") {
			return "not true or false"
		}
		x = b
	}
	if len(s.Enum) > 0 && !inEnum(s.Enum, x) {
		return "not one of " + enumText(s.Enum)
	}
	return ""
}

// cleanPath is p without a trailing slash or dot segments.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	return path.Clean("/" + p)
}
