package github

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/internal/markup"
)

// threadBody explains a tracking issue to the people who find it. The
// milestone's title is escaped as in slipwatch's comments.
func threadBody(milestone string) string {
	return fmt.Sprintf(`This issue is where **slipwatch** keeps track of the delivery date of the milestone **%s**.

It records the date promised for this milestone, compares it with the milestone's due date and with a forecast from the team's recent pace, and says so here when the date slips, is at risk or moves.

Commands, in a comment of their own (`+"`/commit`"+` needs write access to the repository):

- `+"`/commit YYYY-MM-DD [reason]`"+` — record the date communicated for this milestone (a later one is a recommitment; history keeps every one)
- `+"`/slipwatch status`"+` — post the current status
- `+"`/slipwatch help`"+` — list the commands

Please keep this issue open and in the milestone; slipwatch finds it by its label.
`, markup.Markdown.Text(milestone))
}

func isNotFound(err error) bool { return errors.Is(err, connectors.ErrNotFound) }

// EnsureThread returns the milestone's tracking issue: the one pinned
// (PinThread), else the issue in the milestone with the tracking label
// (slipwatch's own before others', the oldest should there be two). With
// none and github.create_tracking_issue set, it creates one; with none and
// creation off, it returns nil. It searches before it creates and remembers
// the answer, so it never creates two. The Thread's Comments are those
// already observed (none for a new issue).
func (c *Client) EnsureThread(ctx context.Context, d connectors.Deliverable) (*connectors.Thread, error) {
	ref := d.Ref
	if ref.Tracker != connectors.GitHub || ref.Kind != connectors.Milestone {
		return nil, fmt.Errorf("ensure thread for %s: not a GitHub milestone: %w", ref, connectors.ErrTerminal)
	}
	full, owner, name, err := c.repo(ref.Team)
	if err != nil {
		return nil, err
	}
	num, err := strconv.Atoi(ref.ID)
	if err != nil || num <= 0 {
		return nil, fmt.Errorf("ensure thread for %s: milestone id is not a number: %w", ref, connectors.ErrTerminal)
	}
	key := milestoneKey(full, num)
	defer c.locks.Lock("thread\x00" + key)()

	c.mu.Lock()
	n, known := c.threadOf[key]
	refused, held := c.noThread[key]
	c.mu.Unlock()
	if known {
		return c.knownThread(key, owner, name, full, n), nil
	}
	if held && c.now().Before(refused.until) {
		return nil, refused.err
	}
	if !c.cfg.CreateTrackingIssue && c.indexFresh(full) {
		// Nothing to create, and the repository's index, read moments
		// ago, holds every labelled issue of the milestone: Observe found
		// none there. Searching again would cost a request (a point on
		// GitHub's secondary limit, 304 or not) per milestone per pass
		// for as long as the milestone has no thread.
		return nil, nil
	}

	u := fmt.Sprintf("repos/%s/%s/issues?milestone=%d&labels=%s&state=all&per_page=100",
		url.PathEscape(owner), url.PathEscape(name), num, url.QueryEscape(c.label))
	found, err := listAll[*gh.Issue](withTag(ctx, full, KindOther), c, u)
	if err != nil {
		return nil, c.wrap("find the tracking issue of milestone "+key, err)
	}
	var candidates []*gh.Issue
	var tracking []*trackingIssue
	for _, is := range found {
		if !is.IsPullRequest() && c.isTracking(is) {
			candidates = append(candidates, is)
			tracking = append(tracking, trackingOf(is))
		}
	}
	var oldest *gh.Issue
	if t := c.chooseThread(tracking, 0); t != nil {
		oldest = candidates[slices.Index(tracking, t)]
	}
	if oldest == nil {
		if !c.cfg.CreateTrackingIssue {
			return nil, nil
		}
		title := d.Title
		if title == "" {
			title = "milestone " + ref.ID
		}
		oldest, _, err = c.gh.Issues.Create(withTag(ctx, full, KindWrite), owner, name, &gh.IssueRequest{
			Title:     gh.String(connectors.ThreadTitle(title)),
			Body:      gh.String(threadBody(title)),
			Milestone: gh.Int(num),
			Labels:    &[]string{c.label},
		})
		if err != nil {
			return nil, c.wrap("create the tracking issue of milestone "+key, err)
		}
		c.log.InfoContext(ctx, "created tracking issue", "milestone", key, "thread", threadID(full, oldest.GetNumber()))
		if err := c.checkCreated(ctx, owner, name, key, num, oldest); err != nil {
			return nil, err
		}
	}
	number := oldest.GetNumber()
	c.mu.Lock()
	c.threadOf[key] = number
	c.mu.Unlock()
	// The next Observe must see the thread before a poll has read it.
	c.noteThread(full, oldest)
	return &connectors.Thread{ID: threadID(full, number), URL: oldest.GetHTMLURL(), Comments: []connectors.Comment{}}, nil
}

