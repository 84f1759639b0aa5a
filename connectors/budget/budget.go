// Package budget keeps one tracker credential's rate-limit budget, at the
// wire: Transport reads every answer's rate-limit headers per resource
// (GitHub's core, search, graphql…; Jira's), holds each request within
// GitHub's secondary limits before it is sent, and counts what each unit
// of work spent (WithSpend), so that the poller can plan how often it may
// poll what.
//
// It sits under the connector's authentication, where it sees the
// requests the tracker counts: a 304 answered to a conditional request is
// free on GitHub's primary limit, every request is a point on the
// secondary one.
//
// GitHub's secondary limits, as "Rate limits for the REST API"
// (docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
// "About secondary rate limits" and "Calculating points for the secondary
// rate limit") gives them: no more than 100 concurrent requests (REST and
// GraphQL together); no more than 900 points per minute for a REST
// endpoint, a GET, HEAD or OPTIONS costing 1 point and a POST, PATCH, PUT
// or DELETE 5; in general no more than 80 content-generating requests per
// minute and 500 per hour. GitHub may change them without notice and
// keeps others unpublished, so slipwatch uses a share of each
// (Options.Headroom).
//
// Several replicas share one credential. The primary budget needs no
// coordination: the X-RateLimit-* headers every replica reads already
// count everyone's use. For the secondary limits each replica keeps to
// its share, 1/SetPeers of each: the runner counts the live replicas in
// Redis and tells the budget, so no request waits on Redis and a replica
// that dies frees its share within a heartbeat.
package budget

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// Secondary is a tracker's secondary limits, per credential.
type Secondary struct {
	Concurrency     int // requests in flight at once
	PointsPerMinute int // points per endpoint ("GET /repos/{owner}/{repo}/issues") per minute
	ReadPoints      int // a GET, HEAD or OPTIONS
	WritePoints     int // any other method
	ContentPerMinute,
	ContentPerHour int // content-generating requests (writes)
}

// GitHubSecondary is GitHub's published secondary limits (see the package
// documentation for where).
func GitHubSecondary() Secondary {
	return Secondary{Concurrency: 100, PointsPerMinute: 900, ReadPoints: 1, WritePoints: 5, ContentPerMinute: 80, ContentPerHour: 500}
}

// Limits a request can be held back by, the label values of the held
// counter.
const (
	HeldConcurrency   = "concurrency"
	HeldPoints        = "endpoint_points"
	HeldContentMinute = "content_minute"
	HeldContentHour   = "content_hour"
)

// HeldLimits lists them, so every series exists from the start.
var HeldLimits = []string{HeldConcurrency, HeldPoints, HeldContentMinute, HeldContentHour}

// Options configure a Budget.
type Options struct {
	// Tracker names the credential's tracker in errors and snapshots.
	Tracker connectors.Tracker
	// Secondary is held to; nil holds to none (Jira publishes no such
	// limits for API-token traffic).
	Secondary *Secondary
	// Headroom is the share of each secondary limit slipwatch allows
	// itself, for the person or tool sharing the credential and for
	// GitHub's unpublished limits. Default 0.8.
	Headroom float64
	// Resource names the primary quota a request draws from when the
	// answer does not say (X-RateLimit-Resource). nil: "core", or
	// "search" and "graphql" by path, as GitHub splits them.
	Resource func(*http.Request) string
	// Endpoint names the endpoint a request's points count against. nil:
	// the method and the path with owner, repo and numbers replaced.
	Endpoint func(*http.Request) string
	// Content reports whether a request generates content. nil: every
	// write but GitHub App installation tokens (a POST that creates
	// nothing anyone sees).
	Content func(*http.Request) bool
	// MaxWait is the longest the transport waits for room itself; a
	// longer wait returns *connectors.RateLimitError, whose Retry the
	// runner schedules the work at. 0 takes 10s; negative never waits (a
	// simulated clock, whose time does not pass while a request waits).
	MaxWait time.Duration
	Now     func() time.Time
	Sleep   httpx.Sleeper
}

const (
	defaultHeadroom = 0.8
	defaultMaxWait  = 10 * time.Second
	minute          = time.Minute
	hour            = time.Hour
)

