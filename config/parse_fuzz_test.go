package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: any bytes as a config file (with a secret in the
// environment) give a config or an error, never a panic, and an error
// never repeats the secret.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("github: { token: ${FUZZ_SECRET}, repos: [acme/api] }\npoll: { interval: ${FUZZ_SECRET} }\n"))
	f.Add([]byte("redis: { password: ${FUZZ_SECRET:-x}, url: ${FUZZ_SECRET} }\n"))
	const secret = "fuzz-secret-value-8c1d"
	env := []string{"FUZZ_SECRET=" + secret, "SLIPWATCH_GITHUB_WEBHOOK_SECRET=" + secret}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, env)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		if cfg == nil || cfg.Location == nil {
			t.Fatalf("Parse returned no error and an incomplete config: %+v", cfg)
		}
	})
}
