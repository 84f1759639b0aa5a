package jiratest

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// The sandbox answers a JQL it has no canned answer for by evaluating it
// over its issues, as a search index would, so a test adds issues and the
// connector finds them with the queries it really sends. It knows the part
// of JQL slipwatch and its users write: clauses joined by AND, OR and
// parentheses; =, !=, <, <=, >, >=, [NOT] IN (…) and IS [NOT] EMPTY; the
// fields below. Dates compare as Jira compares them: a literal
// ("2026-03-10" or "2026-03-10 09:05", dashes or slashes) is a wall-clock
// time in the searching user's time zone (the zone /myself names), to the
// minute. Anything else is a 400 in Jira's words, as a real instance
// answers a JQL it cannot run.

// query is a parsed JQL condition.
type query interface {
	match(key string, fields map[string]any) bool
}

type and []query
type or []query

func (q and) match(k string, f map[string]any) bool {
	for _, c := range q {
		if !c.match(k, f) {
			return false
		}
	}
	return true
}

func (q or) match(k string, f map[string]any) bool {
	for _, c := range q {
		if c.match(k, f) {
			return true
		}
	}
	return false
}

// clause is one `field op value`; empty reports IS EMPTY (negated by op
// "not").
type clause struct {
	field string // lower case
	op    string
	value string
	list  []string // [NOT] IN
	empty bool
	loc   *time.Location // the searching user's zone, for date literals
}

// knownField reports whether the evaluator knows a field, by its JQL name
// in lower case.
func knownField(f string) bool {
	switch f {
	case "project", "key", "issuekey", "fixversion", "labels", "issuetype", "type",
		"duedate", "due", "resolved", "resolutiondate", "created", "updated", "updateddate", "parent", "epic link", "status", "statuscategory":
		return true
	}
	return false
}

// JQLError is Jira's 400 answer to a JQL it cannot run.
type JQLError struct{ Message string }

func (e *JQLError) Error() string { return e.Message }

// parseJQL parses jql, dropping a trailing ORDER BY, for a user in UTC.
func parseJQL(jql string) (query, error) { return parseJQLIn(jql, time.UTC) }

// parseJQLIn parses jql for a user whose time zone is loc.
func parseJQLIn(jql string, loc *time.Location) (query, error) {
	toks, err := lexJQL(jql)
	if err != nil {
		return nil, err
	}
	for i, t := range toks {
		if !t.quoted && strings.EqualFold(t.text, "order") && i+1 < len(toks) && strings.EqualFold(toks[i+1].text, "by") {
			toks = toks[:i]
			break
		}
	}
	p := &jqlParser{toks: toks, loc: loc}
	q, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errorf("Error in the JQL Query: Expecting either 'OR' or 'AND' but got '%s'.", p.toks[p.i].text)
	}
	return q, nil
}

type token struct {
	text   string
	quoted bool
}

