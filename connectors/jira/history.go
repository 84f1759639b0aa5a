package jira

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// History reads what `slipwatch backtest` replays of a project: the
// versions released since begin (a date in the configured zone) and, with
// jira.deliverables.jql, the matching issues resolved since, each with its
// items; and the project's resolved issues per day from a forecast window
// before begin up to today, counted as the throughput counts them. It
// costs the versions list, one search per deliverable for its items, one
// for the resolved deliverable issues and one for the resolved issues of
// the whole stretch: a command's worth, never a poll's.
func (c *Client) History(ctx context.Context, team string, begin connectors.Date) (connectors.Past, error) {
	proj, err := c.project(team)
	if err != nil {
		return connectors.Past{}, err
	}
	loc := c.o.Location
	to := connectors.DateOf(c.o.Now(), loc)
	from := begin.AddDays(-(c.o.WindowDays - 1))
	past := connectors.Past{Team: proj, Since: begin}

	if c.cfg.Deliverables.Versions {
		var vs []version
		if err := c.get(ctx, "rest/api/2/project/"+url.PathEscape(proj)+"/versions", nil, &vs); err != nil {
			return connectors.Past{}, fmt.Errorf("history of %s: list versions: %w", proj, err)
		}
		for _, v := range vs {
			due, err := v.releaseDate(loc)
			if err != nil {
				return connectors.Past{}, fmt.Errorf("history of %s: %w", proj, err)
			}
			if !v.Released || v.Archived || due.IsZero() || due.Before(begin) {
				continue
			}
			found, err := c.search(ctx, c.inProject(proj, "fixVersion = "+v.ID), itemFields)
			if err != nil {
				return connectors.Past{}, fmt.Errorf("history of %s: the issues of version %s: %w", proj, v.Name, err)
			}
			d := connectors.Deliverable{Ref: versionRef(proj, v.ID), Title: v.Name, Description: v.Description,
				DueDate: due, Closed: true, ClosedAt: due.Time(loc)}
			for _, is := range found {
				if !c.isTracking(is) {
					d.Items = append(d.Items, toItem(is))
				}
			}
			sortItems(d.Items)
			past.Deliverables = append(past.Deliverables, d)
		}
	}
	if c.jql != "" {
		jql := c.inProject(proj, "("+c.jql+") AND resolved >= "+quote(begin.AddDays(-1).String()))
		found, err := c.search(ctx, jql, deliverableField)
		if err != nil {
			return connectors.Past{}, fmt.Errorf("history of %s: resolved deliverable issues: %w", proj, err)
		}
		for _, is := range found {
			f := is.Fields
			closed, ok := f.done()
			if !ok || connectors.DateOf(closed, loc).Before(begin) {
				continue
			}
			d := connectors.Deliverable{Ref: issueRef(proj, is.Key), Title: f.Summary, Description: string(f.Description),
				Closed: true, ClosedAt: closed}
			if f.DueDate != "" {
				if d.DueDate, err = connectors.ParseDate(f.DueDate); err != nil {
					return connectors.Past{}, fmt.Errorf("history of %s: issue %s duedate: %w", proj, is.Key, err)
				}
			}
			children, err := c.children(ctx, proj, is.Key)
			if err != nil {
				return connectors.Past{}, fmt.Errorf("history of %s: %w", proj, err)
			}
			for _, ch := range children {
				d.Items = append(d.Items, toItem(ch))
			}
			sortItems(d.Items)
			past.Deliverables = append(past.Deliverables, d)
		}
	}

	// Throughput's JQL and day count, over the whole stretch.
	found, err := c.search(ctx, c.inProject(proj, "resolved >= "+quote(from.AddDays(-1).String())), throughputFields)
	if err != nil {
		return connectors.Past{}, fmt.Errorf("history of %s: resolved issues: %w", proj, err)
	}
	var done []time.Time
	for _, is := range found {
		if !is.Fields.ResolutionDate.IsZero() {
			done = append(done, is.Fields.ResolutionDate.Time)
		}
	}
	tp := connectors.CountThroughput(done, from, to, loc)
	past.From, past.To, past.Daily = tp.From, tp.To, tp.Daily
	return past, nil
}
