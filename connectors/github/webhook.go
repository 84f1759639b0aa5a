package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// MaxWebhookBody is the largest delivery read; GitHub caps payloads at
// 25 MB, but the events slipwatch reads are a few KiB.
const MaxWebhookBody = 1 << 20

func refuse(status int, reason string) error {
	return &connectors.WebhookError{Status: status, Reason: reason}
}

// ParseWebhook verifies a delivery (X-Hub-Signature-256 against every
// configured secret, for rotation) and decodes it into the keys to
// reconcile. Unknown events and repos slipwatch does not watch come back
// empty: answered 202 and ignored.
func (c *Client) ParseWebhook(r *http.Request) (connectors.WebhookEvent, error) {
	secrets := c.cfg.WebhookSecrets()
	if len(secrets) == 0 && !c.cfg.InsecureSkipSignature {
		return connectors.WebhookEvent{}, refuse(http.StatusForbidden, "GitHub webhooks are off: set github.webhook_secret")
	}
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	if event == "" || delivery == "" {
		return connectors.WebhookEvent{}, refuse(http.StatusBadRequest, "missing X-GitHub-Event or X-GitHub-Delivery")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxWebhookBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return connectors.WebhookEvent{}, refuse(http.StatusRequestEntityTooLarge, "body over "+strconv.Itoa(MaxWebhookBody)+" bytes")
	case err != nil:
		return connectors.WebhookEvent{}, refuse(http.StatusBadRequest, "cannot read the body")
	}
	if len(secrets) > 0 {
		sig := r.Header.Get("X-Hub-Signature-256")
		if sig == "" {
			return connectors.WebhookEvent{}, refuse(http.StatusUnauthorized, "missing X-Hub-Signature-256")
		}
		if !validSignature(sig, body, secrets) {
			return connectors.WebhookEvent{}, refuse(http.StatusUnauthorized, "X-Hub-Signature-256 does not match")
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return connectors.WebhookEvent{}, refuse(http.StatusUnsupportedMediaType, "content type must be application/json")
	}
	ev := connectors.WebhookEvent{Delivery: delivery, Event: event}
	switch event {
	case "milestone", "issues", "issue_comment", "ping":
	default:
		return ev, nil
	}
	payload, err := gh.ParseWebHook(event, body)
	if err != nil {
		return connectors.WebhookEvent{}, refuse(http.StatusBadRequest, "malformed "+event+" payload")
	}
	var repo *gh.Repository
	var ms *gh.Milestone
	switch p := payload.(type) {
	case *gh.MilestoneEvent:
		repo, ms = p.GetRepo(), p.GetMilestone()
		if p.GetAction() == "created" {
			if name, ok := c.watched(repo); ok {
				ev.Teams = append(ev.Teams, name)
			}
		}
	case *gh.IssuesEvent:
		repo = p.GetRepo()
		ms = p.GetIssue().GetMilestone()
		if ms == nil {
			ms = p.Milestone // demilestoned: the milestone it left
		}
	case *gh.IssueCommentEvent:
		repo, ms = p.GetRepo(), p.GetIssue().GetMilestone()
	case *gh.PingEvent:
		return ev, nil
	}
	name, ok := c.watched(repo)
	if !ok || ms == nil || ms.GetNumber() == 0 {
		return ev, nil
	}
	ev.Refs = append(ev.Refs, connectors.Ref{Tracker: connectors.GitHub, Team: name, Kind: connectors.Milestone, ID: strconv.Itoa(ms.GetNumber())})
	return ev, nil
}

func (c *Client) watched(repo *gh.Repository) (string, bool) {
	name, ok := c.repos[strings.ToLower(repo.GetFullName())]
	return name, ok
}

func validSignature(sig string, body []byte, secrets []config.Secret) bool {
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s.Value()))
		m.Write(body)
		if hmac.Equal(got, m.Sum(nil)) {
			return true
		}
	}
	return false
}
