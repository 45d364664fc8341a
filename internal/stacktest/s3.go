package stacktest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 is the local S3-compatible server (SeaweedFS) started by scripts/s3.sh.
type S3 struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	// StateDir is the server's state directory (its PID file, log, data).
	StateDir string
}

// The variables written to env.sh by scripts/s3.sh start.
const (
	envS3State     = "MLATTEST_S3_STATE"
	envS3Endpoint  = "MLATTEST_S3_ENDPOINT"
	envS3AccessKey = "AWS_ACCESS_KEY_ID"
	envS3SecretKey = "AWS_SECRET_ACCESS_KEY"
	envS3Region    = "AWS_REGION"
)

// GetS3 returns the running server, or skips (fails under CI=true) the test.
// It is found through env.sh in $MLATTEST_S3_STATE or the default state
// directory, never through the process's AWS_* variables (those may name a
// real account).
func GetS3(t testing.TB) *S3 {
	t.Helper()
	s, err := findS3(os.Getenv)
	if err == nil {
		err = s.probe()
	}
	if err != nil {
		unavailableWith(t, "scripts/s3.sh start", "local S3 server not available: %v", err)
	}
	return s
}

func findS3(getenv func(string) string) (*S3, error) {
	dir, vars, err := serviceEnv(getenv, envS3State, "s3")
	if err != nil {
		return nil, err
	}
	s := &S3{Endpoint: vars[envS3Endpoint], AccessKey: vars[envS3AccessKey], SecretKey: vars[envS3SecretKey], Region: vars[envS3Region], StateDir: dir}
	if s.Endpoint == "" || s.AccessKey == "" || s.SecretKey == "" {
		return nil, fmt.Errorf("%s/env.sh lacks %s, %s or %s", dir, envS3Endpoint, envS3AccessKey, envS3SecretKey)
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	return s, nil
}

func (s *S3) probe() error {
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return fmt.Errorf("bad endpoint %q: %w", s.Endpoint, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return fmt.Errorf("%s not answering: %w", s.Endpoint, err)
	}
	return c.Close()
}

// Env is the environment a process needs to reach the server through the
// AWS SDK's standard chains, and nothing of the caller's AWS setup: its
// shared config files and the instance metadata service are switched off.
func (s *S3) Env() []string {
	return s.EnvAt(s.Endpoint)
}

// EnvAt is Env with another endpoint (a proxy in front of the server).
func (s *S3) EnvAt(endpoint string) []string {
	none := filepath.Join(os.TempDir(), "mlattest-no-aws-config")
	return []string{
		"AWS_ENDPOINT_URL_S3=" + endpoint,
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
		"AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Setenv sets Env for the rest of the test (not with t.Parallel), pointing
// at endpoint ("" for the server itself).
func (s *S3) Setenv(t testing.TB, endpoint string) {
	t.Helper()
	if endpoint == "" {
		endpoint = s.Endpoint
	}
	for _, kv := range s.EnvAt(endpoint) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// Client is an S3 client of the server, for a test's setup.
func (s *S3) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       s.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		UsePathStyle: true,
	})
}

// NewBucket creates a bucket of its own for the test, emptied and removed
// when the test ends.
func (s *S3) NewBucket(t testing.TB) string {
	t.Helper()
	name := bucketName()
	ctx := context.Background()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("stacktest: creating bucket %s: %v", name, err)
	}
	t.Cleanup(func() { s.removeBucket(name) })
	return name
}

func (s *S3) removeBucket(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := s.Client()
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return
		}
		var ids []types.ObjectIdentifier
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if len(ids) > 0 {
			c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(name), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		}
	}
	c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
}

// Put stores body under key, failing the test on error.
func (s *S3) Put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	s.PutReader(t, bucket, key, bytes.NewReader(body), int64(len(body)))
}

// PutReader stores size bytes from r under key.
func (s *S3) PutReader(t testing.TB, bucket, key string, r io.Reader, size int64) {
	t.Helper()
	_, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: r, ContentLength: aws.Int64(size),
	})
	if err != nil {
		t.Fatalf("stacktest: putting s3://%s/%s: %v", bucket, key, err)
	}
}

// PutStream stores everything r yields under key through the SDK's
// multipart uploader (16 MiB parts, eight at a time), so that an object of
// several GiB is neither held in memory nor limited to one PUT's 5 GiB.
func (s *S3) PutStream(t testing.TB, bucket, key string, r io.Reader) {
	t.Helper()
	up := transfermanager.New(s.Client(), func(o *transfermanager.Options) {
		o.PartSizeBytes = 16 << 20
		o.Concurrency = 8
		// The server checks no part checksums the test would want.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
	if _, err := up.UploadObject(context.Background(), &transfermanager.UploadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: r}); err != nil {
		t.Fatalf("stacktest: uploading s3://%s/%s: %v", bucket, key, err)
	}
}

// Delete removes key, failing the test on error.
func (s *S3) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if _, err := s.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("stacktest: deleting s3://%s/%s: %v", bucket, key, err)
	}
}

// PutAll stores every file below prefix, 16 at a time.
func (s *S3) PutAll(t testing.TB, bucket, prefix string, files map[string][]byte) {
	t.Helper()
	c := s.Client()
	putConcurrently(t, files, func(name string, body []byte) error {
		_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(prefix + name), Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		})
		if err != nil {
			return fmt.Errorf("putting s3://%s/%s%s: %w", bucket, prefix, name, err)
		}
		return nil
	})
}
