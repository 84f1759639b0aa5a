package apispec_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTestsUseCheckedSandboxes keeps the checks from being forgotten: no
// test in the module starts a sandbox with githubtest.New or jiratest.New,
// which serve unchecked; they call GitHubSandbox and JiraSandbox. (Code
// that ships, testdrive, and the benchmark harness cmd/slipbench, are not
// tests and keep calling New.)
func TestTestsUseCheckedSandboxes(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	sandboxes := map[string]string{
		"github.com/slipwatch/slipwatch/connectors/github/githubtest": "GitHubSandbox",
		"github.com/slipwatch/slipwatch/connectors/jira/jiratest":     "JiraSandbox",
	}
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
				return filepath.SkipDir // another module (charts)
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		imported := map[string]string{} // local name → helper to use instead
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			helper, ok := sandboxes[p]
			if !ok {
				continue
			}
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imported[name] = helper
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "New" {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && imported[pkg.Name] != "" {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d: %s.New serves unchecked; use apispec.%s", rel, fset.Position(call.Pos()).Line, pkg.Name, imported[pkg.Name])
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Errorf("only %d test files under %s: is this the module?", files, root)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
