package httpx

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// etagServer serves body with an ETag derived from a version number the
// test can bump, answering 304 to a matching If-None-Match.
type etagServer struct {
	mu      sync.Mutex
	version int
	status  int // when not 0, answer this instead (with an ETag, to tempt the cache)
}

func (e *etagServer) handler(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	version, status := e.version, e.status
	e.mu.Unlock()
	etag := fmt.Sprintf(`"v%d"`, version)
	w.Header().Set("ETag", etag)
	w.Header().Set("X-RateLimit-Remaining", "4000")
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"status %d"}`, status)
		return
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Link", `<`+"http://"+r.Host+r.URL.Path+`?page=2>; rel="next"`)
	w.Header().Set("X-Other", "not kept")
	fmt.Fprintf(w, `[{"version":%d}]`, version)
}

func (e *etagServer) set(version, status int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.version, e.status = version, status
}

func TestCacheReplaysA304AsTheStored200(t *testing.T) {
	t.Parallel()
	var h hits
	es := &etagServer{version: 1}
	srv := server(t, &h, es.handler)
	store := newMemValidators()
	rt := NewCache(wire(t), store, CacheOptions{Identity: func(*http.Request) string { return "token-a" }})

	cold, coldBody := get(t, rt, srv.URL+"/items")
	if Revalidated(cold) {
		t.Errorf("first answer marked revalidated")
	}
	warm, warmBody := get(t, rt, srv.URL+"/items")

	if got := h.Status(http.StatusNotModified); got != 1 {
		t.Errorf("server answered 304 %d times, want 1 (the second request must be conditional)", got)
	}
	if h.Last().Header.Get("If-None-Match") != `"v1"` {
		t.Errorf("second request If-None-Match = %q, want the stored ETag", h.Last().Header.Get("If-None-Match"))
	}
	if warm.StatusCode != http.StatusOK || !Revalidated(warm) {
		t.Errorf("warm answer: status %d, revalidated %v; want 200 marked revalidated", warm.StatusCode, Revalidated(warm))
	}
	if diff := cmp.Diff(coldBody, warmBody); diff != "" {
		t.Errorf("replayed body differs (-cold +warm):\n%s", diff)
	}
	for _, k := range []string{"Link", "Content-Type"} {
		if got, want := warm.Header.Get(k), cold.Header.Get(k); got != want || got == "" {
			t.Errorf("replayed %s = %q, want %q", k, got, want)
		}
	}
	if warm.Header.Get("X-Other") != "" {
		t.Errorf("a header not in keepHeaders was replayed")
	}
	if warm.Header.Get("X-RateLimit-Remaining") != "4000" {
		t.Errorf("the 304's own rate-limit header was lost")
	}
	if warm.ContentLength != int64(len(warmBody)) {
		t.Errorf("ContentLength %d, body %d bytes", warm.ContentLength, len(warmBody))
	}

	// A change is fetched whole and replaces the stored body.
	es.set(2, 0)
	_, changed := get(t, rt, srv.URL+"/items")
	if changed != `[{"version":2}]` {
		t.Errorf("after a change got %s", changed)
	}
	_, again := get(t, rt, srv.URL+"/items")
	if again != `[{"version":2}]` {
		t.Errorf("replay after change got %s, want the new body", again)
	}
}

func TestCacheLastModified(t *testing.T) {
	t.Parallel()
	var h hits
	const lm = "Mon, 02 Mar 2026 09:00:00 GMT"
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Modified-Since") == lm {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", lm)
		fmt.Fprint(w, "body")
	})
	rt := NewCache(wire(t), newMemValidators(), CacheOptions{})
	get(t, rt, srv.URL)
	resp, body := get(t, rt, srv.URL)
	if !Revalidated(resp) || body != "body" || h.Status(http.StatusNotModified) != 1 {
		t.Errorf("Last-Modified revalidation: revalidated %v, body %q, 304s %d", Revalidated(resp), body, h.Status(http.StatusNotModified))
	}
}

func TestCacheNeverStoresErrorsOrOtherStatuses(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusNotFound, http.StatusInternalServerError, http.StatusForbidden, http.StatusAccepted, http.StatusNoContent} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			var h hits
			es := &etagServer{version: 1, status: status}
			srv := server(t, &h, es.handler)
			store := newMemValidators()
			rt := NewCache(wire(t), store, CacheOptions{})
			get(t, rt, srv.URL)
			get(t, rt, srv.URL)
			if len(store.keys()) != 0 {
				t.Errorf("a %d answer was stored", status)
			}
			if h.Last().Header.Get("If-None-Match") != "" {
				t.Errorf("a request after a %d answer was conditional", status)
			}
		})
	}
}

func TestCacheKeepsTheGoodEntryThroughAnError(t *testing.T) {
	t.Parallel()
	var h hits
	es := &etagServer{version: 1}
	srv := server(t, &h, es.handler)
	rt := NewCache(wire(t), newMemValidators(), CacheOptions{})
	get(t, rt, srv.URL)
	es.set(1, http.StatusBadGateway)
	resp, _ := get(t, rt, srv.URL)
	if resp.StatusCode != http.StatusBadGateway || Revalidated(resp) {
		t.Errorf("error answer: status %d, revalidated %v; want the 502 as is", resp.StatusCode, Revalidated(resp))
	}
	es.set(1, 0)
	resp, body := get(t, rt, srv.URL)
	if !Revalidated(resp) || body != `[{"version":1}]` {
		t.Errorf("after the error: revalidated %v body %q; want the stored entry replayed", Revalidated(resp), body)
	}
}

func TestCacheKeysByIdentityWithoutTheSecret(t *testing.T) {
	t.Parallel()
	var h hits
	srv := server(t, &h, (&etagServer{version: 1}).handler)
	store := newMemValidators()
	rt := NewCache(wire(t), store, CacheOptions{}) // identity: the Authorization header

	get(t, rt, srv.URL+"/x", "Authorization", "Bearer secret-token-A")
	get(t, rt, srv.URL+"/x", "Authorization", "Bearer secret-token-B")
	if h.Status(http.StatusNotModified) != 0 {
		t.Errorf("token B revalidated token A's entry")
	}
	resp, _ := get(t, rt, srv.URL+"/x", "Authorization", "Bearer secret-token-A")
	if !Revalidated(resp) {
		t.Errorf("token A's own entry was not used")
	}
	keys := store.keys()
	if len(keys) != 2 {
		t.Fatalf("stored %d entries, want one per token: %q", len(keys), keys)
	}
	for _, k := range keys {
		if strings.Contains(k, "secret-token") {
			t.Errorf("cache key %q holds the token", k)
		}
		if !strings.HasPrefix(k, srv.URL+"/x ") {
			t.Errorf("cache key %q does not start with the full URL", k)
		}
	}
}

// Fingerprint must not change between releases: the connectors' cache
// identities and the keys of every validator stored in Redis are built
// from it, and a new value would orphan them all (one full, counted read of
// everything after an upgrade).
func TestFingerprintIsStableAndHidesTheSecret(t *testing.T) {
	t.Parallel()
	got := Fingerprint("ghp_example")
	if got != "c4855f54c3fc9acf" { // the first 8 bytes of sha256("ghp_example")
		t.Errorf("Fingerprint changed: %q", got)
	}
	if Fingerprint("ghp_example2") == got {
		t.Errorf("two tokens share a fingerprint")
	}
	if strings.Contains(got, "ghp") {
		t.Errorf("fingerprint %q shows the token", got)
	}
}

func TestCacheLeavesOtherRequestsAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		body   string
		header []string
	}{
		{"post", http.MethodPost, `{"a":1}`, nil},
		{"patch", http.MethodPatch, `{"a":1}`, nil},
		{"caller's own If-None-Match", http.MethodGet, "", []string{"If-None-Match", `"mine"`}},
		{"range", http.MethodGet, "", []string{"Range", "bytes=0-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h hits
			srv := server(t, &h, (&etagServer{version: 1}).handler)
			store := newMemValidators()
			rt := NewCache(wire(t), store, CacheOptions{})
			do(t, rt, tt.method, srv.URL, tt.body, tt.header...)
			do(t, rt, tt.method, srv.URL, tt.body, tt.header...)
			if store.gets+store.puts != 0 {
				t.Errorf("store used %d times for a %s", store.gets+store.puts, tt.name)
			}
		})
	}
}

func TestCacheSurvivesABrokenStore(t *testing.T) {
	t.Parallel()
	var h hits
	srv := server(t, &h, (&etagServer{version: 1}).handler)
	store := newMemValidators()
	store.fail = errBroken
	rt := NewCache(wire(t), store, CacheOptions{})
	resp, body := get(t, rt, srv.URL)
	if resp.StatusCode != http.StatusOK || body != `[{"version":1}]` {
		t.Errorf("with a failing store: %d %q, want the answer", resp.StatusCode, body)
	}
}

func TestCacheSkipsBodiesOverTheLimit(t *testing.T) {
	t.Parallel()
	var h hits
	big := strings.Repeat("x", 100)
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"big"`)
		fmt.Fprint(w, big)
	})
	store := newMemValidators()
	rt := NewCache(wire(t), store, CacheOptions{maxBody: 10})
	_, body := get(t, rt, srv.URL)
	if body != big {
		t.Errorf("oversized body came back as %d bytes, want %d", len(body), len(big))
	}
	if len(store.keys()) != 0 {
		t.Errorf("an oversized body was stored")
	}
}

