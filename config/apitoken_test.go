package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestAPIToken: server.api_token comes from the file (through ${VAR}) or
// SLIPWATCH_SERVER_API_TOKEN, is refused when too short to guard anything
// or when a header cannot carry it, and is never printed, not even in
// the message that refuses it.
func TestAPIToken(t *testing.T) {
	t.Parallel()
	const good = "a2f9c4e1b7d3a8f6e0c5b9d2"
	tracker := "github: {token: t, repos: [acme/api]}\n"
	tests := []struct {
		name    string
		file    string
		env     []string
		want    string // the token slipwatch gets
		problem string // or the one line refusing it
	}{
		{name: "unset", file: tracker},
		{name: "from the environment", file: tracker, env: []string{"SLIPWATCH_SERVER_API_TOKEN=" + good}, want: good},
		{name: "from the file through a variable", file: "server: {api_token: ${API_TOKEN}}\n" + tracker, env: []string{"API_TOKEN=" + good}, want: good},
		{name: "too short", file: tracker, env: []string{"SLIPWATCH_SERVER_API_TOKEN=hunter2"},
			problem: "server.api_token: is 7 characters; use at least 16 (e.g. openssl rand -hex 32)"},
		{name: "with a space", file: tracker, env: []string{"SLIPWATCH_SERVER_API_TOKEN=correct horse battery staple"},
			problem: "server.api_token: holds spaces or control or non-ASCII characters, which an Authorization header cannot carry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.file), tt.env)
			if tt.problem != "" {
				if err == nil || err.Error() != tt.problem {
					t.Fatalf("err = %v, want %q", err, tt.problem)
				}
				for _, kv := range tt.env {
					if _, v, _ := strings.Cut(kv, "="); strings.Contains(err.Error(), v) {
						t.Errorf("the message shows the token: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Server.APIToken.Value(); got != tt.want {
				t.Errorf("token %q, want %q", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			js, _ := json.Marshal(cfg)
			for name, out := range map[string]string{"%+v": fmt.Sprintf("%+v", cfg.Server), "json": string(js)} {
				if strings.Contains(out, tt.want) || !strings.Contains(out, "[redacted]") {
					t.Errorf("%s prints the token: %s", name, out)
				}
			}
		})
	}
}
