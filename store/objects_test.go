package store

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestObjectsEqualLocal: over a prefix of thousands of small objects (odd
// names, empty ones, one read in ranged parts), Digest names every object
// by location URI + name with the local digest of the same file, and Open
// and ReaderAt read exactly the files' bytes.
func TestObjectsEqualLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads thousands of objects")
	}
	s := stacktest.GetS3(t)
	s.Setenv(t, "")
	bucket := s.NewBucket(t)
	files := corpus(1500, map[string]int{"big.bin": 3<<20 + 11})
	s.PutAll(t, bucket, "d/", files)
	dir := localTree(t, files)
	want, err := digest.Paths(context.Background(), dir, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	loc := "s3://" + bucket + "/d/"
	ctx := context.Background()
	for _, raw := range []string{loc, "file://" + filepath.ToSlash(dir)} {
		t.Run(raw[:2], func(t *testing.T) {
			got, err := Digest(ctx, raw, []Option{WithParts(1<<20, 3)})
			if err != nil {
				t.Fatal(err)
			}
			prefix := strings.TrimSuffix(raw, "/") + "/"
			if len(got) != len(want) {
				t.Fatalf("%d artifacts, want %d", len(got), len(want))
			}
			for i := range want {
				if w := (digest.Artifact{Name: prefix + want[i].Name, SHA256: want[i].SHA256, Size: want[i].Size}); got[i] != w {
					t.Fatalf("artifact %d = %+v, want %+v", i, got[i], w)
				}
			}
			l, err := ListObjects(ctx, raw, []Option{WithParts(1<<20, 3)})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range l.Files {
				if f.Name != "big.bin" && f.Name != "with space/a b.txt" {
					continue
				}
				rc := l.Open(ctx, f)
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || string(b) != string(files[f.Name]) {
					t.Fatalf("Open %s: %d bytes, %v", f.Name, len(b), err)
				}
				ra := l.ReaderAt(ctx, f)
				b, err = io.ReadAll(io.NewSectionReader(ra, 0, ra.Size()))
				ra.Close()
				if err != nil || string(b) != string(files[f.Name]) {
					t.Fatalf("ReaderAt %s: %d bytes, %v", f.Name, len(b), err)
				}
			}
		})
	}
}

// TestObjectsFailClosed: what would let an object pass unread is an
// error naming it: an object replaced or deleted after the listing (Open, ReaderAt), a
// key no directory could hold (Digest, ListObjects), a location listing
// nothing (Digest, ListObjects), and a URL naming one object lists that
// object alone.
func TestObjectsFailClosed(t *testing.T) {
	s := stacktest.GetS3(t)
	s.Setenv(t, "")
	bucket := s.NewBucket(t)
	ctx := context.Background()
	base := "s3://" + bucket + "/"
	s.PutAll(t, bucket, "", map[string][]byte{
		"ok/a.jsonl": []byte("a\n"), "ok/b.jsonl": []byte("b\n"), "chg/obj": pattern("x", 2<<20+1), "chg/small": []byte("small"),
	})
	// SeaweedFS refuses a key with a ".." segment; GCS (and AWS S3) store
	// one.
	g := stacktest.GetGCS(t)
	g.Setenv(t, "")
	gsBucket := g.NewBucket(t)
	g.Put(t, gsBucket, "dots/x/../y", []byte("y"))
	dots := "gs://" + gsBucket + "/dots"
	for _, tc := range []struct {
		name string
		do   func() error
		want []string
		is   error
	}{
		{"Digest: a \"..\" key", func() error { _, err := Digest(ctx, dots, nil); return err }, []string{dots + "/", "x/../y"}, digest.ErrNotPath},
		{"ListObjects: a \"..\" key", func() error { _, err := ListObjects(ctx, dots, nil); return err }, []string{"x/../y"}, digest.ErrNotPath},
		{"Digest: nothing there", func() error { _, err := Digest(ctx, base+"none", nil); return err }, []string{base + "none/"}, ErrNoObjects},
		{"ListObjects: nothing there", func() error { _, err := ListObjects(ctx, base+"none", nil); return err }, []string{base + "none"}, ErrNoObjects},
		{"ListObjects: nothing below a slash", func() error { _, err := ListObjects(ctx, base+"ok/a.jsonl/", nil); return err }, []string{base + "ok/a.jsonl/"}, ErrNoObjects},
		{"Open: replaced after listing", func() error {
			l, err := ListObjects(ctx, base+"chg", []Option{WithParts(1<<20, 2)})
			if err != nil {
				return err
			}
			s.Put(t, bucket, "chg/obj", pattern("y", 2<<20+1))
			_, err = io.ReadAll(l.Open(ctx, l.Files[0]))
			return err
		}, []string{base + "chg/obj"}, ErrChanged},
		{"ReaderAt: deleted after listing", func() error {
			l, err := ListObjects(ctx, base+"chg", nil)
			if err != nil {
				return err
			}
			s.Delete(t, bucket, "chg/small")
			_, err = l.ReaderAt(ctx, l.Files[1]).ReadAt(make([]byte, 2), 3)
			return err
		}, []string{base + "chg/small"}, ErrChanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to name %q", err, w)
				}
			}
		})
	}
	t.Run("an object URL lists that object", func(t *testing.T) {
		l, err := ListObjects(ctx, base+"ok/b.jsonl", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Files) != 1 || l.URI(l.Files[0].Name) != base+"ok/b.jsonl" {
			t.Fatalf("listed %+v under %s", l.Files, l.Source.Location())
		}
	})
}