// CacheOptions.TTL reaches the store with each entry it applies to.
func TestCacheTellsTheStoreHowLongAnEntryIsWorthKeeping(t *testing.T) {
	t.Parallel()
	var h hits
	es := &etagServer{version: 1}
	srv := server(t, &h, es.handler)
	store := newMemValidators()
	rt := NewCache(wire(t), store, CacheOptions{TTL: func(r *http.Request) time.Duration {
		if r.URL.Query().Has("since") {
			return 48 * time.Hour
		}
		return 0
	}})
	get(t, rt, srv.URL+"/items?since=2026-11-22")
	get(t, rt, srv.URL+"/items")
	got := map[time.Duration]int{}
	store.mu.Lock()
	for _, v := range store.m {
		got[v.TTL]++
	}
	store.mu.Unlock()
	if diff := cmp.Diff(map[time.Duration]int{48 * time.Hour: 1, 0: 1}, got); diff != "" {
		t.Errorf("entries by TTL (-want +got):\n%s", diff)
	}
}

// A body worth compressing is stored gzipped, a fraction of its size, and
// a 304 still hands the caller the body as the server sent it.
func TestCacheStoresLargeBodiesCompressed(t *testing.T) {
	t.Parallel()
	var h hits
	page := "[" + strings.Repeat(`{"url":"https://api.github.com/repos/acme/api/issues/1","state":"open"},`, 200) + "{}]"
	srv := server(t, &h, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"p1"`)
		if r.Header.Get("If-None-Match") == `"p1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, page)
	})
	store := newMemValidators()
	rt := NewCache(wire(t), store, CacheOptions{})
	if _, body := get(t, rt, srv.URL); body != page {
		t.Fatalf("first answer: %d bytes, want the page", len(body))
	}
	store.mu.Lock()
	for _, v := range store.m {
		if v.Encoding != "gzip" || len(v.Body)*10 > len(page) {
			t.Errorf("stored %d bytes (%q) for a %d-byte page, want it gzipped to a tenth", len(v.Body), v.Encoding, len(page))
		}
	}
	store.mu.Unlock()
	resp, body := get(t, rt, srv.URL)
	if !Revalidated(resp) || body != page || resp.ContentLength != int64(len(page)) {
		t.Errorf("replayed %d bytes (revalidated %v), want the page as sent", len(body), Revalidated(resp))
	}
	// An entry written before compression (no encoding) still replays.
	store.mu.Lock()
	for k, v := range store.m {
		v.Body, v.Encoding = []byte(page), ""
		store.m[k] = v
	}
	store.mu.Unlock()
	if resp, body := get(t, rt, srv.URL); !Revalidated(resp) || body != page {
		t.Errorf("an uncompressed entry replayed %d bytes, want the page", len(body))
	}
}
