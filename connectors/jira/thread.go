package jira

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/internal/markup"
)

// threadDescription explains a tracking issue to the people who find it,
// in wiki markup; the version's name is escaped as in slipwatch's
// comments.
func threadDescription(version, label string) string {
	return fmt.Sprintf(`This issue is where *slipwatch* keeps track of the delivery date of the version *%s*.

It records the date promised for this version, compares it with the version's release date and with a forecast from the project's recent pace, and says so here when the date slips, is at risk or moves.

Commands, in a comment of their own ({{/commit}} is for the people listed in slipwatch's commands.allow):
* {{/commit YYYY-MM-DD [reason]}} — record the date communicated for this version (a later one is a recommitment; history keeps every one)
* {{/slipwatch status}} — post the current status
* {{/slipwatch help}} — list the commands

Please keep this issue in the version and keep its label {{%s}}; slipwatch finds it by them.`, markup.Wiki.Text(version), label)
}

// EnsureThread returns the deliverable's thread. An epic's thread is the
// epic itself. A version's is the oldest issue in the version carrying the
// tracking label; with none and jira.create_tracking_issue set, it creates
// one (of jira.tracking_issue_type), and with none and creation off it returns
// nil. It searches before it creates and remembers the answer, so it does
// not create two. The Thread has the comments there are.
func (c *Client) EnsureThread(ctx context.Context, d connectors.Deliverable) (*connectors.Thread, error) {
	ref := d.Ref
	if ref.Tracker != connectors.Jira {
		return nil, fmt.Errorf("ensure thread for %s: not a Jira deliverable: %w", ref, connectors.ErrTerminal)
	}
	proj, err := c.project(ref.Team)
	if err != nil {
		return nil, fmt.Errorf("ensure thread for %s: %w", ref, err)
	}
	ref.Team = proj
	switch ref.Kind {
	case connectors.Issue:
		th, err := c.readThread(ctx, ref.ID)
		if err != nil {
			return nil, fmt.Errorf("ensure thread for %s: %w", ref, err)
		}
		return th, nil
	case connectors.Version:
	default:
		return nil, fmt.Errorf("ensure thread for %s: kind %q has no thread: %w", ref, ref.Kind, connectors.ErrTerminal)
	}

	defer c.locks.Lock(ref.Key())()

	c.mu.Lock()
	key := c.threadOf[ref.Key()]
	c.mu.Unlock()
	if key == "" {
		jql := c.inProject(proj, "fixVersion = "+ref.ID+" AND labels = "+quote(c.cfg.TrackingLabel))
		found, err := c.search(ctx, jql, []string{"created", "labels"})
		if err != nil {
			return nil, fmt.Errorf("ensure thread for %s: find the tracking issue: %w", ref, err)
		}
		key = oldest(found)
	}
	if key == "" {
		if !c.cfg.CreateTrackingIssue {
			return nil, nil
		}
		title := d.Title
		if title == "" {
			title = ref.ID
		}
		key, err = c.createTrackingIssue(ctx, proj, ref.ID, title)
		if err != nil {
			return nil, fmt.Errorf("ensure thread for %s: %w", ref, err)
		}
		c.log.InfoContext(ctx, "created tracking issue", "commitment", ref.Key(), "issue", key)
		c.mu.Lock()
		c.threadOf[ref.Key()] = key
		c.mu.Unlock()
		return &connectors.Thread{ID: key, URL: c.browse(key)}, nil
	}
	c.mu.Lock()
	c.threadOf[ref.Key()] = key
	c.mu.Unlock()
	th, err := c.readThread(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("ensure thread for %s: %w", ref, err)
	}
	return th, nil
}

func (c *Client) createTrackingIssue(ctx context.Context, proj, versionID, title string) (string, error) {
	in := map[string]any{"fields": map[string]any{
		"project":     map[string]string{"key": proj},
		"issuetype":   map[string]string{"name": c.issueType()},
		"summary":     connectors.ThreadTitle(title),
		"description": threadDescription(title, c.cfg.TrackingLabel),
		"labels":      []string{c.cfg.TrackingLabel},
		"fixVersions": []map[string]string{{"id": versionID}},
	}}
	var out struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := c.do(ctx, http.MethodPost, "rest/api/2/issue", nil, in, &out); err != nil {
		return "", fmt.Errorf("create the tracking issue: %w", err)
	}
	if out.Key == "" {
		return "", errors.New("create the tracking issue: Jira answered without an issue key")
	}
	return out.Key, nil
}

// ReadThread reads the comments of any issue by its key, with the marker
// of each comment slipwatch wrote, for a thread that is no deliverable's
// (track_record.thread).
func (c *Client) ReadThread(ctx context.Context, key string) (*connectors.Thread, error) {
	if !issueKeyLike(key) {
		return nil, fmt.Errorf("thread %q is not a Jira issue key: %w", key, connectors.ErrTerminal)
	}
	return c.readThread(ctx, key)
}

