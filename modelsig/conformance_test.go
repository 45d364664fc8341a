package modelsig

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/trust"
	"github.com/mlattest/mlattest/verify"
)

// The OpenSSF model-signing conformance cases (../shared/conformance/
// model-signing, see its README), read in place.

const (
	omsIdentity = "stefanb@us.ibm.com"
	omsIssuer   = "https://sigstore.verify.ibm.com/oauth2"
)

// omsCase is one folder vX.Y.Z-METHOD resolved by the README's rules.
type omsCase struct {
	name, dir, method string
	version           string
	model             string   // the model path: the folder, or its single file
	ignore            []string // given at verification (not recorded before v1.1.0)
	files             []string // the model's files, relative to dir
}

func omsCases(t testing.TB) []omsCase {
	t.Helper()
	root := filepath.Join(sharedConformance(t), "model-signing")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []omsCase
	for _, e := range entries {
		version, method, ok := strings.Cut(e.Name(), "-")
		if !ok || !strings.HasPrefix(version, "v") {
			continue
		}
		c := omsCase{name: e.Name(), dir: filepath.Join(root, e.Name()), method: method, version: version}
		c.model = c.dir
		files, _ := filepath.Glob(filepath.Join(c.dir, "signme-*"))
		for _, f := range files {
			c.files = append(c.files, filepath.Base(f))
		}
		if method == "elliptic-key" && (version == "v0.3.1" || version == "v1.0.0") {
			c.model, c.files = filepath.Join(c.dir, "signme-1"), []string{"signme-1"}
		}
		if version == "v1.0.1" {
			c.ignore = []string{"ignore-me"}
		}
		out = append(out, c)
	}
	if len(out) != 13 {
		t.Fatalf("%d model-signing cases, want 13", len(out))
	}
	return out
}

// verifierFor builds the bundle verifier each method needs and loads the
// signature with it.
func verifierFor(t testing.TB, c omsCase, sig string) (BundleVerifier, []verify.Identity, *bundle.Bundle, error) {
	t.Helper()
	keys := filepath.Join(filepath.Dir(c.dir), "keys")
	switch c.method {
	case "sigstore":
		v, err := verify.New(verify.WithTrustedRootFile(filepath.Join(sharedConformance(t), "trusted_root.public-good.json")))
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadSignature(sig, verify.ParseBundle)
		return v, []verify.Identity{{Subject: omsIdentity, Issuer: omsIssuer}}, b, err
	case "elliptic-key":
		pub, err := trust.LoadPublicKey(filepath.Join(keys, "signing-key-pub.pem"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := verify.New(verify.WithKey(pub))
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadSignature(sig, verify.ParseBundle)
		return v, nil, b, err
	case "certificate":
		v := chainVerifier(t, filepath.Join(keys, "int-ca-cert.pem"), filepath.Join(keys, "ca-cert.pem"))
		b, err := LoadSignature(sig, v.ParseBundle)
		return v, nil, b, err
	}
	t.Fatalf("unknown method %q", c.method)
	return nil, nil, nil, nil
}

func chainVerifier(t testing.TB, files ...string) *verify.ChainVerifier {
	t.Helper()
	var certs []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for blk, rest := pem.Decode(data); blk != nil; blk, rest = pem.Decode(rest) {
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, c)
		}
	}
	v, err := verify.NewChainVerifier(certs)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func verifyCase(t testing.TB, c omsCase, model string) (*Result, error) {
	t.Helper()
	sig := filepath.Join(c.dir, "model.sig")
	if model != c.model {
		// A copy: the signature stays where the copy's model.sig would be.
		sig = filepath.Join(model, "model.sig")
		if fi, err := os.Stat(model); err == nil && !fi.IsDir() {
			sig = filepath.Join(filepath.Dir(model), "model.sig")
		}
	}
	bv, ids, b, err := verifierFor(t, c, sig)
	if err != nil {
		return nil, err
	}
	return Verify(context.Background(), model, b, bv, ids, WithIgnorePaths(c.ignore...), WithSignatureFile(sig))
}

// TestConformanceVerifies: every v1.x case verifies in place, with the
// signer its method implies; v0.3.1 carries the v1.0 predicate and verifies
// too. v0.2.0 (the Digests/v0.1 predicate, signed over the tool's pre-1.0
// buggy PAE encoding) is rejected at the signature, never read as a v1.0
// manifest.
func TestConformanceVerifies(t *testing.T) {
	for _, c := range omsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			res, err := verifyCase(t, c, c.model)
			if c.version == "v0.2.0" {
				if !errors.Is(err, verify.ErrRejected) || verify.StageOf(err) != verify.StageSignature {
					t.Fatalf("v0.2.0: got %v, want a signature rejection", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got := len(res.Manifest.Resources); got != len(c.files) {
				t.Errorf("%d resources, want %d (%v)", got, len(c.files), c.files)
			}
			switch c.method {
			case "sigstore":
				if res.Bundle.Signer.Subject != omsIdentity || res.Bundle.LogEntries != 1 {
					t.Errorf("signer %+v, %d log entries", res.Bundle.Signer, res.Bundle.LogEntries)
				}
			case "certificate":
				if res.Bundle.Signer.CertificateSubject != "CN=intermediate-ca" {
					t.Errorf("signer %+v", res.Bundle.Signer)
				}
			case "elliptic-key":
				if !strings.HasPrefix(res.Bundle.Signer.KeyID, "sha256:") {
					t.Errorf("signer %+v", res.Bundle.Signer)
				}
			}
		})
	}
}

// copyCase copies a case folder (model files, ignore-me, model.sig) to a
// temporary directory and returns the copy's model path.
func copyCase(t *testing.T, c omsCase) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), c.name)
	if err := os.CopyFS(dst, os.DirFS(c.dir)); err != nil {
		t.Fatal(err)
	}
	if c.model != c.dir {
		return filepath.Join(dst, filepath.Base(c.model))
	}
	return dst
}

