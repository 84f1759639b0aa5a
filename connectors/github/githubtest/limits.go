package githubtest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits are the rate limits the sandbox enforces, as GitHub answers them
// ("Rate limits for the REST API"): once the primary quota of
// SetRateLimit is spent, and past a secondary limit, a request is answered
// 403 with GitHub's message instead of being served. A zero field is not
// enforced.
type Limits struct {
	// Primary answers 403 "API rate limit exceeded" while SetRateLimit's
	// quota is at 0 (the sandbox otherwise only counts it down).
	Primary bool
	// Concurrency is the most requests in flight at once.
	Concurrency int
	// PointsPerMinute is per endpoint (method and path template): a GET,
	// HEAD or OPTIONS costs 1 point, any other method 5.
	PointsPerMinute int
	// ContentPerMinute and ContentPerHour bound content-generating
	// requests (every method but GET, HEAD and OPTIONS; an App's
	// installation token is not content).
	ContentPerMinute, ContentPerHour int
}

// GitHubLimits are github.com's published limits.
func GitHubLimits() Limits {
	return Limits{Primary: true, Concurrency: 100, PointsPerMinute: 900, ContentPerMinute: 80, ContentPerHour: 500}
}

// LimitStats is what the sandbox saw of its limits since EnforceLimits:
// the limit answers it gave and the most each limit was used.
type LimitStats struct {
	PrimaryAnswers, SecondaryAnswers int
	MaxConcurrent                    int
	// MaxEndpointPoints is the most points one endpoint took within a
	// minute, on MaxEndpoint.
	MaxEndpointPoints int
	MaxEndpoint       string
	MaxContentMinute  int
	MaxContentHour    int
}

// limitState is the sandbox's view of the limits. Guarded by Server.mu.
type limitState struct {
	on       Limits
	inFlight int
	points   map[string][]stamp // endpoint → requests in the last minute
	content  []stamp            // writes in the last hour
	stats    LimitStats
}

type stamp struct {
	at  time.Time
	pts int
}

// EnforceLimits has the sandbox answer requests past l with GitHub's limit
// answers, and start counting LimitStats afresh.
func (s *Server) EnforceLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = &limitState{on: l, points: map[string][]stamp{}}
}

// LimitStats reports the limit answers given and the peaks seen.
func (s *Server) LimitStats() LimitStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits == nil {
		return LimitStats{}
	}
	return s.limits.stats
}

// enter counts a request in flight until the returned func is called.
func (s *Server) enter() func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.limits
	if ls == nil {
		return func() {}
	}
	ls.inFlight++
	ls.stats.MaxConcurrent = max(ls.stats.MaxConcurrent, ls.inFlight)
	return func() {
		s.mu.Lock()
		ls.inFlight--
		s.mu.Unlock()
	}
}

// Bodies GitHub answers its limits with.
const (
	primaryMessage   = `{"message":"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`
	secondaryMessage = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
)

// overLimit answers r with a limit answer and reports true when r is past
// one of the enforced limits; otherwise it records r in the windows.
func (s *Server) overLimit(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.limits
	if ls == nil {
		return false
	}
	now := s.now()
	on := ls.on
	if q := s.quota; on.Primary && q != nil {
		if !now.Before(q.reset) {
			q.remaining, q.reset = rateLimit, now.Add(time.Hour)
		}
		if q.remaining <= 0 {
			ls.stats.PrimaryAnswers++
			s.rateHeaders(w.Header(), false)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(primaryMessage))
			return true
		}
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
	pts := 1
	if write {
		pts = 5
	}
	ep := r.Method + " " + endpointOf(r.URL.Path)
	win := prune(ls.points[ep], now, time.Minute)
	ls.content = prune(ls.content, now, time.Hour)
	isContent := write && !strings.HasPrefix(r.URL.Path, "/app/")
	lastMinute := 0
	for _, c := range ls.content {
		if now.Sub(c.at) < time.Minute {
			lastMinute++
		}
	}
	over := (on.Concurrency > 0 && ls.inFlight > on.Concurrency) ||
		(on.PointsPerMinute > 0 && sum(win)+pts > on.PointsPerMinute) ||
		(isContent && on.ContentPerMinute > 0 && lastMinute+1 > on.ContentPerMinute) ||
		(isContent && on.ContentPerHour > 0 && len(ls.content)+1 > on.ContentPerHour)
	if over {
		ls.points[ep] = win
		ls.stats.SecondaryAnswers++
		s.rateHeaders(w.Header(), false)
		w.Header().Set("Retry-After", "60")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(secondaryMessage))
		return true
	}
	win = append(win, stamp{now, pts})
	ls.points[ep] = win
	if n := sum(win); n > ls.stats.MaxEndpointPoints {
		ls.stats.MaxEndpointPoints, ls.stats.MaxEndpoint = n, ep
	}
	if isContent {
		ls.content = append(ls.content, stamp{now, 1})
		ls.stats.MaxContentHour = max(ls.stats.MaxContentHour, len(ls.content))
		ls.stats.MaxContentMinute = max(ls.stats.MaxContentMinute, lastMinute+1)
	}
	return false
}

func prune(win []stamp, now time.Time, span time.Duration) []stamp {
	i := 0
	for i < len(win) && now.Sub(win[i].at) >= span {
		i++
	}
	return win[i:]
}

func sum(win []stamp) int {
	n := 0
	for _, s := range win {
		n += s.pts
	}
	return n
}

// endpointOf is path with its owner, repository and numbers as
// placeholders: requests to /repos/a/b/issues and /repos/c/d/issues are
// one endpoint.
func endpointOf(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		switch {
		case i > 0 && i < 3 && segs[0] == "repos":
			segs[i] = "{}"
		case i > 0 && (segs[i-1] == "users" || segs[i-1] == "orgs" || segs[i-1] == "collaborators"):
			segs[i] = "{}"
		default:
			if _, err := strconv.Atoi(seg); err == nil {
				segs[i] = "{n}"
			}
		}
	}
	return "/" + strings.Join(segs, "/")
}
