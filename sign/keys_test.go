package sign

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/mlattest/mlattest/trust"
)

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pass(s string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(s), nil } }

func TestGenerateAndLoadKey(t *testing.T) {
	tests := []struct {
		name       string
		genPass    string
		loadPass   func() ([]byte, error)
		wantErr    error
		wantAnyErr bool
	}{
		{name: "plain", genPass: ""},
		{name: "plain key ignores passphrase", genPass: "", loadPass: pass("unused")},
		{name: "encrypted", genPass: "correct horse", loadPass: pass("correct horse")},
		{name: "encrypted wrong passphrase", genPass: "correct horse", loadPass: pass("battery"), wantErr: ErrPassphrase},
		{name: "encrypted no passphrase", genPass: "correct horse", loadPass: nil, wantErr: ErrPassphrase},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			privPEM, pubPEM, err := GenerateKey([]byte(tc.genPass))
			if err != nil {
				t.Fatal(err)
			}
			privPath := writeTemp(t, "k.key", privPEM)
			pubPath := writeTemp(t, "k.pub", pubPEM)
			signer, err := LoadPrivateKey(privPath, tc.loadPass)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pubData, err := os.ReadFile(pubPath)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubData)
			if err != nil {
				t.Fatal(err)
			}
			if !signer.Public().(*ecdsa.PublicKey).Equal(pub) {
				t.Fatal("public key file does not match the private key")
			}
		})
	}
}

// The encrypted key is standard PKCS#8 PBES2, so openssl reads it.
func TestEncryptedKeyReadableByOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	privPEM, _, err := GenerateKey([]byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	p := writeTemp(t, "k.key", privPEM)
	out, err := exec.Command("openssl", "pkey", "-in", p, "-passin", "pass:s3cret", "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkey: %v\n%s", err, out)
	}
	if err := exec.Command("openssl", "pkey", "-in", p, "-passin", "pass:wrong", "-noout").Run(); err == nil {
		t.Fatal("openssl accepted a wrong passphrase")
	}
}

func TestLoadPrivateKeyErrors(t *testing.T) {
	tests := map[string][]byte{
		"not pem":     []byte("hello"),
		"garbage pem": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			p := writeTemp(t, "bad.key", data)
			if _, err := LoadPrivateKey(p, nil); err == nil {
				t.Fatal("want error")
			}
		})
	}
	if _, err := LoadPrivateKey(filepath.Join(t.TempDir(), "missing.key"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing key: err = %v, want ErrNotExist", err)
	}
}

func TestKeypairSignsVerifiably(t *testing.T) {
	privPEM, _, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := LoadPrivateKey(writeTemp(t, "k.key", privPEM), nil)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := newKeypair(signer)
	if err != nil {
		t.Fatal(err)
	}
	sig, digest, err := kp.SignData(context.Background(), []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte("payload"))
	if string(digest) != string(want[:]) {
		t.Fatal("SignData did not return the SHA-256 it signed")
	}
	if !ecdsa.VerifyASN1(signer.Public().(*ecdsa.PublicKey), digest, sig) {
		t.Fatal("signature does not verify")
	}
	if h, err := base64.StdEncoding.DecodeString(string(kp.GetHint())); err != nil || len(h) != sha256.Size {
		t.Fatalf("hint %q is not a base64 SHA-256", kp.GetHint())
	}
	if id, _ := trust.KeyID(signer.Public()); !strings.HasPrefix(id, "sha256:") || len(id) != 7+64 {
		t.Fatalf("KeyID = %q, want sha256:HEX", id)
	}
}
