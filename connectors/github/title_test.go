package github

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	goldhtml "github.com/yuin/goldmark/renderer/html"
	goldtext "github.com/yuin/goldmark/text"

	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

// hostileMilestone is a title as a user may type it: a team mention, an
// image, a link, a cross-reference, Jira's mention and macro.
const hostileMilestone = "v9 @acme/leadership <img src=x onerror=alert(1)> [click](http://evil.example) #12 [~boss] {panel}x{panel} www.evil.example"

var (
	liveMention = regexp.MustCompile(`@[\p{L}\p{N}]`)
	liveRef     = regexp.MustCompile(`#[0-9]`)
	liveTag     = regexp.MustCompile(`<[A-Za-z/!]`)
	liveLink    = regexp.MustCompile(`\]\(|://|www\.|\[~`)
)

// TestTrackingIssueTitleIsData: a milestone's title is written into the
// tracking issue slipwatch creates, its title and its body; neither may
// ping a team, carry HTML or a link.
func TestTrackingIssueTitleIsData(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	ms := f.milestone(repo, hostileMilestone, time.Time{})
	c := newTestClient(t, f, nil)
	th, err := c.EnsureThread(context.Background(), connectors.Deliverable{Ref: milestoneRef(repo, ms), Title: hostileMilestone})
	if err != nil || th == nil {
		t.Fatalf("EnsureThread = %v, %v", th, err)
	}
	made := trackingIssues(f)
	if len(made) != 1 {
		t.Fatalf("%d tracking issues", len(made))
	}
	title, body := made[0].Title, made[0].Body

	for name, re := range map[string]*regexp.Regexp{"mention": liveMention, "reference": liveRef, "HTML": liveTag, "link": liveLink} {
		if re.MatchString(title) {
			t.Errorf("title has a live %s: %q", name, title)
		}
	}
	// People read the same title: only invisible characters were added.
	if got := strings.ReplaceAll(title, "\u200b", ""); got != "Delivery tracking: "+hostileMilestone {
		t.Errorf("title reads %q", got)
	}

	// The body is Markdown: render it as GitHub would and look at what
	// the title became.
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(goldhtml.WithUnsafe()))
	src := []byte(body)
	doc := md.Parser().Parse(goldtext.NewReader(src))
	err = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.(type) {
		case *ast.Link, *ast.AutoLink, *ast.Image, *ast.RawHTML, *ast.HTMLBlock:
			t.Errorf("the body has a %s", n.Kind())
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if liveMention.MatchString(body) || liveRef.MatchString(body) {
		t.Errorf("body pings or references:\n%s", body)
	}
	if !strings.Contains(body, "v9 @\u200bacme/leadership &lt;img") {
		t.Errorf("body does not name the milestone, escaped:\n%s", body)
	}
}

// TestTrackingIssueTitleFits: GitHub refuses a title over 256 characters;
// a long milestone title is cut, inert, not sent whole.
func TestTrackingIssueTitleFits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é@x ", 120)
	got := connectors.ThreadTitle(long)
	if len(got) > 255 || !strings.HasSuffix(got, "…") || liveMention.MatchString(got) {
		t.Errorf("title of %d bytes: %q", len(got), got)
	}
}

// TestCommentTooLarge: GitHub's 422 for a body over 65,536 characters is
// ErrTooLarge, which the runner answers with a shorter comment, and not a
// terminal error, which would park the milestone.
func TestCommentTooLarge(t *testing.T) {
	t.Parallel()
	f := newSandbox(t)
	w := buildWorld(f)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	snap, err := c.Observe(ctx, milestoneRef(repo, w.ms))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Post(ctx, snap.Thread, strings.Repeat("é", githubtest.MaxCommentChars), "<!-- m -->")
	if !errors.Is(err, connectors.ErrTooLarge) || errors.Is(err, connectors.ErrTerminal) {
		t.Errorf("Post of %d characters: %v; want ErrTooLarge, not terminal", githubtest.MaxCommentChars, err)
	}
	if _, err := c.Post(ctx, snap.Thread, strings.Repeat("é", githubtest.MaxCommentChars-20), "<!-- m -->"); err != nil {
		t.Errorf("Post within the limit: %v", err)
	}
}
