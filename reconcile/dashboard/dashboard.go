// Package dashboard serves slipwatch's pages for people: every promise on
// one page (GET /), one commitment with its history and burn-up chart
// (GET /commitments/{id}) and each team's track record month by month
// (GET /track-record).
//
// It renders from records only — it imports no tracker client and no
// Redis — with html/template and files embedded in the binary: no CDN, no
// web font, no script, so it works on an air-gapped cluster. The charts
// are SVG drawn on the server. Filters and sorting live in the URL
// query, so a bookmark keeps the view and nothing needs JavaScript.
package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/reconcile"
)

// Source is where the pages read the records from: the runner's store.
// The pages keep what they show of each record, not the record, so an
// organisation's ten thousand records are never all in memory at once.
type Source interface {
	// Each calls fn with every record until fn returns false.
	Each(ctx context.Context, fn func(reconcile.Record) bool) error
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, fn func(reconcile.Record) bool) error

// Each calls f.
func (f SourceFunc) Each(ctx context.Context, fn func(reconcile.Record) bool) error {
	return f(ctx, fn)
}

// Records is a Source over records in memory.
type Records []reconcile.Record

// Each calls fn with each record in turn.
func (rs Records) Each(_ context.Context, fn func(reconcile.Record) bool) error {
	for _, r := range rs {
		if !fn(r) {
			break
		}
	}
	return nil
}

// Options tune the pages; the zero value of a field takes its default.
type Options struct {
	Now      func() time.Time // the clock ("today" on the charts); default time.Now
	Location *time.Location   // the configured zone (timezone); default UTC
	Logger   *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// handler serves the pages.
type handler struct {
	src   Source
	opt   Options
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	// cssVersion names the stylesheet's content in its URL, so a new
	// release's style is fetched while an unchanged one stays cached.
	cssVersion string
	bufs       sync.Pool
}

// New is the pages' handler. Mount it at the root of the server: it
// answers GET / and GET /commitments/{id}, GET /track-record and its own
// /static/ files, and 404 for any other path. Links between the pages
// are relative, so a proxy may also serve them under a path prefix.
func New(src Source, opt Options) http.Handler {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{src: src, opt: opt, log: opt.Logger, mux: http.NewServeMux(), pages: parsePages()}
	h.bufs.New = func() any { return new(bytes.Buffer) }
	css, err := staticFS.ReadFile("static/dashboard.css")
	if err != nil {
		panic("dashboard: the embedded stylesheet is missing: " + err.Error())
	}
	sum := sha256.Sum256(css)
	h.cssVersion = hex.EncodeToString(sum[:6])

	h.mux.HandleFunc("GET /{$}", h.portfolio)
	h.mux.HandleFunc("GET /commitments/{id}", h.commitment)
	h.mux.HandleFunc("GET /track-record", h.trackRecord)
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.Handle("GET /static/{file}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Not secret, and named by content: cached for a day.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	h.mux.HandleFunc("/", h.notFound)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// parsePages builds each page's template: the layout around its content.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	pages := map[string]*template.Template{}
	for _, name := range []string{"portfolio", "commitment", "trackrecord", "error"} {
		pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

// page is what the layout needs around every page's content.
type page struct {
	Title string
	Root  string // "./" or "../": the relative way to the pages' root
	CSS   string // the stylesheet's version
	Nav   string // the current section: portfolio or track-record
	AsOf  string // when the page was drawn, in the configured zone
	Data  any
}

func (h *handler) newPage(title, root, nav string, data any) page {
	return page{Title: title, Root: root, CSS: h.cssVersion, Nav: nav,
		AsOf: h.opt.Now().In(h.opt.Location).Format("2006-01-02 15:04 MST"), Data: data}
}

// render writes the page whole or not at all: a template error answers
// 500, never half a page.
func (h *handler) render(w http.ResponseWriter, status int, name string, p page) {
	buf := h.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() < 4<<20 { // a huge page's buffer is not kept
			h.bufs.Put(buf)
		}
	}()
	if err := h.pages[name].ExecuteTemplate(buf, "layout.html", p); err != nil {
		h.log.Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	// The pages hold nothing from elsewhere and run no script; links to
	// the trackers send no Referer, and the data is not cached on the way.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// each calls fn with the records, or answers 503 and reports false.
func (h *handler) each(w http.ResponseWriter, r *http.Request, root string, fn func(reconcile.Record) bool) bool {
	if err := h.src.Each(r.Context(), fn); err != nil {
		h.log.Warn("dashboard: records unavailable", "err", err)
		h.fail(w, http.StatusServiceUnavailable, root, "Records unavailable",
			"slipwatch cannot read its records right now (is Redis reachable?). Try again in a minute; /readyz says more.")
		return false
	}
	return true
}

type errorData struct{ Heading, Message string }

func (h *handler) fail(w http.ResponseWriter, status int, root, heading, msg string) {
	h.render(w, status, "error", h.newPage(heading, root, "", errorData{Heading: heading, Message: msg}))
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.fail(w, http.StatusNotFound, rootOf(r.URL.Path), "Not found", "There is no page here.")
}

// rootOf is the relative way from path to the pages' root.
func rootOf(path string) string {
	n := 0
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			n++
		}
	}
	if n == 0 {
		return "./"
	}
	root := ""
	for range n {
		root += "../"
	}
	return root
}
