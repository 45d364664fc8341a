package stacktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	envSh := "# comment\nexport MLATTEST_STACK_DIR=" + dir + "\n" +
		"export MLATTEST_FULCIO_URL=http://f\nexport MLATTEST_REKOR_URL=http://r\n" +
		"export MLATTEST_TSA_URL=http://t/api/v1/timestamp\nexport MLATTEST_OIDC_ISSUER=http://o1/oidc\n" +
		"export MLATTEST_OIDC_ISSUER2=http://o2/oidc\nexport MLATTEST_TRUSTED_ROOT=/tr.json\n" +
		"export MLATTEST_SIGNING_CONFIG=/sc.json\nexport MLATTEST_COSIGN=/cosign\n"
	if err := os.WriteFile(filepath.Join(dir, "env.sh"), []byte(envSh), 0o600); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{
		envFulcio: "http://F", envRekor: "http://R", envTSA: "http://T", envIssuer1: "http://O1/oidc",
		envIssuer2: "http://O2/oidc", envTrustedRoot: "/TR", envSigningConfig: "/SC",
	}
	tests := []struct {
		name       string
		env        map[string]string
		wantFulcio string
		wantErr    string
	}{
		{name: "variables win", env: full, wantFulcio: "http://F"},
		{name: "env.sh in MLATTEST_STACK_DIR", env: map[string]string{envDir: dir}, wantFulcio: "http://f"},
		{name: "env.sh in XDG cache", env: map[string]string{"XDG_CACHE_HOME": "/nonexistent"}, wantErr: "no env.sh"},
		{name: "incomplete variables", env: map[string]string{envFulcio: "http://F"}, wantErr: "is not set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := find(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.FulcioURL != tc.wantFulcio {
				t.Errorf("FulcioURL = %q, want %q", s.FulcioURL, tc.wantFulcio)
			}
		})
	}
}

func TestDefaultDir(t *testing.T) {
	env := map[string]string{"HOME": "/h"}
	if got := defaultDir(func(k string) string { return env[k] }); got != "/h/.cache/mlattest/stack" {
		t.Errorf("defaultDir = %q", got)
	}
	env["XDG_CACHE_HOME"] = "/x"
	if got := defaultDir(func(k string) string { return env[k] }); got != "/x/mlattest/stack" {
		t.Errorf("defaultDir = %q", got)
	}
}

const predicateType = "https://mlattest.dev/attestation/stacktest/v1"

// statement returns an in-toto statement about blob and blob's sha256.
func statement(t *testing.T, blob []byte) ([]byte, []byte) {
	t.Helper()
	sum := sha256.Sum256(blob)
	st := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "blob.bin", "digest": map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{"check": "stacktest"},
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b, sum[:]
}

// signKeyless signs payload as a DSSE in-toto statement with services chosen
// from the stack's signing config, as production code would.
func signKeyless(t *testing.T, s *Stack, token string, payload []byte) (*bundle.Bundle, error) {
	t.Helper()
	sc, err := root.NewSigningConfigFromPath(s.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromPath(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fulcioSvc, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		t.Fatal(err)
	}
	rekorSvc, err := root.SelectService(sc.RekorLogURLs(), sign.RekorAPIVersions, now)
	if err != nil {
		t.Fatal(err)
	}
	if rekorSvc.MajorAPIVersion != 2 {
		t.Fatalf("signing config selects Rekor v%d, want v2", rekorSvc.MajorAPIVersion)
	}
	tsaSvc, err := root.SelectService(sc.TimestampAuthorityURLs(), sign.TimestampAuthorityAPIVersions, now)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: "application/vnd.in-toto+json"}, kp, sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcioSvc.URL}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TimestampAuthorities:       []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: tsaSvc.URL})},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: rekorSvc.URL, Version: rekorSvc.MajorAPIVersion})},
		TrustedRoot:                tr,
	})
	if err != nil {
		return nil, err
	}
	return &bundle.Bundle{Bundle: pb}, nil
}

func verifyBundle(t *testing.T, s *Stack, b *bundle.Bundle, digest []byte, issuer, san string) error {
	t.Helper()
	tr, err := root.NewTrustedRootFromPath(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(tr, verify.WithTransparencyLog(1), verify.WithSignedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithCertificateIdentity(id)))
	return err
}

