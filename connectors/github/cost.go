package github

import (
	"context"
	"maps"
	"net/http"
	"sync"
)

// Request kinds, the rows of a Cost: what each request is for.
const (
	// KindMilestones: a repository's milestones (every poll).
	KindMilestones = "milestones"
	// KindIssues: a repository's issues and pull requests, most recently
	// updated first: the first page every poll (what changed); walked
	// further on a cold start.
	KindIssues = "issues"
	// KindMilestoneIssues: the issues of every milestone at once (a cold
	// start, when cheaper than walking every issue) or of one milestone
	// whose counts disagree with what slipwatch knows (a repair).
	KindMilestoneIssues = "milestone_issues"
	// KindComments: a repository's issue comments, most recently updated
	// first: the first page every poll; walked further on a cold start.
	KindComments = "comments"
	// KindThread: every comment of one tracking issue, read when what the
	// repository's comments showed does not add up to the issue's count.
	KindThread = "thread"
	// KindDiscovery: an owner's or the installation's repositories.
	KindDiscovery = "discovery"
	// KindWrite: a comment posted or edited, a tracking issue made or
	// closed; GitHub asks such content-creating requests to be paced.
	KindWrite = "write"
	// KindOther: who slipwatch is, a milestone by number, permissions,
	// finding a tracking issue, another thread read by ID.
	KindOther = "other"
)

// Cost is what requests to GitHub cost: how many went out and how many
// of them were answered 304 Not Modified, which GitHub does not count
// against the rate limit; in all and by kind (Kind*).
type Cost struct {
	Requests    int
	NotModified int
	Kinds       map[string]KindCost
}

// KindCost is the cost of one kind of request.
type KindCost struct{ Requests, NotModified int }

// Counted is what GitHub charges to the credential: every request but a
// 304.
func (c Cost) Counted() int { return c.Requests - c.NotModified }

// Counted is what GitHub charges for this kind.
func (k KindCost) Counted() int { return k.Requests - k.NotModified }

// Plus is the sum of two costs.
func (c Cost) Plus(d Cost) Cost {
	out := Cost{Requests: c.Requests + d.Requests, NotModified: c.NotModified + d.NotModified, Kinds: maps.Clone(c.Kinds)}
	if out.Kinds == nil {
		out.Kinds = map[string]KindCost{}
	}
	for k, v := range d.Kinds {
		o := out.Kinds[k]
		out.Kinds[k] = KindCost{Requests: o.Requests + v.Requests, NotModified: o.NotModified + v.NotModified}
	}
	return out
}

func (c *Cost) add(kind string, notModified bool) {
	if c.Kinds == nil {
		c.Kinds = map[string]KindCost{}
	}
	k := c.Kinds[kind]
	c.Requests++
	k.Requests++
	if notModified {
		c.NotModified++
		k.NotModified++
	}
	c.Kinds[kind] = k
}

func (c Cost) clone() Cost {
	c.Kinds = maps.Clone(c.Kinds)
	return c
}

// Meter adds up what the requests made under a context cost (see
// WithMeter). It is safe for concurrent use.
type Meter struct {
	mu sync.Mutex
	c  Cost
}

// Cost is what the requests metered so far cost.
func (m *Meter) Cost() Cost {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c.clone()
}

func (m *Meter) add(kind string, notModified bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.add(kind, notModified)
}

type ctxKey int

const (
	meterKey ctxKey = iota
	tagKey
)

// WithMeter returns a context under which every request the connector
// sends to GitHub is added to m: wrap a List or an Observe to learn what
// it cost, by kind. Meters nest: each one a context carries is told.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	meters, _ := ctx.Value(meterKey).([]*Meter)
	return context.WithValue(ctx, meterKey, append(meters[:len(meters):len(meters)], m))
}

// tag says which repository (or "owner/*" for discovery) and kind the
// requests made under ctx are for.
type tag struct{ repo, kind string }

func withTag(ctx context.Context, repo, kind string) context.Context {
	return context.WithValue(ctx, tagKey, tag{repo: repo, kind: kind})
}

// costs is the connector's running total of what each repository cost,
// since it started.
type costs struct {
	mu     sync.Mutex
	byRepo map[string]*Cost
}

// Costs is what the requests for each repository (owner/name; "owner/*"
// for the discovery of an owner's repositories, "" for requests for no
// repository, such as GET /user) have cost since the connector was made:
// the per-repository figures a rate-limit budget plans with.
func (c *Client) Costs() map[string]Cost {
	c.costs.mu.Lock()
	defer c.costs.mu.Unlock()
	out := make(map[string]Cost, len(c.costs.byRepo))
	for k, v := range c.costs.byRepo {
		out[k] = v.clone()
	}
	return out
}

// meterTransport tells the meters and the running totals of every request
// that reaches the wire: it sits below the conditional-request cache, so
// a 304 is seen as the 304 GitHub sent.
type meterTransport struct {
	next  http.RoundTripper
	costs *costs
}

func (t *meterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err // nothing answered, nothing charged
	}
	ctx := req.Context()
	tg, _ := ctx.Value(tagKey).(tag)
	if tg.kind == "" {
		tg.kind = KindOther
	}
	notModified := resp.StatusCode == http.StatusNotModified
	for _, m := range ctxMeters(ctx) {
		m.add(tg.kind, notModified)
	}
	t.costs.mu.Lock()
	c := t.costs.byRepo[tg.repo]
	if c == nil {
		c = &Cost{}
		t.costs.byRepo[tg.repo] = c
	}
	c.add(tg.kind, notModified)
	t.costs.mu.Unlock()
	return resp, nil
}

func ctxMeters(ctx context.Context) []*Meter {
	m, _ := ctx.Value(meterKey).([]*Meter)
	return m
}
