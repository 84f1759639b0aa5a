package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/internal/redistest"
)

// useDialed dials cfg and does what the daemon does first: Ping for
// readiness, then a write and a read through a Store.
func useDialed(t *testing.T, cfg config.Redis) error {
	t.Helper()
	rdb, err := Dial(cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer rdb.Close()
	s := New(rdb, "dial:", Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if _, err := s.AcquireLease(ctx, "dial-test", "me", time.Minute); err != nil {
		return err
	}
	_, err = s.GetToken(ctx, "none")
	return err
}

func TestDialTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir, "redis.internal")
	otherCA, _, _ := writeTestPKI(t, t.TempDir(), "redis.internal")
	_, addr := redistest.StartTLS(t, cert, key, ca)
	short := config.Duration(500 * time.Millisecond)
	cases := []struct {
		name string
		cfg  config.Redis
		ok   bool
	}{
		{"rediss:// with the CA and the certificate's name", config.Redis{URL: "rediss://" + addr + "/0", TLS: config.TLS{CAFile: ca, ServerName: "redis.internal"}}, true},
		{"rediss:// with the CA, name from the URL (IP SAN)", config.Redis{URL: "rediss://" + addr + "/0", TLS: config.TLS{CAFile: ca}}, true},
		{"redis:// with tls.enabled", config.Redis{URL: "redis://" + addr + "/0", TLS: config.TLS{Enabled: true, CAFile: ca, ServerName: "redis.internal"}}, true},
		{"insecure_skip_verify", config.Redis{URL: "rediss://" + addr + "/0", TLS: config.TLS{InsecureSkipVerify: true}}, true},
		{"rediss:// trusting only the system roots", config.Redis{URL: "rediss://" + addr + "/0", DialTimeout: short}, false},
		{"rediss:// trusting another CA", config.Redis{URL: "rediss://" + addr + "/0", TLS: config.TLS{CAFile: otherCA}, DialTimeout: short}, false},
		{"rediss:// expecting another name", config.Redis{URL: "rediss://" + addr + "/0", TLS: config.TLS{CAFile: ca, ServerName: "other.internal"}, DialTimeout: short}, false},
		{"plain redis:// to the TLS port", config.Redis{URL: "redis://" + addr + "/0", DialTimeout: short, ReadTimeout: short, WriteTimeout: short}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := useDialed(t, tc.cfg); (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestDialSentinel(t *testing.T) {
	t.Parallel()
	master := redistest.StartFor(t)
	sentinel := redistest.StartSentinel(t, master, "slipwatch-master")
	short := config.Duration(300 * time.Millisecond)
	cases := []struct {
		name string
		cfg  config.Redis
		ok   bool
	}{
		{"the master Sentinel knows", config.Redis{Mode: config.RedisSentinel, MasterName: "slipwatch-master", Addrs: []string{sentinel.Addr}}, true},
		{"a dead Sentinel listed first", config.Redis{Mode: config.RedisSentinel, MasterName: "slipwatch-master", Addrs: []string{"127.0.0.1:1", sentinel.Addr}, DialTimeout: short}, true},
		{"a master Sentinel does not know", config.Redis{Mode: config.RedisSentinel, MasterName: "no-such-master", Addrs: []string{sentinel.Addr}, DialTimeout: short}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := useDialed(t, tc.cfg); (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// The write went to the master Sentinel named.
	if n, err := master.Client(t).Exists(context.Background(), "dial:lease:{dial-test}").Result(); err != nil || n != 1 {
		t.Fatalf("lease on the master: %d %v", n, err)
	}
}

// With a password, Dial sends it to the master and to the Sentinels:
// Sentinels with the same requirepass (the Bitnami chart's default) and
// Sentinels without one both work.
func TestDialSentinelPassword(t *testing.T) {
	t.Parallel()
	master := redistest.StartFor(t, "--requirepass", "s3cret-pw")
	guarded := redistest.StartSentinel(t, master, "m", "sentinel auth-pass m s3cret-pw", "requirepass s3cret-pw")
	open := redistest.StartSentinel(t, master, "m", "sentinel auth-pass m s3cret-pw")
	short := config.Duration(300 * time.Millisecond)
	cases := []struct {
		name     string
		sentinel *redistest.Server
		password config.Secret
		ok       bool
	}{
		{"Sentinel with the password", guarded, "s3cret-pw", true},
		{"Sentinel without a password", open, "s3cret-pw", true},
		{"no password configured", open, "", false},
		{"wrong password", open, "wrong-pw", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Redis{Mode: config.RedisSentinel, MasterName: "m", Addrs: []string{tc.sentinel.Addr}, Password: tc.password, DialTimeout: short}
			err := useDialed(t, cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), "-pw") {
				t.Fatalf("error shows a password: %v", err)
			}
		})
	}
}

func TestDialPassword(t *testing.T) {
	t.Parallel()
	own := redistest.StartFor(t, "--requirepass", "s3cret-pw")
	url := "redis://" + own.Addr + "/0"
	cases := []struct {
		name string
		cfg  config.Redis
		ok   bool
	}{
		{"password from the secret", config.Redis{URL: url, Password: "s3cret-pw"}, true},
		{"password in the URL", config.Redis{URL: "redis://:s3cret-pw@" + own.Addr + "/0"}, true},
		{"the secret wins over the URL", config.Redis{URL: "redis://:wrong-pw@" + own.Addr + "/0", Password: "s3cret-pw"}, true},
		{"no password", config.Redis{URL: url}, false},
		{"wrong password", config.Redis{URL: url, Password: "wrong-pw"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := useDialed(t, tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), "-pw") {
				t.Fatalf("error shows a password: %v", err)
			}
		})
	}
}

// Dial hands the configured timeouts to every kind of client, so a hung
// Redis costs a bounded wait, not a stuck worker.
func TestDialTimeouts(t *testing.T) {
	t.Parallel()
	d, r, w := 1500*time.Millisecond, 2500*time.Millisecond, 3500*time.Millisecond
	base := config.Redis{DialTimeout: config.Duration(d), ReadTimeout: config.Duration(r), WriteTimeout: config.Duration(w)}
	type got struct {
		Kind          string
		Dial, Rd, Wr  time.Duration
		TLS           bool
		TLSServerName string
	}
	cases := []struct {
		name string
		mod  func(*config.Redis)
		want got
	}{
		{"standalone", func(c *config.Redis) { c.URL = "redis://redis:6379/0" }, got{Kind: "client"}},
		{"rediss://", func(c *config.Redis) { c.URL = "rediss://redis.internal:6380/0" }, got{Kind: "client", TLS: true, TLSServerName: "redis.internal"}},
		{"sentinel with TLS", func(c *config.Redis) {
			c.Mode, c.MasterName, c.Addrs = config.RedisSentinel, "m", []string{"s1:26379", "s2:26379"}
			c.TLS = config.TLS{Enabled: true, ServerName: "redis.internal"}
		}, got{Kind: "client", TLS: true, TLSServerName: "redis.internal"}},
		{"cluster", func(c *config.Redis) { c.Mode, c.Addrs = config.RedisCluster, []string{"n1:6379", "n2:6379"} }, got{Kind: "cluster"}},
		{"cluster with TLS", func(c *config.Redis) {
			c.Mode, c.Addrs, c.TLS = config.RedisCluster, []string{"n1:6379"}, config.TLS{Enabled: true}
		}, got{Kind: "cluster", TLS: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mod(&cfg)
			rdb, err := Dial(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			var g got
			switch c := rdb.(type) {
			case *redis.Client:
				o := c.Options()
				g = got{Kind: "client", Dial: o.DialTimeout, Rd: o.ReadTimeout, Wr: o.WriteTimeout, TLS: o.TLSConfig != nil}
				if o.TLSConfig != nil {
					g.TLSServerName = o.TLSConfig.ServerName
				}
			case *redis.ClusterClient:
				o := c.Options()
				g = got{Kind: "cluster", Dial: o.DialTimeout, Rd: o.ReadTimeout, Wr: o.WriteTimeout, TLS: o.TLSConfig != nil}
				if o.TLSConfig != nil {
					g.TLSServerName = o.TLSConfig.ServerName
				}
			default:
				t.Fatalf("Dial gave a %T", rdb)
			}
			want := tc.want
			want.Dial, want.Rd, want.Wr = d, r, w
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("client (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDialRefusesBadConfig(t *testing.T) {
	t.Parallel()
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  config.Redis
		want string // in the error
	}{
		{"bad database, password not echoed", config.Redis{URL: "redis://u:hunter2@h:6379/x"}, "redis.url"},
		{"unknown scheme", config.Redis{URL: "http://localhost:6379"}, "redis.url"},
		{"CA file missing", config.Redis{URL: "rediss://h:6379", TLS: config.TLS{CAFile: filepath.Join(t.TempDir(), "nope.pem")}}, "redis.tls.ca_file"},
		{"CA file not PEM", config.Redis{Mode: config.RedisCluster, Addrs: []string{"a:1"}, TLS: config.TLS{CAFile: notPEM}}, "redis.tls.ca_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb, err := Dial(tc.cfg)
			if err == nil {
				rdb.Close()
				t.Fatal("Dial accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

// writeTestPKI writes a fresh CA and a server certificate for name and
// 127.0.0.1 signed by it, returning the three PEM files.
func writeTestPKI(t *testing.T, dir, name string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slipwatch test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, der []byte) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}