func TestTrustFilesParse(t *testing.T) {
	s := Get(t)
	tr, err := root.NewTrustedRootFromPath(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tr.RekorLogs()); n != 1 {
		t.Errorf("trusted root has %d Rekor logs, want 1", n)
	}
	if n := len(tr.CTLogs()); n != 0 {
		t.Errorf("trusted root has %d CT logs, want 0", n)
	}
	if n := len(tr.FulcioCertificateAuthorities()); n != 1 {
		t.Errorf("trusted root has %d CAs, want 1", n)
	}
	if n := len(tr.TimestampingAuthorities()); n != 1 {
		t.Errorf("trusted root has %d TSAs, want 1", n)
	}
	if _, err := root.NewSigningConfigFromPath(s.SigningConfig); err != nil {
		t.Fatal(err)
	}
}

func TestKeylessSignVerify(t *testing.T) {
	s := Get(t)
	blob := []byte("model weights, or so we pretend\n")
	payload, digest := statement(t, blob)

	for _, issuer := range []int{1, 2} {
		t.Run(s.Issuer(t, issuer), func(t *testing.T) {
			const who = "alice@example.com"
			b, err := signKeyless(t, s, s.Token(t, issuer, who), payload)
			if err != nil {
				t.Fatalf("signing: %v", err)
			}
			if n := len(b.GetVerificationMaterial().GetTlogEntries()); n != 1 {
				t.Fatalf("bundle has %d tlog entries, want 1", n)
			}
			if kv := b.GetVerificationMaterial().GetTlogEntries()[0].GetKindVersion().GetVersion(); kv != "0.0.2" {
				t.Errorf("tlog entry kind version %q, want 0.0.2 (Rekor v2 dsse)", kv)
			}
			if n := len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()); n != 1 {
				t.Errorf("bundle has %d RFC 3161 timestamps, want 1", n)
			}
			other := s.Issuer(t, 3-issuer)
			cases := []struct {
				name, issuer, san string
				ok                bool
			}{
				{"right identity", s.Issuer(t, issuer), who, true},
				{"wrong subject", s.Issuer(t, issuer), "mallory@example.com", false},
				{"wrong issuer", other, who, false},
			}
			for _, c := range cases {
				err := verifyBundle(t, s, b, digest, c.issuer, c.san)
				if c.ok && err != nil {
					t.Errorf("%s: verify: %v", c.name, err)
				}
				if !c.ok && (err == nil || !strings.Contains(err.Error(), "certificate identity")) {
					t.Errorf("%s: verify of %s / %s: got %v, want an identity mismatch", c.name, c.issuer, c.san, err)
				}
			}
			wrong := sha256.Sum256([]byte("other blob"))
			if err := verifyBundle(t, s, b, wrong[:], s.Issuer(t, issuer), who); err == nil {
				t.Error("verify accepted a different artifact digest")
			}
		})
	}
}

// claims decodes a JWT's payload without verifying it.
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenClaims(t *testing.T) {
	s := Get(t)
	for _, issuer := range []int{1, 2} {
		c := claims(t, s.Token(t, issuer, "carol@example.com"))
		want := map[string]any{"iss": s.Issuer(t, issuer), "sub": "carol@example.com", "email": "carol@example.com", "email_verified": true}
		for k, v := range want {
			if c[k] != v {
				t.Errorf("issuer %d: claim %s = %v, want %v", issuer, k, c[k], v)
			}
		}
		if aud, _ := c["aud"].([]any); len(aud) != 1 || aud[0] != "sigstore" {
			t.Errorf("issuer %d: aud = %v, want [sigstore]", issuer, c["aud"])
		}
	}
	c := claims(t, s.TokenWithTTL(t, 1, "carol@example.com", time.Minute))
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 60 {
		t.Errorf("ttl 1m gives exp-iat = %v", exp-iat)
	}
	if _, err := mintToken(t.Context(), s.Issuer1, "", nil, nil); err == nil {
		t.Error("mint accepted an empty subject")
	}
	if _, err := mintToken(t.Context(), s.Issuer1, "x@example.com", url.Values{"ttl": {"soon"}}, nil); err == nil {
		t.Error("mint accepted a malformed ttl")
	}
}

