package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireToken guards h with a bearer token (config server.api_token):
// a request passes only with "Authorization: Bearer <token>", and is
// otherwise answered 401 with WWW-Authenticate: Bearer, a body that never
// repeats what was sent, and nothing of h run. An empty token guards
// nothing and returns h: the pages and the API are then reachable by
// whoever reaches the port (inside the cluster, by default).
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	// Compare digests: equal lengths, so the time taken says nothing of
	// the token's length either.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			challenge := `Bearer realm="slipwatch"`
			if ok && strings.EqualFold(scheme, "Bearer") {
				challenge += `, error="invalid_token"` // RFC 6750: a token was sent, and is wrong
			}
			w.Header().Set("WWW-Authenticate", challenge)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "401 unauthorized: this page needs Authorization: Bearer <server.api_token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
