package markup

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTitle(t *testing.T) {
	tests := []struct {
		name, in, want string
		max            int
	}{
		{"plain", "Release 2.0", "Release 2.0", 100},
		{"mention and reference", "v9 @acme/leadership #12", "v9 @\u200bacme/leadership #\u200b12", 100},
		{"html", "<img src=x>", "<\u200bimg src=x>", 100},
		{"markdown link", "[click](http://evil)", "[\u200bclick]\u200b(http:\u200b//evil)", 100},
		{"wiki", "[~boss] {panel} !i.png!", "[\u200b~boss] {\u200bpanel} !\u200bi.png!\u200b", 100},
		{"www", "see www.evil.example", "see www\u200b.evil.example", 100},
		{"lines and controls", "a\nb\r\n\tc\u2028d\x00e", "a b c d e", 100},
		{"cut on a rune, not inside what was added", "ééé@x", "ééé…", 9},
		{"nothing fits", "@@@@", "…", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Title(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("Title(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if len(got) > tt.max || !utf8.ValidString(got) {
				t.Errorf("Title(%q, %d) = %q: %d bytes, valid %v", tt.in, tt.max, got, len(got), utf8.ValidString(got))
			}
		})
	}
}

func TestTextBreaksBareLinks(t *testing.T) {
	for name, e := range map[string]Escaper{"markdown": Markdown, "wiki": Wiki} {
		got := e.Text("see https://evil.example now")
		if strings.Contains(got, "://") {
			t.Errorf("%s: %q still links", name, got)
		}
	}
	if got := Markdown.Text("www.evil.example"); strings.Contains(got, "www.") {
		t.Errorf("markdown: %q still links", got)
	}
}

func TestTextIsCut(t *testing.T) {
	got := Markdown.Text(strings.Repeat("é", MaxField))
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > MaxField+len("…") {
		t.Errorf("cut text %q (%d bytes)", got, len(got))
	}
}
