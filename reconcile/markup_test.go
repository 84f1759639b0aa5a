package reconcile

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	goldhtml "github.com/yuin/goldmark/renderer/html"
	goldtext "github.com/yuin/goldmark/text"

	"github.com/slipwatch/slipwatch/connectors"
)

var (
	htmlTagRE = regexp.MustCompile(`<[^>]*>`)
	// mentionRE is what GitHub turns into a mention: @ then a login.
	mentionRE = regexp.MustCompile(`@[\p{L}\p{N}]`)
	// issueRefRE is what GitHub turns into a cross-reference.
	issueRefRE = regexp.MustCompile(`#[0-9]`)
	// ourTags are the only tags slipwatch's Markdown may produce: bold,
	// its list of labelled items, line breaks and the small print.
	ourTags = map[string]bool{"<p>": true, "</p>": true, "<strong>": true, "</strong>": true, "<ul>": true, "</ul>": true,
		"<li>": true, "</li>": true, "<sub>": true, "</sub>": true, "<br>": true}
)

// TestGitHubMarkdownRendersInert renders every GitHub comment with a GFM
// renderer (raw HTML passed through, as an unsafe renderer would) and
// checks what a reader would see: the marker is one HTML comment and
// nothing else is hidden, the only structure is slipwatch's own (bold
// title, one list of items), and nothing from user text became HTML, a
// mention, an issue reference, a link, a heading or a table. The digest
// has slipwatch's own table, whose first column may link to deliverables.
func TestGitHubMarkdownRendersInert(t *testing.T) {
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(goldhtml.WithUnsafe(), goldhtml.WithHardWraps()))
	for _, gc := range goldenComments() {
		t.Run(gc.name, func(t *testing.T) {
			body, marker := gc.comment(t, connectors.GitHub)
			src := []byte(posted(connectors.GitHub, body, marker))
			doc := md.Parser().Parse(goldtext.NewReader(src))

			digest := strings.HasPrefix(gc.name, "digest")
			var markers, items, lists, tables int
			err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
				if !entering {
					return ast.WalkContinue, nil
				}
				switch n := n.(type) {
				case *ast.HTMLBlock:
					got := strings.TrimSpace(string(n.Lines().Value(src)))
					if n.HTMLBlockType != ast.HTMLBlockType2 || got != marker {
						t.Errorf("an HTML block other than the marker: %q", got)
					}
					markers++
				case *ast.List:
					lists++
				case *ast.ListItem:
					items++
					// Each item is "**Label:** value": a list that user
					// text started would not open with our bold label.
					if first := n.FirstChild().FirstChild(); first == nil || first.Kind() != ast.KindEmphasis {
						t.Errorf("a list item that is not a labelled item: %q", n.Lines().Value(src))
					}
				case *ast.Link:
					// Only the digest's links to deliverables, each the
					// whole of a table row's first cell.
					cell := n.Parent()
					if !digest || !digestLinks[string(n.Destination)] || cell.Kind() != extast.KindTableCell ||
						cell.PreviousSibling() != nil || cell.ChildCount() != 1 {
						t.Errorf("user text became a link to %q", n.Destination)
					}
				case *ast.Heading, *ast.AutoLink, *ast.Image, *ast.CodeSpan, *ast.CodeBlock,
					*ast.FencedCodeBlock, *ast.Blockquote, *ast.ThematicBreak:
					t.Errorf("user text became a %s", n.Kind())
				}
				switch n.Kind() {
				case extast.KindTable:
					tables++
					if !digest || tables > 1 {
						t.Errorf("user text became a %s", n.Kind())
					}
				case extast.KindStrikethrough, extast.KindTaskCheckBox:
					t.Errorf("user text became a %s", n.Kind())
				}
				return ast.WalkContinue, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if digest {
				markdownTableRows(t, body)
			}
			if markers != 1 {
				t.Errorf("%d marker blocks, want 1", markers)
			}
			if wantItems := strings.Count(body, "\n- **"); items != wantItems || lists > 1 {
				t.Errorf("%d list items in %d lists, want the %d labelled items in one list", items, lists, wantItems)
			}

			var out bytes.Buffer
			if err := md.Renderer().Render(&out, src, doc); err != nil {
				t.Fatal(err)
			}
			rendered := out.String()
			if n := strings.Count(rendered, marker); n != 1 {
				t.Fatalf("the marker appears %d times in the HTML:\n%s", n, rendered)
			}
			visible := strings.Replace(rendered, marker, "", 1)
			for _, tag := range htmlTagRE.FindAllString(visible, -1) {
				if href, ok := strings.CutPrefix(tag, `<a href="`); digest && (digestTags[tag] || ok && digestLinks[strings.TrimSuffix(href, `">`)]) {
					continue
				}
				if !ourTags[tag] {
					t.Errorf("tag %q in the HTML: raw HTML or a hidden comment came through", tag)
				}
			}
			shown := html.UnescapeString(htmlTagRE.ReplaceAllString(visible, ""))
			for _, bad := range []string{"slipwatch:", "\\"} {
				if strings.Contains(shown, bad) {
					t.Errorf("the reader sees %q:\n%s", bad, shown)
				}
			}
			if m := mentionRE.FindString(shown); m != "" {
				t.Errorf("mention %q in:\n%s", m, shown)
			}
			if m := issueRefRE.FindString(shown); m != "" {
				t.Errorf("issue reference %q in:\n%s", m, shown)
			}
		})
	}
}

var (
	// wikiSpecialRE is a wiki markup character not escaped by a backslash.
	wikiSpecialRE = regexp.MustCompile(`(^|[^\\])[{}\[\]|~^+!?#]`)
	// wikiBlockRE is a line that wiki markup would read as a heading, a
	// quote, a list, a table or a rule.
	wikiBlockRE = regexp.MustCompile(`(?m)^[ \t]*(h[1-6]\.|bq\.|[#\-|]|----)`)
)

// TestJiraWikiInert has no renderer to lean on (Jira's is not open
// source): it checks the markup itself. Outside slipwatch's own bold
// title, "* *Label:*" items and {{small print}}, every character wiki
// markup treats specially is escaped and no line starts a block.
func TestJiraWikiInert(t *testing.T) {
	ours := regexp.MustCompile(`(?m)^\* \*[^*\\]+:\* |^\{\{|\}\}$`)
	for _, gc := range goldenComments() {
		t.Run(gc.name, func(t *testing.T) {
			body, _ := gc.comment(t, connectors.Jira)
			if strings.HasPrefix(gc.name, "digest") {
				body = wikiTableCells(t, body)
			}
			rest := ours.ReplaceAllString(body, "")
			for i, l := range strings.Split(rest, "\n") {
				if m := wikiSpecialRE.FindString(l); m != "" {
					t.Errorf("line %d: unescaped %q in %q", i+1, m, l)
				}
			}
			if m := wikiBlockRE.FindString(rest); m != "" {
				t.Errorf("a line starts with %q:\n%s", m, body)
			}
		})
	}
}