// Resource is one primary quota as the tracker last reported it.
type Resource struct {
	Name      string
	Limit     int // requests per window; 0 when the answers do not say
	Remaining int
	Used      int
	Reset     time.Time // when the window ends (zero: not said)
	// FillPerHour is a token bucket's refill, when the tracker describes
	// its limit so (Jira Data Center: X-RateLimit-FillRate tokens every
	// X-RateLimit-Interval-Seconds); 0 for a fixed window (GitHub).
	FillPerHour float64
	// NearLimit is Jira Cloud's X-RateLimit-NearLimit: true, less than a
	// fifth of its budget left.
	NearLimit bool
	Seen      time.Time // when these values were read
}

// Snapshot is the budget as this replica knows it.
type Snapshot struct {
	Tracker   connectors.Tracker
	Resources []Resource // by name
	// Answers is how many answers came back, and Limited how many of them
	// were limit answers (a 429, or a 403 that says so).
	Answers, Limited int64
	LastLimited      time.Time
	Held             map[string]int64 // requests held back, by limit (Held* constants)
	InFlight         int
	MaxInFlight      int // the most in flight at once so far
	// PeakPoints is the most points one endpoint took in a minute so far,
	// on PeakEndpoint; MinutePoints is the busiest endpoint's points in the
	// last minute.
	PeakPoints   int
	PeakEndpoint string
	MinutePoints int
	// Writes in the last minute and hour, and the most in any minute or
	// hour so far.
	ContentMinute, ContentHour         int
	PeakContentMinute, PeakContentHour int
	Peers                              int
	Secondary                          *Secondary // the limits held to, nil for none
	Headroom                           float64
}

// Core is the resource polls draw from: "core" when seen, else the only
// one seen, else false.
func (s Snapshot) Core() (Resource, bool) {
	for _, r := range s.Resources {
		if r.Name == "core" {
			return r, true
		}
	}
	if len(s.Resources) == 1 {
		return s.Resources[0], true
	}
	return Resource{}, false
}

// Budget is one credential's budget. It is safe for concurrent use.
type Budget struct {
	o     Options
	peers atomic.Int64

	answers, limited atomic.Int64

	mu          sync.Mutex
	resources   map[string]*Resource
	lastLimited time.Time
	held        map[string]int64
	inFlight    int
	maxInFlight int
	freed       chan struct{} // closed and replaced when a request finishes
	points      map[string]*window
	peakPoints  int
	peakEP      string
	content     window // writes in the last hour
	peakCMin    int
	peakCHour   int
}

// New returns a budget with nothing seen yet.
func New(o Options) *Budget {
	if o.Headroom <= 0 || o.Headroom > 1 {
		o.Headroom = defaultHeadroom
	}
	if o.Resource == nil {
		o.Resource = GitHubResource
	}
	if o.Endpoint == nil {
		o.Endpoint = Endpoint
	}
	if o.Content == nil {
		o.Content = content
	}
	if o.MaxWait == 0 {
		o.MaxWait = defaultMaxWait
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = httpx.Sleep
	}
	b := &Budget{o: o, resources: map[string]*Resource{}, held: map[string]int64{}, freed: make(chan struct{}), points: map[string]*window{}}
	b.peers.Store(1)
	for _, l := range HeldLimits {
		b.held[l] = 0
	}
	return b
}

// SetPeers says how many replicas share the credential (at least 1); each
// keeps to 1/n of the secondary limits.
func (b *Budget) SetPeers(n int) {
	b.peers.Store(int64(max(n, 1)))
}

// Tracker is the tracker the budget is for.
func (b *Budget) Tracker() connectors.Tracker { return b.o.Tracker }

// share is this replica's part of limit: at least 1.
func (b *Budget) share(limit int) int {
	return max(int(float64(limit)*b.o.Headroom)/int(b.peers.Load()), 1)
}

