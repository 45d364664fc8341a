package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/mlattest/mlattest/digest"
)

// ErrNoObjects: a location lists no object (a mistyped prefix lists
// nothing; recording or scanning nothing would pass it silently).
var ErrNoObjects = errors.New("no object at this location")

// Objects is a location's Source and the files below it that pass
// digest's name checks and ignore patterns, in name order. A file's
// recorded name is URI(f): the location followed by its name.
type Objects struct {
	Source *Source
	Files  []digest.SourceFile
}

// URI is the name a file of the listing is recorded under in statements
// and scan results: the location's URL followed by the file's name
// ("s3://bucket/prefix/dir/file"). It says where the bytes came from,
// compares byte for byte like every artifact name, and is a valid
// artifact name (ParseLocation and digest's name checks see to it).
func (l *Objects) URI(name string) string { return l.Source.Location() + name }

// ListObjects opens raw and lists it. A location with no object below it that
// does not end in "/" may name one object ("s3://b/data/train.jsonl"):
// then that object alone is listed, named by its base name below its
// parent. Neither is ErrNoObjects. dopts are digest's (ignore patterns).
func ListObjects(ctx context.Context, raw string, opts []Option, dopts ...digest.Option) (*Objects, error) {
	l, err := listAt(ctx, raw, opts, dopts)
	if err != nil || len(l.Files) > 0 {
		return l, err
	}
	loc, _ := ParseLocation(raw) // parsed by listAt
	if strings.HasSuffix(raw, "/") || loc.Scheme == "file" || loc.Prefix == "" {
		return nil, fmt.Errorf("store: %s: %w", l.Source.Location(), ErrNoObjects)
	}
	key := strings.TrimSuffix(loc.Prefix, "/")
	parent := Location{Scheme: loc.Scheme, Bucket: loc.Bucket, Prefix: path.Dir(key)}
	if parent.Prefix == "." {
		parent.Prefix = ""
	} else {
		parent.Prefix += "/"
	}
	b, err := Open(ctx, parent.String(), opts...)
	if err != nil {
		return nil, err
	}
	src := NewSource(b, opts...)
	var one []digest.SourceFile
	err = src.b.List(ctx, func(o Object) error {
		if o.Name == path.Base(key) {
			src.mu.Lock()
			src.objects[o.Name] = o
			src.mu.Unlock()
			one = append(one, digest.SourceFile{Name: o.Name, Size: o.Size})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(one) == 0 {
		return nil, fmt.Errorf("store: %s: %w (neither an object nor a prefix)", raw, ErrNoObjects)
	}
	return &Objects{Source: src, Files: one}, nil
}

func listAt(ctx context.Context, raw string, opts []Option, dopts []digest.Option) (*Objects, error) {
	b, err := Open(ctx, raw, opts...)
	if err != nil {
		return nil, err
	}
	src := NewSource(b, opts...)
	files, err := digest.ListSource(ctx, src, dopts...)
	if err != nil {
		if !strings.Contains(err.Error(), b.Location()) {
			err = fmt.Errorf("%s: %w", b.Location(), err)
		}
		return nil, err
	}
	return &Objects{Source: src, Files: files}, nil
}

// Digest hashes every object below raw (digest's checks and ignore
// patterns apply) and names each by its URI. A location with no object
// is ErrNoObjects.
func Digest(ctx context.Context, raw string, opts []Option, dopts ...digest.Option) ([]digest.Artifact, error) {
	l, err := listAt(ctx, raw, opts, dopts)
	if err != nil {
		return nil, err
	}
	if len(l.Files) == 0 {
		return nil, fmt.Errorf("store: %s: %w", l.Source.Location(), ErrNoObjects)
	}
	arts, err := digest.HashSourceFiles(ctx, l.Source, l.Files, dopts...)
	if err != nil {
		if !strings.Contains(err.Error(), l.Source.Location()) {
			err = fmt.Errorf("%s: %w", l.Source.Location(), err)
		}
		return nil, err
	}
	for i := range arts {
		arts[i].Name = l.URI(arts[i].Name)
	}
	return arts, nil
}

// Open returns a reader of the listed file name: a stream of its bytes in
// order (ranged parallel GETs, each of the listed version). Fewer or more
// bytes than listed, or a changed object, is an ErrChanged error from
// Read, never a silently short stream.
func (l *Objects) Open(ctx context.Context, f digest.SourceFile) io.ReadCloser {
	return l.openRange(ctx, f, 0, f.Size)
}

// openRange is Open of the bytes [start, end) of f.
func (l *Objects) openRange(ctx context.Context, f digest.SourceFile, start, end int64) io.ReadCloser {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		n, err := l.Source.ReadRangeTo(ctx, f.Name, start, end, pw)
		if err == nil && n != end-start {
			err = fmt.Errorf("store: reading %s: %w: %d bytes from offset %d, listed with %d", l.URI(f.Name), ErrChanged, n, start, f.Size)
		}
		pw.CloseWithError(err)
	}()
	return &cancelReader{PipeReader: pr, cancel: cancel}
}

type cancelReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (c *cancelReader) Close() error {
	c.cancel()
	return c.PipeReader.Close()
}
