package jira

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// notFound is a Jira that knows nothing: the reads a comment or version
// delivery causes answer 404, with no network.
type notFound struct{}

func (notFound) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"errorMessages":["Issue does not exist"]}`)), Request: r}, nil
}

// FuzzParseWebhook feeds signed deliveries of any body to the decoder: it
// must not panic, must refuse bodies only with a 4xx WebhookError, and
// may only name deliverables of the watched projects.
func FuzzParseWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"webhookEvent":"jira:version_updated","version":{"id":"1","projectId":"x"}}`))
	cfg := &config.Jira{
		BaseURL: "https://jira.example", Deployment: config.JiraDataCenter, Auth: config.Auth{PAT: "pat"},
		WebhookSecret: hookSecret, Projects: []string{"PLAT", "TES"},
		Deliverables: config.Deliverables{Versions: true, JQL: config.DefaultJiraJQL}, TrackingLabel: "slipwatch",
	}
	// No waits: a delivery that makes the client wait is a finding.
	c, err := New(cfg, Options{Transport: notFound{},
		sleep: func(_ context.Context, d time.Duration) error { panic(fmt.Sprintf("ParseWebhook waited %s", d)) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		start := time.Now()
		ev, err := c.ParseWebhook(hookRequest(body, "", map[string]string{"X-Hub-Signature": sign(hookSecret, body)}))
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("ParseWebhook took %s", took)
		}
		var we *httpx.WebhookError
		switch {
		case errors.As(err, &we):
			if we.Status < 400 || we.Status > 499 || we.Status == http.StatusUnauthorized {
				t.Fatalf("signed delivery refused with %v", err)
			}
			return
		case err != nil:
			return // a read from Jira failed: the delivery is retried
		}
		for _, ref := range ev.Refs {
			if ref.Team != "PLAT" && ref.Team != "TES" {
				t.Fatalf("decoded a ref of a project not watched: %+v", ref)
			}
		}
	})
}
