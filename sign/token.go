package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ErrNoToken means no OIDC identity token source is configured: no
// TokenOptions.Token or TokenFile, no SIGSTORE_ID_TOKEN, no GitHub Actions
// ambient token (`permissions: id-token: write`), and no WithKey.
var ErrNoToken = errors.New("no OIDC identity token: set SIGSTORE_ID_TOKEN, run in GitHub Actions with `permissions: id-token: write`, give a token (TokenOptions) or sign with a key (WithKey)")

// TokenSource yields an OIDC identity token for Fulcio. It is asked as late
// as possible (after a step's command finishes) because tokens last minutes
// while training takes hours.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Describe names the source for messages; it never includes the token.
	Describe() string
}

// StaticToken is a token given on the command line or in SIGSTORE_ID_TOKEN.
type StaticToken struct {
	Value string
	From  string // where it came from, for messages
}

func (s StaticToken) Token(context.Context) (string, error) { return s.Value, nil }
func (s StaticToken) Describe() string                      { return s.From }

// FileToken reads the token from a file each time it is asked, so a CI
// system that refreshes the file keeps long runs signable.
type FileToken struct{ Path string }

func (f FileToken) Token(context.Context) (string, error) {
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return "", fmt.Errorf("reading identity token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("identity token file %s is empty", f.Path)
	}
	return tok, nil
}
func (f FileToken) Describe() string { return "token file " + f.Path }

// GitHubActions fetches the job's ambient OIDC token from the Actions runtime.
type GitHubActions struct {
	RequestURL   string // ACTIONS_ID_TOKEN_REQUEST_URL
	RequestToken string // ACTIONS_ID_TOKEN_REQUEST_TOKEN (a secret: never logged)
	Audience     string // "sigstore"
	Client       *http.Client
}

func (g GitHubActions) Describe() string { return "GitHub Actions ambient OIDC token" }

func (g GitHubActions) Token(ctx context.Context) (string, error) {
	u, err := url.Parse(g.RequestURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", g.Audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+g.RequestToken)
	req.Header.Set("Accept", "application/json")
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting GitHub Actions OIDC token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading GitHub Actions OIDC token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting GitHub Actions OIDC token: HTTP %d", resp.StatusCode)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return "", errors.New("GitHub Actions OIDC token response has no value")
	}
	return out.Value, nil
}

// TokenOptions are the places a token may come from, in precedence order.
type TokenOptions struct {
	Token     string // --identity-token
	TokenFile string // --identity-token-file
	// Getenv reads SIGSTORE_ID_TOKEN and the GitHub Actions variables;
	// os.Getenv when nil.
	Getenv func(string) string
}

// NewTokenSource picks the token source: flag, file, SIGSTORE_ID_TOKEN, then
// GitHub Actions' ambient token. It returns ErrNoToken when none is set.
func NewTokenSource(o TokenOptions) (TokenSource, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch {
	case o.Token != "":
		return StaticToken{Value: o.Token, From: "the identity token given"}, nil
	case o.TokenFile != "":
		return FileToken{Path: o.TokenFile}, nil
	case getenv("SIGSTORE_ID_TOKEN") != "":
		return StaticToken{Value: getenv("SIGSTORE_ID_TOKEN"), From: "SIGSTORE_ID_TOKEN"}, nil
	case getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "" && getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") != "":
		return GitHubActions{
			RequestURL:   getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
			RequestToken: getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
			Audience:     "sigstore",
		}, nil
	}
	return nil, ErrNoToken
}

// TokenClaims are the unverified claims of an identity token that matter for
// messages and early checks. Fulcio verifies the token; mlattest only reads it.
type TokenClaims struct {
	Issuer  string
	Subject string
	Email   string
	Expiry  time.Time // zero when the token has no exp
}

// ErrTokenExpired and ErrTokenMalformed classify bad static tokens.
var (
	ErrTokenExpired   = errors.New("identity token has expired")
	ErrTokenMalformed = errors.New("identity token is not a JWT")
)

// ParseClaims decodes a JWT's payload without verifying it.
func ParseClaims(tok string) (TokenClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return TokenClaims{}, ErrTokenMalformed
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return TokenClaims{}, fmt.Errorf("%w: payload: %v", ErrTokenMalformed, err)
	}
	var c struct {
		Iss   string          `json:"iss"`
		Sub   string          `json:"sub"`
		Email string          `json:"email"`
		Exp   json.RawMessage `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return TokenClaims{}, fmt.Errorf("%w: payload: %v", ErrTokenMalformed, err)
	}
	out := TokenClaims{Issuer: c.Iss, Subject: c.Sub, Email: c.Email}
	if len(c.Exp) > 0 {
		var exp float64
		if err := json.Unmarshal(c.Exp, &exp); err != nil {
			return TokenClaims{}, fmt.Errorf("%w: exp is not a number", ErrTokenMalformed)
		}
		out.Expiry = time.Unix(int64(exp), 0)
	}
	if out.Issuer == "" {
		return TokenClaims{}, fmt.Errorf("%w: no iss claim", ErrTokenMalformed)
	}
	return out, nil
}

// CheckToken parses a token and fails if it has already expired at now.
func CheckToken(tok string, now time.Time) (TokenClaims, error) {
	c, err := ParseClaims(tok)
	if err != nil {
		return c, err
	}
	if !c.Expiry.IsZero() && !now.Before(c.Expiry) {
		return c, fmt.Errorf("%w (at %s)", ErrTokenExpired, c.Expiry.UTC().Format(time.RFC3339))
	}
	return c, nil
}
