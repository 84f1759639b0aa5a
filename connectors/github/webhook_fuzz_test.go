package github

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// FuzzParseWebhook feeds signed deliveries of any event, content type and
// body to the decoder: it must not panic, must refuse only with a 4xx
// WebhookError, and may only name milestones of the watched repositories.
func FuzzParseWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		event, _, _ := strings.Cut(filepath.Base(file), ".")
		f.Add(event, "application/json", b)
	}
	f.Add("milestone", "application/x-www-form-urlencoded", []byte("payload=%7B%22action%22%3A%22closed%22%7D"))
	f.Add("issues", "application/json", []byte(`{"issue":{"number":1,"milestone":{"number":-1}},"repository":{"full_name":"octocat/hello-world"}}`))
	c, err := New(&config.GitHub{BaseURL: "https://api.github.com/", Token: "t", WebhookSecret: "current-secret", Repos: []string{hello, hephaest}}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte) {
		r := delivery(event, "fuzz-delivery", body, sign("current-secret", body))
		r.Header.Set("Content-Type", contentType)
		ev, err := c.ParseWebhook(r)
		if err != nil {
			var we *httpx.WebhookError
			if !errors.As(err, &we) || we.Status < 400 || we.Status > 499 || we.Status == http.StatusUnauthorized {
				t.Fatalf("signed delivery refused with %v", err)
			}
			return
		}
		for _, ref := range ev.Refs {
			if _, ok := c.repos[strings.ToLower(ref.Team)]; !ok || ref.Kind != connectors.Milestone || ref.ID == "" || strings.HasPrefix(ref.ID, "-") || ref.ID == "0" {
				t.Fatalf("decoded a ref slipwatch does not watch: %+v", ref)
			}
		}
	})
}
