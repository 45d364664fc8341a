package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/scan/model"
	"github.com/mlattest/mlattest/store"
)

// TestScanModelStoreChanged: an object truncated after its listing (its
// size no longer what was listed) stops `scan model` with an error naming
// its URI, ErrChanged and ErrUnreadable (a usage-level failure, never a
// verdict), with and without the digest; the objects before it scanned.
func TestScanModelStoreChanged(t *testing.T) {
	ctx := context.Background()
	for _, withDigest := range []bool{true, false} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a", "ok.safetensors"), string(safetensorsFile()))
		p := filepath.Join(dir, "b", "m.safetensors")
		writeFile(t, p, string(safetensorsFile()))
		l, err := store.ListObjects(ctx, "file://"+filepath.ToSlash(dir), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 12); err != nil {
			t.Fatal(err)
		}
		rs, err := scanModelObjects(ctx, l, withDigest, io.Discard)
		uri := l.URI("b/m.safetensors")
		if !errors.Is(err, store.ErrChanged) || !errors.Is(err, model.ErrUnreadable) || !strings.Contains(err.Error(), uri+": ") {
			t.Fatalf("digest %v: err = %v, want ErrChanged naming %s", withDigest, err, uri)
		}
		if len(rs) != 1 || rs[0].Path != l.URI("a/ok.safetensors") || rs[0].Verdict != model.Safe {
			t.Fatalf("digest %v: scanned %+v before the error", withDigest, rs)
		}
	}
}
