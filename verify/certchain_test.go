package verify

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/repotest"
)

func omsCertCase(t *testing.T) (sig string, certs []*x509.Certificate) {
	t.Helper()
	root := filepath.Join(repotest.Root(t), "..", "shared", "conformance", "model-signing")
	for _, f := range []string{"int-ca-cert.pem", "ca-cert.pem"} {
		data, err := os.ReadFile(filepath.Join(root, "keys", f))
		if err != nil {
			t.Fatalf("conformance data missing: %v", err)
		}
		blk, _ := pem.Decode(data)
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	return filepath.Join(root, "v1.1.0-certificate", "model.sig"), certs
}

// TestChainVerifier: a certificate-chain bundle (model-signing's
// -certificate case) is refused by LoadBundle and read by
// ChainVerifier.LoadBundle only; it verifies against its CA, and fails at
// the certificate stage once the certificate has expired, without a root,
// or with an identity asked for.
func TestChainVerifier(t *testing.T) {
	sig, certs := omsCertCase(t)
	if _, err := LoadBundle(sig); !errors.Is(err, ErrRejected) || StageOf(err) != StageBundle {
		t.Fatalf("LoadBundle accepted a certificate-chain bundle: %v", err)
	}
	cv, err := NewChainVerifier(certs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cv.LoadBundle(sig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := cv.Verify(ctx, b, SkipArtifact())
	if err != nil {
		t.Fatal(err)
	}
	if res.Signer.CertificateSubject != "CN=intermediate-ca" || !res.KeyOnly || res.Statement.GetPredicateType() != "https://model_signing/signature/v1.0" {
		t.Errorf("result %+v", res)
	}
	dig := make([]byte, 32)
	if _, err := cv.Verify(ctx, b, ArtifactDigest("sha256", dig)); StageOf(err) != StageArtifact {
		t.Errorf("wrong artifact: %v", err)
	}

	expired := *cv
	expired.now = func() time.Time { return time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC) }
	if _, err := expired.Verify(ctx, b, SkipArtifact()); StageOf(err) != StageCertificate {
		t.Errorf("expired certificate: %v", err)
	}
	if _, err := NewChainVerifier(certs[:1]); !errors.Is(err, ErrNoRoot) {
		t.Errorf("intermediate only: %v", err)
	}
	if _, err := cv.Verify(ctx, b, SkipArtifact(), Identity{Subject: "x", Issuer: "y"}); err == nil || errors.Is(err, ErrRejected) {
		t.Errorf("identity with a chain: %v", err)
	}
	// The keyless verifier refuses the same bundle, parsed or not.
	v, err := New(WithTrustedRootFile(filepath.Join(repotest.Root(t), "..", "shared", "conformance", "trusted_root.public-good.json")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, b, SkipArtifact(), Identity{Subject: "x", Issuer: "y"}); !errors.Is(err, ErrRejected) {
		t.Errorf("keyless verifier accepted a chain bundle: %v", err)
	}
}
