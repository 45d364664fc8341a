package stacktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// GCS is the local Google Cloud Storage emulator (fake-gcs-server) started
// by scripts/gcs.sh.
type GCS struct {
	Host string // 127.0.0.1:PORT, as STORAGE_EMULATOR_HOST names it
}

// The variables written to env.sh by scripts/gcs.sh start.
const (
	envGCSState = "MLATTEST_GCS_STATE"
	envGCSHost  = "STORAGE_EMULATOR_HOST"
)

// GetGCS returns the running emulator, or skips (fails under CI=true) the
// test. It is found through env.sh in $MLATTEST_GCS_STATE or the default
// state directory, never through the process's STORAGE_EMULATOR_HOST.
func GetGCS(t testing.TB) *GCS {
	t.Helper()
	g, err := findGCS(os.Getenv)
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", g.Host, 2*time.Second); err == nil {
			c.Close()
		}
	}
	if err != nil {
		unavailableWith(t, "scripts/gcs.sh start", "local GCS emulator not available: %v", err)
	}
	return g
}

func findGCS(getenv func(string) string) (*GCS, error) {
	dir, vars, err := serviceEnv(getenv, envGCSState, "gcs")
	if err != nil {
		return nil, err
	}
	if vars[envGCSHost] == "" {
		return nil, fmt.Errorf("%s/env.sh lacks %s", dir, envGCSHost)
	}
	return &GCS{Host: vars[envGCSHost]}, nil
}

// Env is the environment a process needs to reach the emulator (host:port
// of it or of a proxy in front of it; "" for the emulator itself), with no
// Google credentials of the caller's.
func (g *GCS) Env(host string) []string {
	if host == "" {
		host = g.Host
	}
	none := filepath.Join(os.TempDir(), "mlattest-no-gcloud-config")
	return []string{
		envGCSHost + "=" + host,
		"GOOGLE_APPLICATION_CREDENTIALS=",
		"CLOUDSDK_CONFIG=" + none,
	}
}

// Setenv sets Env(host) for the rest of the test (not with t.Parallel).
func (g *GCS) Setenv(t testing.TB, host string) {
	t.Helper()
	for _, kv := range g.Env(host) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Client is a client of the emulator, for a test's setup.
func (g *GCS) Client(t testing.TB) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(context.Background(),
		option.WithEndpoint("http://"+g.Host+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("stacktest: GCS client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// NewBucket creates a bucket of its own for the test, emptied and removed
// when the test ends.
func (g *GCS) NewBucket(t testing.TB) string {
	t.Helper()
	name := bucketName()
	c := g.Client(t)
	if err := c.Bucket(name).Create(context.Background(), "mlattest-test", nil); err != nil {
		t.Fatalf("stacktest: creating bucket gs://%s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		bkt := c.Bucket(name)
		it := bkt.Objects(ctx, nil)
		for {
			a, err := it.Next()
			if err != nil {
				if !errors.Is(err, iterator.Done) {
					t.Logf("stacktest: emptying gs://%s: %v", name, err)
				}
				break
			}
			bkt.Object(a.Name).Delete(ctx)
		}
		bkt.Delete(ctx)
	})
	return name
}

// Put stores body under key, failing the test on error.
func (g *GCS) Put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	if err := g.put(g.Client(t), bucket, key, body); err != nil {
		t.Fatalf("stacktest: %v", err)
	}
}

func (g *GCS) put(c *storage.Client, bucket, key string, body []byte) error {
	w := c.Bucket(bucket).Object(key).NewWriter(context.Background())
	w.ChunkSize = 0
	if _, err := w.Write(body); err != nil {
		w.Close()
		return fmt.Errorf("putting gs://%s/%s: %w", bucket, key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("putting gs://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete removes key, failing the test on error.
func (g *GCS) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if err := g.Client(t).Bucket(bucket).Object(key).Delete(context.Background()); err != nil {
		t.Fatalf("stacktest: deleting gs://%s/%s: %v", bucket, key, err)
	}
}

// PutAll stores every file below prefix, 16 at a time.
func (g *GCS) PutAll(t testing.TB, bucket, prefix string, files map[string][]byte) {
	t.Helper()
	c := g.Client(t)
	putConcurrently(t, files, func(name string, body []byte) error {
		return g.put(c, bucket, prefix+name, body)
	})
}
