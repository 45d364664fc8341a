package gate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/mlattest/mlattest/verify"
)

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustVerifier(t testing.TB, opts ...verify.Option) *verify.Verifier {
	t.Helper()
	v, err := verify.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustLoad(t testing.TB, path string) *bundle.Bundle {
	t.Helper()
	b, err := verify.LoadBundle(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// conformanceDir is shared/conformance/sigstore-bundle-verify beside the
// checkout (the test runs in gate/, one below the repository root).
func conformanceDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "conformance", "sigstore-bundle-verify")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("conformance data missing (expected ../shared beside the repository): %v", err)
	}
	return dir
}
