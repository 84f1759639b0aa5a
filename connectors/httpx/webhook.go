package httpx

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WebhookError is a delivery refused before it was queued; Status is the
// 4xx answer and Reason says why, without secrets.
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

// ReadWebhookBody reads a delivery's body, at most max bytes: a 400
// WebhookError when reading fails, a 413 above max. The buffer is sized
// from Content-Length when the sender gave one, so a large delivery is
// read in one allocation rather than grown and copied.
func ReadWebhookBody(r *http.Request, max int64) ([]byte, error) {
	size := int64(bytes.MinRead)
	if r.ContentLength > 0 && r.ContentLength <= max {
		size = r.ContentLength + 1 // room to see EOF without growing
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, max+1)); err != nil {
		return nil, &WebhookError{Status: http.StatusBadRequest, Reason: "reading the body failed"}
	}
	if int64(buf.Len()) > max {
		return nil, &WebhookError{Status: http.StatusRequestEntityTooLarge, Reason: "body larger than the limit"}
	}
	return buf.Bytes(), nil
}

// CheckSignature verifies sig, the value of the header name in the form
// "sha256=<hex>", as the HMAC-SHA256 of body under one of secrets: the
// current and the previous one, so a secret can be rotated without
// refusing deliveries signed just before. The comparison is constant-time.
// A refusal is a 401 WebhookError whose reason names the header, never a
// secret. With no secrets every signature is refused; whether an unsigned
// delivery may pass is the caller's decision, taken before.
func CheckSignature[S ~string](name, sig string, body []byte, secrets []S) error {
	if sig == "" {
		return &WebhookError{Status: http.StatusUnauthorized, Reason: "missing " + name + " header"}
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	raw, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(raw) != sha256.Size {
		return &WebhookError{Status: http.StatusUnauthorized, Reason: name + " is not sha256=<hex>"}
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
