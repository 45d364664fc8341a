// Package stacktest gives tests the local private Sigstore stack started by
// scripts/stack.sh (Fulcio, Rekor v2, a TSA and two OIDC issuers on 127.0.0.1).
//
// Tests call Get; it finds the stack from the MLATTEST_* environment variables
// or, when they are unset, from env.sh in the stack's state directory. When the
// stack is not there the test is skipped with a loud message, except under
// CI=true where a missing stack fails the test: CI must never pass by skipping.
package stacktest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stack describes a running local Sigstore stack.
type Stack struct {
	Dir          string // state directory (keys, logs, trust files)
	FulcioURL    string
	RekorURL     string // Rekor v2 (rekor-tiles) base URL
	RekorReadURL string // where Rekor v2's checkpoint and tiles are read (may be empty: see ReadURL)
	TSAURL       string // full RFC 3161 endpoint URL, …/api/v1/timestamp
	Issuer1      string // OIDC issuer URL, as in the token's iss and the certificate
	Issuer2      string // a second, independent OIDC issuer
	IssuerGitHub string // issuer Fulcio maps as GitHub Actions (may be empty: see CIIssuer)
	IssuerGitLab string // issuer Fulcio maps as GitLab CI (may be empty: see CIIssuer)
	// IssuerKubernetes is the issuer Fulcio maps as a cluster's
	// service-account issuer (may be empty: see CIIssuer).
	IssuerKubernetes string
	TrustedRoot      string // path of trusted_root.json
	SigningConfig    string // path of signing_config.json (v0.2)
	Cosign           string // path of the cached cosign binary (may be absent)
}

// The variables written to env.sh by scripts/stack.sh start.
const (
	envDir           = "MLATTEST_STACK_DIR"
	envFulcio        = "MLATTEST_FULCIO_URL"
	envRekor         = "MLATTEST_REKOR_URL"
	envRekorRead     = "MLATTEST_REKOR_READ_URL"
	envTSA           = "MLATTEST_TSA_URL"
	envIssuer1       = "MLATTEST_OIDC_ISSUER"
	envIssuer2       = "MLATTEST_OIDC_ISSUER2"
	envIssuerGitHub  = "MLATTEST_OIDC_ISSUER_GITHUB"
	envIssuerGitLab  = "MLATTEST_OIDC_ISSUER_GITLAB"
	envIssuerK8s     = "MLATTEST_OIDC_ISSUER_KUBERNETES"
	envTrustedRoot   = "MLATTEST_TRUSTED_ROOT"
	envSigningConfig = "MLATTEST_SIGNING_CONFIG"
	envCosign        = "MLATTEST_COSIGN"
)

// Get returns the running stack, or skips (fails under CI=true) the test.
func Get(t testing.TB) *Stack {
	t.Helper()
	s, err := find(os.Getenv)
	if err == nil {
		err = s.probe()
	}
	if err != nil {
		unavailable(t, "local Sigstore stack not available: %v", err)
	}
	return s
}

// unavailable skips loudly, or fails when CI=true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	unavailableWith(t, "scripts/stack.sh start", format, args...)
}

// unavailableWith is unavailable for a service that start starts.
func unavailableWith(t testing.TB, start, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: it is required; .ci/run must run %s)", msg, start)
	}
	t.Skipf("\n\n"+
		"********************************************************************\n"+
		"*** SKIPPED: %s\n"+
		"*** Start it with: %s\n"+
		"********************************************************************\n", msg, start)
}

// find reads the MLATTEST_* variables from getenv, falling back to env.sh.
func find(getenv func(string) string) (*Stack, error) {
	vars := map[string]string{}
	for _, k := range []string{envDir, envFulcio, envRekor, envRekorRead, envTSA, envIssuer1, envIssuer2, envIssuerGitHub, envIssuerGitLab, envIssuerK8s, envTrustedRoot, envSigningConfig, envCosign} {
		if v := getenv(k); v != "" {
			vars[k] = v
		}
	}
	if vars[envFulcio] == "" {
		dir := vars[envDir]
		if dir == "" {
			dir = defaultDir(getenv)
		}
		if dir == "" {
			return nil, errors.New("MLATTEST_* unset and no cache directory to look for env.sh in")
		}
		path := filepath.Join(dir, "env.sh")
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("MLATTEST_* unset and no env.sh: %w", err)
		}
		defer f.Close()
		fileVars, err := parseEnv(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		vars = fileVars
	}
	s := &Stack{
		Dir:              vars[envDir],
		FulcioURL:        vars[envFulcio],
		RekorURL:         vars[envRekor],
		RekorReadURL:     vars[envRekorRead],
		TSAURL:           vars[envTSA],
		Issuer1:          vars[envIssuer1],
		Issuer2:          vars[envIssuer2],
		IssuerGitHub:     vars[envIssuerGitHub],
		IssuerGitLab:     vars[envIssuerGitLab],
		IssuerKubernetes: vars[envIssuerK8s],
		TrustedRoot:      vars[envTrustedRoot],
		SigningConfig:    vars[envSigningConfig],
		Cosign:           vars[envCosign],
	}
	for k, v := range map[string]string{envFulcio: s.FulcioURL, envRekor: s.RekorURL, envTSA: s.TSAURL,
		envIssuer1: s.Issuer1, envIssuer2: s.Issuer2, envTrustedRoot: s.TrustedRoot, envSigningConfig: s.SigningConfig} {
		if v == "" {
			return nil, fmt.Errorf("%s is not set", k)
		}
	}
	return s, nil
}

