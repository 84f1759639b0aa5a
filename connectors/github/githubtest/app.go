package githubtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// App makes the sandbox serve a GitHub App's installation: the App
// authenticates with a JWT signed by its private key (RS256, iss = ID),
// trades it for an installation token, and every other request carries
// that token.
type App struct {
	ID             int64
	InstallationID int64
	Slug           string         // GET /app's slug; the bot's login is <slug>[bot]
	Key            *rsa.PublicKey // the public half of the App's private key
}

// SetApp serves GET /app and POST /app/installations/{id}/access_tokens
// for a, and accepts the installation tokens it hands out. With an App
// set and no RequireAuth, a request without such a token is refused.
func (s *Server) SetApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app = &a
}

// InstallationTokens is how many installation tokens the sandbox handed
// out.
func (s *Server) InstallationTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// serveApp answers the App endpoints, which a JWT authenticates.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app
	if a == nil {
		s.notFound(w, r)
		return
	}
	if !validJWT(r.Header.Get("Authorization"), a) {
		s.json(w, r, http.StatusUnauthorized, map[string]any{"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	switch p := r.URL.Path; {
	case r.Method == http.MethodGet && p == "/app":
		app := s.template("app.json")
		app["id"], app["slug"], app["name"] = a.ID, a.Slug, a.Slug
		app["html_url"] = htmlBase + "apps/" + a.Slug
		s.json(w, r, http.StatusOK, app)
	case r.Method == http.MethodPost && p == "/app/installations/"+strconv.FormatInt(a.InstallationID, 10)+"/access_tokens":
		tok := fmt.Sprintf("ghs_sandbox%d", len(s.tokens)+1)
		s.tokens[tok] = true
		answer := s.template("installation-token.json")
		// ghinstallation checks expiry against the wall clock, not the
		// sandbox's.
		answer["token"], answer["expires_at"] = tok, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		s.json(w, r, http.StatusCreated, answer)
	default:
		s.notFound(w, r)
	}
}

// validJWT checks "Bearer <jwt>": signed RS256 by the App's key, issued by
// the App, not expired (by the wall clock, as GitHub's).
func validJWT(authz string, a *App) bool {
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	parts := strings.Split(tok, ".")
	if !ok || len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(a.Key, crypto.SHA256, sum[:], sig) != nil {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"` // a string or a number, by library
		Exp int64           `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp <= time.Now().Unix() {
		return false
	}
	id := strconv.FormatInt(a.ID, 10)
	return string(claims.Iss) == id || string(claims.Iss) == `"`+id+`"`
}