// readThread reads an issue's comments (wiki markup, REST v2 on both
// deployments), and the marker of each comment slipwatch wrote.
func (c *Client) readThread(ctx context.Context, key string) (*connectors.Thread, error) {
	self, err := c.selfUser(ctx)
	if err != nil {
		return nil, err
	}
	var raw []gojira.Comment
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("comments of %s: more than %d pages", key, maxPages)
		}
		q := url.Values{"startAt": {strconv.Itoa(len(raw))}, "maxResults": {strconv.Itoa(pageSize)}}
		var res struct {
			StartAt  int              `json:"startAt"`
			Total    int              `json:"total"`
			Comments []gojira.Comment `json:"comments"`
		}
		if err := c.get(ctx, "rest/api/2/issue/"+url.PathEscape(key)+"/comment", q, &res); err != nil {
			return nil, fmt.Errorf("comments of %s: %w", key, err)
		}
		raw = append(raw, res.Comments...)
		if len(res.Comments) == 0 || len(raw) >= res.Total {
			break
		}
	}

	c.mu.Lock()
	before := c.markers[key]
	pending := maps.Clone(c.pending[key])
	c.mu.Unlock()
	after := map[string]markerMemo{}
	th := &connectors.Thread{ID: key, URL: c.browse(key)}
	for i := range raw {
		jc := &raw[i]
		cm, err := c.toComment(key, jc, self)
		if err != nil {
			return nil, err
		}
		if cm.BySelf {
			// A marker only changes with the comment (Post and Edit write
			// both), so one read per version of the comment is enough. An
			// absent marker is asked again next time: it may be on its way.
			if m, ok := before[jc.ID]; ok && m.updated == jc.Updated {
				cm.Hidden = m.marker
			} else if cm.Hidden, err = c.readMarker(ctx, jc.ID); err != nil {
				return nil, fmt.Errorf("comments of %s: %w", key, err)
			}
			if m, ok := pending[jc.ID]; ok && cm.Hidden == "" {
				cm.Hidden = c.storePending(ctx, key, jc.ID, m)
			}
			if cm.Hidden != "" {
				after[jc.ID] = markerMemo{updated: jc.Updated, marker: cm.Hidden}
			}
		}
		th.Comments = append(th.Comments, cm)
	}
	c.mu.Lock()
	c.markers[key] = after
	c.mu.Unlock()
	return th, nil
}

func (c *Client) toComment(issueKey string, jc *gojira.Comment, self *gojira.User) (connectors.Comment, error) {
	cm := connectors.Comment{
		ID:              jc.ID,
		URL:             c.browse(issueKey) + "?focusedCommentId=" + url.QueryEscape(jc.ID),
		Author:          userID(&jc.Author),
		Body:            jc.Body,
		BySelf:          sameUser(&jc.Author, self),
		AuthorCanCommit: c.canCommit(&jc.Author),
	}
	// Anyone with "Edit All Comments" can rewrite another's comment: the
	// text is then the editor's, and so is any command in it.
	if ed := &jc.UpdateAuthor; userID(ed) != "" && !sameUser(ed, &jc.Author) {
		cm.EditedBy, cm.AuthorCanCommit = userID(ed), c.canCommit(ed)
	}
	var err error
	if cm.CreatedAt, err = parseOptionalTime(jc.Created); err != nil {
		return cm, fmt.Errorf("comment %s on %s: created: %w", jc.ID, issueKey, err)
	}
	if cm.UpdatedAt, err = parseOptionalTime(jc.Updated); err != nil {
		return cm, fmt.Errorf("comment %s on %s: updated: %w", jc.ID, issueKey, err)
	}
	return cm, nil
}

func parseOptionalTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseJiraTime(s)
}

type markerValue struct {
	Marker string `json:"marker"`
}

type property struct {
	Key   string      `json:"key"`
	Value markerValue `json:"value"`
}

// readMarker is the comment's marker property, "" when it has none.
func (c *Client) readMarker(ctx context.Context, commentID string) (string, error) {
	var p property
	err := c.get(ctx, "rest/api/2/comment/"+url.PathEscape(commentID)+"/properties/"+MarkerProperty, nil, &p)
	if errors.Is(err, connectors.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("marker of comment %s: %w", commentID, err)
	}
	return p.Value.Marker, nil
}

// Post writes body as a new comment on the thread and stores marker in its
// "slipwatch" property. When the comment was written but the marker could
// not be stored, it returns the comment and a *MarkerError: the caller must
// not post again.
func (c *Client) Post(ctx context.Context, th *connectors.Thread, body, marker string) (connectors.Comment, error) {
	if th == nil || th.ID == "" {
		return connectors.Comment{}, fmt.Errorf("post: no thread: %w", connectors.ErrTerminal)
	}
	self, err := c.selfUser(ctx)
	if err != nil {
		return connectors.Comment{}, fmt.Errorf("post on %s: %w", th.ID, err)
	}
	var jc gojira.Comment
	if err := c.do(ctx, http.MethodPost, "rest/api/2/issue/"+url.PathEscape(th.ID)+"/comment", nil, commentBody(body, marker), &jc); err != nil {
		return connectors.Comment{}, fmt.Errorf("post on %s: %w", th.ID, err)
	}
	if jc.ID == "" {
		return connectors.Comment{}, fmt.Errorf("post on %s: Jira answered without a comment id", th.ID)
	}
	return c.afterWrite(ctx, th.ID, &jc, self, marker)
}

