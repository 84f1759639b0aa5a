package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/slipwatch/slipwatch/config"
	"github.com/slipwatch/slipwatch/connectors"
	"github.com/slipwatch/slipwatch/connectors/httpx"
)

// OAuth 2.0 (3LO) refresh tokens rotate: each refresh hands out a new
// refresh token and disables the one spent. Every replica and every
// restart must therefore start from the newest token, which lives in the
// TokenStore, and replace it there atomically.
const (
	oauthTimeout = 30 * time.Second
	// A replica that lost the race for a token waits this long, in all, for
	// the winner to store the new one.
	oauthSettle = 5 * time.Second
)

// rotatingSource is an oauth2.TokenSource over a rotating refresh token.
// Wrapped in oauth2.ReuseTokenSource it is asked only when the access
// token has expired, one caller at a time within the process.
type rotatingSource struct {
	cfg    *config.OAuth2
	store  TokenStore
	name   string
	client *http.Client
	log    *slog.Logger
	sleep  httpx.Sleeper
}

func newRotatingSource(cfg *config.OAuth2, store TokenStore, client *http.Client, log *slog.Logger, sleep httpx.Sleeper) *rotatingSource {
	return &rotatingSource{cfg: cfg, store: store, name: TokenName(cfg), client: client, log: log, sleep: sleep}
}

// TokenName is the name under which the refresh token of cfg's grant is
// kept in the TokenStore.
func TokenName(cfg *config.OAuth2) string {
	return "jira:oauth2:" + cfg.ClientID + ":" + cfg.CloudID
}

// errSpent is a refresh token the server refused as used, revoked or
// unknown (invalid_grant).
var errSpent = errors.New("refresh token already used or revoked")

// Token refreshes: it takes the newest refresh token from the store (the
// configured one only while the store has none), exchanges it, and swaps
// the new one in. If the exchange says the token was spent, or the swap
// finds the store moved on, another replica refreshed first: the store
// holds its newer token, which is used from then on. A token refused once
// is not sent again.
//
// When the stored token is refused and the store does not move on, the
// grant is dead unless a person authorised slipwatch again and put the new
// refresh token in the config: that one is tried once, then the error is
// terminal.
func (s *rotatingSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), oauthTimeout)
	defer cancel()

	configured := s.cfg.RefreshToken.Value()
	refused := map[string]bool{}
	wait := 100 * time.Millisecond
	waited := time.Duration(0)
	for {
		stored, err := s.store.GetToken(ctx, s.name)
		if err != nil {
			return nil, fmt.Errorf("jira oauth2: read the refresh token: %w", err)
		}
		current := stored
		if current == "" {
			current = configured
		}
		if refused[current] {
			switch {
			case waited < oauthSettle:
				// The winner may be between its exchange and its swap.
				if err := s.sleep(ctx, wait); err != nil {
					return nil, fmt.Errorf("jira oauth2: waiting for the rotated refresh token: %w", err)
				}
				waited += wait
				wait = min(2*wait, time.Second)
				continue
			case configured != "" && !refused[configured]:
				current = configured // re-authorised: the config has a new grant
			default:
				return nil, fmt.Errorf("jira oauth2: every refresh token slipwatch has is refused; authorise slipwatch again and set jira.auth.oauth2.refresh_token: %w: %w", errSpent, connectors.ErrTerminal)
			}
		}

		tok, err := s.exchange(ctx, current)
		if errors.Is(err, errSpent) {
			refused[current] = true
			s.log.Info("refresh token refused as spent; taking the newest from the store")
			continue
		}
		if err != nil {
			return nil, err
		}
		next := tok.RefreshToken
		if next == "" || next == current {
			return tok, nil // not a rotating grant: nothing to store
		}
		ok, err := s.store.SwapToken(ctx, s.name, stored, next)
		if err != nil {
			// The new token exists only here: this access token works, but a
			// restart may find the grant spent.
			s.log.Error("storing the rotated refresh token failed", "error", err)
			return tok, nil
		}
		if !ok {
			// Another replica stored a newer token between our read and our
			// swap. The store's stays the one everyone uses next; this access
			// token is valid all the same.
			s.log.Info("another replica rotated the refresh token first; keeping its token")
		}
		return tok, nil
	}
}

// exchange trades a refresh token for tokens, as Atlassian documents it:
// a JSON POST to the token URL.
func (s *rotatingSource) exchange(ctx context.Context, refresh string) (*oauth2.Token, error) {
	in, err := json.Marshal(map[string]string{
		"grant_type":    "refresh_token",
		"client_id":     s.cfg.ClientID,
		"client_secret": s.cfg.ClientSecret.Value(),
		"refresh_token": refresh,
	})
	if err != nil {
		return nil, err
	}
	tokenURL := s.cfg.TokenURL
	if tokenURL == "" {
		tokenURL = config.DefaultJiraOAuthTokenURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(in))
	if err != nil {
		return nil, fmt.Errorf("jira oauth2: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jira oauth2: refresh: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("jira oauth2: refresh: %w", err)
	}
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &out) // a body that is not JSON leaves Error empty
	if resp.StatusCode != http.StatusOK {
		// Only the error code and description: the body of a token
		// endpoint is no place to copy into logs.
		if out.Error == "invalid_grant" {
			return nil, fmt.Errorf("jira oauth2: refresh: %s: %w", out.Description, errSpent)
		}
		err := fmt.Errorf("jira oauth2: refresh: %d %s: %s %s", resp.StatusCode, http.StatusText(resp.StatusCode), out.Error, out.Description)
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			return nil, fmt.Errorf("%w: %w", err, connectors.ErrTerminal) // client id/secret wrong or app removed
		}
		return nil, err
	}
	if out.AccessToken == "" {
		return nil, errors.New("jira oauth2: refresh: the answer has no access_token")
	}
	tok := &oauth2.Token{AccessToken: out.AccessToken, RefreshToken: out.RefreshToken, TokenType: out.TokenType}
	if out.ExpiresIn > 0 {
		// Refresh a minute early so a request never leaves with a token that
		// expires on the way.
		tok.Expiry = time.Now().Add(time.Duration(out.ExpiresIn)*time.Second - time.Minute)
	}
	return tok, nil
}
