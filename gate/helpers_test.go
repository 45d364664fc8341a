package gate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/mlattest/mlattest/internal/repotest"
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

// conformanceDir is ../shared/conformance/sigstore-bundle-verify beside the repository, read in place.
func conformanceDir(t testing.TB) string { return repotest.Conformance(t, "sigstore-bundle-verify") }
