package registry

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/internal/ociregistry"
	"github.com/mlattest/mlattest/sign"
)

// testRegistry is an in-process registry: with the referrers API and blobs
// on disk (storage names the directory), or without the API (the
// referrers tag schema is then used).
type testRegistry struct {
	host, storage string
}

func startRegistry(t *testing.T, referrers bool, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	r := &testRegistry{storage: t.TempDir()}
	var h http.Handler
	if referrers {
		h = ociregistry.Handler(r.storage, nil)
	} else {
		h = ggcrregistry.New(ggcrregistry.Logger(nopLogger()))
	}
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *testRegistry) tag(t *testing.T, repo string) name.Tag {
	t.Helper()
	tag, err := ParseTag("oci://" + r.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// testBundles signs n statements offline with a fresh key and writes them
// as bundle files.
func testBundles(t *testing.T, n int) []string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.New(sign.WithKey(k), sign.WithOffline())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out []string
	for i := range n {
		st := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":"` +
			strings.Repeat("0", 63) + string(rune('0'+i)) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`
		b, err := s.SignStatement(context.Background(), []byte(st))
		if err != nil {
			t.Fatal(err)
		}
		data, err := protojson.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "step"+string(rune('a'+i))+".link.sigstore.json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func newClient(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := New(append([]Option{WithRetry(2, time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var modelFiles = map[string]string{
	"model.safetensors": "weights weights weights",
	"config.json":       `{"hidden": 4}`,
	"docs/README.md":    "# a model",
	"tokenizer.json":    `{"vocab": []}`,
	"copy.safetensors":  "weights weights weights", // same bytes: one blob, two files
}

func admittedAll(m *Model) map[string]string {
	out := map[string]string{}
	for _, f := range m.Files {
		out[f.Name] = f.SHA256()
	}
	return out
}

func TestPushVerifyPullRoundTrip(t *testing.T) {
	bundles := testBundles(t, 2)
	for _, referrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "referrers tag schema"}[referrers], func(t *testing.T) {
			ctx := context.Background()
			reg := startRegistry(t, referrers, nil)
			src := t.TempDir()
			writeFiles(t, src, modelFiles)
			c := newClient(t)
			tag := reg.tag(t, "acme/model:v1")
			pushed, err := c.Push(ctx, src, tag, bundles)
			if err != nil {
				t.Fatal(err)
			}
			if len(pushed.Files) != len(modelFiles) || len(pushed.Referrers) != 2 {
				t.Fatalf("pushed %+v", pushed)
			}
			m, err := c.Resolve(ctx, tag)
			if err != nil {
				t.Fatal(err)
			}
			if m.Digest() != pushed.Digest {
				t.Fatalf("tag resolves to %s, pushed %s", m.Digest(), pushed.Digest)
			}
			types := map[string]string{}
			for _, f := range m.Files {
				types[f.Name] = f.MediaType
			}
			for n, want := range map[string]string{"model.safetensors": MediaTypeWeight, "config.json": MediaTypeWeightConfig,
				"docs/README.md": MediaTypeDoc, "tokenizer.json": MediaTypeWeightConfig} {
				if types[n] != want {
					t.Errorf("%s: media type %q, want %q", n, types[n], want)
				}
			}
			got, err := c.Bundles(ctx, m, KindAttestation)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("%d bundles, want 2", len(got))
			}
			for _, b := range got {
				want, _ := os.ReadFile(filepath.Join(filepath.Dir(bundles[0]), b.Title))
				if !bytes.Equal(b.Data, want) {
					t.Errorf("bundle %s differs from the one pushed", b.Title)
				}
			}
			if vsas, err := c.Bundles(ctx, m, KindVSA); err != nil || len(vsas) != 0 {
				t.Fatalf("VSAs: %v, %v", vsas, err)
			}

			// The same files make the same manifest: a rerun changes nothing.
			again, err := c.Push(ctx, src, tag, bundles)
			if err != nil || again.Digest != pushed.Digest {
				t.Fatalf("push again: %v, digest %s want %s", err, again.Digest, pushed.Digest)
			}
			if got, _ := c.Bundles(ctx, m, KindAttestation); len(got) != 2 {
				t.Fatalf("after a second push: %d bundles, want 2", len(got))
			}

			out := filepath.Join(t.TempDir(), "pulled")
			if err := c.Download(ctx, m, out, admittedAll(m)); err != nil {
				t.Fatal(err)
			}
			for n, content := range modelFiles {
				b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(n)))
				if err != nil || string(b) != content {
					t.Errorf("pulled %s: %q, %v", n, b, err)
				}
			}
			if err := c.Download(ctx, m, out, admittedAll(m)); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("pull over a non-empty directory: %v", err)
			}
		})
	}
}

func TestDownloadRefusesUnadmittedFiles(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t, true, nil)
	src := t.TempDir()
	writeFiles(t, src, modelFiles)
	c := newClient(t)
	tag := reg.tag(t, "acme/model:v1")
	if _, err := c.Push(ctx, src, tag, nil); err != nil {
		t.Fatal(err)
	}
	m, err := c.Resolve(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	missing := admittedAll(m)
	delete(missing, "config.json")
	other := admittedAll(m)
	other["config.json"] = strings.Repeat("ab", 32)
	for name, admitted := range map[string]map[string]string{"a file not named": missing, "another digest": other} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "pulled")
			err := c.Download(ctx, m, out, admitted)
			if !errors.Is(err, ErrNotAdmitted) || !strings.Contains(err.Error(), "config.json") {
				t.Fatalf("want ErrNotAdmitted naming config.json, got %v", err)
			}
			assertNothing(t, filepath.Dir(out))
		})
	}
}

