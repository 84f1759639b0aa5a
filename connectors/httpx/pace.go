package httpx

import (
	"net/http"
	"sync"
	"time"
)

// PaceOptions tunes NewPace.
type PaceOptions struct {
	// Interval is the least time between the end of one paced request and
	// the start of the next. Default 1s (GitHub asks for at least a second
	// between content-creating requests).
	Interval time.Duration
	Now      func() time.Time
	Sleep    Sleeper
}

type pace struct {
	next http.RoundTripper
	o    PaceOptions

	turn chan struct{} // holds one token: whoever has it may write
	mu   sync.Mutex
	last time.Time // when the previous paced request finished
}

// NewPace serialises writes (every method but GET, HEAD and OPTIONS): one
// at a time, Interval apart.
// Waiting for the turn or for the interval ends with the request's context.
func NewPace(next http.RoundTripper, o PaceOptions) http.RoundTripper {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	p := &pace{next: next, o: o, turn: make(chan struct{}, 1)}
	p.turn <- struct{}{}
	return p
}

func (p *pace) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions {
		return p.next.RoundTrip(req)
	}
	ctx := req.Context()
	select {
	case <-p.turn:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { p.turn <- struct{}{} }()

	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if !last.IsZero() {
		if wait := last.Add(p.o.Interval).Sub(p.o.Now()); wait > 0 {
			if err := p.o.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
	resp, err := p.next.RoundTrip(req)
	p.mu.Lock()
	p.last = p.o.Now()
	p.mu.Unlock()
	return resp, err
}
