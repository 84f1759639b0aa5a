package httpx

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadWebhookBody(t *testing.T) {
	t.Parallel()
	const max = 16
	for _, tc := range []struct {
		name          string
		body          io.Reader
		contentLength int64 // -1: unknown (chunked)
		want          string
		status        int // WebhookError status; 0: no error
	}{
		{name: "under the limit", body: strings.NewReader("hello"), contentLength: 5, want: "hello"},
		{name: "exactly the limit", body: strings.NewReader(strings.Repeat("a", max)), contentLength: max, want: strings.Repeat("a", max)},
		{name: "one byte over", body: strings.NewReader(strings.Repeat("a", max+1)), contentLength: max + 1, status: http.StatusRequestEntityTooLarge},
		{name: "chunked, under", body: strings.NewReader("chunked"), contentLength: -1, want: "chunked"},
		{name: "chunked, over", body: strings.NewReader(strings.Repeat("a", 100)), contentLength: -1, status: http.StatusRequestEntityTooLarge},
		// A Content-Length that understates the body must not let more
		// than max through.
		{name: "Content-Length too small", body: strings.NewReader(strings.Repeat("a", 40)), contentLength: 4, status: http.StatusRequestEntityTooLarge},
		{name: "empty", body: strings.NewReader(""), contentLength: 0, want: ""},
		{name: "read error", body: failingReader{}, contentLength: 10, status: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/github", tc.body)
			r.ContentLength = tc.contentLength
			got, err := ReadWebhookBody(r, max)
			var werr *WebhookError
			switch {
			case tc.status != 0 && (!errors.As(err, &werr) || werr.Status != tc.status):
				t.Fatalf("err = %v, want a WebhookError with status %d", err, tc.status)
			case tc.status == 0 && err != nil:
				t.Fatalf("err = %v", err)
			case tc.status == 0 && string(got) != tc.want:
				t.Fatalf("body = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckSignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"action":"edited"}`)
	signOf := func(secret string, body []byte) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	sign := func(secret string) string { return signOf(secret, body) }
	secrets := []string{"current-secret", "previous-secret"}
	for _, tc := range []struct {
		name    string
		sig     string
		secrets []string
		reason  string // "" accepted
	}{
		{name: "current secret", sig: sign("current-secret"), secrets: secrets},
		{name: "previous secret, during a rotation", sig: sign("previous-secret"), secrets: secrets},
		{name: "another secret", sig: sign("guessed"), secrets: secrets, reason: "signature does not match"},
		{name: "signature of another body", sig: signOf("current-secret", []byte(`{"action":"deleted"}`)), secrets: secrets, reason: "signature does not match"},
		{name: "no header", sig: "", secrets: secrets, reason: "missing X-Hub-Signature-256 header"},
		{name: "sha1, as GitHub's older header", sig: "sha1=" + sign("current-secret")[7:47], secrets: secrets, reason: "X-Hub-Signature-256 is not sha256=<hex>"},
		{name: "not hex", sig: "sha256=zz", secrets: secrets, reason: "X-Hub-Signature-256 is not sha256=<hex>"},
		{name: "too short", sig: sign("current-secret")[:40], secrets: secrets, reason: "X-Hub-Signature-256 is not sha256=<hex>"},
		{name: "no secret configured", sig: sign(""), secrets: nil, reason: "signature does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckSignature("X-Hub-Signature-256", tc.sig, body, tc.secrets)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var werr *WebhookError
			if !errors.As(err, &werr) || werr.Status != http.StatusUnauthorized || werr.Reason != tc.reason {
				t.Fatalf("err = %v, want a 401 WebhookError saying %q", err, tc.reason)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the refusal names a secret: %v", err)
				}
			}
		})
	}
}