// defaultDir mirrors scripts/stack.sh: ${XDG_CACHE_HOME:-$HOME/.cache}/mlattest/stack.
func defaultDir(getenv func(string) string) string {
	base := getenv("XDG_CACHE_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "mlattest", "stack")
}

// serviceEnv reads the env.sh a scripts/*.sh start wrote for a service: in
// the directory $stateVar names, else in the service's directory (name)
// beside the stack's default one.
func serviceEnv(getenv func(string) string, stateVar, name string) (dir string, vars map[string]string, err error) {
	dir = getenv(stateVar)
	if dir == "" {
		if d := defaultDir(getenv); d != "" {
			dir = filepath.Join(filepath.Dir(d), name)
		}
	}
	if dir == "" {
		return "", nil, errors.New("no cache directory to look for env.sh in")
	}
	f, err := os.Open(filepath.Join(dir, "env.sh"))
	if err != nil {
		return "", nil, fmt.Errorf("no env.sh: %w", err)
	}
	defer f.Close()
	vars, err = parseEnv(f)
	if err != nil {
		return "", nil, err
	}
	return dir, vars, nil
}

// bucketName is a new random bucket name, so that tests sharing a server
// never meet each other's objects.
func bucketName() string {
	var b [6]byte
	rand.Read(b[:])
	return "mlattest-" + hex.EncodeToString(b[:])
}

// putConcurrently calls put for every file, 16 at a time, and fails the
// test with an error of one that failed.
func putConcurrently(t testing.TB, files map[string][]byte, put func(name string, body []byte) error) {
	t.Helper()
	names := make(chan string)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range names {
				if err := put(n, files[n]); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for n := range files {
		names <- n
	}
	close(names)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("stacktest: %v", err)
	}
}

// parseEnv reads `export K=V` lines (the subset of shell that env.sh uses).
func parseEnv(r io.Reader) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		vars[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return vars, sc.Err()
}

// probe checks that every service accepts connections, so a stale env.sh
// from a stopped stack reads as "absent" rather than as test failures.
func (s *Stack) probe() error {
	for _, u := range []string{s.FulcioURL, s.RekorURL, s.TSAURL, s.Issuer1, s.Issuer2} {
		pu, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("bad URL %q: %w", u, err)
		}
		c, err := net.DialTimeout("tcp", pu.Host, 2*time.Second)
		if err != nil {
			return fmt.Errorf("%s not answering: %w", u, err)
		}
		c.Close()
	}
	for _, p := range []string{s.TrustedRoot, s.SigningConfig} {
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	return nil
}

// Issuer returns the URL of issuer 1 or 2.
func (s *Stack) Issuer(t testing.TB, issuer int) string {
	t.Helper()
	switch issuer {
	case 1:
		return s.Issuer1
	case 2:
		return s.Issuer2
	}
	t.Fatalf("stacktest: issuer must be 1 or 2, got %d", issuer)
	return ""
}

// Token returns a fresh ID token (aud sigstore, email = sub = subject,
// email_verified) from issuer 1 or 2, valid for the issuer's default 10 minutes.
func (s *Stack) Token(t testing.TB, issuer int, subject string) string {
	t.Helper()
	return s.mint(t, issuer, subject, nil)
}

// TokenWithTTL is Token with a chosen lifetime; a negative ttl gives a token
// that has already expired.
func (s *Stack) TokenWithTTL(t testing.TB, issuer int, subject string, ttl time.Duration) string {
	t.Helper()
	return s.mint(t, issuer, subject, url.Values{"ttl": {ttl.String()}})
}

// UnverifiedToken is Token with email_verified false, which Fulcio must refuse.
func (s *Stack) UnverifiedToken(t testing.TB, issuer int, subject string) string {
	t.Helper()
	return s.mint(t, issuer, subject, url.Values{"verified": {"false"}})
}

func (s *Stack) mint(t testing.TB, issuer int, subject string, extra url.Values) string {
	t.Helper()
	tok, err := mintToken(context.Background(), s.Issuer(t, issuer), subject, extra, nil)
	if err != nil {
		t.Fatalf("stacktest: minting a token for %s from issuer %d: %v", subject, issuer, err)
	}
	return tok
}

// mintToken calls the oidcserver's POST /mint, which lives beside /oidc:
// subject and options in the query, CI claims (JSON) in the body.
func mintToken(ctx context.Context, issuerURL, subject string, extra url.Values, claims []byte) (string, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(issuerURL, "/"), "/oidc")
	q := url.Values{"sub": {subject}}
	for k, v := range extra {
		q[k] = v
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var body io.Reader
	if claims != nil {
		body = bytes.NewReader(claims)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/mint?"+q.Encode(), body)
	if err != nil {
		return "", err
	}
	if claims != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", req.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadURL returns the base URL of the Rekor v2 log's static read path, or
// skips (fails under CI=true) when the stack was started without it.
func (s *Stack) ReadURL(t testing.TB) string {
	t.Helper()
	if s.RekorReadURL == "" {
		unavailable(t, "%s is not set (a stack started by an older scripts/stack.sh: run scripts/stack.sh start again)", envRekorRead)
	}
	pu, err := url.Parse(s.RekorReadURL)
	if err != nil {
		unavailable(t, "bad %s %q: %v", envRekorRead, s.RekorReadURL, err)
	}
	c, err := net.DialTimeout("tcp", pu.Host, 2*time.Second)
	if err != nil {
		unavailable(t, "%s not answering: %v", s.RekorReadURL, err)
	}
	c.Close()
	return s.RekorReadURL
}

// CosignPath returns the cosign binary, or skips (fails under CI=true) when
// it is missing.
func (s *Stack) CosignPath(t testing.TB) string {
	t.Helper()
	if s.Cosign == "" {
		unavailable(t, "%s is not set", envCosign)
	}
	if _, err := os.Stat(s.Cosign); err != nil {
		unavailable(t, "cosign binary: %v", err)
	}
	return s.Cosign
}
