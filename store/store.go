// Package store reads object storage as a source of files: s3:// prefixes
// (AWS S3 or any S3-compatible server) and file:// directories, listed in
// key order and read with ranged parallel GETs, so that package digest
// hashes a prefix exactly as it hashes a local directory holding the same
// files.
//
// # Locations
//
// A location is s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or
// file:///ABSOLUTE/DIR. A prefix names a directory: its
// objects are named by their keys relative to PREFIX/ (a missing trailing
// slash is added, so s3://b/data never lists s3://b/data2/x).
//
// # Credentials and endpoints
//
// The S3 client is the AWS SDK for Go v2 with its standard chains: the
// AWS_* environment, shared config and credentials files (AWS_PROFILE),
// web identity tokens (EKS IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE),
// the ECS and EC2 metadata services. An S3-compatible server is named by
// AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL, or endpoint_url in the shared
// config); with such an endpoint buckets are addressed by path
// (http://host/bucket/key), which every S3-compatible server understands.
// Nothing secret is ever taken from a command-line flag. Without a
// configured region, us-east-1 is used.
//
// gs:// is read with the Cloud Storage client and Application Default
// Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's credentials, GKE
// Workload Identity, the metadata server); STORAGE_EMULATOR_HOST names an
// emulator. An object's generation stands in for its ETag below.
//
// # Trust
//
// An object's ETag is recorded and sent back as If-Match on every ranged
// GET, so that the ranges of one read all come from the same version of
// the object (a replaced object is ErrChanged, not a mix of two), but it is
// never taken as a digest: multipart ETags are not content hashes, and
// the server computes them. Every byte is read and hashed.
//
// # Retries
//
// 5xx answers, throttling (SlowDown, 503) and connection failures are
// retried by the SDK's standard retryer (for gs:// the Cloud Storage
// client's, on 429, 5xx and lost connections) with exponential backoff and
// jitter (WithRetry; default 10 attempts, at most 20 s apart) and without
// its client-side retry quota, which would fail a long batch job after a
// burst of throttling. A body that breaks off mid-read is read again from
// where it stopped, with the same backoff.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

// Object is one object of a listing.
type Object struct {
	// Key is the object's full key in its bucket.
	Key string
	// Name is Key relative to the location's prefix: the file name a
	// directory holding the same files would give it.
	Name string
	// Size is the size the listing gave.
	Size int64
	// ETag is what the server said, recorded for If-Match; never a digest.
	ETag string
}

// Bucket lists and reads the objects below one location.
type Bucket interface {
	// List calls fn for every object below the location's prefix, in
	// ascending byte order of key, page by page as the listing arrives.
	List(ctx context.Context, fn func(Object) error) error
	// ReadRange returns the bytes [off, off+n) of obj; n <= 0 reads to the
	// end. A read whose object changed since the listing (its ETag no
	// longer matches) is an ErrChanged error.
	ReadRange(ctx context.Context, obj Object, off, n int64) (io.ReadCloser, error)
	// Location is the location listed, as a URL ("s3://b/prefix/").
	Location() string
}

// Errors of Open and of reads.
var (
	// ErrUnsupported: a location scheme store does not read (yet).
	ErrUnsupported = errors.New("storage scheme not supported")
	// ErrBadLocation: a location that is not a valid URL of a known form.
	ErrBadLocation = errors.New("bad storage location")
	// ErrChanged: an object changed (ETag no longer matches, or its size
	// differs) or vanished between its listing and its read. It is
	// digest.ErrChanged, so either package's callers can test for it.
	ErrChanged = digest.ErrChanged
)

// Location is a parsed location URL.
type Location struct {
	Scheme string // s3, gs or file
	Bucket string // empty for file
	// Prefix is the key prefix ending in "/" (empty: the whole bucket), or
	// for file the directory's absolute path.
	Prefix string
}

// String is the location as a URL.
func (l Location) String() string {
	if l.Scheme == "file" {
		return "file://" + filepath.ToSlash(l.Prefix)
	}
	return l.Scheme + "://" + l.Bucket + "/" + l.Prefix
}

// IsURL reports whether arg names a location (has a scheme store knows),
// so that callers can tell it from a local path.
func IsURL(arg string) bool {
	for _, s := range []string{"s3://", "gs://", "file://"} {
		if strings.HasPrefix(arg, s) {
			return true
		}
	}
	return false
}

// ParseLocation parses s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX] or
// file:///DIR. Its String is what names the location's objects in
// statements (the location followed by each object's name), so it must be
// a valid artifact name (NFC, no control characters, backslashes, "." or
// ".." segments) and parse back to the same location: a prefix holding
// '%', '?' or '#' once unescaped is refused rather than recorded under a
// name that means another location.
func ParseLocation(raw string) (Location, error) {
	loc, err := parseLocation(raw)
	if err != nil {
		return Location{}, err
	}
	s := loc.String()
	if err := predicates.CheckArtifactName(s); err != nil {
		return Location{}, fmt.Errorf("%w %q: %w", ErrBadLocation, raw, err)
	}
	if again, err := parseLocation(s); err != nil || again != loc {
		return Location{}, fmt.Errorf("%w %q: it would be recorded as %q, which names another location (no '%%', '?' or '#' in a bucket or prefix)", ErrBadLocation, raw, s)
	}
	return loc, nil
}

func parseLocation(raw string) (Location, error) {
	bad := func(why string) (Location, error) {
		return Location{}, fmt.Errorf("%w %q: %s", ErrBadLocation, raw, why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad(err.Error())
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return bad("no query, fragment or user part is allowed")
	}
	switch u.Scheme {
	case "s3", "gs":
		if u.Host == "" {
			return bad("no bucket")
		}
		prefix := strings.TrimPrefix(u.Path, "/")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "//") {
			return bad("empty path segment in the prefix")
		}
		return Location{Scheme: u.Scheme, Bucket: u.Host, Prefix: prefix}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return bad("a file URL names a local path: file:///DIR")
		}
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return bad("a file URL needs an absolute path: file:///DIR")
		}
		return Location{Scheme: "file", Prefix: filepath.Clean(u.Path)}, nil
	}
	return bad("scheme must be s3, gs or file")
}

// Option configures Open.
type Option func(*config)

type config struct {
	maxAttempts int
	maxBackoff  time.Duration
	partSize    int64
	parallel    int
}

func buildConfig(opts []Option) config {
	c := config{maxAttempts: 10, maxBackoff: 20 * time.Second, partSize: DefaultPartSize, parallel: DefaultParallel}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithRetry sets the attempts made for one request (at least 1) and the
// longest wait between two.
func WithRetry(maxAttempts int, maxBackoff time.Duration) Option {
	return func(c *config) {
		if maxAttempts > 0 {
			c.maxAttempts = maxAttempts
		}
		if maxBackoff > 0 {
			c.maxBackoff = maxBackoff
		}
	}
}

// Open returns the bucket of a location URL (see ParseLocation).
func Open(ctx context.Context, raw string, opts ...Option) (Bucket, error) {
	loc, err := ParseLocation(raw)
	if err != nil {
		return nil, err
	}
	c := buildConfig(opts)
	switch loc.Scheme {
	case "s3":
		return openS3(ctx, loc, c)
	case "gs":
		return openGS(ctx, loc, c)
	case "file":
		return openFile(loc)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, loc)
}
