package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// docDefault is the default of the key at path as docs/configuration.md
// shows it: "" when the key has none.
func docDefault(d *Config, g *GitHub, j *Jira, o *OAuth2, path string) string {
	var root reflect.Value
	rest := path
	switch {
	case strings.HasPrefix(path, "github.app."):
		return ""
	case strings.HasPrefix(path, "github."):
		root, rest = reflect.ValueOf(g).Elem(), strings.TrimPrefix(path, "github.")
	case strings.HasPrefix(path, "jira.auth.oauth2."):
		root, rest = reflect.ValueOf(o).Elem(), strings.TrimPrefix(path, "jira.auth.oauth2.")
	case strings.HasPrefix(path, "jira."):
		root, rest = reflect.ValueOf(j).Elem(), strings.TrimPrefix(path, "jira.")
	default:
		root = reflect.ValueOf(d).Elem()
	}
	v := root
	for _, seg := range strings.Split(rest, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return ""
			}
			v = v.Elem()
		}
		idx, ok := fieldsOf(v.Type())[seg]
		if !ok {
			return ""
		}
		v = v.Field(idx)
	}
	if v.IsZero() {
		return ""
	}
	return "`" + fmt.Sprint(v.Interface()) + "`"
}

var docRow = regexp.MustCompile("^\\| `([a-z0-9_.]+)` \\| `(SLIPWATCH_[A-Z0-9_]+)` \\| ([^|]*) \\|")

// TestConfigurationDoc keeps docs/configuration.md true: one row per key,
// with its environment variable and its default as the code has them.
func TestConfigurationDoc(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][2]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := docRow.FindStringSubmatch(line); m != nil {
			rows[m[1]] = [2]string{m[2], strings.TrimSpace(m[3])}
		}
	}
	d := Default()
	var g GitHub
	g.setDefaults()
	var j Jira
	j.setDefaults()
	var o OAuth2
	o.setDefaults()
	keys := map[string]bool{}
	for _, v := range EnvVars() {
		keys[v.Path] = true
		row, ok := rows[v.Path]
		if !ok {
			t.Errorf("docs/configuration.md has no row for %s", v.Path)
			continue
		}
		if row[0] != v.Name {
			t.Errorf("%s: doc says %s, the env variable is %s", v.Path, row[0], v.Name)
		}
		if want := docDefault(d, &g, &j, &o, v.Path); row[1] != want {
			t.Errorf("%s: doc default %q, code default %q", v.Path, row[1], want)
		}
	}
	for k := range rows {
		if !keys[k] {
			t.Errorf("docs/configuration.md documents %s, which is no key", k)
		}
	}
}
