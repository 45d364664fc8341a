package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
)

// fileBucket is a local directory seen as a bucket: listed by digest's
// walker (same names, symbolic links refused, special files refused),
// nothing ignored (callers apply their own patterns).
type fileBucket struct {
	loc Location
}

func openFile(loc Location) (*fileBucket, error) {
	fi, err := os.Stat(loc.Prefix)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", loc, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("store: %s: %w: not a directory", loc, ErrBadLocation)
	}
	return &fileBucket{loc: loc}, nil
}

func (b *fileBucket) Location() string { return b.loc.String() + "/" }

func (b *fileBucket) List(ctx context.Context, fn func(Object) error) error {
	files, err := digest.Walk(ctx, b.loc.Prefix, []string{"."}, digest.WithIgnore())
	if err != nil {
		return fmt.Errorf("store: listing %s: %w", b.loc, err)
	}
	for _, f := range files {
		fi, err := os.Lstat(f.Path)
		if err != nil {
			return fmt.Errorf("store: listing %s: %s: %w", b.loc, f.Name, err)
		}
		if err := fn(Object{Key: f.Name, Name: f.Name, Size: fi.Size(), ETag: fileETag(fi)}); err != nil {
			return err
		}
	}
	return nil
}

// fileETag stands for an object's ETag: a file's version as far as a
// directory can tell (modification time and size), so that a file
// changed between listing and reading is ErrChanged, as an object is.
func fileETag(fi os.FileInfo) string {
	return fmt.Sprintf("%x-%x", fi.ModTime().UnixNano(), fi.Size())
}

func (b *fileBucket) ReadRange(ctx context.Context, obj Object, off, n int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := fsutil.OpenNonBlocking(filepath.Join(b.loc.Prefix, filepath.FromSlash(obj.Key)), true)
	if err != nil {
		return nil, fmt.Errorf("store: reading %s/%s: %w", b.loc, obj.Name, err)
	}
	if obj.ETag != "" {
		fi, err := f.Stat()
		if err == nil && (!fi.Mode().IsRegular() || fileETag(fi) != obj.ETag) {
			err = fmt.Errorf("%w (modification time or size)", ErrChanged)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("store: reading %s/%s: %w", b.loc, obj.Name, err)
		}
	}
	if n <= 0 {
		n = 1<<63 - 1 - off
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, n), f}, nil
}

// PutFrom writes the object through a temporary file renamed into place.
func (b *fileBucket) PutFrom(ctx context.Context, name string, r io.ReadSeeker, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := fsutil.WriteAtomic(filepath.Join(b.loc.Prefix, filepath.FromSlash(name)), 0o644, func(w io.Writer) error {
		n, err := io.Copy(w, r)
		if err == nil && n != size {
			err = fmt.Errorf("%d bytes, want %d", n, size)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: writing %s/%s: %w", b.loc, name, err)
	}
	return nil
}

func (b *fileBucket) Put(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(b.loc.Prefix, filepath.FromSlash(name)), data, 0o644); err != nil {
		return fmt.Errorf("store: writing %s/%s: %w", b.loc, name, err)
	}
	return nil
}
