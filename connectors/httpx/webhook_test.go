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

// readSizes records the room each Read is offered, and fails a read once
// it has handed out its bytes (a slow sender that stops there).
type readSizes struct {
	data  []byte
	rooms []int
}

func (r *readSizes) Read(p []byte) (int, error) {
	r.rooms = append(r.rooms, len(p))
	if len(r.data) == 0 {
		return 0, errors.New("i/o timeout")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// The buffer follows the bytes that arrive, not the Content-Length: an
// announced megabyte with one byte sent is offered 64 KiB at most, and a
// body announced over the limit is refused before any read.
func TestReadWebhookBodyMemory(t *testing.T) {
	t.Parallel()
	t.Run("announced 1 MiB, one byte sent", func(t *testing.T) {
		t.Parallel()
		body := &readSizes{data: []byte("{")}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/github", body)
		r.ContentLength = MaxWebhookBytes
		if _, err := ReadWebhookBody(r, MaxWebhookBytes); err == nil {
			t.Fatal("a body cut short was taken")
		}
		for _, room := range body.rooms {
			if room > webhookPrealloc {
				t.Errorf("a read was offered %d bytes with 1 byte sent; want at most %d", room, webhookPrealloc)
			}
		}
	})
	t.Run("announced over the limit", func(t *testing.T) {
		t.Parallel()
		body := &readSizes{data: []byte("{}")}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/github", body)
		r.ContentLength = 25 << 20
		var werr *WebhookError
		if _, err := ReadWebhookBody(r, MaxWebhookBytes); !errors.As(err, &werr) || werr.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("err = %v, want a 413", err)
		}
		if len(body.rooms) != 0 {
			t.Errorf("the body was read %d times before the refusal", len(body.rooms))
		}
	})
	t.Run("a full 1 MiB body", func(t *testing.T) {
		t.Parallel()
		r := httptest.NewRequest(http.MethodPost, "/webhooks/github", strings.NewReader(strings.Repeat("x", MaxWebhookBytes)))
		got, err := ReadWebhookBody(r, MaxWebhookBytes)
		if err != nil || len(got) != MaxWebhookBytes {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		// Grown toward the announced size, not doubled past it.
		if cap(got) > MaxWebhookBytes+webhookPrealloc {
			t.Errorf("buffer of %d bytes for a %d byte body", cap(got), MaxWebhookBytes)
		}
	})
}

func TestCheckDeliveryID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, id, reason string // reason "": accepted
	}{
		{name: "GitHub GUID", id: "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
		{name: "128 characters", id: strings.Repeat("a", 128)},
		{name: "every printable character", id: "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"},
		{name: "empty", id: "", reason: "missing X-GitHub-Delivery header"},
		{name: "129 characters", id: strings.Repeat("a", 129), reason: "X-GitHub-Delivery is longer than 128 characters"},
		{name: "512 KiB", id: strings.Repeat("a", 512<<10), reason: "X-GitHub-Delivery is longer than 128 characters"},
		{name: "space", id: "a b", reason: "X-GitHub-Delivery holds a character other than printable ASCII"},
		{name: "tab", id: "a\tb", reason: "X-GitHub-Delivery holds a character other than printable ASCII"},
		{name: "DEL", id: "a\x7f", reason: "X-GitHub-Delivery holds a character other than printable ASCII"},
		{name: "UTF-8", id: "café", reason: "X-GitHub-Delivery holds a character other than printable ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckDeliveryID("X-GitHub-Delivery", tc.id)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var werr *WebhookError
			if !errors.As(err, &werr) || werr.Status != http.StatusBadRequest || werr.Reason != tc.reason {
				t.Fatalf("err = %v, want a 400 saying %q", err, tc.reason)
			}
		})
	}
}

func TestBodyDigest(t *testing.T) {
	t.Parallel()
	a, b := BodyDigest([]byte(`{"zen":"a"}`)), BodyDigest([]byte(`{"zen":"b"}`))
	if a == b || a != BodyDigest([]byte(`{"zen":"a"}`)) || len(a) != len("sha256:")+64 || !strings.HasPrefix(a, "sha256:") {
		t.Errorf("digests %q, %q", a, b)
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
			// What RequireSignature can tell without the body, it tells.
			if pre := RequireSignature("X-Hub-Signature-256", tc.sig); pre != nil && pre.Error() != err.Error() {
				t.Errorf("RequireSignature = %v, CheckSignature = %v", pre, err)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the refusal names a secret: %v", err)
				}
			}
		})
	}
}
