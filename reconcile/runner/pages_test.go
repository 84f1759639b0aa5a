package runner

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/reconcile"
)

// TestPagesAndAPIBehindToken: the handler serves the pages from the
// stored records; with server.api_token set, the pages and /api/v1 need
// the bearer token while webhooks, probes and metrics do not, and no page
// ever shows the token.
func TestPagesAndAPIBehindToken(t *testing.T) {
	needRedis(t)
	t.Parallel()
	const token = "runner-test-api-token-5f4e3d2c1b"
	f := newFake()
	ref := f.addMilestone("7", "2026-12-01")
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	if err := st.Enqueue(context.Background(), ref.Key()); err != nil {
		t.Fatal(err)
	}
	drain(t, r, st)
	id := reconcile.CommitmentID(ref)

	serve := func(h http.Handler, method, path, bearer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader("7"))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if method == http.MethodPost {
			req.Header.Set("X-Fake-Signature", "ok")
			req.Header.Set("X-Delivery", "d-"+path+bearer)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}

	open := r.Handler(nil)
	if w := serve(open, http.MethodGet, "/", ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), ">v7</a>") {
		t.Fatalf("no token configured: GET / = %d, want the page listing v7", w.Code)
	}

	r.opt.APIToken = token
	h := r.Handler(nil)
	guarded := []string{"/", "/commitments/" + id, "/track-record", "/static/dashboard.css",
		"/api/v1/commitments", "/api/v1/commitments/" + id, "/api/v1/track-record"}
	for _, path := range guarded {
		w := serve(h, http.MethodGet, path, "")
		if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("GET %s without the token: %d %q", path, w.Code, w.Header().Get("WWW-Authenticate"))
		}
		if w := serve(h, http.MethodGet, path, "wrong-"+token); w.Code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d", path, w.Code)
		}
		w = serve(h, http.MethodGet, path, token)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s with the token: %d", path, w.Code)
		}
		if strings.Contains(w.Body.String(), token) {
			t.Errorf("GET %s shows the token", path)
		}
	}
	if w := serve(h, http.MethodGet, "/commitments/"+id, token); !strings.Contains(w.Body.String(), `<svg class="chart burnup"`) {
		t.Error("the commitment page has no chart")
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/readyz", http.StatusServiceUnavailable}, // not authenticated yet: 503, not 401
		{http.MethodPost, "/webhooks/github", http.StatusAccepted},
		{http.MethodGet, "/webhooks/github", http.StatusMethodNotAllowed},
		{http.MethodGet, "/nowhere", http.StatusNotFound},
	} {
		if w := serve(h, c.method, c.path, ""); w.Code != c.want {
			t.Errorf("%s %s without the token: %d, want %d", c.method, c.path, w.Code, c.want)
		}
	}
}

// TestCommitmentsAPIStreamed: /api/v1/commitments, written one record at a
// time, is the same document a single encoding of every view gives (the
// answer before it was streamed), with nothing and with three
// commitments; /api/v1/commitments/{id} finds one by ID or key.
func TestCommitmentsAPIStreamed(t *testing.T) {
	needRedis(t)
	t.Parallel()
	f := newFake()
	clk := &clock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	r, st := newRunner(t, srv.Client(t), srv.Prefix(t), f, clk, "A")
	h := r.Handler(nil)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	whole := func() string {
		recs, err := r.records(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		views := make([]reconcile.View, 0, len(recs))
		for _, rec := range recs {
			views = append(views, reconcile.ViewOf(rec))
		}
		w := httptest.NewRecorder()
		writeJSON(w, http.StatusOK, map[string]any{"commitments": views})
		return w.Body.String()
	}
	if w := get("/api/v1/commitments"); w.Code != http.StatusOK || w.Body.String() != whole() {
		t.Errorf("no commitments: %d\n%s\nwant\n%s", w.Code, w.Body, whole())
	}
	var refs []connectors.Ref
	for _, id := range []string{"9", "10", "8"} {
		ref := f.addMilestone(id, "2026-12-0"+id[:1])
		refs = append(refs, ref)
		if err := st.Enqueue(context.Background(), ref.Key()); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, r, st)
	w := get("/api/v1/commitments")
	if w.Code != http.StatusOK || w.Body.String() != whole() {
		t.Errorf("three commitments: %d\n%s\nwant\n%s", w.Code, w.Body, whole())
	}
	var doc struct{ Commitments []reconcile.View }
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || len(doc.Commitments) != 3 {
		t.Fatalf("%d commitments, %v", len(doc.Commitments), err)
	}
	for _, path := range []string{"/api/v1/commitments/" + reconcile.CommitmentID(refs[1]), "/api/v1/commitments/" + url.PathEscape(refs[1].Key())} {
		var v reconcile.View
		if w := get(path); w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Key != refs[1].Key() {
			t.Errorf("GET %s = %d %s", path, w.Code, w.Body)
		}
	}
	if w := get("/api/v1/commitments/nope"); w.Code != http.StatusNotFound {
		t.Errorf("an unknown commitment = %d", w.Code)
	}
}
