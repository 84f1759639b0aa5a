package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Schema is the part of an OpenAPI 3.0 Schema Object the checks read:
// types, nullability, enums, objects and arrays, and the three ways of
// combining schemas. Everything else (descriptions, formats, lengths) is
// dropped when a description is trimmed.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *Additional        `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	AllOf                []*Schema          `json:"allOf,omitempty"`
	AnyOf                []*Schema          `json:"anyOf,omitempty"`
	OneOf                []*Schema          `json:"oneOf,omitempty"`
}

// Additional is additionalProperties: false, true, or a schema every
// undeclared property must match (a map).
type Additional struct {
	Allowed bool
	Schema  *Schema // with Allowed; nil is any value
}

// MarshalJSON writes false, true or the schema.
func (a *Additional) MarshalJSON() ([]byte, error) {
	switch {
	case !a.Allowed:
		return []byte("false"), nil
	case a.Schema == nil:
		return []byte("true"), nil
	}
	return json.Marshal(a.Schema)
}

// UnmarshalJSON reads false, true or a schema.
func (a *Additional) UnmarshalJSON(b []byte) error {
	switch s := string(bytes.TrimSpace(b)); s {
	case "false":
		*a = Additional{}
		return nil
	case "true":
		*a = Additional{Allowed: true}
		return nil
	}
	a.Allowed, a.Schema = true, &Schema{}
	return json.Unmarshal(b, a.Schema)
}

// validator checks JSON values against the schemas of one description.
type validator struct {
	schemas map[string]*Schema
	// request: an object schema that declares properties accepts no
	// other one unless its additionalProperties is a schema (a map).
	// A request is judged by what is documented, not by what the server
	// happens to tolerate; Jira marks many request shapes
	// additionalProperties: true that are not maps at all.
	request bool
	errs    []string
}

// maxErrors caps what one value reports: the first few say what is wrong.
const maxErrors = 20

func (v *validator) fail(at, format string, args ...any) {
	if len(v.errs) < maxErrors {
		v.errs = append(v.errs, at+": "+fmt.Sprintf(format, args...))
	}
}

// resolve follows $ref.
func (v *validator) resolve(s *Schema) (*Schema, error) {
	for seen := 0; s != nil && s.Ref != ""; seen++ {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		next := v.schemas[name]
		if !ok || next == nil || seen > 32 {
			return nil, fmt.Errorf("unresolvable $ref %q", s.Ref)
		}
		s = next
	}
	return s, nil
}

// validate checks x (decoded with UseNumber) against s, recording every
// mismatch at its JSON path.
func (v *validator) validate(s *Schema, x any, at string) { v.check(s, x, at, false) }

// check is validate; part says s is one part of a composed schema (allOf,
// anyOf, oneOf) that x is also checked against as a whole.
func (v *validator) check(s *Schema, x any, at string, part bool) {
	s, err := v.resolve(s)
	if err != nil {
		v.fail(at, "%v", err)
		return
	}
	if s == nil {
		return
	}
	if x == nil {
		if !v.nullOK(s) {
			v.fail(at, "null, but the schema does not allow null")
		}
		return
	}
	if s.Type != "" && !hasType(s.Type, x) {
		v.fail(at, "%s, want %s", kindOf(x), s.Type)
		return
	}
	if len(s.Enum) > 0 && !inEnum(s.Enum, x) {
		v.fail(at, "%s is not one of %s", short(x), enumText(s.Enum))
	}
	if obj, ok := x.(map[string]any); ok && v.request && !part {
		v.undeclared(s, obj, at)
	}
	for _, sub := range s.AllOf {
		v.check(sub, x, at, true)
	}
	if len(s.AnyOf) > 0 && v.matching(s.AnyOf, x, at) == 0 {
		v.fail(at, "matches none of anyOf: %s", v.why(s.AnyOf, x, at))
	}
	// oneOf is judged as anyOf: GitHub's alternatives overlap (an issue
	// title is a string or an integer; /user is a private or a public
	// user, and a private user's fields include a public one's), so
	// "exactly one" would refuse the examples GitHub publishes for them.
	if len(s.OneOf) > 0 && v.matching(s.OneOf, x, at) == 0 {
		v.fail(at, "matches none of oneOf: %s", v.why(s.OneOf, x, at))
	}
	switch x := x.(type) {
	case map[string]any:
		v.object(s, x, at)
	case []any:
		if s.Items != nil {
			for i, e := range x {
				v.validate(s.Items, e, at+"["+strconv.Itoa(i)+"]")
			}
		}
	}
}

// nullOK says whether s admits null: nullable, or no type to refuse it
// (OpenAPI 3.0: nullable only adds null to a type given beside it) and
// no combined schema that refuses it.
func (v *validator) nullOK(s *Schema) bool {
	if s.Nullable {
		return true
	}
	if s.Type != "" || len(s.Enum) > 0 {
		return false
	}
	for _, sub := range s.AllOf {
		r, err := v.resolve(sub)
		if err != nil || (r != nil && !v.nullOK(r)) {
			return false
		}
	}
	for _, alts := range [][]*Schema{s.AnyOf, s.OneOf} {
		if len(alts) == 0 {
			continue
		}
		ok := false
		for _, sub := range alts {
			r, err := v.resolve(sub)
			ok = ok || (err == nil && (r == nil || v.nullOK(r)))
		}
		if !ok {
			return false
		}
	}
	return true
}

