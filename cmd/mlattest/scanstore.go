package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/scan/data"
	"github.com/mlattest/mlattest/scan/model"
	"github.com/mlattest/mlattest/store"
)

// storeURIHelp is what the scan commands' help says of storage locations.
const storeURIHelp = `A PATH may be a storage location instead: s3://BUCKET/PREFIX,
gs://BUCKET/PREFIX or file:///DIR (every object below it but what the
ignore patterns skip, as digest lists it), or the URL of one object
(s3://BUCKET/KEY). Objects are named by
their full URI in the output and the statement, with the SHA-256 of the bytes
read; an object that changes or vanishes while it is read is an error naming
it. Credentials come from the AWS SDK's standard chains (s3://; an
S3-compatible server by AWS_ENDPOINT_URL_S3) and Google Application Default
Credentials (gs://), never from flags.`

// listStore lists a location for a scan, with the cmd's usage errors.
func listStore(ctx context.Context, raw string, walk []digest.Option) (*store.Objects, error) {
	l, err := store.ListObjects(ctx, raw, nil, walk...)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// scanModelStore scans the objects of one location: each is spooled
// (read once, hashed on the way) into a private temporary directory that
// is removed afterwards, so that formats needing random access and
// companion files (shard indexes, ONNX external data) are read as locally;
// results are named by URI and carry the spooled SHA-256.
func scanModelStore(ctx context.Context, raw string, withDigest bool, progress io.Writer, walk []digest.Option) ([]model.Result, error) {
	l, err := listStore(ctx, raw, walk)
	if err != nil {
		return nil, err
	}
	var results []model.Result
	err = l.WithSpool(ctx, func(dir string, arts []digest.Artifact) error {
		sums := make(map[string]string, len(arts))
		for _, a := range arts {
			sums[a.Name] = a.SHA256
		}
		// Every spooled file is scanned: the ignore patterns were applied
		// to the listing.
		s := model.New(model.WithDigest(false), model.WithProgress(progress), model.WithWalk(digest.WithIgnore()))
		return s.ScanPaths(ctx, []string{dir}, func(r model.Result) error {
			rel, err := filepath.Rel(dir, r.Path)
			if err != nil {
				return err
			}
			name := filepath.ToSlash(rel)
			sum, ok := sums[name]
			if !ok {
				return fmt.Errorf("%s: scanned a file that was not listed", l.URI(name))
			}
			r.Path = l.URI(name)
			if withDigest {
				r.SHA256 = sum
			}
			results = append(results, r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(results) != len(l.Files) {
		return nil, fmt.Errorf("%s: %d objects listed, %d scanned", l.Source.Location(), len(l.Files), len(results))
	}
	return results, nil
}

// scanDataStore scans every object of one location as a dataset, each
// decoded as a stream of ranged GETs of its listed version (read again
// for each pass of the scanner), hashed during the first.
func scanDataStore(ctx context.Context, raw string, opts []data.Option) ([]*data.Result, error) {
	l, err := listStore(ctx, raw, nil)
	if err != nil {
		return nil, err
	}
	var out []*data.Result
	for _, f := range l.Files {
		open := func() (io.ReadCloser, error) { return unreadableOnError{l.Open(ctx, f)}, nil }
		r, err := data.Scan(ctx, l.URI(f.Name), open, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// unreadableOnError marks a failed read of an object as data.ErrUnreadable:
// the scan stops with the error instead of reporting the records read
// before it as an incomplete result.
type unreadableOnError struct{ io.ReadCloser }

func (u unreadableOnError) Read(p []byte) (int, error) {
	n, err := u.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", data.ErrUnreadable, err)
	}
	return n, err
}
