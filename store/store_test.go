package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Location
		err  error
	}{
		{"s3://b", Location{Scheme: "s3", Bucket: "b"}, nil},
		{"s3://b/", Location{Scheme: "s3", Bucket: "b"}, nil},
		{"s3://b/data", Location{Scheme: "s3", Bucket: "b", Prefix: "data/"}, nil},
		{"s3://b/data/x/", Location{Scheme: "s3", Bucket: "b", Prefix: "data/x/"}, nil},
		{"gs://b/p", Location{Scheme: "gs", Bucket: "b", Prefix: "p/"}, nil},
		{"file:///tmp/x/", Location{Scheme: "file", Prefix: "/tmp/x"}, nil},
		{"s3:///data", Location{}, ErrBadLocation},
		{"s3://b//data", Location{}, ErrBadLocation},
		{"s3://b/a//b", Location{}, ErrBadLocation},
		{"s3://b/p?versionId=1", Location{}, ErrBadLocation},
		{"s3://user:secret@b/p", Location{}, ErrBadLocation},
		{"file://host/tmp", Location{}, ErrBadLocation},
		{"file:relative", Location{}, ErrBadLocation},
		{"http://b/p", Location{}, ErrBadLocation},
		{"s3://b/a/../b", Location{}, ErrBadLocation},
		{"s3://b/%2e%2e/x", Location{}, ErrBadLocation},
		{"gs://b/./x", Location{}, ErrBadLocation},
		{"s3://b/100%25/x", Location{}, ErrBadLocation},
		{"s3://b/a%3Fb", Location{}, ErrBadLocation},
		{"s3://b/tab%09", Location{}, ErrBadLocation},
		{"s3://b/e\u0301", Location{}, ErrBadLocation},
		{"gs://b/with space/ü", Location{Scheme: "gs", Bucket: "b", Prefix: "with space/ü/"}, nil},
		{"file:///tmp/../x", Location{Scheme: "file", Prefix: "/x"}, nil},
	} {
		got, err := ParseLocation(tc.raw)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v, %v", tc.raw, got, err, tc.want, tc.err)
		}
	}
}

// pattern returns n deterministic bytes for name (seeded by it).
func pattern(name string, n int) []byte {
	var seed uint64
	for _, c := range []byte(name) {
		seed = seed*31 + uint64(c)
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(n))
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// oddNames are keys a directory can also hold, with what trips naive code:
// spaces, unicode, leading dots, '-' and '.' sorting around '/', depth.
var oddNames = []string{
	"empty", "sub/empty", "with space/a b.txt", "unicode/é/日本語.bin", "..dots/...x",
	"a-b", "a/b", "a.txt", "deep/1/2/3/4/5/6/7/8/9/10/11/12/f", "x+y=z&q.bin", "percent%20name",
	"-dash", "UPPER/lower", ".hidden/.env", "semi;colon,comma'quote\"",
}

// corpus is a set of files: odd names, n small files, and large ones.
func corpus(n int, large map[string]int) map[string][]byte {
	files := map[string][]byte{}
	for _, name := range oddNames {
		size := len(name) * 3
		if strings.Contains(name, "empty") {
			size = 0
		}
		files[name] = pattern(name, size)
	}
	for i := range n {
		name := fmt.Sprintf("shards/%02d/part-%05d.jsonl", i%37, i)
		size := (i * 7919) % 9000
		if i%50 == 0 {
			size = 0
		}
		files[name] = pattern(name, size)
	}
	for name, size := range large {
		files[name] = pattern(name, size)
	}
	return files
}

// localTree writes files below a new directory.
func localTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func firstDiff(got, want []digest.Artifact) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}

