package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/reconcile/runner"
)

// trackerStub answers every request as GitHub answers GET /user, with a
// quota header, so that one Authenticate fills the per-request metrics.
type trackerStub struct{}

func (trackerStub) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Remaining": {"4999"}, "X-Ratelimit-Reset": {"4102444800"}}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"login":"slipwatch-bot"}`))}, nil
}

// countingRegisterer counts what runner.NewMetrics registers.
type countingRegisterer struct {
	prometheus.Registerer
	n int
}

func (c *countingRegisterer) MustRegister(cs ...prometheus.Collector) {
	c.n += len(cs)
	c.Registerer.MustRegister(cs...)
}

// appMetrics builds the daemon as `slipwatch run` does (build, over a stub
// tracker and a Redis that is never reached) and returns its slipwatch_*
// families from /metrics' registry: name → type and label names.
func appMetrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	cfg := config.Default()
	cfg.GitHub = &config.GitHub{BaseURL: config.DefaultGitHubBaseURL, Token: "docs-test", Repos: []string{"acme/api"},
		TrackingLabel: config.DefaultGitHubTrackingLabel, WriteInterval: config.Duration(config.DefaultGitHubWriteInterval)}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1: the validator cache is bypassed, which is
	// all a metric needs.
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	a, err := build(cfg, deps{redis: rc, transport: trackerStub{}, logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.runner.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fams, err := a.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "slipwatch_") {
			out[f.GetName()] = f
		}
	}
	// A family with no series yet is not gathered; make sure that none of
	// runner.NewMetrics' is missed that way.
	reg := &countingRegisterer{Registerer: prometheus.NewRegistry()}
	runner.NewMetrics(reg)
	if len(out) < reg.n {
		t.Fatalf("runner.NewMetrics registers %d collectors but the app exposes %d slipwatch_* families: initialise every series at start", reg.n, len(out))
	}
	return out
}

var metricName = regexp.MustCompile(`slipwatch_[a-z0-9_]*[a-z0-9]`)

// TestOperationsDocMetrics keeps docs/operations.md true: it names every
// metric slipwatch exposes, with its labels in the metric's table row,
// and names no metric that does not exist (histogram series _bucket,
// _sum and _count included).
func TestOperationsDocMetrics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	fams := appMetrics(t)

	mentioned := map[string]bool{}
	for _, name := range metricName.FindAllString(doc, -1) {
		mentioned[name] = true
	}
	for name := range mentioned {
		if fams[name] != nil {
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if f := fams[base]; f != nil && f.GetType() == dto.MetricType_HISTOGRAM {
			continue
		}
		t.Errorf("docs/operations.md mentions %s, which slipwatch does not expose", name)
	}

	rows := map[string]string{}
	for line := range strings.SplitSeq(doc, "\n") {
		if m := regexp.MustCompile("^\\| `(slipwatch_[a-z0-9_]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	names := make([]string, 0, len(fams))
	for name := range fams {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !mentioned[name] {
			t.Errorf("docs/operations.md does not mention %s", name)
			continue
		}
		row, ok := rows[name]
		if !ok {
			t.Errorf("docs/operations.md has no table row for %s", name)
			continue
		}
		for _, m := range fams[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if !strings.Contains(row, "`"+l.GetName()+"`") {
					t.Errorf("docs/operations.md: the row of %s does not name its label `%s`", name, l.GetName())
				}
			}
		}
	}
}
