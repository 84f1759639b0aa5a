// Package githubtest is a sandbox GitHub Enterprise Server REST API on a
// loopback port (served under /api/v3/, as GHES does): the repositories,
// milestones, issues and comments slipwatch reads and writes, and the
// repository lists of organisations, users and App installations its
// discovery reads, in GitHub's payload shapes (built over the real
// payloads in testdata/rest), with
// Link pagination, ETags answered with 304, rate-limit headers, credentials
// checked as configured (a token, or a GitHub App's JWT and installation
// tokens), and injectable faults. The github package's tests, the
// end-to-end tests, testdrive and the benchmarks run the real connector
// against it.
package githubtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors/internal/answer"
)

// Milestone is a milestone in the sandbox.
type Milestone struct {
	Number      int
	Title       string
	Description string
	State       string // open or closed
	DueOn       time.Time
	ClosedAt    time.Time
	CreatedAt   time.Time // when AddMilestone ran, unless given
	UpdatedAt   time.Time // set by the sandbox on every change
}

// Issue is an issue (or, with PR set, a pull request). Issues and pull
// requests share their numbers, as on GitHub; milestones have their own.
type Issue struct {
	Number    int
	Title     string
	Body      string
	Milestone int
	Labels    []string
	CreatedAt time.Time
	ClosedAt  time.Time // zero while open
	// StateReason is why a closed issue was closed: "completed" (the
	// default), "not_planned" or "duplicate".
	StateReason string
	// UpdatedAt is set by the sandbox on every change and comment;
	// AddIssue keeps one given.
	UpdatedAt time.Time
	PR        bool
	// MergedAt is when a pull request was merged; zero with ClosedAt set
	// is one closed without merging. The issues API says it as
	// pull_request.merged_at.
	MergedAt time.Time
	User     string
}

