package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
)

// gsBucket is a prefix of a Google Cloud Storage bucket, read with the
// Cloud Storage client and Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's user credentials, GKE Workload
// Identity or the metadata server); STORAGE_EMULATOR_HOST points it at an
// emulator instead, without credentials.
//
// An object's version is its generation: Object.ETag holds it in decimal,
// and every read asks for that generation with a generation-match
// precondition, so an object replaced or deleted after the listing is
// ErrChanged rather than other bytes.
type gsBucket struct {
	loc    Location
	client *storage.Client
	bkt    *storage.BucketHandle
}

func openGS(ctx context.Context, loc Location, c config) (*gsBucket, error) {
	client, err := storage.NewClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: the Google Cloud Storage client for %s: %w", loc, err)
	}
	// Reads and listings are idempotent: retry them on 429, 5xx and lost
	// connections (the client's ShouldRetry), with exponential backoff.
	client.SetRetry(
		storage.WithPolicy(storage.RetryAlways),
		storage.WithMaxAttempts(c.maxAttempts),
		storage.WithBackoff(gax.Backoff{Initial: 100 * time.Millisecond, Max: c.maxBackoff, Multiplier: 2}),
	)
	return &gsBucket{loc: loc, client: client, bkt: client.Bucket(loc.Bucket)}, nil
}

func (b *gsBucket) Location() string { return b.loc.String() }

// List pages through the bucket below the prefix; the server lists names
// in ascending byte order.
func (b *gsBucket) List(ctx context.Context, fn func(Object) error) error {
	q := &storage.Query{Prefix: b.loc.Prefix, Projection: storage.ProjectionNoACL}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Generation"}); err != nil {
		return fmt.Errorf("store: listing %s: %w", b.loc, err)
	}
	it := b.bkt.Objects(ctx, q)
	// GCS's own page limit, asked for explicitly: servers that would
	// otherwise answer in one page (emulators) page as GCS does.
	it.PageInfo().MaxSize = 1000
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: listing %s: %w", b.loc, err)
		}
		name, ok := strings.CutPrefix(a.Name, b.loc.Prefix)
		if !ok {
			return fmt.Errorf("store: listing %s: the server returned object %q outside the prefix", b.loc, a.Name)
		}
		if err := fn(Object{Key: a.Name, Name: name, Size: a.Size, ETag: strconv.FormatInt(a.Generation, 10)}); err != nil {
			return err
		}
	}
}

func (b *gsBucket) object(obj Object) (*storage.ObjectHandle, error) {
	o := b.bkt.Object(obj.Key)
	if obj.ETag != "" {
		gen, err := strconv.ParseInt(obj.ETag, 10, 64)
		if err != nil || gen <= 0 {
			return nil, fmt.Errorf("store: reading %s%s: generation %q is not a number", b.loc, obj.Name, obj.ETag)
		}
		o = o.Generation(gen).If(storage.Conditions{GenerationMatch: gen})
	}
	// The stored bytes, never a decompressed rendering of them: a gzip
	// Content-Encoding would otherwise change what is hashed.
	return o.ReadCompressed(true), nil
}

func (b *gsBucket) ReadRange(ctx context.Context, obj Object, off, n int64) (io.ReadCloser, error) {
	o, err := b.object(obj)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		n = -1
	}
	r, err := o.NewRangeReader(ctx, off, n)
	if err != nil {
		var ge *googleapi.Error
		switch {
		case errors.Is(err, storage.ErrObjectNotExist):
			return nil, fmt.Errorf("store: reading %s%s: %w (object or generation %s not found)", b.loc, obj.Name, ErrChanged, obj.ETag)
		case errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed:
			return nil, fmt.Errorf("store: reading %s%s: %w (generation %s no longer current)", b.loc, obj.Name, ErrChanged, obj.ETag)
		}
		return nil, fmt.Errorf("store: reading %s%s: %w", b.loc, obj.Name, err)
	}
	return r, nil
}

func (b *gsBucket) Put(ctx context.Context, name string, data []byte) error {
	w := b.bkt.Object(b.loc.Prefix + name).NewWriter(ctx)
	w.ChunkSize = 0 // one request: a part is small
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("store: writing %s%s: %w", b.loc, name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("store: writing %s%s: %w", b.loc, name, err)
	}
	return nil
}
