package jira

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// search returns every issue jql matches, with the named fields, paging as
// the deployment requires: Cloud's /rest/api/3/search/jql by nextPageToken
// until isLast, Data Center's /rest/api/2/search by startAt until total.
// Both are GETs, so the transport may retry them and revalidate them.
func (c *Client) search(ctx context.Context, jql string, fields []string) ([]issue, error) {
	return searchAs[issue](ctx, c, jql, fields)
}

// searchAs is search decoding each issue as a T.
func searchAs[T any](ctx context.Context, c *Client, jql string, fields []string) ([]T, error) {
	cloud, err := c.cloud(ctx)
	if err != nil {
		return nil, err
	}
	if cloud {
		return searchJQL[T](ctx, c, jql, fields)
	}
	return searchStartAt[T](ctx, c, jql, fields)
}

// searchJQL pages Cloud's enhanced search. go-jira v1.17's SearchV2JQL
// asks v2 for one page and does not hand back the page token to continue,
// so the paging is here.
func searchJQL[T any](ctx context.Context, c *Client, jql string, fields []string) ([]T, error) {
	var all []T
	token := ""
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("search %q: more than %d pages; narrow the JQL", jql, maxPages)
		}
		q := url.Values{}
		q.Set("jql", jql)
		q.Set("fields", strings.Join(fields, ","))
		q.Set("maxResults", strconv.Itoa(pageSize))
		if token != "" {
			q.Set("nextPageToken", token)
		}
		var res struct {
			Issues        []T    `json:"issues"`
			NextPageToken string `json:"nextPageToken"`
			IsLast        *bool  `json:"isLast"`
		}
		if err := c.get(ctx, "rest/api/3/search/jql", q, &res); err != nil {
			return nil, fmt.Errorf("search %q: %w", jql, err)
		}
		all = append(all, res.Issues...)
		last := res.NextPageToken == "" || (res.IsLast != nil && *res.IsLast)
		if last {
			return all, nil
		}
		if seen[res.NextPageToken] {
			return nil, fmt.Errorf("search %q: Jira handed out page token %q twice", jql, res.NextPageToken)
		}
		seen[res.NextPageToken] = true
		token = res.NextPageToken
	}
}

// searchStartAt pages Data Center's search by offset.
func searchStartAt[T any](ctx context.Context, c *Client, jql string, fields []string) ([]T, error) {
	var all []T
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("search %q: more than %d pages; narrow the JQL", jql, maxPages)
		}
		q := url.Values{}
		q.Set("jql", jql)
		q.Set("fields", strings.Join(fields, ","))
		q.Set("startAt", strconv.Itoa(len(all)))
		q.Set("maxResults", strconv.Itoa(pageSize))
		var res struct {
			StartAt int `json:"startAt"`
			Total   int `json:"total"`
			Issues  []T `json:"issues"`
		}
		if err := c.get(ctx, "rest/api/2/search", q, &res); err != nil {
			return nil, fmt.Errorf("search %q: %w", jql, err)
		}
		if res.StartAt != len(all) {
			return nil, fmt.Errorf("search %q: asked for startAt %d, Jira answered from %d", jql, len(all), res.StartAt)
		}
		all = append(all, res.Issues...)
		// The server may cap maxResults below what was asked: go on until
		// total, and stop on an empty page so a shrinking result set cannot
		// loop.
		if len(res.Issues) == 0 || len(all) >= res.Total {
			return all, nil
		}
	}
}