// Snapshot copies what the budget knows now.
func (b *Budget) Snapshot() Snapshot {
	now := b.o.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Snapshot{Tracker: b.o.Tracker, Answers: b.answers.Load(), Limited: b.limited.Load(), LastLimited: b.lastLimited,
		Held: map[string]int64{}, InFlight: b.inFlight, MaxInFlight: b.maxInFlight, PeakPoints: b.peakPoints, PeakEndpoint: b.peakEP,
		PeakContentMinute: b.peakCMin, PeakContentHour: b.peakCHour, Peers: int(b.peers.Load()), Secondary: b.o.Secondary, Headroom: b.o.Headroom}
	for _, r := range b.resources {
		s.Resources = append(s.Resources, *r)
	}
	sort.Slice(s.Resources, func(i, j int) bool { return s.Resources[i].Name < s.Resources[j].Name })
	for k, v := range b.held {
		s.Held[k] = v
	}
	for _, w := range b.points {
		w.prune(now, minute)
		s.MinutePoints = max(s.MinutePoints, w.sum)
	}
	b.content.prune(now, hour)
	s.ContentHour = b.content.sum
	s.ContentMinute = b.content.since(now.Add(-minute))
	return s
}

// Transport puts the budget in front of next.
func (b *Budget) Transport(next http.RoundTripper) http.RoundTripper {
	return httpx.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if err := b.admit(req); err != nil {
			return nil, err
		}
		resp, err := next.RoundTrip(req)
		b.done()
		if err != nil {
			return nil, err
		}
		b.observe(req, resp)
		return resp, nil
	})
}

// HeldError says which of slipwatch's own limits held a request back. It
// comes wrapped in a *connectors.RateLimitError: nothing was sent.
type HeldError struct {
	Limit string // one of the Held* constants
	Wait  time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("held back by slipwatch's share of the %s limit for %s", e.Limit, e.Wait.Round(time.Second))
}