func TestFulcioRejectsBadTokens(t *testing.T) {
	s := Get(t)
	payload, _ := statement(t, []byte("x"))
	tests := []struct {
		name, token string
		wantErr     string
	}{
		{"expired", s.TokenWithTTL(t, 1, "alice@example.com", -time.Minute), "error processing the identity token"},
		// sigstore-go refuses this one itself, before asking Fulcio.
		{"email not verified", s.UnverifiedToken(t, 1, "alice@example.com"), "not verified"},
		{"tampered", tamper(s.Token(t, 1, "alice@example.com")), "error processing the identity token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signKeyless(t, s, tc.token, payload)
			if err == nil {
				t.Fatal("Fulcio issued a certificate")
			}
			// Anything else would mean the test is not testing the token.
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// tamper swaps the token's payload for one naming another subject.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	raw = bytes.ReplaceAll(raw, []byte("alice@"), []byte("eve@@@"))
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// cosign runs the stack's cosign with a private HOME so it neither reads nor
// writes the user's ~/.sigstore (and never reaches for public-good TUF).
func cosign(t *testing.T, s *Stack, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(s.CosignPath(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func cosignVerify(t *testing.T, s *Stack, bundlePath, issuer, san, blob string) (string, error) {
	t.Helper()
	return cosign(t, s, "verify-blob-attestation",
		"--bundle", bundlePath, "--trusted-root", s.TrustedRoot, "--type", predicateType,
		"--certificate-identity", san, "--certificate-oidc-issuer", issuer,
		"--insecure-ignore-sct", "--use-signed-timestamps", blob)
}

func TestCosignRoundTrip(t *testing.T) {
	s := Get(t)
	s.CosignPath(t)
	dir := t.TempDir()
	blobPath := filepath.Join(dir, "blob.bin")
	blob := []byte("an artifact for cosign\n")
	predPath := filepath.Join(dir, "predicate.json")
	for p, b := range map[string][]byte{blobPath: blob, predPath: []byte(`{"check":"cosign"}`)} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const who = "bob@example.com"

	t.Run("cosign attest-blob, verified by cosign and sigstore-go", func(t *testing.T) {
		bundlePath := filepath.Join(dir, "cosign.sigstore.json")
		out, err := cosign(t, s, "attest-blob",
			"--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot,
			"--identity-token", s.Token(t, 2, who),
			"--predicate", predPath, "--type", predicateType, "--bundle", bundlePath, "-y", blobPath)
		if err != nil {
			t.Fatalf("cosign attest-blob: %v\n%s", err, out)
		}
		if out, err := cosignVerify(t, s, bundlePath, s.Issuer2, who, blobPath); err != nil {
			t.Errorf("cosign verify-blob-attestation: %v\n%s", err, out)
		}
		if _, err := cosignVerify(t, s, bundlePath, s.Issuer2, "mallory@example.com", blobPath); err == nil {
			t.Error("cosign accepted a wrong identity")
		}
		if _, err := cosignVerify(t, s, bundlePath, s.Issuer1, who, blobPath); err == nil {
			t.Error("cosign accepted a wrong issuer")
		}
		b, err := bundle.LoadJSONFromPath(bundlePath)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(blob)
		if err := verifyBundle(t, s, b, sum[:], s.Issuer2, who); err != nil {
			t.Errorf("sigstore-go rejects cosign's bundle: %v", err)
		}
	})

	t.Run("sigstore-go bundle, verified by cosign", func(t *testing.T) {
		payload, _ := statement(t, blob)
		b, err := signKeyless(t, s, s.Token(t, 1, who), payload)
		if err != nil {
			t.Fatal(err)
		}
		j, err := b.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		bundlePath := filepath.Join(dir, "sigstore-go.sigstore.json")
		if err := os.WriteFile(bundlePath, j, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := cosignVerify(t, s, bundlePath, s.Issuer1, who, blobPath); err != nil {
			t.Errorf("cosign verify-blob-attestation: %v\n%s", err, out)
		}
		if _, err := cosignVerify(t, s, bundlePath, s.Issuer1, who, predPath); err == nil {
			t.Error("cosign accepted the bundle for a different blob")
		}
	})
}
