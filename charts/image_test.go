package charts

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Dockerfile and its context, at the root of the repository. There is
// no Docker engine in CI: these tests lint the file and build the binary
// with the Dockerfile's own `go build` line from exactly the files the
// context would hold.
const (
	repoRoot     = ".."
	dockerfile   = repoRoot + "/Dockerfile"
	dockerignore = repoRoot + "/.dockerignore"
)

type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, …
	args string
}

type stage struct {
	from, name string
	instrs     []instruction
}

// parseDockerfile reads instructions the way Docker does for the subset
// the project uses: comments, line continuations, stages.
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	flush := func() error {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var st stage
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case st.from == "":
					st.from = f[i]
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					st.name = f[i+1]
					i++
				}
			}
			stages = append(stages, st)
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				return fmt.Errorf("line %d: %s before FROM", in.line, in.cmd)
			}
			return nil
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
		return nil
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // comments, also inside a continued instruction
		}
		if cur.Len() == 0 {
			start = n
		}
		if rest, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return stages, sc.Err()
}

func readDockerfile(t *testing.T) []stage {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages; want a build stage and a runtime stage", len(stages))
	}
	return stages
}

// goBuild finds the RUN with `go build` in a build stage.
func goBuild(t *testing.T, stages []stage) (stage, instruction) {
	t.Helper()
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st.instrs {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				return st, in
			}
		}
	}
	t.Fatal("no RUN with go build in a build stage")
	return stage{}, instruction{}
}

func TestDockerfile(t *testing.T) {
	stages := readDockerfile(t)
	final := stages[len(stages)-1]
	names := map[string]bool{}

	t.Run("base images pinned", func(t *testing.T) {
		for _, st := range stages {
			ref := st.from
			switch {
			case names[ref]:
			case ref == "scratch":
			case strings.Contains(ref, "$"):
				t.Errorf("FROM %s: a variable hides which image is used", ref)
			case strings.Contains(ref, "@sha256:"):
			default:
				tag := ""
				if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
					tag = ref[i+1:]
				}
				if tag == "" || tag == "latest" {
					t.Errorf("FROM %s: not pinned by a tag or digest", ref)
				}
			}
			if st.name != "" {
				names[st.name] = true
			}
		}
	})

	t.Run("runtime is distroless, non-root, without a shell", func(t *testing.T) {
		if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
			t.Errorf("runtime image %s is not distroless static or scratch", final.from)
		}
		user := ""
		var entrypoint string
		for _, in := range final.instrs {
			switch in.cmd {
			case "USER":
				user = in.args
			case "RUN", "SHELL":
				t.Errorf("line %d: %s in the runtime stage, which has no shell", in.line, in.cmd)
			case "ENTRYPOINT":
				entrypoint = in.args
			case "CMD":
				if !execForm(in.args) {
					t.Errorf("line %d: CMD %s is not exec form", in.line, in.args)
				}
			}
		}
		uid, _, _ := strings.Cut(user, ":")
		if n, err := strconv.Atoi(uid); (err != nil && uid != "nonroot") || (err == nil && n == 0) {
			t.Errorf("USER %q: want a non-root user (numeric, so runAsNonRoot can check it)", user)
		}
		if !execForm(entrypoint) {
			t.Errorf("ENTRYPOINT %q is not exec form: without a shell, only exec form runs, and signals reach slipwatch directly", entrypoint)
		}
	})

	t.Run("no remote sources", func(t *testing.T) {
		for _, st := range stages {
			for _, in := range st.instrs {
				if in.cmd != "ADD" {
					continue
				}
				for _, src := range strings.Fields(in.args) {
					if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
						t.Errorf("line %d: ADD %s fetches at build time, unpinned and unverified", in.line, src)
					}
				}
			}
		}
	})

	t.Run("static, trimmed, versioned build", func(t *testing.T) {
		st, in := goBuild(t, stages)
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "./cmd/slipwatch"} {
			if !strings.Contains(in.args, want) {
				t.Errorf("line %d: go build lacks %s", in.line, want)
			}
		}
		args := declaredArgs(st, in.line)
		for _, a := range []string{"VERSION", "COMMIT"} {
			if _, ok := args[a]; !ok {
				t.Errorf("ARG %s is not declared in stage %s before the build", a, st.name)
			}
		}
		out := flagValue(t, in.args, "-o")
		copied := false
		for _, c := range final.instrs {
			if c.cmd == "COPY" && strings.Contains(c.args, "--from="+st.name) && strings.Contains(c.args, out) {
				copied = true
			}
		}
		if !copied {
			t.Errorf("the runtime stage does not COPY --from=%s %s", st.name, out)
		}
	})

	t.Run("context", func(t *testing.T) {
		ctx := contextFiles(t)
		for _, f := range []string{"go.mod", "go.sum", "cmd/slipwatch/main.go"} {
			if !ctx[f] {
				t.Errorf("%s is not in the build context", f)
			}
		}
		for f := range ctx {
			if strings.HasPrefix(f, ".git/") || f == ".git" || strings.HasPrefix(f, "charts/") {
				t.Errorf("%s is in the build context", f)
			}
		}
		// Every COPY from the context names files the context has.
		for _, st := range stages {
			for _, in := range st.instrs {
				if in.cmd != "COPY" || strings.Contains(in.args, "--from") {
					continue
				}
				f := strings.Fields(in.args)
				for _, src := range f[:len(f)-1] {
					if src != "." && !ctx[path.Clean(src)] {
						t.Errorf("line %d: COPY %s: not in the build context", in.line, src)
					}
				}
			}
		}
	})
}