func (v *validator) object(s *Schema, x map[string]any, at string) {
	var missing []string
	for _, name := range s.Required {
		if _, ok := x[name]; !ok {
			missing = append(missing, strconv.Quote(name))
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		v.fail(at, "required property %s is missing", missing[0])
	default:
		v.fail(at, "required properties %s are missing", strings.Join(missing, ", "))
	}
	// In order: the same answer gives the same problems, in the same
	// order, on every run (TestPublishedExamplesValidate compares them).
	for _, name := range slices.Sorted(maps.Keys(x)) {
		val := x[name]
		if p, ok := s.Properties[name]; ok {
			v.validate(p, val, at+"."+name)
			continue
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			v.validate(s.AdditionalProperties.Schema, val, at+"."+name)
			continue
		}
		// An answer may carry properties its schema does not list, even
		// one marked additionalProperties: false: both trackers add
		// fields without notice (Atlassian's own examples carry some its
		// schemas do not have), and clients ignore them. A request may
		// not (see undeclared).
		if v.request && s.AdditionalProperties != nil && !s.AdditionalProperties.Allowed {
			v.fail(at, "property %q is not in the schema", name)
		}
	}
}

// undeclared reports the properties of a request object that no part of
// s declares, unless some part makes it a map.
func (v *validator) undeclared(s *Schema, x map[string]any, at string) {
	declared := map[string]bool{}
	if v.declare(s, declared, 0) {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(x)) {
		if !declared[name] {
			v.fail(at, "property %q is not documented", name)
		}
	}
}

// declare adds the properties s and its parts declare; it reports whether
// any undeclared property is allowed (a map, or an object of any shape).
func (v *validator) declare(s *Schema, into map[string]bool, depth int) (open bool) {
	s, err := v.resolve(s)
	if err != nil || s == nil || depth > 16 {
		return true
	}
	if s.Type != "" && s.Type != "object" {
		return false // an alternative for values that are not objects
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		open = true
	}
	for name := range s.Properties {
		into[name] = true
	}
	parts := slices.Concat(s.AllOf, s.AnyOf, s.OneOf)
	if s.Properties == nil && s.AdditionalProperties == nil && len(parts) == 0 {
		return true
	}
	for _, p := range parts {
		if v.declare(p, into, depth+1) {
			open = true
		}
	}
	return open
}

// matching counts the alternatives x matches.
func (v *validator) matching(alts []*Schema, x any, at string) int {
	n := 0
	for _, a := range alts {
		sub := &validator{schemas: v.schemas, request: v.request}
		sub.check(a, x, at, true)
		if len(sub.errs) == 0 {
			n++
		}
	}
	return n
}

// why is what each alternative said, for a value none matched.
func (v *validator) why(alts []*Schema, x any, at string) string {
	var out []string
	for i, a := range alts {
		sub := &validator{schemas: v.schemas, request: v.request}
		sub.check(a, x, at, true)
		if len(sub.errs) > 0 {
			out = append(out, fmt.Sprintf("#%d %s", i, sub.errs[0]))
		}
	}
	return strings.Join(out, "; ")
}

func hasType(t string, x any) bool {
	switch t {
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "string":
		_, ok := x.(string)
		return ok
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "number":
		_, ok := x.(json.Number)
		return ok
	case "integer":
		n, ok := x.(json.Number)
		if !ok {
			return false
		}
		if _, err := n.Int64(); err == nil {
			return true
		}
		// 1.0 and 1e3 are integers too.
		f, err := n.Float64()
		return err == nil && f == float64(int64(f))
	}
	return true // a type this subset does not know refuses nothing
}

func kindOf(x any) string {
	switch x.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string " + short(x)
	case bool:
		return "boolean"
	case json.Number:
		return "number " + short(x)
	}
	return fmt.Sprintf("%T", x)
}

func inEnum(enum []any, x any) bool {
	for _, e := range enum {
		if sameJSON(e, x) {
			return true
		}
	}
	return false
}

// sameJSON compares two decoded values, numbers by value.
func sameJSON(a, b any) bool {
	switch a := a.(type) {
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	}
	na, aNum := number(a)
	nb, bNum := number(b)
	if aNum || bNum {
		return aNum && bNum && na == nb
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func number(x any) (float64, bool) {
	switch n := x.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}

func enumText(enum []any) string {
	b, _ := json.Marshal(enum)
	return cut(string(b))
}

// short is x as JSON, cut to a readable length.
func short(x any) string {
	b, _ := json.Marshal(x)
	return cut(string(b))
}

func cut(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// decode parses JSON keeping numbers exact.
func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return x, nil
}
