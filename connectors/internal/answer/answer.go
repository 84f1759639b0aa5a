// Package answer keeps a copy of what an HTTP handler answers, so the
// sandboxes (githubtest, jiratest) can hand each exchange to a checker
// that holds it against the tracker's published API description.
package answer

import (
	"bytes"
	"io"
	"net/http"
)

// Recorder writes through to the ResponseWriter it wraps and keeps the
// status, a copy of the headers as sent, and the body.
type Recorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

// WriteHeader records the status and the headers as they are sent.
func (w *Recorder) WriteHeader(status int) {
	if w.header == nil {
		w.status, w.header = status, w.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *Recorder) Write(b []byte) (int, error) {
	if w.header == nil {
		w.WriteHeader(http.StatusOK)
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *Recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Response is the answer as recorded. A handler that wrote nothing (or
// hijacked the connection) answered net/http's 200 with no headers.
func (w *Recorder) Response() *http.Response {
	if w.header == nil {
		w.status, w.header = http.StatusOK, http.Header{}
	}
	return &http.Response{StatusCode: w.status, Header: w.header, Body: io.NopCloser(bytes.NewReader(w.body.Bytes()))}
}
