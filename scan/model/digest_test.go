package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// The digest runs concurrently with the scan; it must still be the digest
// of the whole file, for sizes around the read size too.
func TestScanFileDigest(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, hashReadSize - 1, hashReadSize, hashReadSize + 1, 3*hashReadSize + 7} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 31)
		}
		if n >= len(numpyPkl()) {
			copy(b, numpyPkl())
		}
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := New().ScanFile(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(b)
		if r.SHA256 != hex.EncodeToString(want[:]) {
			t.Errorf("size %d: digest %s", n, r.SHA256)
		}
		if r2, _ := New(WithDigest(false)).ScanFile(context.Background(), p); r2.SHA256 != "" || r2.Verdict != r.Verdict {
			t.Errorf("size %d: without digest %s vs %s", n, describe(r2), describe(r))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().ScanFile(ctx, filepath.Join(dir, "f")); err == nil {
		t.Error("cancelled scan hashed anyway")
	}
}
