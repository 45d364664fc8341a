package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// omsDir is ../shared/conformance/model-signing beside the repository.
func omsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "conformance", "model-signing"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("conformance data missing: %v", err)
	}
	return dir
}

// omsArgs is the verify-model command line for a conformance case folder
// (see the conformance README): model path, signature and signer flags.
func omsArgs(t *testing.T, root, name, caseDir string) []string {
	t.Helper()
	version, method, _ := strings.Cut(name, "-")
	model := caseDir
	if method == "elliptic-key" && (version == "v0.3.1" || version == "v1.0.0") {
		model = filepath.Join(caseDir, "signme-1")
	}
	args := []string{"verify-model", model, "--signature", filepath.Join(caseDir, "model.sig"), "--json"}
	keys := filepath.Join(root, "keys")
	switch method {
	case "sigstore":
		args = append(args, "--certificate-identity", "stefanb@us.ibm.com",
			"--certificate-oidc-issuer", "https://sigstore.verify.ibm.com/oauth2",
			"--trusted-root", filepath.Join(root, "..", "trusted_root.public-good.json"))
	case "elliptic-key":
		args = append(args, "--key", filepath.Join(keys, "signing-key-pub.pem"))
	case "certificate":
		args = append(args, "--certificate-chain", filepath.Join(keys, "int-ca-cert.pem"),
			"--certificate-chain", filepath.Join(keys, "ca-cert.pem"))
	}
	if version == "v1.0.1" {
		args = append(args, "--ignore-paths", "ignore-me")
	}
	return args
}

// TestVerifyModelConformance: every conformance case through the CLI. v1.x
// and v0.3.1 exit 0 with the signed manifest digest in the JSON; v0.2.0
// exits 1; a changed file exits 1 naming it; a wrong identity, key or CA
// exits 1 at the signer's stage.
func TestVerifyModelConformance(t *testing.T) {
	root := omsDir(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "v") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, omsArgs(t, root, name, filepath.Join(root, name))...)
			if strings.HasPrefix(name, "v0.2.0") {
				if r.code != exitRejected || !strings.Contains(r.stdout, `"stage":"signature"`) {
					t.Fatalf("v0.2.0 must be rejected at the signature:\n%s", r)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			var out struct {
				Verified       bool
				ManifestDigest string
				PredicateType  string
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatal(err)
			}
			if !out.Verified || out.PredicateType != "https://model_signing/signature/v1.0" || !strings.HasPrefix(out.ManifestDigest, "sha256:") {
				t.Errorf("%+v", out)
			}

			// A changed file in a copy is rejected, naming the file.
			cp := filepath.Join(t.TempDir(), name)
			if err := os.CopyFS(cp, os.DirFS(filepath.Join(root, name))); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(cp, "signme-1"), []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
			r = runCLI(t, omsArgs(t, root, name, cp)...)
			if r.code != exitRejected || !strings.Contains(r.stdout, `"stage":"model"`) || !strings.Contains(r.stderr, "changed:") {
				t.Fatalf("tampered copy:\n%s", r)
			}
		})
	}
	if n != 13 {
		t.Fatalf("%d cases, want 13", n)
	}
}

// TestVerifyModelWrongSigner: the right signature checked against the
// wrong signer fails at the signer's stage, for each method.
func TestVerifyModelWrongSigner(t *testing.T) {
	root := omsDir(t)
	other := t.TempDir()
	if r := runCLI(t, "keygen", "--output-key-prefix", filepath.Join(other, "k"), "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %s", r)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stage string
	}{
		{"identity", []string{"verify-model", filepath.Join(root, "v1.1.0-sigstore"), "--json",
			"--certificate-identity", "mallory@example.com", "--certificate-oidc-issuer", "https://sigstore.verify.ibm.com/oauth2",
			"--trusted-root", filepath.Join(root, "..", "trusted_root.public-good.json")}, `"stage":"identity"`},
		{"key", []string{"verify-model", filepath.Join(root, "v1.1.0-elliptic-key"), "--json",
			"--key", filepath.Join(other, "k.pub")}, `"stage":"signature"`},
		{"chain", []string{"verify-model", filepath.Join(root, "v1.1.0-certificate"), "--json",
			"--certificate-chain", writeTestCA(t, other)}, `"stage":"certificate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.args...)
			if r.code != exitRejected || !strings.Contains(r.stdout, tc.stage) {
				t.Fatalf("want exit 1 at %s:\n%s", tc.stage, r)
			}
		})
	}
}

// TestVerifyBundleRefusesCertificateChain: the certificate-chain bundles
// verify-model accepts with --certificate-chain are still refused by
// verify-bundle (AllowCertificateChain is on the chain path only).
func TestVerifyBundleRefusesCertificateChain(t *testing.T) {
	root := omsDir(t)
	for _, name := range []string{"v1.0.0-certificate", "v1.1.0-certificate"} {
		r := runCLI(t, "verify-bundle", "--bundle", filepath.Join(root, name, "model.sig"), "--json",
			"--digest", "sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226",
			"--certificate-identity", "x@example.com", "--certificate-oidc-issuer", "https://example.com",
			"--trusted-root", filepath.Join(root, "..", "trusted_root.public-good.json"))
		if r.code != exitRejected || !strings.Contains(r.stdout, `"stage":"bundle"`) ||
			!strings.Contains(r.stdout, "X.509 certificate chain") {
			t.Fatalf("%s: %s", name, r)
		}
	}
}

// TestVerifyModelUsage: signer flags are exclusive and required.
func TestVerifyModelUsage(t *testing.T) {
	root := omsDir(t)
	m := filepath.Join(root, "v1.1.0-elliptic-key")
	for _, args := range [][]string{
		{"verify-model", m},
		{"verify-model", m, "--key", filepath.Join(root, "keys", "signing-key-pub.pem"), "--certificate-chain", filepath.Join(root, "keys", "ca-cert.pem")},
		{"verify-model", m, "--certificate-chain", filepath.Join(root, "keys", "signing-key-pub.pem")},
		{"verify-model", filepath.Join(m, "signme-1"), "--key", filepath.Join(root, "keys", "signing-key-pub.pem")},
		{"verify-model", m, "--key", filepath.Join(root, "keys", "signing-key-pub.pem"), "--ignore-paths", "../x"},
	} {
		if r := runCLI(t, args...); r.code != exitUsage {
			t.Errorf("%v: %s", args, r)
		}
	}
}

// writeTestCA writes a fresh self-signed CA certificate (PEM) into dir.
func writeTestCA(t *testing.T, dir string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
