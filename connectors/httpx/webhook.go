package httpx

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
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
