package config

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
)

// Markers signs the hidden markers slipwatch writes on threads: the IDs of
// the comments it posted and the record in its status comment. Someone who
// may edit slipwatch's comments could otherwise plant a marker that hides
// an event or rewrites the history rebuilt after Redis is lost.
type Markers struct {
	// Key signs new markers and checks them. Empty: a key derived from
	// the webhook secrets (or, without any, the trackers' credentials);
	// see KeySources.
	Key Secret `yaml:"key"`
	// PreviousKeys are still accepted while Key is rotated: slipwatch
	// re-signs each status comment with Key the next time it reads it.
	PreviousKeys []Secret `yaml:"previous_keys"`
}

// MinMarkersKey is the shortest markers.key accepted, in bytes.
const MinMarkersKey = 16

func (m *Markers) validate(es *findings) {
	if m.Key != "" && len(m.Key.Value()) < MinMarkersKey {
		es.add("markers.key", "is shorter than %d characters (e.g. openssl rand -hex 32)", MinMarkersKey)
	}
	if len(m.PreviousKeys) > 0 && m.Key == "" {
		es.addAgainst("markers.previous_keys", []string{"markers.key"}, "is set without markers.key")
	}
	for i, k := range m.PreviousKeys {
		if k == "" {
			es.add(fmt.Sprintf("markers.previous_keys[%d]", i), "is empty")
		}
	}
}

// markersLabel is what a derived key is the HMAC of: a key derived from a
// webhook secret is no use for signing webhooks, nor the other way round.
const markersLabel = "slipwatch markers v1"

// DeriveMarkersKey is the markers key derived from secret.
func DeriveMarkersKey(secret Secret) []byte {
	h := hmac.New(sha256.New, []byte(secret.Value()))
	h.Write([]byte(markersLabel))
	return h.Sum(nil)
}

// KeySource is one secret the markers' keys come from, by config key.
type KeySource struct {
	Path   string // "markers.key", "github.webhook_secret", …
	Secret Secret
	// Derived says the key is DeriveMarkersKey(Secret), not Secret itself.
	Derived bool
}

// KeySources are where the markers' keys come from, the signing one
// first: markers.key and markers.previous_keys as given; else keys
// derived from the webhook secrets, current ones first (GitHub's, then
// Jira's); else from the trackers' credentials in the config. A GitHub
// App whose key is in private_key_file has none here: the caller derives
// from the file. Rotating a secret a key is derived from changes the key;
// keep the previous webhook secret set until every status comment has
// been re-signed (one poll interval), or set markers.key.
func (c *Config) KeySources() []KeySource {
	if c.Markers.Key != "" {
		out := []KeySource{{Path: "markers.key", Secret: c.Markers.Key}}
		for i, k := range c.Markers.PreviousKeys {
			out = append(out, KeySource{Path: fmt.Sprintf("markers.previous_keys[%d]", i), Secret: k})
		}
		return out
	}
	var hooks, previous, creds []KeySource
	add := func(list *[]KeySource, path string, s Secret) {
		if s != "" {
			*list = append(*list, KeySource{Path: path, Secret: s, Derived: true})
		}
	}
	if g := c.GitHub; g != nil {
		add(&hooks, "github.webhook_secret", g.WebhookSecret)
		add(&previous, "github.previous_webhook_secret", g.PreviousWebhookSecret)
		add(&creds, "github.token", g.Token)
		if g.App != nil {
			add(&creds, "github.app.private_key", g.App.PrivateKey)
		}
	}
	if j := c.Jira; j != nil {
		add(&hooks, "jira.webhook_secret", j.WebhookSecret)
		add(&hooks, "jira.webhook_token", j.WebhookToken)
		add(&previous, "jira.previous_webhook_secret", j.PreviousWebhookSecret)
		add(&creds, "jira.auth.api_token", j.Auth.APIToken)
		add(&creds, "jira.auth.pat", j.Auth.PAT)
		if j.Auth.OAuth2 != nil {
			add(&creds, "jira.auth.oauth2.client_secret", j.Auth.OAuth2.ClientSecret)
		}
	}
	if len(hooks) > 0 {
		return append(hooks, previous...)
	}
	return creds
}