// noThreadFor is how long EnsureThread stops creating tracking issues for
// a milestone after GitHub dropped the label and milestone of one: long
// enough that a missing Write role costs one stray (closed) issue a day
// per milestone, short enough that granting the role takes effect without
// a restart.
const noThreadFor = 24 * time.Hour

// noThread is why a milestone has no tracking issue, and until when to say
// so without asking GitHub again.
type noThread struct {
	err   error
	until time.Time
}

// checkCreated makes sure GitHub kept the label and milestone of the
// tracking issue just created. It silently drops both when the account has
// no push access (the Triage or Read role), and an issue without them is
// never found again: every pass would create another one. So such an issue
// is closed at once (its author may close it), creation for the milestone
// stops for noThreadFor, and the error says which role is missing.
func (c *Client) checkCreated(ctx context.Context, owner, name, key string, num int, is *gh.Issue) error {
	if c.isTracking(is) && is.GetMilestone().GetNumber() == num {
		return nil
	}
	full := owner + "/" + name
	err := fmt.Errorf("create the tracking issue of milestone %s: GitHub dropped its label %q and milestone, "+
		"as it does when the account has no Write role on %s; grant it (slipwatch tries again within %s or at restart): %w",
		key, c.label, full, noThreadFor, connectors.ErrTerminal)
	_, _, cerr := c.gh.Issues.Edit(withTag(ctx, full, KindWrite), owner, name, is.GetNumber(), &gh.IssueRequest{
		State:       gh.String("closed"),
		StateReason: gh.String("not_planned"),
	})
	if cerr != nil {
		c.log.ErrorContext(ctx, "could not close the unusable tracking issue; close it by hand",
			"milestone", key, "thread", threadID(full, is.GetNumber()), "err", c.wrap("close", cerr))
	} else {
		c.log.WarnContext(ctx, "closed the unusable tracking issue", "milestone", key, "thread", threadID(full, is.GetNumber()))
	}
	c.mu.Lock()
	c.noThread[key] = noThread{err: err, until: c.now().Add(noThreadFor)}
	c.mu.Unlock()
	return err
}

// knownThread is a thread already found, with the comments last read.
func (c *Client) knownThread(key, owner, name, full string, number int) *connectors.Thread {
	id := threadID(full, number)
	th := &connectors.Thread{ID: id, URL: fmt.Sprintf("%s/%s/%s/issues/%d", c.htmlRoot(), owner, name, number), Comments: []connectors.Comment{}}
	c.selfMu.Lock()
	self := c.self
	c.selfMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if ix := c.index[full]; ix != nil && ix.view != nil {
		for _, t := range ix.view.threads[milestoneNumber(key)] {
			if t.number == number && t.url != "" {
				th.URL = t.url
			}
		}
	}
	if memo := c.threads[id]; memo != nil {
		for _, k := range memo.comments {
			th.Comments = append(th.Comments, k.toComment(self))
		}
	}
	return th
}

// htmlRoot is where people open things: github.com, or the GHES host.
func (c *Client) htmlRoot() string {
	u := *c.gh.BaseURL
	if strings.EqualFold(u.Host, "api.github.com") {
		return "https://github.com"
	}
	return u.Scheme + "://" + u.Host
}

// parseThread splits "owner/name#42".
func (c *Client) parseThread(th *connectors.Thread) (full, owner, name string, number int, err error) {
	if th == nil {
		return "", "", "", 0, fmt.Errorf("no thread: %w", connectors.ErrTerminal)
	}
	repo, num, ok := strings.Cut(th.ID, "#")
	number, nerr := strconv.Atoi(num)
	if !ok || nerr != nil || number <= 0 {
		return "", "", "", 0, fmt.Errorf("thread %q is not owner/name#number: %w", th.ID, connectors.ErrTerminal)
	}
	full, owner, name, err = c.repo(repo)
	return full, owner, name, number, err
}

