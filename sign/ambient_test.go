package sign

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestGitHubActionsTokenService asks the Actions-like token endpoint the way
// a job does (NewTokenSource from the job's environment) and checks each
// way the request can go wrong fails with a reason and never leaks the
// request token.
func TestGitHubActionsTokenService(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(a *stacktest.ActionsTokenService, env map[string]string)
		mint     string
		deadline time.Duration
		want     string // token, when no error is expected
		wantErr  string
	}{
		{name: "token handed out", mint: "eyJ.the-job-token.sig", want: "eyJ.the-job-token.sig"},
		{name: "wrong request token", setup: func(_ *stacktest.ActionsTokenService, env map[string]string) {
			env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "ghs_not-this-job"
		}, wantErr: "HTTP 401"},
		{name: "audience other than sigstore", setup: func(a *stacktest.ActionsTokenService, _ map[string]string) {
			a.Audience = "https://example.com"
		}, wantErr: "HTTP 400"},
		{name: "service error", setup: func(a *stacktest.ActionsTokenService, _ map[string]string) {
			a.FailNext(http.StatusServiceUnavailable, 1)
		}, wantErr: "HTTP 503"},
		{name: "timeout", setup: func(a *stacktest.ActionsTokenService, _ map[string]string) {
			a.Delay(5 * time.Second)
		}, deadline: 200 * time.Millisecond, wantErr: "requesting GitHub Actions OIDC token"},
		{name: "empty token", mint: "", wantErr: "has no value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := stacktest.NewActionsTokenService(t, func(_ context.Context, aud string) (string, error) {
				if aud != "sigstore" {
					return "", errors.New("minted for " + aud)
				}
				return tc.mint, nil
			})
			env := map[string]string{}
			for _, kv := range a.Env() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			if tc.setup != nil {
				tc.setup(a, env)
			}
			src, err := NewTokenSource(TokenOptions{Getenv: func(k string) string { return env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := src.(GitHubActions); !ok {
				t.Fatalf("source = %T (%s), want the GitHub Actions ambient token", src, src.Describe())
			}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			tok, err := src.Token(ctx)
			if tc.wantErr == "" {
				if err != nil || tok != tc.want {
					t.Fatalf("token %q, err %v; want %q", tok, err, tc.want)
				}
				if a.Served() != 1 {
					t.Errorf("served %d tokens, want 1", a.Served())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]) {
				t.Errorf("the error leaks the request token: %v", err)
			}
			if tc.deadline > 0 && time.Since(start) > 2*time.Second {
				t.Errorf("the request outlived its deadline: %v", time.Since(start))
			}
		})
	}
}
