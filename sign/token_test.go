package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// jwt builds an unsigned JWT-shaped token with the given claims.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(b) + ".c2ln"
}

func TestCheckToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name    string
		tok     string
		wantErr error
		want    TokenClaims
	}{
		{name: "valid", tok: jwt(t, map[string]any{"iss": "https://issuer", "sub": "s", "email": "a@b", "exp": now.Unix() + 60}),
			want: TokenClaims{Issuer: "https://issuer", Subject: "s", Email: "a@b", Expiry: now.Add(time.Minute)}},
		{name: "no exp", tok: jwt(t, map[string]any{"iss": "https://issuer"}), want: TokenClaims{Issuer: "https://issuer"}},
		{name: "expired", tok: jwt(t, map[string]any{"iss": "https://issuer", "exp": now.Unix() - 1}), wantErr: ErrTokenExpired},
		{name: "expires now", tok: jwt(t, map[string]any{"iss": "https://issuer", "exp": now.Unix()}), wantErr: ErrTokenExpired},
		{name: "two parts", tok: "abc.def", wantErr: ErrTokenMalformed},
		{name: "not base64", tok: "a.!!!.c", wantErr: ErrTokenMalformed},
		{name: "not json", tok: "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c", wantErr: ErrTokenMalformed},
		{name: "exp not number", tok: jwt(t, map[string]any{"iss": "x", "exp": "soon"}), wantErr: ErrTokenMalformed},
		{name: "no issuer", tok: jwt(t, map[string]any{"sub": "x"}), wantErr: ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckToken(tc.tok, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Expiry.Equal(tc.want.Expiry) || got.Issuer != tc.want.Issuer || got.Subject != tc.want.Subject || got.Email != tc.want.Email {
				t.Fatalf("claims = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNewTokenSourcePrecedence(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	gh := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "y"}
	tests := []struct {
		name string
		opts TokenOptions
		want string
	}{
		{"flag wins", TokenOptions{Token: "t", TokenFile: "f", Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": "e"})}, "the identity token given"},
		{"file next", TokenOptions{TokenFile: "f", Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": "e"})}, "token file f"},
		{"env next", TokenOptions{Getenv: env(map[string]string{"SIGSTORE_ID_TOKEN": "e", "ACTIONS_ID_TOKEN_REQUEST_URL": "u", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "v"})}, "SIGSTORE_ID_TOKEN"},
		{"github last", TokenOptions{Getenv: env(gh)}, "GitHub Actions ambient OIDC token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := NewTokenSource(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if ts.Describe() != tc.want {
				t.Fatalf("source = %q, want %q", ts.Describe(), tc.want)
			}
		})
	}
	if _, err := NewTokenSource(TokenOptions{Getenv: env(nil)}); !errors.Is(err, ErrNoToken) {
		t.Fatalf("no source: err = %v, want ErrNoToken", err)
	}
}

func TestGitHubActionsToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer runtime-secret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("audience") != "sigstore" || r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"value": "the-id-token"})
	}))
	defer srv.Close()
	g := GitHubActions{RequestURL: srv.URL + "?api-version=2.0", RequestToken: "runtime-secret", Audience: "sigstore"}
	tok, err := g.Token(context.Background())
	if err != nil || tok != "the-id-token" {
		t.Fatalf("token = %q, %v", tok, err)
	}
	g.RequestToken = "wrong"
	_, err = g.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong runtime token: err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatal("error message leaks the runtime token")
	}
}
