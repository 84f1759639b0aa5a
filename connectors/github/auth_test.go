package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/github/githubtest"
)

func TestAppInstallationAuth(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, app := range map[string]*config.App{
		"PEM":  {ID: 7, InstallationID: 42, PrivateKey: config.Secret(keyPEM)},
		"file": {ID: 7, InstallationID: 42, PrivateKeyFile: keyFile},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newSandbox(t)
			f.milestone(repo, "v1", time.Time{})
			f.SetApp(githubtest.App{ID: 7, InstallationID: 42, Slug: "slipwatch-test", Key: &key.PublicKey})
			c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.Token = ""; g.App = app })
			ctx := context.Background()
			for range 2 {
				if _, err := c.List(ctx, repo); err != nil {
					t.Fatalf("List as the installation: %v", err)
				}
			}
			if n := f.InstallationTokens(); n != 1 {
				t.Errorf("%d installation tokens fetched, want 1 reused", n)
			}
			self, err := c.Self(ctx)
			if err != nil || self != "slipwatch-test[bot]" {
				t.Errorf("Self = %q, %v; want the app's bot login", self, err)
			}
		})
	}

	t.Run("wrong key is terminal", func(t *testing.T) {
		t.Parallel()
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		f := newSandbox(t)
		f.milestone(repo, "v1", time.Time{})
		f.SetApp(githubtest.App{ID: 7, InstallationID: 42, Slug: "slipwatch-test", Key: &key.PublicKey})
		otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
		c := newTestClient(t, f, func(g *config.GitHub, _ *Options) {
			g.Token = ""
			g.App = &config.App{ID: 7, InstallationID: 42, PrivateKey: config.Secret(otherPEM)}
		})
		_, err = c.List(context.Background(), repo)
		if !errors.Is(err, connectors.ErrTerminal) {
			t.Errorf("error %v, want ErrTerminal", err)
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("error leaks the key: %v", err)
		}
	})
}
