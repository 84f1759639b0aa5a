package connectors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// WebhookEvent is what a verified webhook delivery asks slipwatch to look
// at again. Webhooks only enqueue keys: the worker re-reads the tracker, so
// the payload is trusted for nothing but which deliverables to reconcile.
type WebhookEvent struct {
	Delivery string   // X-GitHub-Delivery, or the Jira delivery identifier
	Event    string   // "milestone", "issue_comment", "jira:version_updated", …
	Refs     []Ref    // deliverables to reconcile
	Teams    []string // whole teams to list again (a new milestone or version)
}

// WebhookError is a delivery refused before it was queued; Status is the
// 4xx answer and Reason says why, without secrets.
type WebhookError struct {
	Status int
	Reason string
}

func (e *WebhookError) Error() string {
	return fmt.Sprintf("webhook refused (%d %s): %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// ErrNotFound is returned (wrapped) when a deliverable, thread or comment
// no longer exists on the tracker.
var ErrNotFound = errors.New("not found")

// ErrTerminal marks an error that retrying will not fix (401, 403 without a
// rate limit, 422 on a write). The runner parks the key instead of retrying.
var ErrTerminal = errors.New("terminal")

// RateLimitError says the tracker asked slipwatch to wait until Retry.
type RateLimitError struct {
	Retry time.Time
	Err   error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited until %s: %v", e.Retry.UTC().Format(time.RFC3339), e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// Validator is what a conditional GET remembers of a response: its
// validators, the headers that matter to the reader (Link for pagination,
// Content-Type), and the body, replayed when the tracker answers 304.
type Validator struct {
	ETag         string      `json:"etag,omitempty"`
	LastModified string      `json:"last_modified,omitempty"`
	Header       http.Header `json:"header,omitempty"`
	Body         []byte      `json:"body"`
	// TTL, when set, is how long the entry is worth keeping, if shorter
	// than the store's own: a URL that names a date is dead a day later.
	TTL time.Duration `json:"-"`
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
