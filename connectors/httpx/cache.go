package httpx

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Validator is what a conditional GET remembers of a response: its
// validators, the headers that matter to the reader (Link for pagination,
// Content-Type), and the body, replayed when the tracker answers 304.
type Validator struct {
	ETag         string      `json:"etag,omitempty"`
	LastModified string      `json:"last_modified,omitempty"`
	Header       http.Header `json:"header,omitempty"`
	Body         []byte      `json:"body"`
	// Encoding is "gzip" when Body is stored compressed (the cache
	// compresses what it stores and hands callers the body as sent); ""
	// for a body as sent, as entries written before compression are.
	Encoding string `json:"encoding,omitempty"`
	// TTL, when set, is how long the entry is worth keeping, if shorter
	// than the store's own: a URL that names a date is dead a day later.
	TTL time.Duration `json:"-"`
}

// Validators is where the cache keeps what it learned of each URL. The
// Redis store implements it; the key it is given is opaque (see CacheKey).
type Validators interface {
	GetValidator(ctx context.Context, url string) (Validator, bool, error)
	PutValidator(ctx context.Context, url string, v Validator) error
}

// CacheHeader is set on a response the cache replayed from a 304, with the
// value "revalidated"; Revalidated reads it.
const CacheHeader = "X-Slipwatch-Cache"

// Revalidated reports whether resp is a stored body replayed because the
// server answered 304 Not Modified (which GitHub does not count against the
// rate limit).
func Revalidated(resp *http.Response) bool {
	return resp != nil && resp.Header.Get(CacheHeader) == "revalidated"
}

// CacheOptions tunes the conditional-request cache.
type CacheOptions struct {
	// Identity names the credential a request is made with, so two
	// credentials never share an entry (what one token may read, another
	// may not). It is hashed into the key, never stored as is. nil: the
	// request's Authorization header — which is only there when auth is
	// applied above the cache; New puts it below, so set Identity.
	Identity func(*http.Request) string
	Logger   *slog.Logger
	// TTL, when set, says how long the entry for a request is worth
	// keeping (Validator.TTL); 0: as long as the store keeps any.
	TTL func(*http.Request) time.Duration

	// maxBody is the largest body stored (zero: defaultMaxBody); a larger
	// one passes through uncached. Tests make it small.
	maxBody int64
}

// keepHeaders are the response headers stored with the body and replayed
// on a 304: Link so paginating clients still find the next page, and
// Content-Type.
var keepHeaders = []string{"Link", "Content-Type"}

const defaultMaxBody = 8 << 20

type cache struct {
	next  http.RoundTripper
	store Validators
	o     CacheOptions
	log   *slog.Logger
}

// NewCache makes GET requests conditional. It always asks the server (there
// is no freshness lifetime: a tracker's data may change at any moment); it
// only sends the stored ETag / Last-Modified so an unchanged answer comes
// back as a 304, which it turns into the stored 200 with CacheHeader set.
//
// Only plain GETs take part: no body, no Range, no conditional headers of
// the caller's own. Only 200 answers with a validator are stored; errors and
// other statuses pass through untouched and never replace a stored entry.
// A store that fails is logged and bypassed: the cache saves quota, it is
// never the reason a read fails.
func NewCache(next http.RoundTripper, store Validators, o CacheOptions) http.RoundTripper {
	if o.maxBody <= 0 {
		o.maxBody = defaultMaxBody
	}
	return &cache{next: next, store: store, o: o, log: orLogger(o.Logger)}
}

// CacheKey is the store key of req: its full URL and a hash of the
// identity and Accept header (different media types are different
// representations).
func CacheKey(req *http.Request, identity string) string {
	return req.URL.String() + " as=" + Fingerprint(identity+"\x00"+req.Header.Get("Accept"))
}

// Fingerprint names a credential without revealing it: the first 8 bytes
// of its SHA-256, in hex. Identities and cache keys carry it, so that two
// credentials never share a cache entry and no key or log holds a token.
func Fingerprint(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:8])
}

func (c *cache) identity(req *http.Request) string {
	if c.o.Identity != nil {
		return c.o.Identity(req)
	}
	return req.Header.Get("Authorization")
}

func cacheable(req *http.Request) bool {
	return req.Method == http.MethodGet &&
		(req.Body == nil || req.Body == http.NoBody) &&
		req.Header.Get("Range") == "" &&
		req.Header.Get("If-None-Match") == "" &&
		req.Header.Get("If-Modified-Since") == ""
}

