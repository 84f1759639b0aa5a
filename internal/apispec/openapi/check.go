package openapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Difference is an answer the sandbox gives deliberately although the
// description does not document it for the operation: the tracker sends
// it too (docs/sandboxes.md lists them).
type Difference struct {
	Status int
	Method string // "" any
	// Path is the API path template the difference applies to; "" any.
	Path   string
	Reason string
}

// Options adapt a Checker to a tracker.
type Options struct {
	// Path maps a request's path to the description's (Jira's v2 paths
	// to v3's); nil keeps it.
	Path func(string) string
	// Alias is the documented path an undocumented one stands for, if
	// it does (GitHub's Link headers name /repositories/{id}/issues for
	// /repos/{owner}/{repo}/issues).
	Alias func(string) (string, bool)
	// Differences are the undocumented answers allowed.
	Differences []Difference
}

// Checker judges exchanges against one tracker's descriptions and keeps
// what it finds. It is safe for concurrent use.
type Checker struct {
	specs []*Spec
	o     Options

	mu         sync.Mutex
	violations map[string]int // message → times seen
	order      []string
	ops        map[string]int // operation → exchanges checked
	// judged are the answers already checked, by spec, operation,
	// status, media type and body hash: a poll answers the same list
	// many times, and the same bytes validate the same way.
	judged map[[sha256.Size]byte][]string
}

// NewChecker checks against every spec: a request must be documented in
// all of them, an answer must match all of them.
func NewChecker(specs []*Spec, o Options) *Checker {
	if o.Path == nil {
		o.Path = func(p string) string { return p }
	}
	if o.Alias == nil {
		o.Alias = func(string) (string, bool) { return "", false }
	}
	return &Checker{specs: specs, o: o, violations: map[string]int{}, ops: map[string]int{}, judged: map[[sha256.Size]byte][]string{}}
}

// Check judges one exchange: the request (its body readable) and, unless
// canned (an answer a test injected in place of the sandbox's own), the
// answer, whose body is read and replaced so the caller can still read
// it. req.URL.Path is the API path, without a server prefix.
func (c *Checker) Check(req *http.Request, resp *http.Response, canned bool) {
	reqBody := readAll(&req.Body)
	var respBody []byte
	if resp != nil {
		respBody = readAll(&resp.Body)
	}
	answer := &body{raw: respBody} // decoded once for every spec
	var found []string
	p := cleanPath(c.o.Path(req.URL.Path))
	for _, s := range c.specs {
		op, problems := s.CheckRequest(req.Method, p, req.URL.Query(), req.Header.Get("Content-Type"), reqBody)
		if alias, ok := c.o.Alias(p); op == nil && ok {
			op, problems = s.CheckRequest(req.Method, alias, req.URL.Query(), req.Header.Get("Content-Type"), reqBody)
		}
		if op == nil {
			found = append(found, prefixed(s.Name+": "+req.Method+" "+req.URL.Path, problems)...)
			continue
		}
		found = append(found, prefixed(s.Name+": request "+op.String(), problems)...)
		if canned || resp == nil {
			continue
		}
		c.count(s.Name + " " + op.String())
		if c.allowed(op, resp.StatusCode) {
			continue
		}
		problems = c.judge(s, op, resp.StatusCode, resp.Header.Get("Content-Type"), answer)
		found = append(found, prefixed(fmt.Sprintf("%s: %s answered %d", s.Name, op, resp.StatusCode), problems)...)
	}
	c.record(found)
}

// judge is s.checkResponse, remembered.
func (c *Checker) judge(s *Spec, op *Operation, status int, contentType string, b *body) []string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s %s\x00%d\x00%s\x00", s.Name, op.Method, op.Path, status, contentType)
	h.Write(b.raw)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	problems, seen := c.judged[key]
	c.mu.Unlock()
	if seen {
		return problems
	}
	problems = s.checkResponse(op, status, contentType, b)
	c.mu.Lock()
	c.judged[key] = problems
	c.mu.Unlock()
	return problems
}

// anyIndex makes "$[0].user" and "$[7].user" one problem.
var anyIndex = regexp.MustCompile(`\[\d+\]`)

func readAll(rc *io.ReadCloser) []byte {
	if *rc == nil || *rc == http.NoBody {
		return nil
	}
	b, _ := io.ReadAll(*rc)
	*rc = io.NopCloser(bytes.NewReader(b))
	return b
}

func prefixed(prefix string, problems []string) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = prefix + ": " + p
	}
	return out
}

func (c *Checker) allowed(op *Operation, status int) bool {
	if _, documented := op.Responses[strconv.Itoa(status)]; documented {
		return false
	}
	for _, d := range c.o.Differences {
		if d.Status == status && (d.Method == "" || d.Method == op.Method) && (d.Path == "" || d.Path == op.Path) {
			return true
		}
	}
	return false
}

func (c *Checker) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops[op]++
}

func (c *Checker) record(found []string) {
	if len(found) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range found {
		f = anyIndex.ReplaceAllString(f, "[*]")
		if c.violations[f] == 0 {
			c.order = append(c.order, f)
		}
		c.violations[f]++
	}
}

// Violations are the distinct problems found, in the order first seen,
// each with how often it was seen when more than once.
func (c *Checker) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.order))
	for _, v := range c.order {
		if n := c.violations[v]; n > 1 {
			v += fmt.Sprintf(" (%d times)", n)
		}
		out = append(out, v)
	}
	return out
}