// TestConformanceTamper: in every case that verifies, changing a model
// file, adding one or removing one makes verification fail: a rejection at
// the model stage naming the file (exit 1 in the CLI). A single-file model
// has no folder to add to; removing its file leaves no model at all, an
// input error.
func TestConformanceTamper(t *testing.T) {
	for _, c := range omsCases(t) {
		if c.version == "v0.2.0" {
			continue
		}
		single := c.model != c.dir
		dir := func(model string) string {
			if single {
				return filepath.Dir(model)
			}
			return model
		}
		for _, tc := range []struct {
			name   string
			mutate func(dir string) string // returns the file name the error must name
		}{
			{"change", func(d string) string {
				if err := os.WriteFile(filepath.Join(d, "signme-1"), []byte("changed\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return "signme-1"
			}},
			{"add", func(d string) string {
				if err := os.WriteFile(filepath.Join(d, "extra.bin"), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				return "extra.bin"
			}},
			{"add-nested", func(d string) string {
				if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(d, "sub", "ignore-me"), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				return "sub/ignore-me"
			}},
			{"remove", func(d string) string {
				if err := os.Remove(filepath.Join(d, "signme-1")); err != nil {
					t.Fatal(err)
				}
				return "signme-1"
			}},
		} {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				if single && strings.HasPrefix(tc.name, "add") {
					t.Skip("a single-file model has no folder to add a file to")
				}
				model := copyCase(t, c)
				if _, err := verifyCase(t, c, model); err != nil {
					t.Fatalf("the untouched copy does not verify: %v", err)
				}
				name := tc.mutate(dir(model))
				_, err := verifyCase(t, c, model)
				if single && tc.name == "remove" {
					if err == nil || errors.Is(err, verify.ErrRejected) || !errors.Is(err, os.ErrNotExist) {
						t.Fatalf("got %v, want a missing-model input error", err)
					}
					return
				}
				if !errors.Is(err, ErrMismatch) || verify.StageOf(err) != StageModel {
					t.Fatalf("got %v, want a model mismatch", err)
				}
				if single {
					name = "."
				}
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			})
		}
	}
}

// TestConformanceIgnoreMe: ignore-me is outside the signature in the cases
// that have it: changing it changes nothing; v1.1.0 records it as an ignore
// path, v1.0.1 needs it given at verification (as upstream's own test does).
func TestConformanceIgnoreMe(t *testing.T) {
	for _, c := range omsCases(t) {
		if _, err := os.Stat(filepath.Join(c.dir, "ignore-me")); err != nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			model := copyCase(t, c)
			if err := os.WriteFile(filepath.Join(model, "ignore-me"), []byte("anything"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := verifyCase(t, c, model); err != nil {
				t.Fatalf("ignore-me changed: %v", err)
			}
			c.ignore = nil
			_, err := verifyCase(t, c, model)
			if c.version == "v1.1.0" && err != nil {
				t.Fatalf("v1.1.0 records ignore-me: %v", err)
			}
			if c.version == "v1.0.1" && !errors.Is(err, ErrMismatch) {
				t.Fatalf("v1.0.1 without --ignore-paths ignore-me: got %v, want a mismatch", err)
			}
		})
	}
}

// sharedConformance is ../shared/conformance beside the repository, read in place.
func sharedConformance(t testing.TB) string { return repotest.Conformance(t) }
