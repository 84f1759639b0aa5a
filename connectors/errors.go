package connectors

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned (wrapped) when a deliverable, thread or comment
// no longer exists on the tracker.
var ErrNotFound = errors.New("not found")

// ErrTerminal marks an error that retrying will not fix (401, 403 without a
// rate limit, 422 on a write). The runner parks the key instead of retrying.
var ErrTerminal = errors.New("terminal")

// ErrTooLarge is returned (wrapped) when a tracker refuses a comment for
// its size (GitHub: 422 "body is too long"; Jira: 400 "The entered text
// is too long"; either: 413). It is not terminal: the runner writes a
// shorter comment, or goes on without that one, so one comment the
// tracker will not take never parks the deliverable.
var ErrTooLarge = errors.New("too large for the tracker")

// RateLimitError says the tracker asked slipwatch to wait until Retry.
type RateLimitError struct {
	Retry time.Time
	Err   error
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited until %s: %v", e.Retry.UTC().Format(time.RFC3339), e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }
