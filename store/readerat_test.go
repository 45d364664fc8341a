package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestReaderAt: over a listed object, ReadAt returns what bytes.Reader's
// ReadAt returns for the same bytes, for jumps, sequential runs across
// parts, reads past the end and an empty object; an
// object that shrank after its listing is an ErrChanged error, whether the
// read jumps or streams.
func TestReaderAt(t *testing.T) {
	ctx := context.Background()
	files := map[string][]byte{"big": pattern("big", 100_003), "empty": nil}
	dir := localTree(t, files)
	l, err := ListObjects(ctx, "file://"+filepath.ToSlash(dir), []Option{WithParts(1000, 3)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range l.Files {
		want := bytes.NewReader(files[f.Name])
		r := l.ReaderAt(ctx, f)
		rng := rand.New(rand.NewPCG(1, 2))
		off := int64(0)
		for i := range 3000 {
			if i%7 == 0 || off >= f.Size {
				off = rng.Int64N(f.Size + 10)
			}
			p := make([]byte, 1+rng.IntN(3000))
			q := make([]byte, len(p))
			n, err := r.ReadAt(p, off)
			m, werr := want.ReadAt(q, off)
			if n != m || err != werr || !bytes.Equal(p[:n], q[:m]) {
				t.Fatalf("%s: ReadAt(%d bytes, %d) = %d, %v; want %d, %v (same bytes: %v)", f.Name, len(p), off, n, err, m, werr, bytes.Equal(p[:n], q[:m]))
			}
			off += int64(n)
		}
		if n, err := r.ReadAt(make([]byte, 1), -1); n != 0 || err == nil || err == io.EOF {
			t.Fatalf("%s: ReadAt at -1 = %d, %v; want an error", f.Name, n, err)
		}
		r.Close()
	}

	// The object shrinks after its listing.
	big := l.Files[0]
	if big.Name != "big" {
		t.Fatalf("listing starts with %s", big.Name)
	}
	if err := os.Truncate(filepath.Join(dir, "big"), 50_000); err != nil {
		t.Fatal(err)
	}
	r := l.ReaderAt(ctx, big)
	defer r.Close()
	if _, err := r.ReadAt(make([]byte, 100), 60_000); !errors.Is(err, ErrChanged) {
		t.Fatalf("a jump past the new end: %v, want ErrChanged", err)
	}
	var err2 error
	for off := int64(40_000); err2 == nil && off < big.Size; off += 1000 {
		_, err2 = r.ReadAt(make([]byte, 1000), off)
	}
	if !errors.Is(err2, ErrChanged) {
		t.Fatalf("streaming past the new end: %v, want ErrChanged", err2)
	}
}
