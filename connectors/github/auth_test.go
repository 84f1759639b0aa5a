package github

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
)

// appServer adds GitHub's App endpoints to f: it checks the app JWT with
// key's public half and hands out one installation token.
func appServer(t *testing.T, f *fakeGitHub, key *rsa.PrivateKey, appID, installation string) *atomic.Int32 {
	var tokens atomic.Int32
	validJWT := func(r *http.Request) bool {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		parts := strings.Split(tok, ".")
		if !ok || len(parts) != 3 {
			return false
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			return false
		}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
			return false
		}
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			Iss string `json:"iss"`
			Exp int64  `json:"exp"`
		}
		return json.Unmarshal(raw, &claims) == nil && claims.Iss == appID && claims.Exp > time.Now().Unix()
	}
	f.setExtra(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == fakePrefix+"/app/installations/"+installation+"/access_tokens":
			if !validJWT(r) {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"message":"A JSON web token could not be decoded"}`))
				return true
			}
			tokens.Add(1)
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"token": "ghs_installation", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
			return true
		case r.Method == http.MethodGet && r.URL.Path == fakePrefix+"/app":
			if !validJWT(r) {
				w.WriteHeader(http.StatusUnauthorized)
				return true
			}
			json.NewEncoder(w).Encode(map[string]any{"id": 7, "slug": "slipwatch-test", "name": "slipwatch test"})
			return true
		}
		return false
	})
	f.setAuth(func(r *http.Request) bool { return r.Header.Get("Authorization") == "token ghs_installation" })
	return &tokens
}

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
			f := newFakeGitHub(t)
			f.addMilestone(repo, "v1", nil)
			tokens := appServer(t, f, key, "7", "42")
			c := newTestClient(t, f, func(g *config.GitHub, _ *Options) { g.Token = ""; g.App = app })
			ctx := context.Background()
			for range 2 {
				if _, err := c.List(ctx, repo); err != nil {
					t.Fatalf("List as the installation: %v", err)
				}
			}
			if n := tokens.Load(); n != 1 {
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
		f := newFakeGitHub(t)
		f.addMilestone(repo, "v1", nil)
		appServer(t, f, key, "7", "42")
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
