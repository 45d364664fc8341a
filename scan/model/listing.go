package model

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

// File is random access to one file's bytes: a local file, or an object
// in storage read with ranged GETs.
type File interface {
	io.ReaderAt
	Size() int64
	Close() error
}

// Listing is files that are not on the local disk, such as the objects
// below a storage location, named by "/"-separated paths relative to the
// listing's root.
type Listing interface {
	// Open returns random access to the named file. Every call is a reader
	// of its own: the digest and the format scan each read through one,
	// so that each reads sequentially where it can.
	Open(ctx context.Context, name string) (File, error)
	// URI is the name results and errors give the file.
	URI(name string) string
}

// ScanListing scans the named files of l, in order, as ScanFile scans a
// local one: through random access, reading what the format needs (a
// safetensors header, not its tensors) while the digest, when on, streams
// every byte. A shard index's targets and ONNX external data resolve
// among names (a listing has no symlinks; paths are already confined to
// it). A file that cannot be opened or read, or that reads otherwise than
// listed (changed, truncated), stops the scan with an error wrapping
// ErrUnreadable that names its URI.
func (s *Scanner) ScanListing(ctx context.Context, l Listing, names []string, each func(Result) error) error {
	listed := make(map[string]bool, len(names))
	for _, n := range names {
		listed[n] = true
	}
	for _, name := range names {
		r, err := s.scanListed(ctx, l, listed, name)
		if err != nil {
			return err
		}
		if err := each(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scanner) scanListed(ctx context.Context, l Listing, listed map[string]bool, name string) (Result, error) {
	uri := l.URI(name)
	f, err := l.Open(ctx, name)
	if err != nil {
		return Result{}, unreadable(uri, err)
	}
	defer f.Close()
	hash := io.ReaderAt(f)
	if s.digest {
		h, err := l.Open(ctx, name)
		if err != nil {
			return Result{}, unreadable(uri, err)
		}
		defer h.Close()
		hash = h
	}
	dir := path.Dir(name)
	t := target{
		path: uri, base: path.Base(name), scan: f, hash: hash, size: f.Size(), strict: true,
		external: func(loc string) *Finding {
			p := path.Join(dir, strings.ReplaceAll(loc, `\`, "/"))
			if !listed[p] {
				return &Finding{Rule: "onnx-external-missing", Severity: Unknown, Offset: -1, Message: fmt.Sprintf("external data %q is not next to the model: %s is not among the scanned objects", loc, l.URI(p))}
			}
			return nil
		},
		shard: func(target string) (File, string) {
			p := path.Join(dir, target)
			if !listed[p] {
				return nil, "is not a regular file among the scanned files"
			}
			sf, err := l.Open(ctx, p)
			if err != nil {
				return nil, fmt.Sprintf("cannot be opened: %v", err)
			}
			return sf, ""
		},
	}
	return s.scanTarget(ctx, t)
}
