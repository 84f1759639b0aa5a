package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMarkersConfig(t *testing.T) {
	const gh = "github: { token: ghp_x, repos: [acme/api] }\n"
	tests := []struct {
		name string
		file string
		env  []string
		want string // a line of the error; "" valid
	}{
		{"unset", gh, nil, ""},
		{"a key", gh + "markers: { key: 0123456789abcdef }\n", nil, ""},
		{"from the environment, with previous keys", gh, []string{"SLIPWATCH_MARKERS_KEY=0123456789abcdef0123", "SLIPWATCH_MARKERS_PREVIOUS_KEYS=old-key-0000000001, old-key-0000000002"}, ""},
		{"too short", gh + "markers: { key: short }\n", nil, "markers.key: is shorter than 16 characters"},
		{"previous without a key", gh + "markers: { previous_keys: [0123456789abcdef] }\n", nil, "markers.previous_keys: is set without markers.key"},
		{"empty previous", gh + "markers: { key: 0123456789abcdef, previous_keys: [\"\"] }\n", nil, "markers.previous_keys[0]: is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file), tt.env)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Parse = %v, want %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "short\""):
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestKeySources(t *testing.T) {
	paths := func(ss []KeySource) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Path)
		}
		return out
	}
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"markers.key wins", "markers: { key: 0123456789abcdef, previous_keys: [fedcba9876543210] }\ngithub: { token: t, webhook_secret: w, repos: [a/b] }\n",
			[]string{"markers.key", "markers.previous_keys[0]"}},
		{"the webhook secrets, current first", "github: { token: t, webhook_secret: w, previous_webhook_secret: p, repos: [a/b] }\njira: { base_url: https://x.example, auth: { pat: j }, webhook_secret: jw, projects: [PLAT] }\n",
			[]string{"github.webhook_secret", "jira.webhook_secret", "github.previous_webhook_secret"}},
		{"no webhook secret: the credentials", "github: { token: t, repos: [a/b] }\n", []string{"github.token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, paths(cfg.KeySources())); diff != "" {
				t.Errorf("key sources (-want +got):\n%s", diff)
			}
		})
	}
	// A derived key is neither the secret nor the same for two secrets.
	a, b := DeriveMarkersKey("secret-a"), DeriveMarkersKey("secret-b")
	if bytes.Equal(a, b) || bytes.Contains(a, []byte("secret-a")) || len(a) != 32 {
		t.Errorf("derived keys %x, %x", a, b)
	}
}
