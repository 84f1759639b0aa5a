package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one problem with one key.
type FieldError struct {
	Path string // "github.repos[1]", or an environment variable name
	Msg  string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// Errors is every problem found in a config, in the order found. Its Error
// prints one line per problem, which is what the CLI shows before exiting 2.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es *Errors) add(path, format string, args ...any) {
	*es = append(*es, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// EnvPrefix starts every environment variable that sets a config key.
const EnvPrefix = "SLIPWATCH_"

// EnvConfig names the config file; it is the CLI's, not a config key.
const EnvConfig = EnvPrefix + "CONFIG"

// Load reads the file at path (none when path is ""), applies env (in
// os.Environ form) and validates. Any problem comes back as Errors.
func Load(path string, env []string) (*Config, error) {
	var data []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, Errors{{Path: "config", Msg: fmt.Sprintf("read %s: %v", path, errors.Unwrap(err))}}
		}
		data = b
	}
	return Parse(data, env)
}

// Parse decodes YAML strictly (an unknown or repeated key is an error),
// expands ${VAR} and ${VAR:-default} in values from env, overlays the
// SLIPWATCH_<PATH> variables of env, and validates. Nothing stops at the
// first problem: decoding goes on past a bad value, and validation runs on
// whatever decoded, so that one run reports every problem.
func Parse(data []byte, env []string) (*Config, error) {
	vars := environ(env)
	cfg := Default()
	var p problems
	masked, exprs := maskExprs(data)
	d := decoder{vars: vars, p: &p, exprs: exprs}
	if len(strings.TrimSpace(string(masked))) > 0 {
		var doc yaml.Node
		if err := yaml.Unmarshal(masked, &doc); err != nil {
			// Nothing of the file decoded, so its keys are all refused;
			// the environment is still checked.
			p.refuse("", "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		} else if len(doc.Content) == 1 {
			d.decode("", doc.Content[0], reflect.ValueOf(cfg).Elem())
		}
	}
	overlay(cfg, vars, &p)
	errs := append(p.errs, cfg.check(p.refused)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// problems is what loading found: every message, and the keys whose value
// was refused. A refused key keeps its default, which the user never chose,
// so validation says nothing about it (see findings).
type problems struct {
	errs    Errors
	refused []string
}

// add reports a problem that leaves every key as it was (an unknown or
// repeated key, an unknown variable).
func (p *problems) add(path, format string, args ...any) {
	p.errs.add(displayPath(path), format, args...)
}

// refuse reports a value at path that was not taken.
func (p *problems) refuse(path, format string, args ...any) {
	p.add(path, format, args...)
	p.refused = append(p.refused, path)
}

// displayPath names the whole file "config".
func displayPath(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

func environ(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

type decoder struct {
	vars map[string]string
	p    *problems
	// fromEnv marks values that came from SLIPWATCH_* variables: they are
	// taken verbatim (no ${} expansion) and never echoed in messages.
	fromEnv string
	// exprs holds the ${…} expressions masked out of the YAML text.
	exprs map[string]string
}

// maskExprs replaces each ${…} (and $${) in the file with a placeholder
// that is a plain YAML word, before parsing. Without it the example of
// DESIGN.md, auth: { email: ${JIRA_EMAIL} }, is not YAML: braces end a flow
// mapping. Expanding the text itself would parse, but would let a value
// with a quote, colon or newline rewrite the document; placeholders are
// expanded only inside scalar values, after parsing.
func maskExprs(data []byte) ([]byte, map[string]string) {
	s := string(data)
	if !strings.Contains(s, "${") {
		return data, nil
	}
	exprs := map[string]string{}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		start, end := i, i+2
		if i > 0 && s[i-1] == '$' {
			start = i - 1 // $${ stays a literal, masked so its brace is inert too
		} else if j := strings.IndexAny(s[i:], "}\n"); j >= 0 && s[i+j] == '}' {
			end = i + j + 1
		}
		ph := fmt.Sprintf("__slipwatch_expr_%d__", len(exprs))
		exprs[ph] = s[start:end]
		b.WriteString(s[:start])
		b.WriteString(ph)
		s = s[end:]
	}
	return []byte(b.String()), exprs
}

// unmask puts the masked expressions back into s.
func (d decoder) unmask(s string) string {
	if len(d.exprs) == 0 || !strings.Contains(s, "__slipwatch_expr_") {
		return s
	}
	for ph, e := range d.exprs {
		s = strings.ReplaceAll(s, ph, e)
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var durationType = reflect.TypeFor[Duration]()

// decode stores node n into v, reporting problems under path.
func (d decoder) decode(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// "github:" with nothing under it configures the section with its
		// defaults; a null scalar leaves anything else as it was.
		if v.Kind() == reflect.Pointer && v.IsNil() && v.Type().Elem().Kind() == reflect.Struct {
			v.Set(newSection(v.Type().Elem()))
		}
		return
	}
	switch {
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct:
		if v.IsNil() {
			v.Set(newSection(v.Type().Elem()))
		}
		d.decode(path, n, v.Elem())
	case v.Kind() == reflect.Struct:
		d.mapping(path, n, v)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.p.refuse(path, "want a list (line %d)", n.Line)
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(fmt.Sprintf("%s[%d]", path, i), c, s.Index(i))
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			d.p.refuse(path, "want a single value, not a %s (line %d)", kindName(n.Kind), n.Line)
			return
		}
		raw := d.unmask(n.Value)
		s, expanded, err := d.expand(raw)
		if err != nil {
			d.p.refuse(path, "%v (line %d)", err, n.Line)
			return
		}
		shown := strconv.Quote(raw)
		if expanded {
			// The expanded text may be a secret put in the wrong key:
			// name the expression, never the value.
			shown = "the value of " + strconv.Quote(raw)
		}
		if msg := setScalar(v, s, shown); msg != "" {
			d.p.refuse(path, "%s (line %d)", msg, n.Line)
		}
	}
}

func newSection(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if df, ok := p.Interface().(defaulter); ok {
		df.setDefaults()
	}
	return p
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func (d decoder) mapping(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.p.refuse(path, "want a mapping of keys (line %d)", n.Line)
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	var meant []string // keys that misspelt ones resemble
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name := d.unmask(k.Value)
		key := join(path, name)
		if line, dup := seen[name]; dup {
			d.p.add(key, "repeated key (lines %d and %d)", line, k.Line)
			continue
		}
		seen[name] = k.Line
		idx, ok := fields[name]
		if !ok {
			hint := ""
			if s := suggest(name, fields); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
				meant = append(meant, s)
			}
			d.p.add(key, "unknown key (line %d)%s", k.Line, hint)
			continue
		}
		d.decode(key, val, v.Field(idx))
	}
	// A misspelt key's value was meant for the key it resembles, which,
	// left unset, holds a default the user never chose.
	for _, m := range meant {
		if _, set := seen[m]; !set {
			d.p.refused = append(d.p.refused, join(path, m))
		}
	}
}

// fieldsOf maps yaml keys to field indexes.
func fieldsOf(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			m[tag] = i
		}
	}
	return m
}

// suggest names a known key that a typo was probably meant to be, or "".
func suggest(key string, fields map[string]int) string {
	best, bestD := "", 3
	for k := range fields {
		if dist := editDistance(key, k); dist < bestD || (dist == bestD && best != "" && k < best) {
			best, bestD = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// setScalar parses s into v by v's type. It returns a message (without the
// key) when s does not fit; shown is how to name the value in it.
func setScalar(v reflect.Value, s, shown string) string {
	if v.Type() == durationType {
		dur, problem := parseDuration(s)
		if problem != "" {
			return shown + " " + problem
		}
		v.Set(reflect.ValueOf(dur))
		return ""
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return shown + " is not true or false"
		}
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return shown + " is not a whole number"
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return shown + " is not a number"
		}
		v.SetFloat(f)
	default:
		return fmt.Sprintf("cannot hold a value of type %s", v.Type())
	}
	return ""
}

// expand replaces ${VAR} and ${VAR:-default} (default when VAR is unset or
// empty, as in a shell); $${ is a literal ${. Values from the environment
// overlay are not expanded.
func (d decoder) expand(s string) (out string, expanded bool, err error) {
	if d.fromEnv != "" || !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), expanded, nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", false, fmt.Errorf("unclosed ${ in %q", s)
		}
		expr := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validVarName(name) {
			return "", false, fmt.Errorf("${%s} is not a variable reference (write $${ for a literal ${)", expr)
		}
		val, ok := d.vars[name]
		switch {
		case ok && val != "":
		case hasDef:
			val = def
		case ok:
			// Set but empty: an empty secret is better caught by Validate
			// naming the key than refused here.
		default:
			return "", false, fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
		}
		b.WriteString(val)
		expanded = true
	}
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && !(r >= 'A' && r <= 'Z') && !(r >= 'a' && r <= 'z') && !(i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
