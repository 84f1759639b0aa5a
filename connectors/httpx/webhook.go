package httpx

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WebhookError is a delivery refused before it was queued; Status is the
// answer (4xx: the sender's fault) and Reason says why, without secrets.
type WebhookError struct {
	Status int
	Reason string
}

func (e *WebhookError) Error() string {
	return fmt.Sprintf("webhook refused (%d %s): %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// MaxWebhookBytes is the largest delivery body a connector reads (413
// above): GitHub caps its payloads at 25 MB but slipwatch's events are a
// few kilobytes, and a bigger body is not worth the memory.
const MaxWebhookBytes = 1 << 20

// webhookPrealloc is the most ReadWebhookBody sets aside on the word of a
// Content-Length before the bytes arrive. A header costs an attacker
// nothing; most deliveries (GitHub's are 5–30 KB) still fit in one
// allocation.
const webhookPrealloc = 64 << 10

// ReadWebhookBody reads a delivery's body, at most max bytes. A
// Content-Length over max is a 413 WebhookError at once, before a byte is
// read, so the sender is not kept waiting for a body that would be
// refused; a body that turns out longer is a 413 too, and a failed read a
// 400. Memory follows the bytes that arrive: at most 64 KiB is set aside
// before they do, and the buffer then grows toward the announced size, so
// a connection announcing a megabyte and sending one byte costs 64 KiB.
func ReadWebhookBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, tooLarge()
	}
	size := int64(512)
	if r.ContentLength > 0 {
		size = min(r.ContentLength+1, webhookPrealloc) // +1: room to see EOF
	}
	buf := make([]byte, 0, size)
	body := io.LimitReader(r.Body, max+1)
	for {
		if len(buf) == cap(buf) {
			// Not append's growth: it would overshoot the announced size.
			bigger := make([]byte, len(buf), int64(len(buf))+grow(int64(len(buf)), r.ContentLength, max))
			copy(bigger, buf)
			buf = bigger
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case int64(len(buf)) > max:
			return nil, tooLarge()
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, &WebhookError{Status: http.StatusBadRequest, Reason: "reading the body failed"}
		}
	}
}

// grow is how much more room a full buffer of have bytes (have <= limit)
// gets: twice as much, but not past the announced size (plus the byte
// that shows EOF) nor past limit+1.
func grow(have, announced, limit int64) int64 {
	want := have + max(have, 512)
	if announced >= have {
		want = min(want, announced+1)
	}
	return min(want, limit+1) - have
}

func tooLarge() error {
	return &WebhookError{Status: http.StatusRequestEntityTooLarge, Reason: "body larger than the limit"}
}

// maxDeliveryID is the longest delivery ID taken. GitHub's is a 36
// character GUID; the ID becomes a Redis key for the dedupe window.
const maxDeliveryID = 128

// CheckDeliveryID refuses (400) a delivery ID, the value of the header
// name, that is empty, longer than 128 characters or holds anything but
// printable ASCII. IDs are not signed, so whoever can reach the endpoint
// chooses them; they end up as Redis keys and in logs. The reason never
// repeats the ID.
func CheckDeliveryID(name, id string) error {
	switch {
	case id == "":
		return &WebhookError{Status: http.StatusBadRequest, Reason: "missing " + name + " header"}
	case len(id) > maxDeliveryID:
		return &WebhookError{Status: http.StatusBadRequest, Reason: fmt.Sprintf("%s is longer than %d characters", name, maxDeliveryID)}
	}
	for i := range len(id) {
		if id[i] <= ' ' || id[i] > '~' {
			return &WebhookError{Status: http.StatusBadRequest, Reason: name + " holds a character other than printable ASCII"}
		}
	}
	return nil
}

// BodyDigest names a delivery by its body: "sha256:" and the hex SHA-256.
// A signed body replayed under another delivery ID has the same digest.
func BodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RequireSignature refuses (401) a request whose signature header name is
// missing or is not "sha256=<64 hex digits>". It needs no body, so a
// delivery that cannot pass is refused before its body is read.
func RequireSignature(name, sig string) error {
	_, err := parseSignature(name, sig)
	return err
}

func parseSignature(name, sig string) ([]byte, error) {
	if sig == "" {
		return nil, &WebhookError{Status: http.StatusUnauthorized, Reason: "missing " + name + " header"}
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	raw, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(raw) != sha256.Size {
		return nil, &WebhookError{Status: http.StatusUnauthorized, Reason: name + " is not sha256=<hex>"}
	}
	return raw, nil
}

// CheckSignature verifies sig, the value of the header name in the form
// "sha256=<hex>", as the HMAC-SHA256 of body under one of secrets: the
// current and the previous one, so a secret can be rotated without
// refusing deliveries signed just before. The comparison is constant-time.
// A refusal is a 401 WebhookError whose reason names the header, never a
// secret. With no secrets every signature is refused; whether an unsigned
// delivery may pass is the caller's decision, taken before.
func CheckSignature[S ~string](name, sig string, body []byte, secrets []S) error {
	raw, err := parseSignature(name, sig)
	if err != nil {
		return err
	}
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write(body)
		if hmac.Equal(raw, mac.Sum(nil)) {
			return nil
		}
	}
	return &WebhookError{Status: http.StatusUnauthorized, Reason: "signature does not match"}
}