// assertNothing: the directory pulls write into holds nothing (no target,
// no staging directory left behind).
func assertNothing(t *testing.T, parent string) {
	t.Helper()
	ents, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

func TestDownloadTamperedBlobLeavesNothing(t *testing.T) {
	ctx := context.Background()
	var tampered atomic.Value
	tampered.Store("")
	reg := &testRegistry{storage: t.TempDir()}
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(nopLogger()),
		ggcrregistry.WithBlobHandler(&tamperingBlobs{ggcrregistry.NewDiskBlobHandler(reg.storage), &tampered})))
	t.Cleanup(srv.Close)
	reg.host = strings.TrimPrefix(srv.URL, "http://")
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.safetensors": "aaaa", "b.safetensors": "bbbbbbbb"})
	c := newClient(t)
	tag := reg.tag(t, "acme/model:v1")
	if _, err := c.Push(ctx, src, tag, nil); err != nil {
		t.Fatal(err)
	}
	m, err := c.Resolve(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	var b File
	for _, f := range m.Files {
		if f.Name == "b.safetensors" {
			b = f
		}
	}
	// Same size, other bytes: only the hash can tell.
	tampered.Store(b.SHA256())
	out := filepath.Join(t.TempDir(), "pulled")
	err = c.Download(ctx, m, out, admittedAll(m))
	if err == nil || !strings.Contains(err.Error(), "b.safetensors") || !errors.Is(err, ErrBlobMismatch) {
		t.Fatalf("want a checksum error naming b.safetensors, got %v", err)
	}
	assertNothing(t, filepath.Dir(out))
}

// flaky answers 503 to the first n requests (all of them for n < 0), or
// resets the connection instead when reset is set.
func flaky(n int64, reset bool, count *atomic.Int64) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if i := count.Add(1); n < 0 || i <= n {
				if reset {
					if hj, ok := w.(http.Hijacker); ok {
						if conn, _, err := hj.Hijack(); err == nil {
							conn.Close()
							return
						}
					}
				}
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.safetensors": "aaaa"})
	for _, tc := range []struct {
		name    string
		n       int64
		reset   bool
		wantErr string
	}{
		{"two 503s are retried", 2, false, ""},
		{"two resets are retried", 2, true, ""},
		{"503 for ever fails", -1, false, "503"},
		{"resets for ever fail", -1, true, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var count atomic.Int64
			reg := startRegistry(t, true, flaky(tc.n, tc.reset, &count))
			c := newClient(t, WithRetry(3, time.Millisecond))
			_, err := c.Push(ctx, src, reg.tag(t, "acme/model:v1"), nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("push: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
			}
			if c := count.Load(); c < 3 {
				t.Fatalf("%d requests: not retried", c)
			}
		})
	}
}

func TestParseReference(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"oci://127.0.0.1:5000/acme/model:v1", "oci://127.0.0.1:5000/acme/model:v1", ""},
		{"oci://r.example/mm@sha256:" + strings.Repeat("a", 64), "oci://r.example/mm@sha256:" + strings.Repeat("a", 64), ""},
		{"127.0.0.1:5000/acme/model:v1", "", "does not start with oci://"},
		{"oci://acme/model:v1", "", "name the registry host"},
		{"oci://127.0.0.1:5000/acme/model", "", "could not parse"},
		{"oci://127.0.0.1:5000/Acme/model:v1", "", "could not parse"},
	} {
		ref, err := ParseReference(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: want error with %q, got %v", tc.in, tc.err, err)
			}
			continue
		}
		if err != nil || String(ref) != tc.want {
			t.Errorf("%s: got %v, %v", tc.in, ref, err)
		}
	}
	if _, err := ParseTag("oci://r.example/mm@sha256:" + strings.Repeat("a", 64)); err == nil || !strings.Contains(err.Error(), "tag is required") {
		t.Errorf("ParseTag of a digest: %v", err)
	}
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// tamperingBlobs serves the blob whose hex digest is in tampered with its
// bytes upper-cased, as a registry whose storage was written to would.
type tamperingBlobs struct {
	ggcrregistry.BlobHandler
	tampered *atomic.Value
}

func (b *tamperingBlobs) Stat(ctx context.Context, repo string, h v1.Hash) (int64, error) {
	return b.BlobHandler.(ggcrregistry.BlobStatHandler).Stat(ctx, repo, h)
}

func (b *tamperingBlobs) Put(ctx context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	return b.BlobHandler.(ggcrregistry.BlobPutHandler).Put(ctx, repo, h, rc)
}

func (b *tamperingBlobs) Get(ctx context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	rc, err := b.BlobHandler.Get(ctx, repo, h)
	if err != nil || h.Hex != b.tampered.Load().(string) {
		return rc, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return io.NopCloser(bytes.NewReader(bytes.ToUpper(data))), err
}
