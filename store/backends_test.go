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

// objectStore is what the tests of behaviour s3:// and gs:// share need of
// a local server (stacktest.S3 or stacktest.GCS).
type objectStore interface {
	// Setenv points the process at addr ("" for the server itself).
	Setenv(t testing.TB, addr string)
	NewBucket(t testing.TB) string
	Put(t testing.TB, bucket, key string, body []byte)
	PutAll(t testing.TB, bucket, prefix string, files map[string][]byte)
	Delete(t testing.TB, bucket, key string)
}

// backend is one object store the shared tests run against, with what
// differs between them: how a server is addressed, what its listing
// requests and its errors look like, and how large the test corpora are.
type backend struct {
	scheme string
	// get returns the running server and its base URL, or skips the test.
	get func(testing.TB) (objectStore, string)
	// offline is a store not backed by a server, pointed at a fake one.
	offline objectStore
	// addr is what Setenv takes for a server at url.
	addr   func(url string) string
	isList func(*http.Request) bool
	// throttle is the status the server rate-limits with.
	throttle int
	// unavailable answers as the server does when it is down, and the
	// error after the retries names wantDown.
	unavailable func(w http.ResponseWriter)
	wantDown    string
	// Corpus sizes: the digest test's small files and large objects, the
	// fault test's large object and part size.
	digestFiles int
	digestLarge map[string]int
	faultLarge  int
	faultPart   int64
}

var backends = []backend{
	{
		scheme: "s3",
		get: func(t testing.TB) (objectStore, string) {
			s := stacktest.GetS3(t)
			return s, s.Endpoint
		},
		offline:  &stacktest.S3{AccessKey: "k", SecretKey: "s", Region: "us-east-1"},
		addr:     func(url string) string { return url },
		isList:   func(r *http.Request) bool { return r.URL.Query().Get("list-type") == "2" },
		throttle: http.StatusServiceUnavailable, // SlowDown
		unavailable: func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<Error><Code>SlowDown</Code><Message>slow down</Message></Error>`)
		},
		wantDown:    "SlowDown",
		digestFiles: 2500,
		digestLarge: map[string]int{"model/large-1.bin": 48<<20 + 12345, "model/large-2.bin": DefaultPartSize},
		faultLarge:  20<<20 + 3,
		faultPart:   4 << 20,
	},
	{
		scheme: "gs",
		get: func(t testing.TB) (objectStore, string) {
			g := stacktest.GetGCS(t)
			return g, "http://" + g.Host
		},
		offline:  &stacktest.GCS{},
		addr:     func(url string) string { return strings.TrimPrefix(url, "http://") },
		isList:   gcsList,
		throttle: http.StatusTooManyRequests,
		unavailable: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":503,"message":"backend unavailable"}}`)
		},
		wantDown:    "503",
		digestFiles: 1500,
		digestLarge: map[string]int{"model/large-1.bin": 20<<20 + 12345},
		faultLarge:  6<<20 + 3,
		faultPart:   1 << 20,
	},
}

// gcsList: a JSON-API object listing (GET /storage/v1/b/BUCKET/o).
func gcsList(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/o")
}

// TestDigestEqualsLocal: a prefix of thousands of objects (empty ones,
// odd names, deep prefixes, large objects read in ranged parts) digests to
// exactly what a directory with the same files digests to; objects beside
// the prefix (a sibling sharing its first letters) are not listed.
func TestDigestEqualsLocal(t *testing.T) {
	for _, be := range backends {
		t.Run(be.scheme, func(t *testing.T) {
			if testing.Short() {
				t.Skip("uploads thousands of objects")
			}
			s, _ := be.get(t)
			s.Setenv(t, "")
			bucket := s.NewBucket(t)
			files := corpus(be.digestFiles, be.digestLarge)
			start := time.Now()
			s.PutAll(t, bucket, "data/", files)
			s.Put(t, bucket, "data2/sibling", []byte("not below data/"))
			s.Put(t, bucket, "datafile", []byte("not below data/"))
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
					b, err := Open(context.Background(), be.scheme+"://"+bucket+"/data", tc.opts...)
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
						t.Fatalf("%s digest differs from the local one: %d vs %d artifacts\n%s", be.scheme, len(got), len(want), firstDiff(got, want))
					}
				})
			}
		})
	}
}