// ReadThread reads the comments of any issue in a watched repository by
// its thread ID ("acme/api#12"), for a thread that is no deliverable's
// (track_record.thread). It always asks GitHub: it is read about once a
// month, and after a post it must see that post.
func (c *Client) ReadThread(ctx context.Context, id string) (*connectors.Thread, error) {
	full, owner, name, number, err := c.parseThread(&connectors.Thread{ID: id})
	if err != nil {
		return nil, err
	}
	comments, err := c.listComments(withTag(ctx, full, KindOther), owner, name, number)
	if err != nil {
		return nil, err
	}
	self, err := c.Self(ctx)
	if err != nil {
		return nil, err
	}
	th := &connectors.Thread{ID: id, URL: fmt.Sprintf("%s/%s/%s/issues/%d", c.htmlRoot(), owner, name, number),
		Comments: make([]connectors.Comment, 0, len(comments))}
	for _, k := range comments {
		th.Comments = append(th.Comments, k.toComment(self))
	}
	return th, nil
}

func withMarker(body, marker string) string {
	if marker == "" {
		return body
	}
	return body + "\n\n" + marker
}

// Post adds a comment to the thread: body, then the marker (an HTML
// comment, which GitHub does not render).
func (c *Client) Post(ctx context.Context, th *connectors.Thread, body, marker string) (connectors.Comment, error) {
	full, owner, name, number, err := c.parseThread(th)
	if err != nil {
		return connectors.Comment{}, err
	}
	gc, _, err := c.gh.Issues.CreateComment(withTag(ctx, full, KindWrite), owner, name, number, &gh.IssueComment{Body: gh.String(withMarker(body, marker))})
	c.wrote(full, number, gc, err)
	if err != nil {
		return connectors.Comment{}, c.wrap("comment on "+th.ID, err)
	}
	cm := toComment(gc, gc.GetUser().GetLogin())
	cm.BySelf = true
	return cm, nil
}

// Edit replaces the text of one of slipwatch's comments on the thread
// (the sticky status comment). It never touches anyone else's: the core
// only edits comments it found BySelf.
func (c *Client) Edit(ctx context.Context, th *connectors.Thread, commentID, body, marker string) (connectors.Comment, error) {
	full, owner, name, number, err := c.parseThread(th)
	if err != nil {
		return connectors.Comment{}, err
	}
	id, err := strconv.ParseInt(commentID, 10, 64)
	if err != nil || id <= 0 {
		return connectors.Comment{}, fmt.Errorf("edit comment %q on %s: not a comment id: %w", commentID, th.ID, connectors.ErrTerminal)
	}
	gc, _, err := c.gh.Issues.EditComment(withTag(ctx, full, KindWrite), owner, name, id, &gh.IssueComment{Body: gh.String(withMarker(body, marker))})
	c.wrote(full, number, gc, err)
	if err != nil {
		return connectors.Comment{}, c.wrap(fmt.Sprintf("edit comment %d on %s", id, th.ID), err)
	}
	cm := toComment(gc, gc.GetUser().GetLogin())
	cm.BySelf = true
	return cm, nil
}

// unsureFor is how long after a failed write a thread is read from GitHub
// on every Observe. A write whose answer was lost (a timeout, a reset) may
// still land after the client gave up (GitHub stops a request after 10 s);
// a read made before it landed must not be what the next pass trusts, or
// the comment would be posted twice. While unsure, the read is a
// conditional GET: a 304 costs no quota.
const unsureFor = 2 * time.Minute

// wrote keeps what is remembered of a thread true after a write: the
// comment GitHub answered with goes into the thread's memo, so the next
// Observe needs no read (the next poll's lists show the write too). After
// a failed write the thread is read whole for unsureFor; after a 404 the
// milestone's tracking issue is looked for again.
func (c *Client) wrote(full string, number int, gc *gh.IssueComment, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := threadID(full, number)
	if err == nil {
		if memo := c.threads[id]; memo != nil && gc != nil && gc.GetID() != 0 {
			memo.put(commentOf(gc))
		}
		return
	}
	delete(c.threads, id)
	c.unsure[id] = c.now().Add(unsureFor)
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && (er.Response.StatusCode == 404 || er.Response.StatusCode == 410) {
		for k, n := range c.threadOf {
			if n == number && strings.HasPrefix(k, full+"#") {
				delete(c.threadOf, k)
			}
		}
		if ix := c.index[full]; ix != nil {
			ix.stale = true
		}
		for k, n := range c.pinned {
			if n == number && strings.HasPrefix(k, full+"#") {
				delete(c.pinned, k)
			}
		}
	}
}

// milestoneNumber is the number of a milestone key ("acme/api#milestone=7").
func milestoneNumber(key string) int {
	_, n, _ := strings.Cut(key, "#milestone=")
	num, _ := strconv.Atoi(n)
	return num
}
