package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mlattest/mlattest/digest"
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

// countingBucket counts the ranged reads of a Bucket and the bytes they
// return.
type countingBucket struct {
	Bucket
	gets, bytes atomic.Int64
}

func (c *countingBucket) ReadRange(ctx context.Context, obj Object, off, n int64) (io.ReadCloser, error) {
	rc, err := c.Bucket.ReadRange(ctx, obj, off, n)
	if err != nil {
		return nil, err
	}
	c.gets.Add(1)
	return countingBody{rc, &c.bytes}, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestReaderAtTransfers: what a ReaderAt fetches from the store for two
// patterns: a model format's head, tail, length and header (what a
// safetensors scan reads) fetches those bytes and no part ahead; a long
// sequential run streams in parts, not one GET per read.
func TestReaderAtTransfers(t *testing.T) {
	ctx := context.Background()
	const size, part = 20 << 20, 1 << 20
	dir := localTree(t, map[string][]byte{"big": pattern("big", size)})
	type read struct{ off, n int64 }
	var seq []read
	for off := int64(0); off < 16<<20; off += 64 << 10 {
		seq = append(seq, read{off, 64 << 10})
	}
	for _, c := range []struct {
		name            string
		reads           []read
		maxGets, maxGot int64
	}{
		{"header", []read{{0, 4096}, {size - 65557, 65557}, {0, 8}, {8, 300}}, 4, 4096 + 65557 + 8 + 300},
		// Two GETs before the stream; 16 parts read, 4 more in flight, one
		// of the Source's own.
		{"sequential", seq, 2 + 16 + 4 + 1, 16<<20 + 5*part},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := Open(ctx, "file://"+filepath.ToSlash(dir))
			if err != nil {
				t.Fatal(err)
			}
			cb := &countingBucket{Bucket: b}
			src := NewSource(cb, WithParts(part, 4))
			files, err := digest.ListSource(ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			l := &Objects{Source: src, Files: files}
			r := l.ReaderAt(ctx, files[0])
			want := pattern("big", size)
			for _, rd := range c.reads {
				p := make([]byte, rd.n)
				if n, err := r.ReadAt(p, rd.off); n != len(p) || err != nil || !bytes.Equal(p, want[rd.off:rd.off+rd.n]) {
					t.Fatalf("ReadAt(%d, %d) = %d, %v", rd.n, rd.off, n, err)
				}
			}
			r.Close()
			if g, n := cb.gets.Load(), cb.bytes.Load(); g > c.maxGets || n > c.maxGot {
				t.Errorf("%d GETs fetched %d bytes, want at most %d and %d", g, n, c.maxGets, c.maxGot)
			}
		})
	}
}