func (c *cache) RoundTrip(req *http.Request) (*http.Response, error) {
	if !cacheable(req) {
		return c.next.RoundTrip(req)
	}
	ctx := req.Context()
	key := CacheKey(req, c.identity(req))
	stored, ok, err := c.store.GetValidator(ctx, key)
	if err != nil {
		c.log.WarnContext(ctx, "validator cache read failed; sending an unconditional request", "url", redactURL(req), "error", err)
		ok = false
	}
	if ok && stored.ETag == "" && stored.LastModified == "" {
		ok = false
	}
	if ok {
		if stored, err = inflate(stored); err != nil {
			c.log.WarnContext(ctx, "validator cache entry unreadable; sending an unconditional request", "url", redactURL(req), "error", err)
			ok = false
		}
	}
	out := req
	if ok {
		out = req.Clone(ctx)
		if stored.ETag != "" {
			out.Header.Set("If-None-Match", stored.ETag)
		}
		if stored.LastModified != "" {
			out.Header.Set("If-Modified-Since", stored.LastModified)
		}
	}
	resp, err := c.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && ok:
		return c.replay(ctx, key, stored, resp), nil
	case resp.StatusCode == http.StatusOK:
		return c.store200(ctx, key, req, resp)
	}
	return resp, nil
}

// replay turns a 304 into the stored 200. The 304's own headers (rate-limit
// counters, a refreshed ETag) are kept; the kept headers of the original
// answer are put back, and Content-Length is the stored body's.
func (c *cache) replay(ctx context.Context, key string, stored Validator, notModified *http.Response) *http.Response {
	drain(notModified.Body)
	h := notModified.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for _, k := range keepHeaders {
		h.Del(k)
		for _, v := range stored.Header.Values(k) {
			h.Add(k, v)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(stored.Body)))
	h.Set(CacheHeader, "revalidated")

	// A server may rotate a weak ETag while saying "not modified"; keep the
	// newest so the next request still matches.
	if e := notModified.Header.Get("ETag"); e != "" && e != stored.ETag {
		stored.ETag = e
		if err := c.put(ctx, key, notModified.Request, stored); err != nil {
			c.log.WarnContext(ctx, "validator cache write failed", "url", redactURL(notModified.Request), "error", err)
		}
	}
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         notModified.Proto,
		ProtoMajor:    notModified.ProtoMajor,
		ProtoMinor:    notModified.ProtoMinor,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(stored.Body)),
		ContentLength: int64(len(stored.Body)),
		Request:       notModified.Request,
		TLS:           notModified.TLS,
	}
}

// store200 reads the body and stores it with its validators, handing the
// caller an equivalent response.
func (c *cache) store200(ctx context.Context, key string, req *http.Request, resp *http.Response) (*http.Response, error) {
	v := Validator{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	if v.ETag == "" && v.LastModified == "" || noStore(resp.Header) {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.o.maxBody+1))
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("read %s: %w", redactURL(req), err)
	}
	if int64(len(body)) > c.o.maxBody {
		// Too big to keep: hand over what was read followed by the rest.
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v.Body = body
	v.Header = http.Header{}
	for _, k := range keepHeaders {
		for _, val := range resp.Header.Values(k) {
			v.Header.Add(k, val)
		}
	}
	if err := c.put(ctx, key, req, v); err != nil {
		if errors.Is(err, context.Canceled) {
			return resp, nil
		}
		c.log.WarnContext(ctx, "validator cache write failed", "url", redactURL(req), "error", err)
	}
	return resp, nil
}

func noStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return true
			}
		}
	}
	return false
}

// drain reads a little of an unwanted body so the connection can be reused,
// then closes it.
func drain(b io.ReadCloser) {
	if b == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	b.Close()
}

// redactURL is the request URL without its query: queries may carry
// tokens (Jira Data Center webhooks do), and logs must not.
func redactURL(req *http.Request) string {
	if req == nil || req.URL == nil {
		return ""
	}
	u := *req.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

func (c *cache) put(ctx context.Context, key string, req *http.Request, v Validator) error {
	if c.o.TTL != nil && req != nil {
		v.TTL = c.o.TTL(req)
	}
	return c.store.PutValidator(ctx, key, deflate(v))
}

// compressAbove is the body size from which a stored body is gzipped.
// Tracker lists are JSON full of repeated URLs and keys: a page of GitHub
// issues shrinks about tenfold, and the cache is most of what slipwatch
// keeps in Redis.
const compressAbove = 1 << 10

// deflate gzips v's body when that makes it smaller.
func deflate(v Validator) Validator {
	if v.Encoding != "" || len(v.Body) < compressAbove {
		return v
	}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	if err != nil {
		return v
	}
	if _, err := zw.Write(v.Body); err != nil || zw.Close() != nil || b.Len() >= len(v.Body) {
		return v
	}
	v.Body, v.Encoding = b.Bytes(), "gzip"
	return v
}

// inflate undoes deflate.
func inflate(v Validator) (Validator, error) {
	switch v.Encoding {
	case "":
		return v, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(v.Body))
		if err != nil {
			return v, err
		}
		body, err := io.ReadAll(io.LimitReader(zr, defaultMaxBody+1))
		if err != nil {
			return v, err
		}
		v.Body, v.Encoding = body, ""
		return v, nil
	}
	return v, fmt.Errorf("unknown body encoding %q", v.Encoding)
}
