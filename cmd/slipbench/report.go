package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// row is one figure next to its baseline. Verdict is "PASS", "MISS" or ""
// (no target from the issue for this row).
type row struct {
	Measure  string
	Value    string
	Baseline string
	Ratio    string
	Target   string
	Verdict  string
}

// section is one table of BENCHMARKS.md.
type section struct {
	Title string
	Intro string // what was run and what the baseline is
	Rows  []row
	Notes []string // findings, misses explained
	Extra string   // Markdown after the notes: a section's own tables
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// ratio formats a/b, or "—" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "—"
		}
		return "∞"
	}
	r := a / b
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f×", r)
	case r >= 10:
		return fmt.Sprintf("%.1f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.2f ms", f)
}

func num(f float64) string {
	switch {
	case f >= 1000:
		return commas(int64(f + 0.5))
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.2f", f)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func mib(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }

// machine describes where the figures were taken.
type machine struct {
	Cores     int
	GoVersion string
	CPU       string
	OS        string
	Redis     string
	Mode      string // "full" or "short"
	Started   time.Time
	Took      time.Duration
}

func writeReport(w io.Writer, m machine, secs []section) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# slipwatch benchmarks\n\n")
	fmt.Fprintf(&b, "Produced by `go run ./cmd/slipbench` (`make bench`); do not edit by hand. Every figure\n")
	fmt.Fprintf(&b, "is measured next to its baseline in the same run; the ratio is slipwatch ÷ baseline\n")
	fmt.Fprintf(&b, "(or as the row says), the target is the one of issue 11, and a MISS stays written down.\n\n")
	fmt.Fprintf(&b, "| machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| cores (GOMAXPROCS) | %d |\n", m.Cores)
	if m.CPU != "" {
		fmt.Fprintf(&b, "| CPU | %s |\n", m.CPU)
	}
	fmt.Fprintf(&b, "| OS | %s |\n", m.OS)
	fmt.Fprintf(&b, "| Go | %s |\n", m.GoVersion)
	fmt.Fprintf(&b, "| Redis | %s (own process, loopback, AOF everysec) |\n", m.Redis)
	fmt.Fprintf(&b, "| mode | %s |\n", m.Mode)
	fmt.Fprintf(&b, "| run | %s, took %s |\n\n", m.Started.UTC().Format("2006-01-02 15:04 UTC"), m.Took.Round(time.Second))
	fmt.Fprintf(&b, "The machine is shared (2 cores, other work running): absolute times are noisy; the\n")
	fmt.Fprintf(&b, "ratios, taken in the same run under the same noise, are the figures to compare.\n")
	fmt.Fprintf(&b, "Load generator, servers, Redis and the fake trackers all share those cores.\n")

	var misses []string
	for _, s := range secs {
		fmt.Fprintf(&b, "\n## %s\n\n", s.Title)
		if s.Intro != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Intro)
		}
		fmt.Fprintf(&b, "| measure | slipwatch | baseline | ratio | target | |\n|---|---:|---:|---:|---|---|\n")
		for _, r := range s.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Measure, r.Value, dash(r.Baseline), dash(r.Ratio), dash(r.Target), r.Verdict)
			if r.Verdict == "MISS" {
				misses = append(misses, fmt.Sprintf("%s — %s: %s (target %s)", s.Title, r.Measure, r.Value, r.Target))
			}
		}
		if len(s.Notes) > 0 {
			b.WriteString("\n")
			for _, n := range s.Notes {
				fmt.Fprintf(&b, "- %s\n", n)
			}
		}
		if s.Extra != "" {
			fmt.Fprintf(&b, "\n%s", s.Extra)
		}
	}
	b.WriteString("\n## Misses\n\n")
	if len(misses) == 0 {
		b.WriteString("None in this run.\n")
	}
	for _, m := range misses {
		fmt.Fprintf(&b, "- %s\n", m)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