// Comment is an issue comment.
type Comment struct {
	ID        int64
	Issue     int
	User      string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Fault is an answer to give instead of the real one, or a way to spoil
// the real one. Faults are tried after authentication, oldest first.
type Fault struct {
	Method, PathPrefix string // which requests ("" matches all); paths without /api/v3
	Status             int    // answer this instead; 0: the real answer
	Header             map[string]string
	Body               string
	Times              int // how many requests it answers; 0 is once
	// Delay holds the answer back this long (the sandbox serves other
	// requests meanwhile): a tracker slower than the client's patience.
	Delay time.Duration
	// Reset sends the real answer's headers and half its body, then
	// resets the connection: a TCP reset mid-body. The request has been
	// acted on, as on a real server whose answer was lost.
	Reset bool
}

// apiPrefix is where GitHub Enterprise Server serves its REST API; a
// base_url other than api.github.com gets it, so the sandbox serves there
// and nowhere else.
const apiPrefix = "/api/v3"

// Server is the sandbox. Its methods are safe for concurrent use.
type Server struct {
	URL  string // API root, with a trailing slash
	Self string // the login the token belongs to; set it before serving

	srv *httptest.Server

	mu      sync.Mutex
	now     func() time.Time
	auth    string            // Authorization every request must carry; "" any
	authFn  func(string) bool // decides instead when set
	app     *App
	tokens  map[string]bool // installation tokens handed out
	pushy   bool            // the credential may set milestones and labels
	noPulls bool            // the credential may not read pull requests
	quota   *quota          // nil: every answer says 4999 remaining
	repos   map[string]*repo
	acct    accounts          // organisations and repository settings (accounts.go)
	perms   map[string]string // "owner/repo login" (login lower-case) → permission
	faults  []*Fault
	nextID  int64
	onServe func(Served)
	checker Checker
	limits  *limitState // nil: no limit enforced (limits.go)

	requests, notMod, writes int
	hits                     map[string]int // "METHOD /path"
}

// quota is the rate limit the sandbox counts down once SetRateLimit is
// called.
type quota struct {
	remaining int
	reset     time.Time
}

// rateLimit is GitHub's hourly quota for a token.
const rateLimit = 5000

// Served is one request the sandbox answered, for OnServe.
type Served struct {
	Method    string
	Path      string // without the GHES /api/v3 prefix: "/repos/acme/api/issues/7/comments"
	Status    int
	UserAgent string
	At        time.Time // wall clock when the answer was written, whatever the sandbox's clock
}

// New starts a sandbox; now is its clock (nil: time.Now). It accepts any
// credential until RequireAuth, AuthFunc or SetApp says otherwise.
func New(now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{
		Self:   "slipwatch-bot",
		now:    now,
		tokens: map[string]bool{},
		pushy:  true,
		repos:  map[string]*repo{},
		perms:  map[string]string{},
		nextID: 1000,
		hits:   map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + apiPrefix + "/"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// RequireAuth makes every request carry this Authorization header ("Bearer
// <token>" for a token); others are answered 401 Bad credentials, as
// GitHub does. "" accepts any (the default).
func (s *Server) RequireAuth(header string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = header
}

// AuthFunc decides which Authorization headers are accepted, instead of
// RequireAuth. It is called without the server's lock held.
func (s *Server) AuthFunc(f func(authorization string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authFn = f
}

// SetPushAccess says whether the credential has push access (the Write
// role). Without it GitHub creates the issues it is asked for but silently
// drops their milestone and labels. Default true.
func (s *Server) SetPushAccess(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushy = ok
}

// SetPullRequestAccess says whether the credential may read pull
// requests (a fine-grained token's or an App's Pull requests
// permission). Without it the issue lists leave pull requests out, while
// the milestones still count them. Default true.
func (s *Server) SetPullRequestAccess(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noPulls = !ok
}

// SetRateLimit makes the sandbox count the quota down from remaining,
// one per answer that is not a 304 (which GitHub does not count), with
// the given reset; at the reset the quota is whole again for an hour. Until
// it is called every answer says 4999 remaining.
func (s *Server) SetRateLimit(remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota = &quota{remaining: remaining, reset: reset}
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// PendingFaults is how many injected faults have not been used up.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// Counts returns requests served, how many were 304, and writes (issues
// and comments created or edited).
func (s *Server) Counts() (requests, notModified, writes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.notMod, s.writes
}

// Hits is how many requests key ("METHOD /path", the path without /api/v3
// and without the query) received, faults included.
func (s *Server) Hits(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[key]
}

// ResetCounts sets Counts and Hits back to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.notMod, s.writes = 0, 0, 0
	s.hits = map[string]int{}
}

// OnServe has f told about every request once it is answered (nil: no
// one), so a benchmark can time the moment a write reaches "GitHub". f runs
// with the sandbox locked: it must be quick and must not call the Server.
func (s *Server) OnServe(f func(Served)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onServe = f
}

// Checker judges one exchange with the sandbox: the request as received
// (URL.Path without /api/v3, Body readable) and the answer as written
// (Body readable). canned says the answer is a Fault's, which a test
// chose, rather than the sandbox's own; it may be one no GitHub would
// give. Requests outside /api/v3 are answered 404 and not passed on.
// internal/apispec judges them against GitHub's published descriptions.
type Checker func(req *http.Request, resp *http.Response, canned bool)

// SetChecker has c judge every exchange from now on (nil: none). c runs
// once the answer is written, without the sandbox's lock; it must be safe
// for concurrent use.
func (s *Server) SetChecker(c Checker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checker = c
}

// statusWriter remembers the status a handler wrote, for OnServe.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// check hands the exchange to checker once the answer is written.
func check(checker Checker, r *http.Request, reqBody []byte, rec *answer.Recorder, canned *bool) {
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp := rec.Response() // a hijacked connection (a Reset fault) is canned
	resp.Request = req
	checker(req, resp, *canned)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok {
		http.NotFound(w, r) // GHES has no API outside /api/v3
		return
	}
	r.URL.Path = p
	defer s.enter()()
	s.mu.Lock()
	s.requests++
	s.hits[r.Method+" "+p]++
	on, checker := s.onServe, s.checker
	s.mu.Unlock()
	canned := false
	if checker != nil {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &answer.Recorder{ResponseWriter: w}
		w = rec
		defer check(checker, r, body, rec, &canned)
	}
	if on != nil {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		w = sw
		defer func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			on(Served{Method: r.Method, Path: p, Status: sw.status, UserAgent: r.Header.Get("User-Agent"), At: time.Now()})
		}()
	}
	if strings.HasPrefix(p, "/app/") || p == "/app" {
		s.serveApp(w, r) // authenticated by the App's JWT
		return
	}
	if !s.authorised(r.Header.Get("Authorization")) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.json(w, r, http.StatusUnauthorized, map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	if s.overLimit(w, r) {
		return
	}
	f := s.fault(r)
	if f == nil {
		s.answer(w, r)
		return
	}
	canned = true
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			// The client gave up; like a real server, act on it anyway.
		}
	}
	switch {
	case f.Status != 0:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
	case f.Reset:
		rec := httptest.NewRecorder()
		s.answer(rec, r)
		resetMidBody(w, rec)
	default:
		s.answer(w, r)
	}
}

// authorised says whether a request carrying authz may be answered: as
// AuthFunc decides; else with an installation token the sandbox issued, or
// the header RequireAuth named; else when neither that nor an App is set.
func (s *Server) authorised(authz string) bool {
	_, cred, _ := strings.Cut(authz, " ") // "token ghs_…", "Bearer ghs_…"
	s.mu.Lock()
	auth, fn, app, issued := s.auth, s.authFn, s.app, s.tokens[cred]
	s.mu.Unlock()
	switch {
	case fn != nil:
		return fn(authz)
	case issued:
		return true
	case auth != "":
		return authz == auth
	}
	return app == nil
}

// fault takes the first queued fault that matches r.
func (s *Server) fault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// resetMidBody writes rec's status, headers (with the full length) and
// half its body, then closes the connection with a TCP RST.
func resetMidBody(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if errors.Is(err, http.ErrNotSupported) {
		panic("githubtest: the server cannot hijack connections")
	}
	if err != nil {
		return
	}
	body := rec.Body.Bytes()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_ = rec.Header().Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

// rateHeaders sets GitHub's rate-limit headers, spending one request of
// the quota unless the answer is a 304. Called with the lock held.
func (s *Server) rateHeaders(h http.Header, spend bool) {
	now := s.now()
	remaining, reset := rateLimit-1, now.Add(time.Hour)
	if q := s.quota; q != nil {
		if !now.Before(q.reset) {
			q.remaining, q.reset = rateLimit, now.Add(time.Hour)
		}
		if spend && q.remaining > 0 {
			q.remaining--
		}
		remaining, reset = q.remaining, q.reset
	}
	h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(rateLimit-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// write answers body with status, GitHub's headers and, for a GET's 200,
// a weak ETag over the Link header and the body, answered with a bodiless
// 304 when the client already has it. Called with the lock held.
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := etagOf(append([]byte(h.Get("Link")), body...))
		h.Set("ETag", sum)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		if r.Header.Get("If-None-Match") == sum {
			s.notMod++
			s.rateHeaders(h, false)
			h.Del("Link") // the client has it with the body it kept
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	s.rateHeaders(h, true)
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
