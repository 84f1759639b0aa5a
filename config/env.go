package config

import (
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvVar is one key's environment variable.
type EnvVar struct {
	Name string // SLIPWATCH_POLL_INTERVAL
	Path string // poll.interval
}

// EnvVars lists every key that the environment can set, in schema order.
// docs/configuration.md is checked against it.
func EnvVars() []EnvVar {
	var out []envKey
	envKeys(reflect.TypeFor[Config](), strings.TrimSuffix(EnvPrefix, "_"), "", nil, &out)
	vars := make([]EnvVar, len(out))
	for i, k := range out {
		vars[i] = EnvVar{Name: k.name, Path: k.path}
	}
	return vars
}

type envKey struct {
	name, path string
	index      []int
}

// envKeys derives SLIPWATCH_<PATH> names from the yaml tags: nested keys
// join with "_", so github.app.private_key is SLIPWATCH_GITHUB_APP_PRIVATE_KEY.
func envKeys(t reflect.Type, name, path string, index []int, out *[]envKey) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		n := name + "_" + strings.ToUpper(tag)
		p := join(path, tag)
		idx := append(slices.Clone(index), i)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			envKeys(ft, n, p, idx, out)
			continue
		}
		*out = append(*out, envKey{name: n, path: p, index: idx})
	}
}

// serviceLink matches what Kubernetes injects for a Service whose name
// starts with "slipwatch" (SLIPWATCH_PORT=tcp://…, SLIPWATCH_SERVICE_HOST,
// SLIPWATCH_REDIS_PORT_6379_TCP_ADDR): not settings, so not errors.
var serviceLink = regexp.MustCompile(`_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$`)

// overlay applies the SLIPWATCH_* variables of vars to cfg. A value that
// does not parse is an error, as is a SLIPWATCH_* name that is no setting
// (a typo would otherwise be silently ignored).
func overlay(cfg *Config, vars map[string]string, p *problems) {
	var keys []envKey
	envKeys(reflect.TypeFor[Config](), strings.TrimSuffix(EnvPrefix, "_"), "", nil, &keys)
	known := make(map[string]envKey, len(keys))
	for _, k := range keys {
		known[k.name] = k
	}
	names := make([]string, 0, len(vars))
	for name := range vars {
		if strings.HasPrefix(name, EnvPrefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	root := reflect.ValueOf(cfg).Elem()
	for _, name := range names {
		k, ok := known[name]
		if !ok {
			if name == EnvConfig || serviceLink.MatchString(name) {
				continue
			}
			hint := ""
			if s := suggestEnv(name, known); s != "" {
				hint = "; did you mean " + s + "?"
				if _, set := vars[s]; !set {
					// As for a misspelt key in the file.
					p.refused = append(p.refused, known[s].path)
				}
			}
			p.add(name, "not a slipwatch setting%s", hint)
			continue
		}
		setEnv(field(root, k.index), k, vars[name], p)
	}
}

// field walks to the field at index, creating tracker sections on the way:
// setting SLIPWATCH_GITHUB_TOKEN alone configures GitHub.
func field(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(newSection(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v
}

func setEnv(v reflect.Value, k envKey, val string, p *problems) {
	d := decoder{p: p, fromEnv: k.name}
	if v.Kind() != reflect.Slice {
		if msg := setScalar(v, val, k.name); msg != "" {
			p.refuse(k.path, "%s", msg)
		}
		return
	}
	trimmed := strings.TrimSpace(val)
	if v.Type().Elem().Kind() != reflect.Struct && !strings.HasPrefix(trimmed, "[") {
		// A plain list: "acme/api, acme/web".
		var items []string
		for item := range strings.SplitSeq(trimmed, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			s.Index(i).SetString(item)
		}
		v.Set(s)
		return
	}
	// Lists of objects (links), or a YAML flow list: parse as YAML.
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(val), &doc); err != nil || len(doc.Content) != 1 {
		p.refuse(k.path, "%s is not a YAML list", k.name)
		return
	}
	d.decode(k.path, doc.Content[0], v)
}

// suggestEnv names a setting that a misspelt variable was probably meant to
// be, or "".
func suggestEnv(name string, known map[string]envKey) string {
	best, bestD := "", 4
	for k := range known {
		if dist := editDistance(name, k); dist < bestD || (dist == bestD && best != "" && k < best) {
			best, bestD = k, dist
		}
	}
	return best
}