// TestRetriesFaults: with one request in three answered with the server's
// throttling status (S3's 503 SlowDown, GCS's 429) then 500, and one
// object in three having its first body cut off mid-way, the digest is
// unchanged; the faults were really met, and the listing took several
// pages.
func TestRetriesFaults(t *testing.T) {
	for _, be := range backends {
		t.Run(be.scheme, func(t *testing.T) {
			if testing.Short() {
				t.Skip("uploads objects")
			}
			s, url := be.get(t)
			bucket := s.NewBucket(t)
			files := corpus(1100, map[string]int{"large.bin": be.faultLarge})
			s.PutAll(t, bucket, "p/", files)
			want, err := digest.Paths(context.Background(), localTree(t, files), []string{"."})
			if err != nil {
				t.Fatal(err)
			}
			proxy := newFaultProxy(t, url, be.isList)
			proxy.throttle.Store(int64(be.throttle))
			s.Setenv(t, be.addr(proxy.srv.URL))
			b, err := Open(context.Background(), be.scheme+"://"+bucket+"/p/", WithRetry(10, 300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := digest.FromSource(context.Background(), NewSource(b, WithParts(be.faultPart, 4), WithRetry(10, 300*time.Millisecond)), digest.WithWorkers(32))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d requests, %d throttled (%d), %d 500, %d bodies cut, %d list pages, in %v",
				proxy.requests.Load(), proxy.slowDown.Load(), be.throttle, proxy.internal.Load(), proxy.cut.Load(), proxy.lists.Load(), time.Since(start))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("digest through faults differs: %s", firstDiff(got, want))
			}
			if proxy.slowDown.Load() == 0 || proxy.internal.Load() == 0 || proxy.cut.Load() == 0 {
				t.Fatal("the proxy injected no fault of some kind: the test proves nothing")
			}
			if proxy.lists.Load() < 2 {
				t.Fatalf("%d listing requests for %d objects: pagination not exercised", proxy.lists.Load(), len(files))
			}
		})
	}
}

// TestGivesUp: a server that always answers 503 fails the listing after
// the configured attempts, naming the location and the server's error.
func TestGivesUp(t *testing.T) {
	for _, be := range backends {
		t.Run(be.scheme, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				be.unavailable(w)
			}))
			defer srv.Close()
			be.offline.Setenv(t, be.addr(srv.URL))
			loc := be.scheme + "://bucket/p"
			b, err := Open(context.Background(), loc, WithRetry(3, 50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			_, err = digest.FromSource(context.Background(), NewSource(b))
			if err == nil || !strings.Contains(err.Error(), loc+"/") || !strings.Contains(err.Error(), be.wantDown) {
				t.Fatalf("err = %v, want a listing error naming the location and %s", err, be.wantDown)
			}
			if n.Load() != 3 {
				t.Fatalf("%d requests, want 3 attempts", n.Load())
			}
		})
	}
}

// TestObjectChanged: an object replaced or deleted between listing and
// reading is ErrChanged naming it (S3 reads with If-Match on the listed
// ETag, GCS asks for the listed generation), never the new bytes.
func TestObjectChanged(t *testing.T) {
	for _, be := range backends {
		t.Run(be.scheme, func(t *testing.T) {
			s, _ := be.get(t)
			s.Setenv(t, "")
			bucket := s.NewBucket(t)
			for _, tc := range []struct {
				name   string
				size   int
				change func(key string)
			}{
				{"replaced small", 1000, func(key string) { s.Put(t, bucket, key, pattern("other", 1000)) }},
				{"replaced ranged", 3<<20 + 5, func(key string) { s.Put(t, bucket, key, pattern("other", 3<<20+5)) }},
				{"deleted", 1000, func(key string) { s.Delete(t, bucket, key) }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					prefix := strings.ReplaceAll(tc.name, " ", "-") + "/"
					key := prefix + "obj"
					s.Put(t, bucket, key, pattern(key, tc.size))
					b, err := Open(context.Background(), be.scheme+"://"+bucket+"/"+prefix)
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
		})
	}
}