func lexJQL(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, token{text: string(c)})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>' || c == '~':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			toks = append(toks, token{text: s[i:j]})
			i = j
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, &JQLError{Message: "Error in the JQL Query: The quoted string '" + s[i+1:] + "' has not been completed."}
			}
			toks = append(toks, token{text: b.String(), quoted: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()=!<>~,\"'", rune(s[j])) {
				j++
			}
			toks = append(toks, token{text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

type jqlParser struct {
	toks []token
	i    int
	loc  *time.Location
}

func (p *jqlParser) errorf(format string, args ...any) error {
	return &JQLError{Message: fmt.Sprintf(format, args...)}
}

func (p *jqlParser) peekWord(w string) bool {
	return p.i < len(p.toks) && !p.toks[p.i].quoted && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *jqlParser) next() (token, error) {
	if p.i >= len(p.toks) {
		return token{}, p.errorf("Error in the JQL Query: Expecting a field name, an operator or a value but the query ended.")
	}
	t := p.toks[p.i]
	p.i++
	return t, nil
}

func (p *jqlParser) or() (query, error) {
	qs, err := p.joined("or", p.and)
	switch {
	case err != nil:
		return nil, err
	case len(qs) == 1:
		return qs[0], nil
	}
	return or(qs), nil
}

func (p *jqlParser) and() (query, error) {
	qs, err := p.joined("and", p.factor)
	switch {
	case err != nil:
		return nil, err
	case len(qs) == 1:
		return qs[0], nil
	}
	return and(qs), nil
}

// joined parses operand { word operand }.
func (p *jqlParser) joined(word string, operand func() (query, error)) ([]query, error) {
	var qs []query
	for {
		q, err := operand()
		if err != nil {
			return nil, err
		}
		qs = append(qs, q)
		if !p.peekWord(word) {
			return qs, nil
		}
		p.i++
	}
}

func (p *jqlParser) factor() (query, error) {
	if p.peekWord("(") {
		p.i++
		q, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peekWord(")") {
			return nil, p.errorf("Error in the JQL Query: Expecting ')' before the end of the query.")
		}
		p.i++
		return q, nil
	}
	ft, err := p.next()
	if err != nil {
		return nil, err
	}
	field := strings.ToLower(ft.text)
	if field == "cf[10008]" {
		field = "epic link" // its clause name by id (testdata/rest/field.server.json)
	}
	if !knownField(field) {
		return nil, p.errorf("Field '%s' does not exist or you do not have permission to view it.", ft.text)
	}
	opt, err := p.next()
	if err != nil {
		return nil, err
	}
	op := strings.ToLower(opt.text)
	if op == "is" {
		neg := p.peekWord("not")
		if neg {
			p.i++
		}
		if !p.peekWord("empty") && !p.peekWord("null") {
			return nil, p.errorf("Error in the JQL Query: Expecting 'EMPTY' after 'IS'.")
		}
		p.i++
		c := clause{field: field, empty: true}
		if neg {
			c.op = "not"
		}
		return c, nil
	}
	if op == "not" && p.peekWord("in") {
		p.i++
		op = "not in"
	}
	if op == "in" || op == "not in" {
		list, err := p.list()
		if err != nil {
			return nil, err
		}
		return clause{field: field, op: op, list: list}, nil
	}
	switch op {
	case "=", "!=", "<", "<=", ">", ">=":
	default:
		return nil, p.errorf("Error in the JQL Query: The operator '%s' is not supported by the sandbox.", opt.text)
	}
	vt, err := p.next()
	if err != nil {
		return nil, err
	}
	if !vt.quoted && p.peekWord("(") {
		return nil, p.errorf("Error in the JQL Query: functions are not supported by the sandbox.")
	}
	return clause{field: field, op: op, value: vt.text, loc: p.loc}, nil
}

// list parses the "(a, b, …)" of IN.
func (p *jqlParser) list() ([]string, error) {
	if !p.peekWord("(") {
		return nil, p.errorf("Error in the JQL Query: Expecting '(' after 'IN'.")
	}
	p.i++
	var out []string
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		if !t.quoted && t.text == ")" && len(out) == 0 {
			return nil, p.errorf("Error in the JQL Query: Expecting a value after '('.")
		}
		if !t.quoted && strings.ContainsAny(t.text, "(),") {
			return nil, p.errorf("Error in the JQL Query: Expecting a value but got '%s'.", t.text)
		}
		out = append(out, t.text)
		sep, err := p.next()
		if err != nil {
			return nil, err
		}
		switch {
		case !sep.quoted && sep.text == ")":
			return out, nil
		case !sep.quoted && sep.text == ",":
		default:
			return nil, p.errorf("Error in the JQL Query: Expecting ',' or ')' but got '%s'.", sep.text)
		}
	}
}

func (c clause) match(key string, f map[string]any) bool {
	vals := values(c.field, key, f)
	if c.empty {
		return (len(vals) == 0) == (c.op == "")
	}
	in := func(want ...string) bool {
		return slices.ContainsFunc(vals, func(v string) bool {
			return slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(v, w) })
		})
	}
	switch c.op {
	case "=":
		return in(c.value)
	case "!=":
		return len(vals) > 0 && !in(c.value)
	case "in":
		return in(c.list...)
	case "not in":
		return len(vals) > 0 && !in(c.list...)
	}
	// Ordered comparisons are on instants: the literal is a wall-clock
	// time in the user's zone (midnight when it has no time), a field a
	// Jira timestamp or a date (midnight in that zone too).
	loc := c.loc
	if loc == nil {
		loc = time.UTC
	}
	want, ok := jqlTime(c.value, loc)
	if !ok || len(vals) == 0 {
		return false
	}
	got, ok := fieldTime(vals[0], loc)
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return got.Before(want)
	case "<=":
		return !got.After(want)
	case ">":
		return got.After(want)
	default:
		return !got.Before(want)
	}
}

// values are what a field holds, as JQL compares it: ids and names of
// objects, every element of a list.
func values(field, key string, f map[string]any) []string {
	switch field {
	case "key", "issuekey":
		return []string{key}
	case "project":
		if f["project"] == nil {
			// Every issue is in a project: the key's prefix names it.
			p, _, _ := strings.Cut(key, "-")
			return []string{p}
		}
		return objectIDs(f["project"], "key", "id")
	case "fixversion":
		return objectIDs(f["fixVersions"], "id", "name")
	case "labels":
		return objectIDs(f["labels"])
	case "issuetype", "type":
		return objectIDs(f["issuetype"], "name", "id")
	case "duedate", "due":
		return objectIDs(f["duedate"])
	case "resolved", "resolutiondate":
		return objectIDs(f["resolutiondate"])
	case "created":
		return objectIDs(f["created"])
	case "updated", "updateddate":
		return objectIDs(f["updated"])
	case "parent":
		return objectIDs(f["parent"], "key", "id")
	case "epic link":
		return objectIDs(f["Epic Link"])
	case "status":
		return objectIDs(f["status"], "name", "id")
	case "statuscategory":
		st, _ := f["status"].(map[string]any)
		return objectIDs(st["statusCategory"], "key", "name")
	}
	return nil
}

// objectIDs flattens v: a string is itself; an object gives its named
// keys; a list gives those of each element.
func objectIDs(v any, keys ...string) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []string:
		return x
	case []any:
		return eachIDs(x, keys)
	case []map[string]any:
		return eachIDs(x, keys)
	case map[string]any:
		var out []string
		for _, k := range keys {
			if s := fmt.Sprint(x[k]); x[k] != nil && s != "" {
				out = append(out, s)
			}
		}
		return out
	case map[string]string:
		var out []string
		for _, k := range keys {
			if x[k] != "" {
				out = append(out, x[k])
			}
		}
		return out
	}
	return []string{strings.TrimFunc(fmt.Sprint(v), unicode.IsSpace)}
}

// eachIDs is objectIDs over every element of a list.
func eachIDs[T any](list []T, keys []string) []string {
	var out []string
	for _, e := range list {
		out = append(out, objectIDs(e, keys...)...)
	}
	return out
}

// jqlTime reads a JQL date literal in loc, to the minute.
func jqlTime(s string, loc *time.Location) (time.Time, bool) {
	for _, l := range []string{"2006-01-02 15:04", "2006/01/02 15:04", time.DateOnly, "2006/01/02"} {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// fieldTime reads a field's value: a Jira timestamp, RFC 3339, or a date
// (midnight in loc).
func fieldTime(s string, loc *time.Location) (time.Time, bool) {
	for _, l := range []string{timeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, true
	}
	return time.Time{}, false
}