// Operations are the documented operations whose answers were checked,
// "<spec> <METHOD> <template> (<id>)", with how many of each.
func (c *Checker) Operations() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ops)
}

// CheckRequest says whether a request is documented: its method and path
// (the API path, without a server prefix) an operation's, its path and
// query parameters documented ones with values of their types, its body
// of a documented media type and, when JSON, made of documented
// properties (checked against the body's schema for a Full operation).
// It returns the operation, nil when there is none.
func (s *Spec) CheckRequest(method, path string, query map[string][]string, contentType string, body []byte) (*Operation, []string) {
	op, vals, ok := s.Operation(method, path)
	if !ok {
		msg := "no such operation is documented"
		if ms := s.Methods(path); len(ms) > 0 {
			msg += fmt.Sprintf(" (the path is documented for %s)", strings.Join(ms, ", "))
		}
		return nil, []string{msg}
	}
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if p, ok := op.Param("path", name); ok {
			for _, m := range s.checkValue(p, []string{vals[name]}) {
				add("%s", m)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(query)) {
		p, ok := op.Param("query", name)
		if !ok {
			add("query parameter %q is not documented", name)
			continue
		}
		for _, m := range s.checkValue(p, query[name]) {
			add("%s", m)
		}
	}
	for _, p := range op.Params {
		if _, given := query[p.Name]; p.In == "query" && p.Required && !given {
			add("required query parameter %q is missing", p.Name)
		}
	}
	for _, m := range s.checkBody(op, contentType, body) {
		add("%s", m)
	}
	return op, problems
}

func (s *Spec) checkBody(op *Operation, contentType string, body []byte) []string {
	if len(bytes.TrimSpace(body)) == 0 {
		if op.Body != nil && op.Body.Required {
			return []string{"the request body is required but none was sent"}
		}
		return nil
	}
	if op.Body == nil {
		return []string{"a request body was sent but none is documented"}
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "" {
		mt = "application/json" // what a JSON body without a type is taken for
	}
	if !slices.Contains(op.Body.Content, mt) {
		return []string{fmt.Sprintf("request body of type %q, documented: %s", mt, strings.Join(op.Body.Content, ", "))}
	}
	if mt != "application/json" {
		return nil
	}
	x, err := decode(body)
	if err != nil {
		return []string{"the request body is not JSON: " + err.Error()}
	}
	if op.Full && op.Body.Schema != nil {
		v := &validator{schemas: s.Schemas, request: true}
		v.validate(op.Body.Schema, x, "request body $")
		return v.errs
	}
	obj, ok := x.(map[string]any)
	if !ok || op.Body.Open {
		return nil
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(op.Body.Properties, name) {
			problems = append(problems, fmt.Sprintf("request body property %q is not documented", name))
		}
	}
	return problems
}

// CheckResponse says whether an answer to op is one the description
// documents: its status, its media type, and its body valid against the
// response schema (types, required properties, nullability, enums).
func (s *Spec) CheckResponse(op *Operation, status int, contentType string, raw []byte) []string {
	return s.checkResponse(op, status, contentType, &body{raw: raw})
}

// body is an answer's body, decoded on first use.
type body struct {
	raw     []byte
	decoded bool
	x       any
	err     error
}

func (b *body) value() (any, error) {
	if !b.decoded {
		b.x, b.err = decode(b.raw)
		b.decoded = true
	}
	return b.x, b.err
}

func (b *body) empty() bool { return len(bytes.TrimSpace(b.raw)) == 0 }

func (s *Spec) checkResponse(op *Operation, status int, contentType string, body *body) []string {
	if !op.Full {
		return []string{fmt.Sprintf("the trimmed description keeps no answers of %s: add %q to the trim command's list and regenerate testdata", op, op.ID)}
	}
	code := strconv.Itoa(status)
	r, ok := op.Responses[code]
	if !ok {
		r, ok = op.Responses[code[:1]+"XX"]
	}
	if !ok {
		r, ok = op.Responses["default"]
	}
	if !ok {
		return []string{fmt.Sprintf("status %d is not documented for %s (documented: %s)", status, op, strings.Join(slices.Sorted(maps.Keys(op.Responses)), ", "))}
	}
	if len(r.Content) == 0 {
		return nil // documented without a body: whatever is sent is not described
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	m, ok := r.Content[mt]
	if !ok {
		if body.empty() && anyBody(r) {
			return nil
		}
		return []string{fmt.Sprintf("answer of type %q, documented: %s", contentType, strings.Join(slices.Sorted(maps.Keys(r.Content)), ", "))}
	}
	if m.Schema == nil || mt != "application/json" {
		return nil
	}
	if body.empty() {
		if anyBody(r) {
			return nil
		}
		return []string{"the answer has no body; the description documents a JSON one"}
	}
	x, err := body.value()
	if err != nil {
		return []string{"the answer is not JSON: " + err.Error()}
	}
	v := &validator{schemas: s.Schemas}
	v.validate(m.Schema, x, "$")
	return v.errs
}

// anyBody says a response's schemas accept anything, an empty body too
// (Jira's entity properties: "the value of the property").
func anyBody(r *Response) bool {
	for _, m := range r.Content {
		if m.Schema != nil {
			b, _ := json.Marshal(m.Schema)
			if string(b) != "{}" {
				return false
			}
		}
	}
	return true
}