func execForm(s string) bool {
	var argv []string
	return json.Unmarshal([]byte(s), &argv) == nil && len(argv) > 0
}

// declaredArgs are the ARGs (with their defaults) of st before line.
func declaredArgs(st stage, line int) map[string]string {
	args := map[string]string{}
	for _, in := range st.instrs {
		if in.cmd != "ARG" || in.line > line {
			continue
		}
		for _, a := range strings.Fields(in.args) {
			k, v, _ := strings.Cut(a, "=")
			args[k] = v
		}
	}
	return args
}

func flagValue(t *testing.T, cmdline, flag string) string {
	t.Helper()
	f := shellWords(t, cmdline)
	i := slices.Index(f, flag)
	if i < 0 || i+1 >= len(f) {
		t.Fatalf("no %s in %q", flag, cmdline)
	}
	return f[i+1]
}

// shellWords splits a one-command shell line: words, double and single
// quotes. The build line is kept that simple on purpose.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.ContainsRune("|&;<>`()", r):
			t.Fatalf("the build line %q uses shell syntax (%c) the test does not run", s, r)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

var argRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

func expandArgs(s string, args map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := argRef.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		return args[name]
	})
}

// ignorePattern is one .dockerignore line.
type ignorePattern struct {
	re     *regexp.Regexp
	negate bool
}

func readDockerignore(t *testing.T) []ignorePattern {
	t.Helper()
	b, err := os.ReadFile(dockerignore)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	var out []ignorePattern
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			p.negate, line = true, rest
		}
		line = strings.TrimPrefix(path.Clean("/"+line), "/")
		p.re = regexp.MustCompile("^" + globRegexp(line) + "$")
		out = append(out, p)
	}
	return out
}

// globRegexp translates Docker's patterns: * and ? within one path
// element, ** across any number of them.
func globRegexp(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			i++
			if i+1 < len(glob) && glob[i+1] == '/' {
				i++
				b.WriteString("(.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// ignored applies Docker's rule: the last pattern matching the path or one
// of its parent directories decides.
func ignored(patterns []ignorePattern, rel string) bool {
	out := false
	for _, p := range patterns {
		for dir := rel; dir != "." && dir != "/"; dir = path.Dir(dir) {
			if p.re.MatchString(dir) {
				out = !p.negate
				break
			}
		}
	}
	return out
}

// contextFiles are the files of the build context, by slash path.
func contextFiles(t *testing.T) map[string]bool {
	t.Helper()
	patterns := readDockerignore(t)
	files := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if ignored(patterns, rel) && !hasNegation(patterns) {
				return fs.SkipDir
			}
			return nil
		}
		if !ignored(patterns, rel) {
			files[rel] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func hasNegation(patterns []ignorePattern) bool {
	return slices.ContainsFunc(patterns, func(p ignorePattern) bool { return p.negate })
}

// TestImageBinary builds the binary the image would hold, from the build
// context and with the Dockerfile's own go build line, and checks that it
// is static, trimmed and knows its version.
func TestImageBinary(t *testing.T) {
	if src, err := os.ReadFile(repoRoot + "/cmd/slipwatch/main.go"); err != nil || !strings.Contains(string(src), "func main()") {
		t.Skip("SKIPPING IMAGE BUILD: ./cmd/slipwatch has no main package yet")
	}
	stages := readDockerfile(t)
	st, in := goBuild(t, stages)

	// The context, copied: a file the build needs but .dockerignore drops
	// fails here as it would in `docker build`.
	ctx := t.TempDir()
	for f := range contextFiles(t) {
		dst := filepath.Join(ctx, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	const version, commit = "v9.8.7-chart-test", "c0ffee1"
	args := declaredArgs(st, in.line)
	args["VERSION"], args["COMMIT"] = version, commit
	args["TARGETOS"], args["TARGETARCH"] = runtime.GOOS, runtime.GOARCH

	words := shellWords(t, in.args)
	var env []string
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		env = append(env, expandArgs(words[0], args))
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("the build line is not `[VAR=…] go build …`: %q", in.args)
	}
	bin := filepath.Join(t.TempDir(), "slipwatch")
	for i := range words {
		words[i] = expandArgs(words[i], args)
		if i > 0 && words[i-1] == "-o" {
			words[i] = bin
		}
	}
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Dir = ctx
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(env, " "), strings.Join(words, " "), err, out)
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary has a dynamic loader: it would not run on distroless static")
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("the binary links %v", libs)
		}
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("slipwatch version: %v\n%s", err, out)
	}
	for _, want := range []string{version, commit} {
		if !strings.Contains(string(out), want) {
			t.Errorf("slipwatch version does not say %s:\n%s", want, out)
		}
	}
}
