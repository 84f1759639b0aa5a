package httpx

import (
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
