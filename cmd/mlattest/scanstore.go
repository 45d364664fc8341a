package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/storemodel"
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

// scanModelStore scans the objects of one location through ranged reads
// (model.ScanListing): a format scan reads what it needs of an object (a
// safetensors header), the digest streams every byte once, nothing is
// copied to disk. Results are named by URI.
func scanModelStore(ctx context.Context, raw string, withDigest bool, progress io.Writer, walk []digest.Option) ([]model.Result, error) {
	l, err := listStore(ctx, raw, walk)
	if err != nil {
		return nil, err
	}
	return scanModelObjects(ctx, l, withDigest, progress)
}

// scanModelObjects scans every object of a listing (the ignore patterns
// were applied to it).
func scanModelObjects(ctx context.Context, l *store.Objects, withDigest bool, progress io.Writer) ([]model.Result, error) {
	var results []model.Result
	s := model.New(model.WithDigest(withDigest), model.WithProgress(progress))
	err := storemodel.Scan(ctx, s, l, func(r model.Result) error {
		results = append(results, r)
		return nil
	})
	return results, err
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
