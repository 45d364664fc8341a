package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// s3Bucket is a prefix of an S3 bucket.
type s3Bucket struct {
	loc    Location
	client *s3.Client
	// multipartOver is the size above which PutFrom uploads in parts.
	multipartOver int64
}

// multipartOver is where PutFrom switches to a multipart upload: parts go
// in parallel, and one PUT stores at most 5 GiB (a worker's scan summaries
// may be more).
const multipartOver = 256 << 20

func openS3(ctx context.Context, loc Location, c config) (*s3Bucket, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.maxAttempts
				o.MaxBackoff = c.maxBackoff
				// The client-side retry quota fails every request once a
				// burst of throttling has used it up: a batch job would
				// rather wait.
				o.RateLimiter = ratelimit.None
			})
		}),
		// Many objects are read at once: keep their connections.
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = 256
		})),
	)
	if err != nil {
		return nil, fmt.Errorf("store: loading the AWS configuration for %s: %w", loc, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	// Every byte is hashed by the caller: the SDK's own response checksums
	// add nothing (and log a warning for each ranged GET, which has none).
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// An endpoint of one's own (AWS_ENDPOINT_URL_S3, endpoint_url) is
		// an S3-compatible server or a proxy: address buckets by path, as
		// every such server understands.
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
	return &s3Bucket{loc: loc, client: client, multipartOver: multipartOver}, nil
}

func (b *s3Bucket) Location() string { return b.loc.String() }

func (b *s3Bucket) List(ctx context.Context, fn func(Object) error) error {
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(b.loc.Bucket),
		Prefix: aws.String(b.loc.Prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("store: listing %s: %w", b.loc, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			name, ok := strings.CutPrefix(key, b.loc.Prefix)
			if !ok {
				return fmt.Errorf("store: listing %s: the server returned key %q outside the prefix", b.loc, key)
			}
			if err := fn(Object{Key: key, Name: name, Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *s3Bucket) ReadRange(ctx context.Context, obj Object, off, n int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(b.loc.Bucket), Key: aws.String(obj.Key)}
	if obj.ETag != "" {
		in.IfMatch = aws.String(obj.ETag)
	}
	switch {
	case n > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "PreconditionFailed", "NoSuchKey", "NotFound":
				return nil, fmt.Errorf("store: reading %s%s: %w (%s)", b.loc, obj.Name, ErrChanged, ae.ErrorCode())
			}
		}
		return nil, fmt.Errorf("store: reading %s%s: %w", b.loc, obj.Name, err)
	}
	return out.Body, nil
}

// PutFrom stores the size bytes of r: in one PUT, or above multipartOver
// through the SDK's multipart uploader, whose object appears only when
// every part is in (a failed upload is aborted).
func (b *s3Bucket) PutFrom(ctx context.Context, name string, r io.ReadSeeker, size int64) error {
	var err error
	if size <= b.multipartOver {
		_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(b.loc.Bucket), Key: aws.String(b.loc.Prefix + name),
			Body: r, ContentLength: aws.Int64(size),
		})
	} else {
		up := transfermanager.New(b.client, func(o *transfermanager.Options) {
			o.PartSizeBytes = max(5<<20, min(16<<20, b.multipartOver/2)) // S3's least part: 5 MiB
			o.Concurrency = 4
			o.MultipartUploadThreshold = b.multipartOver
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		})
		_, err = up.UploadObject(ctx, &transfermanager.UploadObjectInput{
			Bucket: aws.String(b.loc.Bucket), Key: aws.String(b.loc.Prefix + name), Body: &exactReader{r: r, left: size},
		})
	}
	if err != nil {
		return fmt.Errorf("store: writing %s%s: %w", b.loc, name, err)
	}
	return nil
}

func (b *s3Bucket) Put(ctx context.Context, name string, data []byte) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.loc.Bucket), Key: aws.String(b.loc.Prefix + name),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("store: writing %s%s: %w", b.loc, name, err)
	}
	return nil
}

// exactReader passes on exactly left bytes of r: an early end is an
// error, so that a short reader never completes an upload.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	n, err := e.r.Read(p[:min(int64(len(p)), e.left)])
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = fmt.Errorf("%w: %d bytes short", io.ErrUnexpectedEOF, e.left)
	}
	if e.left == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}
