package store

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

// gcsList: a JSON-API object listing (GET /storage/v1/b/BUCKET/o).
func gcsList(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/o")
}

// TestGSDigestEqualsLocal: a gs:// prefix of thousands of objects (empty
// ones, odd names, large objects read in ranged parts) digests to exactly
// what a directory with the same files digests to; a sibling prefix
// sharing its first letters is not listed.
func TestGSDigestEqualsLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads thousands of objects")
	}
	g := stacktest.GetGCS(t)
	g.Setenv(t, "")
	bucket := g.NewBucket(t)
	files := corpus(1500, map[string]int{"model/large-1.bin": 20<<20 + 12345})
	start := time.Now()
	g.PutAll(t, bucket, "data/", files)
	g.Put(t, bucket, "data2/sibling", []byte("not below data/"))
	g.Put(t, bucket, "datafile", []byte("not below data/"))
	t.Logf("uploaded %d objects in %v", len(files), time.Since(start))
	want, err := digest.Paths(context.Background(), localTree(t, files), []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"default parts", nil},
		{"small parts", []Option{WithParts(1<<20+7, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Open(context.Background(), "gs://"+bucket+"/data", tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := digest.FromSource(context.Background(), NewSource(b, tc.opts...))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("digested %d objects in %v", len(got), time.Since(start))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("gs digest differs from the local one: %d vs %d artifacts\n%s", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

// TestGSRetriesFaults: with one request in three answered 429 then 500
// and one object in three having its first body cut mid-way, the digest
// is unchanged; every kind of fault was met, and the listing took several
// pages.
func TestGSRetriesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads objects")
	}
	g := stacktest.GetGCS(t)
	bucket := g.NewBucket(t)
	files := corpus(1100, map[string]int{"large.bin": 6<<20 + 3})
	g.PutAll(t, bucket, "p/", files)
	want, err := digest.Paths(context.Background(), localTree(t, files), []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	proxy := newFaultProxy(t, "http://"+g.Host, gcsList)
	proxy.throttle.Store(http.StatusTooManyRequests)
	g.Setenv(t, strings.TrimPrefix(proxy.srv.URL, "http://"))
	b, err := Open(context.Background(), "gs://"+bucket+"/p/", WithRetry(10, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got, err := digest.FromSource(context.Background(), NewSource(b, WithParts(1<<20, 4), WithRetry(10, 300*time.Millisecond)), digest.WithWorkers(32))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests, %d 429, %d 500, %d bodies cut, %d list pages",
		proxy.requests.Load(), proxy.slowDown.Load(), proxy.internal.Load(), proxy.cut.Load(), proxy.lists.Load())
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("digest through faults differs: %s", firstDiff(got, want))
	}
	if proxy.slowDown.Load() == 0 || proxy.internal.Load() == 0 || proxy.cut.Load() == 0 {
		t.Fatal("the proxy injected no fault of some kind: the test proves nothing")
	}
	if proxy.lists.Load() < 2 {
		t.Fatalf("%d listing requests for %d objects: pagination not exercised", proxy.lists.Load(), len(files))
	}
}

// TestGSGivesUp: a server that always answers 503 fails the listing after
// the configured attempts, naming the location.
func TestGSGivesUp(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":503,"message":"backend unavailable"}}`)
	}))
	defer srv.Close()
	(&stacktest.GCS{}).Setenv(t, strings.TrimPrefix(srv.URL, "http://"))
	b, err := Open(context.Background(), "gs://bucket/p", WithRetry(3, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = digest.FromSource(context.Background(), NewSource(b))
	if err == nil || !strings.Contains(err.Error(), "gs://bucket/p/") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v, want a listing error naming the location and the 503", err)
	}
	if n.Load() != 3 {
		t.Fatalf("%d requests, want 3 attempts", n.Load())
	}
}

// TestGSObjectChanged: an object replaced or deleted between listing and
// reading is ErrChanged naming it (its listed generation is asked for),
// never the new bytes.
func TestGSObjectChanged(t *testing.T) {
	g := stacktest.GetGCS(t)
	g.Setenv(t, "")
	bucket := g.NewBucket(t)
	for _, tc := range []struct {
		name   string
		size   int
		change func(key string)
	}{
		{"replaced small", 1000, func(key string) { g.Put(t, bucket, key, pattern("other", 1000)) }},
		{"replaced ranged", 3<<20 + 5, func(key string) { g.Put(t, bucket, key, pattern("other", 3<<20+5)) }},
		{"deleted", 1000, func(key string) { g.Delete(t, bucket, key) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := strings.ReplaceAll(tc.name, " ", "-") + "/"
			key := prefix + "obj"
			g.Put(t, bucket, key, pattern(key, tc.size))
			b, err := Open(context.Background(), "gs://"+bucket+"/"+prefix)
			if err != nil {
				t.Fatal(err)
			}
			src := NewSource(b, WithParts(1<<20, 2))
			var listed []string
			if err := src.List(context.Background(), func(name string, size int64) error { listed = append(listed, name); return nil }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(listed, []string{"obj"}) {
				t.Fatalf("listed %q, want [obj]", listed)
			}
			tc.change(key)
			_, err = src.ReadTo(context.Background(), "obj", int64(tc.size), io.Discard)
			if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), key) {
				t.Fatalf("err = %v, want ErrChanged naming %s", err, key)
			}
		})
	}
}
