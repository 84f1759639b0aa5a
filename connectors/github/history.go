package github

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/connectors"
)

// History reads what `slipwatch backtest` replays of a repository: the
// milestones closed since begin (a date in the configured zone) with
// their items, and the repository's completed items per day from a
// forecast window before begin up to today, counted as the throughput
// counts them. It costs one list of the closed milestones, one of the
// issues closed since the window's start (GitHub filters it by last
// update, so it also returns older closes, left out here), and one list
// of issues per milestone: a command's worth, never a poll's.
func (c *Client) History(ctx context.Context, team string, begin connectors.Date) (connectors.Past, error) {
	full, owner, name, err := c.repo(team)
	if err != nil {
		return connectors.Past{}, err
	}
	base := "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
	today := connectors.DateOf(c.now(), c.loc)
	from := begin.AddDays(-(c.window - 1))
	past := connectors.Past{Team: full, Since: begin}

	milestones, err := listAll[*gh.Milestone](ctx, c, base+"/milestones?state=closed&per_page=100")
	if err != nil {
		return connectors.Past{}, c.wrap("list closed milestones of "+full, err)
	}
	for _, m := range milestones {
		if m.ClosedAt == nil || connectors.DateOf(m.ClosedAt.Time, c.loc).Before(begin) {
			continue
		}
		u := fmt.Sprintf("%s/issues?milestone=%d&state=all&per_page=100", base, m.GetNumber())
		issues, err := listAll[*gh.Issue](ctx, c, u)
		if err != nil {
			return connectors.Past{}, c.wrap(fmt.Sprintf("list issues of milestone %s#%d", full, m.GetNumber()), err)
		}
		var items []connectors.Item
		for _, is := range issues {
			if c.isThread(is) {
				continue // the items are what Observe counts: issues and pull requests
			}
			it := connectors.Item{ID: strconv.Itoa(is.GetNumber()), CreatedAt: is.GetCreatedAt().Time}
			if is.GetState() == "closed" && is.ClosedAt != nil {
				it.ClosedAt = is.ClosedAt.Time
			}
			items = append(items, it)
		}
		past.Deliverables = append(past.Deliverables, deliverable(milestoneRef(full, m.GetNumber()), m, items))
	}

	closed, err := listAll[*gh.Issue](ctx, c, base+"/issues?state=closed&since="+since(from, c.loc)+"&per_page=100")
	if err != nil {
		return connectors.Past{}, c.wrap("list closed issues of "+full, err)
	}
	var done []time.Time
	for _, is := range closed {
		if c.isThread(is) || is.ClosedAt == nil || !completed(is) {
			continue
		}
		done = append(done, is.ClosedAt.Time)
	}
	tp := connectors.CountThroughput(done, from, today, c.loc)
	past.From, past.To, past.Daily = tp.From, tp.To, tp.Daily
	return past, nil
}