// admit waits for a slot among the requests in flight and for room in the
// request's endpoint and content windows, then records the request in
// them. A wait longer than MaxWait is an error and records nothing.
func (b *Budget) admit(req *http.Request) error {
	ctx := req.Context()
	sec := b.o.Secondary
	if sec == nil {
		b.mu.Lock()
		b.enter()
		b.mu.Unlock()
		return nil
	}
	write := !readMethod(req.Method)
	isContent := write && b.o.Content(req)
	pts := sec.ReadPoints
	if write {
		pts = sec.WritePoints
	}
	ep := b.o.Endpoint(req)
	var waited time.Duration
	for {
		now := b.o.Now()
		b.mu.Lock()
		wait, limit := b.room(now, ep, pts, isContent)
		if wait == 0 {
			b.enter()
			w := b.points[ep]
			if w == nil {
				w = &window{}
				b.points[ep] = w
			}
			w.add(now, pts)
			if w.sum > b.peakPoints {
				b.peakPoints, b.peakEP = w.sum, ep
			}
			if isContent {
				b.content.add(now, 1)
				b.peakCHour = max(b.peakCHour, b.content.sum)
				b.peakCMin = max(b.peakCMin, b.content.since(now.Add(-minute)))
			}
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.held[limit]++
		b.mu.Unlock()
		if limit == HeldConcurrency {
			// Requests in flight finish in seconds, whatever the clock.
			select {
			case <-freed:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// MaxWait bounds the waits together, not each: a clock that does
		// not move while the request sleeps (a simulation) would
		// otherwise keep it waiting for ever.
		if b.o.MaxWait < 0 || waited+wait > b.o.MaxWait {
			return &connectors.RateLimitError{Retry: now.Add(wait), Err: fmt.Errorf("%s %s: %w", req.Method, ep, &HeldError{Limit: limit, Wait: wait})}
		}
		if err := b.o.Sleep(ctx, wait); err != nil {
			return err
		}
		waited += wait
	}
}

// room is how long a request must wait before it fits, and the limit that
// makes it wait (0 and "": it fits now). Called with the lock held.
func (b *Budget) room(now time.Time, ep string, pts int, isContent bool) (time.Duration, string) {
	sec := b.o.Secondary
	if b.inFlight >= b.share(sec.Concurrency) {
		return time.Second, HeldConcurrency
	}
	var wait time.Duration
	limit := ""
	if w := b.points[ep]; w != nil {
		w.prune(now, minute)
		if d := w.waitFor(now, minute, pts, b.share(sec.PointsPerMinute)); d > wait {
			wait, limit = d, HeldPoints
		}
	}
	if isContent {
		b.content.prune(now, hour)
		if d := b.content.waitFor(now, hour, 1, b.share(sec.ContentPerHour)); d > wait {
			wait, limit = d, HeldContentHour
		}
		if d := b.content.waitForSince(now, minute, 1, b.share(sec.ContentPerMinute)); d > wait {
			wait, limit = d, HeldContentMinute
		}
	}
	return wait, limit
}

// enter counts a request in flight. Called with the lock held.
func (b *Budget) enter() {
	b.inFlight++
	b.maxInFlight = max(b.maxInFlight, b.inFlight)
}

func (b *Budget) done() {
	b.mu.Lock()
	b.inFlight--
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// Rate-limit headers, as GitHub and Jira spell them.
const (
	hLimit     = "X-RateLimit-Limit"
	hRemaining = "X-RateLimit-Remaining"
	hUsed      = "X-RateLimit-Used"
	hReset     = "X-RateLimit-Reset"
	hResource  = "X-RateLimit-Resource"
	// Jira Data Center describes a token bucket.
	hFillRate = "X-RateLimit-FillRate"
	hInterval = "X-RateLimit-Interval-Seconds"
	// Jira Cloud says when less than a fifth of its budget is left.
	hNearLimit = "X-RateLimit-NearLimit"
)

// observe records what resp says of the budget and attributes its cost to
// the request's Spend.
func (b *Budget) observe(req *http.Request, resp *http.Response) {
	now := b.o.Now()
	b.answers.Add(1)
	limited := limitAnswer(resp)
	if sp := SpendFrom(req.Context()); sp != nil {
		if resp.StatusCode != http.StatusNotModified {
			sp.counted.Add(1)
		}
		if !readMethod(req.Method) {
			sp.writes.Add(1)
		}
		if limited {
			sp.limited.Add(1)
		}
	}
	h := resp.Header
	remaining, hasRemaining := atoi(h.Get(hRemaining))
	limit, hasLimit := atoi(h.Get(hLimit))
	near := strings.EqualFold(strings.TrimSpace(h.Get(hNearLimit)), "true")
	b.mu.Lock()
	defer b.mu.Unlock()
	if limited {
		b.limited.Add(1)
		b.lastLimited = now
	}
	if !hasRemaining && !hasLimit && !near {
		return
	}
	name := strings.TrimSpace(h.Get(hResource))
	if name == "" {
		name = b.o.Resource(req)
	}
	r := b.resources[name]
	if r == nil {
		r = &Resource{Name: name}
		b.resources[name] = r
	}
	if hasLimit {
		r.Limit = limit
	}
	if hasRemaining {
		r.Remaining = remaining
	}
	if used, ok := atoi(h.Get(hUsed)); ok {
		r.Used = used
	} else if hasLimit && hasRemaining {
		r.Used = limit - remaining
	}
	if reset, ok := httpx.ParseReset(h.Get(hReset)); ok {
		r.Reset = reset
	}
	fill, okFill := atoi(h.Get(hFillRate))
	every, okEvery := atoi(h.Get(hInterval))
	if okFill && okEvery && every > 0 {
		r.FillPerHour = float64(fill) * float64(hour/time.Second) / float64(every)
	}
	r.NearLimit = near
	r.Seen = now
}

// limitAnswer: a 429, or a 403 that says it is one (nothing remaining, a
// Retry-After, or "rate limit" in its body, as GitHub's secondary limits
// answer).
func limitAnswer(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		if resp.Header.Get(hRemaining) == "0" || resp.Header.Get("Retry-After") != "" {
			return true
		}
		return bytes.Contains(bytes.ToLower(httpx.Peek(resp)), []byte("rate limit"))
	}
	return false
}

func atoi(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func readMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// GitHubResource is the GitHub quota (rate-limit resource) a request
// draws from when its answer does not name it: search, graphql or core.
func GitHubResource(r *http.Request) string {
	switch {
	case strings.Contains(r.URL.Path, "/search/"):
		return "search"
	case strings.HasSuffix(r.URL.Path, "/graphql"):
		return "graphql"
	}
	return "core"
}

// content: every write but creating a GitHub App installation token.
func content(r *http.Request) bool {
	return !strings.Contains(r.URL.Path, "/app/installations/")
}

// Endpoint is a request's endpoint as its points are counted: the method
// and the path below the API root (GitHub Enterprise Server's /api/v3
// dropped), owner, repository and numbers as placeholders:
// "GET /repos/{owner}/{repo}/issues/{n}/comments".
func Endpoint(r *http.Request) string {
	p := r.URL.Path
	if i := strings.Index(p, "/api/v3/"); i >= 0 {
		p = p[i+len("/api/v3"):]
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		switch {
		case i > 0 && i < 3 && segs[0] == "repos":
			segs[i] = [...]string{"", "{owner}", "{repo}"}[i]
		case i > 0 && (segs[i-1] == "users" || segs[i-1] == "orgs" || segs[i-1] == "collaborators"):
			segs[i] = "{name}"
		case s != "" && strings.Trim(s, "0123456789") == "":
			segs[i] = "{n}"
		}
	}
	return r.Method + " /" + strings.Join(segs, "/")
}

// Spend is what one unit of work cost on the tracker: requests the
// tracker counted (every answer but a 304), writes, limit answers.
type Spend struct {
	counted, writes, limited atomic.Int64
}

// Counted is the requests answered other than 304.
func (s *Spend) Counted() int64 { return s.counted.Load() }

// Writes is the requests that were not reads.
func (s *Spend) Writes() int64 { return s.writes.Load() }

// Limited is the limit answers.
func (s *Spend) Limited() int64 { return s.limited.Load() }

type spendKey struct{}

// WithSpend returns a context whose requests (through any Budget's
// Transport) add to the returned Spend.
func WithSpend(ctx context.Context) (context.Context, *Spend) {
	s := &Spend{}
	return context.WithValue(ctx, spendKey{}, s), s
}

// SpendFrom is the Spend of ctx, or nil.
func SpendFrom(ctx context.Context) *Spend {
	s, _ := ctx.Value(spendKey{}).(*Spend)
	return s
}

// IsHeld reports whether err is a request the budget held back (nothing
// was sent), as opposed to the tracker's limit answer.
func IsHeld(err error) bool {
	var h *HeldError
	return errors.As(err, &h)
}

// window is a sliding sum of points over time, oldest first.
type window struct {
	at  []time.Time
	pts []int
	sum int
}

func (w *window) add(t time.Time, p int) {
	w.at = append(w.at, t)
	w.pts = append(w.pts, p)
	w.sum += p
}

// prune drops what is older than span.
func (w *window) prune(now time.Time, span time.Duration) {
	i := 0
	for i < len(w.at) && !w.at[i].After(now.Add(-span)) {
		w.sum -= w.pts[i]
		i++
	}
	if i > 0 {
		w.at = append(w.at[:0], w.at[i:]...)
		w.pts = append(w.pts[:0], w.pts[i:]...)
	}
}

// since is the points recorded after t.
func (w *window) since(t time.Time) int {
	n := 0
	for i := len(w.at) - 1; i >= 0 && w.at[i].After(t); i-- {
		n += w.pts[i]
	}
	return n
}

// waitFor is how long until need more points fit under limit in a window
// of span (already pruned).
func (w *window) waitFor(now time.Time, span time.Duration, need, limit int) time.Duration {
	over := w.sum + need - limit
	if over <= 0 {
		return 0
	}
	for i, p := range w.pts {
		over -= p
		if over <= 0 {
			return max(w.at[i].Add(span).Sub(now), time.Millisecond)
		}
	}
	return span
}

// waitForSince is waitFor over the last span only of a longer window.
func (w *window) waitForSince(now time.Time, span time.Duration, need, limit int) time.Duration {
	from := now.Add(-span)
	i := sort.Search(len(w.at), func(i int) bool { return w.at[i].After(from) })
	sum := 0
	for _, p := range w.pts[i:] {
		sum += p
	}
	over := sum + need - limit
	if over <= 0 {
		return 0
	}
	for j := i; j < len(w.pts); j++ {
		over -= w.pts[j]
		if over <= 0 {
			return max(w.at[j].Add(span).Sub(now), time.Millisecond)
		}
	}
	return span
}
