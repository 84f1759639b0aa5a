package jira

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slipwatch/slipwatch/connectors"
)

// APIError is a non-2xx answer from Jira, with the words Jira gave for it
// (go-jira only says "request failed").
type APIError struct {
	Status   int
	Method   string
	Path     string            // the request path, without query
	Messages []string          // errorMessages
	Fields   map[string]string // errors: field → message
	Text     string            // the start of a body that was not Jira's JSON
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	var parts []string
	parts = append(parts, e.Messages...)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	if len(parts) == 0 && e.Text != "" {
		parts = append(parts, e.Text)
	}
	if len(parts) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(parts, "; "))
	}
	return b.String()
}

// Unwrap classifies the error for the runner: not found, or terminal
// (retrying cannot fix a bad request, bad credentials or a missing
// permission). Anything else is retried.
func (e *APIError) Unwrap() error {
	if e.tooLarge() {
		return connectors.ErrTooLarge
	}
	switch e.Status {
	case http.StatusNotFound, http.StatusGone:
		return connectors.ErrNotFound
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity:
		return connectors.ErrTerminal
	}
	return nil
}

// tooLarge reports whether Jira refused a write for its size: 413, or a
// 400 saying "The entered text is too long. It exceeds the allowed limit
// of 32,767 characters." (on the comment, or on any text field).
func (e *APIError) tooLarge() bool {
	switch e.Status {
	case http.StatusRequestEntityTooLarge:
		return true
	case http.StatusBadRequest:
		for _, m := range slices.Concat(e.Messages, slices.Collect(maps.Values(e.Fields))) {
			if m = strings.ToLower(m); strings.Contains(m, "too long") || strings.Contains(m, "exceeds the allowed limit") {
				return true
			}
		}
	}
	return false
}

// newAPIError reads Jira's error body: {"errorMessages": [...], "errors":
// {...}}, or whatever a proxy in front of Jira said.
func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var j struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"` // the gateway of api.atlassian.com
	}
	if json.Unmarshal(body, &j) == nil {
		e.Messages = j.ErrorMessages
		if j.Message != "" {
			e.Messages = append(e.Messages, j.Message)
		}
		if len(j.Errors) > 0 {
			e.Fields = j.Errors
		}
	}
	if len(e.Messages) == 0 && len(e.Fields) == 0 {
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Text = s
	}
	return e
}

// classify turns a non-2xx answer into the error the caller returns: a
// *connectors.RateLimitError when Jira asked to wait (a 429 or 503 with
// Retry-After that the transport did not wait out itself), else the
// *APIError.
func classify(e *APIError, h http.Header, now time.Time) error {
	if e.Status != http.StatusTooManyRequests && e.Status != http.StatusServiceUnavailable {
		return e
	}
	wait, ok := retryAfter(h.Get("Retry-After"), now)
	switch {
	case ok:
	case e.Status == http.StatusTooManyRequests:
		wait = time.Minute // limited without saying for how long
	default:
		return e // a plain 503: the runner retries with its own backoff
	}
	return &connectors.RateLimitError{Retry: now.Add(wait), Err: e}
}

func retryAfter(s string, now time.Time) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(s); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// MarkerError says a comment was written but its marker (the "slipwatch"
// entity property) could not be stored after retries. The comment exists:
// the caller must not post it again, but re-read the thread. This process
// remembers the marker and stores it on the next read of the thread (or
// Edit repairs it); until then that read reports the comment with its
// marker all the same.
type MarkerError struct {
	Issue     string // the thread, "PLAT-99"
	CommentID string
	Err       error
}

func (e *MarkerError) Error() string {
	return fmt.Sprintf("comment %s on %s was written but its slipwatch marker was not stored: %v", e.CommentID, e.Issue, e.Err)
}

func (e *MarkerError) Unwrap() error { return e.Err }

// isStatus reports whether err is an *APIError with one of the statuses.
func isStatus(err error, statuses ...int) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, s := range statuses {
		if ae.Status == s {
			return true
		}
	}
	return false
}

// jiraSays reports whether err is Jira answering status with a message
// that mentions words (in errorMessages or errors, not in what slipwatch
// asked).
func jiraSays(err error, status int, words string) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != status {
		return false
	}
	for _, m := range ae.Messages {
		if strings.Contains(m, words) {
			return true
		}
	}
	for _, m := range ae.Fields {
		if strings.Contains(m, words) {
			return true
		}
	}
	return false
}