// Edit replaces the text of one of slipwatch's comments and its marker.
func (c *Client) Edit(ctx context.Context, th *connectors.Thread, commentID, body, marker string) (connectors.Comment, error) {
	if th == nil || th.ID == "" || commentID == "" {
		return connectors.Comment{}, fmt.Errorf("edit: no thread or comment: %w", connectors.ErrTerminal)
	}
	self, err := c.selfUser(ctx)
	if err != nil {
		return connectors.Comment{}, fmt.Errorf("edit comment %s on %s: %w", commentID, th.ID, err)
	}
	var jc gojira.Comment
	path := "rest/api/2/issue/" + url.PathEscape(th.ID) + "/comment/" + url.PathEscape(commentID)
	if err := c.do(ctx, http.MethodPut, path, nil, commentBody(body, marker), &jc); err != nil {
		return connectors.Comment{}, fmt.Errorf("edit comment %s on %s: %w", commentID, th.ID, err)
	}
	if jc.ID == "" {
		jc.ID = commentID
	}
	return c.afterWrite(ctx, th.ID, &jc, self, marker)
}

// commentBody carries the marker as a property too: Jira stores properties
// given on create and update with the comment, atomically, where it
// honours them.
func commentBody(body, marker string) map[string]any {
	return map[string]any{
		"body":       body,
		"properties": []property{{Key: MarkerProperty, Value: markerValue{Marker: marker}}},
	}
}

// markerAttempts is how many times the marker property is written after
// the comment exists; the transport already retries each PUT on 5xx.
const markerAttempts = 3

// afterWrite makes sure the marker property is stored (the PUT is
// idempotent), remembers it, and returns the comment.
func (c *Client) afterWrite(ctx context.Context, issueKey string, jc *gojira.Comment, self *gojira.User, marker string) (connectors.Comment, error) {
	cm, err := c.toComment(issueKey, jc, self)
	if err != nil {
		c.log.WarnContext(ctx, "comment written; its answer did not parse", "issue", issueKey, "comment", jc.ID, "error", err)
	}
	cm.BySelf = true
	cm.Hidden = marker
	path := "rest/api/2/comment/" + url.PathEscape(jc.ID) + "/properties/" + MarkerProperty
	var perr error
	for attempt := 1; attempt <= markerAttempts; attempt++ {
		if perr = c.do(ctx, http.MethodPut, path, nil, markerValue{Marker: marker}, nil); perr == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(perr, connectors.ErrTerminal) || attempt == markerAttempts {
			break
		}
		c.log.WarnContext(ctx, "storing the comment marker failed; retrying", "issue", issueKey, "comment", jc.ID, "attempt", attempt, "error", perr)
		if err := c.o.sleep(ctx, time.Duration(attempt)*time.Second); err != nil {
			perr = err
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if perr != nil {
		// Remembered so the next read of the thread in this process still
		// knows what the comment is, and stores the marker then.
		if c.pending[issueKey] == nil {
			c.pending[issueKey] = map[string]string{}
		}
		c.pending[issueKey][jc.ID] = marker
		return cm, &MarkerError{Issue: issueKey, CommentID: jc.ID, Err: perr}
	}
	delete(c.pending[issueKey], jc.ID)
	if c.markers[issueKey] == nil {
		c.markers[issueKey] = map[string]markerMemo{}
	}
	c.markers[issueKey][jc.ID] = markerMemo{updated: jc.Updated, marker: marker}
	return cm, nil
}

// storePending writes a marker that Post or Edit could not store, and
// returns it: the comment carries it either way, as far as this process
// knows, so slipwatch does not post the same event again while Jira is
// unwell.
func (c *Client) storePending(ctx context.Context, issueKey, commentID, marker string) string {
	path := "rest/api/2/comment/" + url.PathEscape(commentID) + "/properties/" + MarkerProperty
	if err := c.do(ctx, http.MethodPut, path, nil, markerValue{Marker: marker}, nil); err != nil {
		c.log.WarnContext(ctx, "storing a pending comment marker failed again", "issue", issueKey, "comment", commentID, "error", err)
		return marker
	}
	c.log.InfoContext(ctx, "stored a pending comment marker", "issue", issueKey, "comment", commentID)
	c.mu.Lock()
	delete(c.pending[issueKey], commentID)
	c.mu.Unlock()
	return marker
}

// issueType is the type of a new tracking issue: the configured one, or
// the default for a config built without Load (tests, tools).
func (c *Client) issueType() string {
	if c.cfg.TrackingIssueType != "" {
		return c.cfg.TrackingIssueType
	}
	return config.DefaultJiraTrackingType
}
