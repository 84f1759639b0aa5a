package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// Link is one entry of the config's links: two deliverables, one promise.
type Link struct {
	Name  string // the entry as configured; it names the link in logs and Redis
	Sides [2]LinkSide
}

// LinkSide names one side the way a person wrote it: a milestone or a
// version by title, or a Jira issue by key.
type LinkSide struct {
	Tracker connectors.Tracker
	Team    string // repo or project key
	Kind    connectors.Kind
	Title   string // milestone or version name
	IssueID string // Jira issue key, for a link to an epic
}

func (s LinkSide) side() string { return string(s.Tracker) }

func (s LinkSide) String() string {
	if s.IssueID != "" {
		return s.Team + "/issue=" + s.IssueID
	}
	return s.Team + "/" + string(s.Kind) + "=" + s.Title
}

func (s LinkSide) matches(d connectors.Deliverable) bool {
	r := d.Ref
	if r.Tracker != s.Tracker || r.Kind != s.Kind || !strings.EqualFold(r.Team, s.Team) {
		return false
	}
	if s.IssueID != "" {
		return strings.EqualFold(r.ID, s.IssueID)
	}
	return strings.TrimSpace(d.Title) == strings.TrimSpace(s.Title)
}

// linkState remembers, per link, when a search for a side last came back
// empty, so a link to something that does not exist costs one search per
// poll interval, and is reported.
type linkState struct {
	mu     sync.Mutex
	missed map[string]time.Time // link name + side → when
}

func (ls *linkState) miss(key string, at time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.missed == nil {
		ls.missed = map[string]time.Time{}
	}
	ls.missed[key] = at
}

func (ls *linkState) found(key string) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	delete(ls.missed, key)
}

func (ls *linkState) missedSince(key string, since time.Time) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	at, ok := ls.missed[key]
	return ok && at.After(since)
}

func (ls *linkState) unresolved() []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var out []string
	for k := range ls.missed {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// linked is what partner found for a deliverable.
type linked struct {
	link       Link
	partnerKey string               // "" when the other side is not found
	partner    *connectors.Snapshot // nil when the other side is not found
	news       bool                 // this side was just resolved (or moved)
}

// partner finds the other side of the link snap belongs to, if any, and
// observes it. A tracker error on the other side is an error: judging a
// linked promise on one side alone could announce a false delivery.
func (r *Runner) partner(ctx context.Context, snap connectors.Snapshot, remember bool) (*linked, error) {
	own := -1
	var l Link
	for _, cand := range r.opt.Links {
		for i, s := range cand.Sides {
			if s.matches(snap.Deliverable) {
				own, l = i, cand
			}
		}
	}
	if own < 0 {
		return nil, nil
	}
	res := &linked{link: l}
	key := snap.Deliverable.Ref.Key()
	if remember {
		news, err := r.store.PutLink(ctx, l.Name, l.Sides[own].side(), key)
		if err != nil {
			return nil, err
		}
		res.news = news
	}
	other := l.Sides[1-own]
	missKey := l.Name + ": " + other.side() + " side " + other.String()
	pkey := ""
	if other.IssueID != "" {
		pkey = connectors.Ref{Tracker: other.Tracker, Team: other.Team, Kind: connectors.Issue, ID: other.IssueID}.Key()
	} else {
		k, err := r.store.GetLink(ctx, l.Name, other.side())
		if err != nil {
			return nil, err
		}
		pkey = k
	}
	conn, ok := r.conns[other.Tracker]
	if !ok {
		return res, nil
	}
	if pkey != "" {
		k, err := ParseKey(pkey)
		if err == nil && k.Kind != KeyDeliverable {
			err = errors.New("not a deliverable")
		}
		if err != nil {
			return nil, fmt.Errorf("%w: link %s: stored key %q: %v", connectors.ErrTerminal, l.Name, pkey, err)
		}
		ps, err := conn.Observe(ctx, k.Ref)
		switch {
		case errors.Is(err, connectors.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("observe linked %s: %w", pkey, err)
		case other.matches(ps.Deliverable):
			r.linkState.found(missKey)
			res.partnerKey, res.partner = pkey, &ps
			return res, nil
		}
	}
	// Not resolved, or renamed since: look for it by name, at most once
	// per poll interval.
	now := r.opt.Now()
	if r.linkState.missedSince(missKey, now.Add(-r.opt.PollInterval)) {
		return res, nil
	}
	ref, ps, err := r.findSide(ctx, conn, other)
	if err != nil {
		return nil, fmt.Errorf("find linked %s: %w", other, err)
	}
	if ps == nil {
		r.linkState.miss(missKey, now)
		r.log.Warn("link: the other side is not found on the tracker", "link", l.Name, "missing", other.String())
		return res, nil
	}
	r.linkState.found(missKey)
	if remember {
		if _, err := r.store.PutLink(ctx, l.Name, other.side(), ref.Key()); err != nil {
			return nil, err
		}
	}
	res.partnerKey, res.partner = ref.Key(), ps
	return res, nil
}

// findSide lists side's team and observes the deliverables of its kind
// until one carries its name.
func (r *Runner) findSide(ctx context.Context, conn finder, side LinkSide) (connectors.Ref, *connectors.Snapshot, error) {
	refs, err := conn.List(ctx, side.Team)
	if err != nil {
		return connectors.Ref{}, nil, err
	}
	for _, ref := range refs {
		if ref.Kind != side.Kind {
			continue
		}
		s, err := conn.Observe(ctx, ref)
		if errors.Is(err, connectors.ErrNotFound) {
			continue
		}
		if err != nil {
			return connectors.Ref{}, nil, err
		}
		if side.matches(s.Deliverable) {
			return ref, &s, nil
		}
	}
	return connectors.Ref{}, nil, nil
}

// UnresolvedLinks lists the link sides this replica looked for and did
// not find, for check and /readyz.
func (r *Runner) UnresolvedLinks() []string { return r.linkState.unresolved() }