// TestFileBucketEqualsLocal: file:// lists and reads through the same
// Source as s3://.
func TestFileBucketEqualsLocal(t *testing.T) {
	files := corpus(200, map[string]int{"big.bin": 3<<20 + 1})
	dir := localTree(t, files)
	want, err := digest.Paths(context.Background(), dir, []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), "file://"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	got, err := digest.FromSource(context.Background(), NewSource(b, WithParts(1<<20, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("file:// digest differs: %s", firstDiff(got, want))
	}
}

// faultProxy sits between the client and the server and answers some
// requests itself: 503 SlowDown, 500, or a GET body cut off half-way.
type faultProxy struct {
	srv      *httptest.Server
	requests atomic.Int64
	slowDown atomic.Int64
	internal atomic.Int64
	cut      atomic.Int64
	lists    atomic.Int64
	// throttle is the status of the throttling answer: 503 (S3's
	// SlowDown) unless set, e.g. to 429 (GCS's rate limit).
	throttle atomic.Int64
}

func newFaultProxy(t *testing.T, target string, isList func(*http.Request) bool) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host // signed by the client
	}}
	var (
		mu       sync.Mutex
		attempts = map[string]int{}      // by method, URL and range
		cutOnce  = map[string]struct{}{} // objects whose body was cut
	)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		list := isList(r)
		// Faults are chosen by the request, not by arrival order, and
		// bounded, so that the result is certain: one request in three
		// is answered SlowDown then 500 before it goes through; one object
		// in three has its first body cut. (By arrival order, concurrent
		// retries can line up with the faulty slots and fail ten times.)
		key := r.Method + " " + r.URL.String() + " " + r.Header.Get("Range")
		h := fnv.New32a()
		io.WriteString(h, key)
		class := h.Sum32() % 3
		mu.Lock()
		a := attempts[key]
		attempts[key]++
		_, wasCut := cutOnce[r.URL.Path]
		cut := class == 1 && !wasCut && r.Method == http.MethodGet && !list
		if cut {
			cutOnce[r.URL.Path] = struct{}{}
		}
		mu.Unlock()
		switch {
		case class == 0 && a == 0:
			p.slowDown.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			status := http.StatusServiceUnavailable
			if s := p.throttle.Load(); s != 0 {
				status = int(s)
			}
			w.WriteHeader(status)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		case class == 0 && a == 1:
			p.internal.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected</Message></Error>`)
		case cut:
			// Half the body, then the connection dies.
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if rec.Code/100 != 2 || len(body) < 2 {
				copyRecorded(w, rec)
				return
			}
			p.cut.Add(1)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body[:len(body)/2])
			panic(http.ErrAbortHandler)
		default:
			if list {
				p.lists.Add(1) // a page served
			}
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// TestS3CredentialsAndEndpointFromFiles: with no AWS_* credentials or
// endpoint in the environment, the shared config and credentials files
// (the SDK's standard chain) supply both, and a custom endpoint from the
// config file is addressed by path as from AWS_ENDPOINT_URL_S3.
func TestS3CredentialsAndEndpointFromFiles(t *testing.T) {
	s := stacktest.GetS3(t)
	s.Setenv(t, "")
	bucket := s.NewBucket(t)
	s.Put(t, bucket, "p/a", []byte("a"))
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(config, []byte("[profile lab]\nregion = us-east-1\nendpoint_url = "+s.Endpoint+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[lab]\naws_access_key_id = "+s.AccessKey+"\naws_secret_access_key = "+s.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", config)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_PROFILE", "lab")
	b, err := Open(context.Background(), "s3://"+bucket+"/p")
	if err != nil {
		t.Fatal(err)
	}
	got, err := digest.FromSource(context.Background(), NewSource(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "a" || got[0].SHA256 != "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" {
		t.Fatalf("got %+v", got)
	}
}

// TestFileBucketChanged: a file rewritten after the listing (same size,
// new modification time) is ErrChanged, as a replaced object is.
func TestFileBucketChanged(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("before"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	b, err := Open(context.Background(), "file://"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource(b)
	if err := src.List(context.Background(), func(string, int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("after!"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = src.ReadTo(context.Background(), "f", 6, io.Discard)
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "f") {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
}
