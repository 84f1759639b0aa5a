package github

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unique"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/connectors"
)

// What the connector keeps of GitHub's answers between polls. go-github
// decodes every field of a payload, each behind its own pointer, and a
// milestone or an issue brings its whole author along: kept for each of an
// organisation's milestones, tracking issues and thread comments, that is
// most of a replica's memory. So each answer is turned, where it is
// decoded, into one of these small values holding only what the connector
// reads again; go-github's structs do not outlive the request.

// milestone is what Observe and the index read of a milestone.
type milestone struct {
	number             int
	title, description string
	url                string // html_url
	closed             bool   // state "closed"
	due, closedAt      time.Time
	counts             [2]int // open_issues, closed_issues
}

func milestoneOf(m *gh.Milestone) *milestone {
	out := &milestone{
		number:      m.GetNumber(),
		title:       m.GetTitle(),
		description: m.GetDescription(),
		url:         m.GetHTMLURL(),
		closed:      m.GetState() == "closed",
		counts:      [2]int{m.GetOpenIssues(), m.GetClosedIssues()},
	}
	if m.DueOn != nil {
		out.due = m.DueOn.Time
	}
	if m.ClosedAt != nil {
		out.closedAt = m.ClosedAt.Time
	}
	return out
}

// deliverable is the milestone as the core sees it, with its items.
func (m *milestone) deliverable(ref connectors.Ref, items []connectors.Item) connectors.Deliverable {
	return connectors.Deliverable{
		Ref:         ref,
		Title:       m.title,
		URL:         m.url,
		Description: m.description,
		DueAt:       m.due,
		Closed:      m.closed,
		ClosedAt:    m.closedAt,
		Items:       items,
		// Creating or editing a milestone takes write permission on the
		// repository, which may commit: whoever wrote its description may.
		DescriptionByCanCommit: true,
	}
}

// trackingIssue is what the connector reads of a tracking issue: which
// milestone's it is, whether its comments are all known (their count),
// where people open it, and who wrote it (chooseThread).
type trackingIssue struct {
	number, milestone int
	comments          int
	url               string // html_url
	author            login
}

func trackingOf(is *gh.Issue) *trackingIssue {
	return &trackingIssue{
		number:    is.GetNumber(),
		milestone: is.GetMilestone().GetNumber(),
		comments:  is.GetComments(),
		url:       is.GetHTMLURL(),
		author:    loginOf(is.GetUser().GetLogin()),
	}
}

// login is a GitHub login, interned: the same few people, and slipwatch,
// write most of an organisation's tracking issues and comments.
type login struct{ h unique.Handle[string] }

func loginOf(s string) login { return login{unique.Make(s)} }

func (l login) String() string {
	if l == (login{}) {
		return ""
	}
	return l.h.Value()
}

// comment is what the connector keeps of a comment on a tracking issue:
// everything the core reads of it (toComment). Its body stays whole: the
// core parses commands and markers from it.
type comment struct {
	id               int64
	author           login
	url, body        string // html_url, body
	created, updated time.Time
}

func commentOf(gc *gh.IssueComment) comment {
	return comment{
		id:      gc.GetID(),
		author:  loginOf(gc.GetUser().GetLogin()),
		url:     gc.GetHTMLURL(),
		body:    gc.GetBody(),
		created: gc.GetCreatedAt().Time,
		updated: gc.GetUpdatedAt().Time,
	}
}

// toComment is the comment as the core sees it; self is slipwatch's
// login ("" when not known).
func (k comment) toComment(self string) connectors.Comment {
	author := k.author.String()
	return connectors.Comment{
		ID:        strconv.FormatInt(k.id, 10),
		URL:       k.url,
		Author:    author,
		Body:      k.body,
		Hidden:    k.body, // markers are HTML comments in the body
		CreatedAt: k.created,
		UpdatedAt: k.updated,
		BySelf:    self != "" && strings.EqualFold(author, self),
	}
}

// seconds is a GitHub time in Unix seconds (GitHub's timestamps have no
// finer part), zero when unset. 32 bits hold every time GitHub can give,
// from its start until 2106; one outside is held as the nearest there is.
type seconds uint32

func secondsOf(t time.Time) seconds {
	if t.IsZero() {
		return 0
	}
	switch s := t.Unix(); {
	case s < 0:
		return 1
	case s > math.MaxUint32:
		return math.MaxUint32
	default:
		return seconds(s)
	}
}

func (s seconds) time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}
