package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/internal/ociregistry"
	"github.com/mlattest/mlattest/registry"
	"github.com/mlattest/mlattest/sign"
)

// storeBundles signs n statements offline with a fresh key into a new
// directory, named step<i>.link.sigstore.json.
func storeBundles(t *testing.T, n int, tag string) (string, []string) {
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
		st := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":"%x"}}],"predicateType":"https://example.com/p","predicate":{}}`,
			sha(tag+fmt.Sprint(i)))
		b, err := s.SignStatement(context.Background(), []byte(st))
		if err != nil {
			t.Fatal(err)
		}
		data, err := protojson.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("step%d.link.sigstore.json", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return dir, out
}

// TestOCIStore: the bundles push attached to one model, or to every tagged
// model of a repository, are known exactly as the same bundles in a
// directory are; with the referrers API and with the referrers tag schema.
func TestOCIStore(t *testing.T) {
	ctx := context.Background()
	for _, referrersAPI := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrersAPI=%v", referrersAPI), func(t *testing.T) {
			h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
			if referrersAPI {
				h = ociregistry.Handler(t.TempDir(), nil)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			host := strings.TrimPrefix(srv.URL, "http://")
			c, err := registry.New(registry.WithRetry(1, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			dirV1, v1 := storeBundles(t, 2, "v1")
			dirV2, v2 := storeBundles(t, 1, "v2")
			for i, run := range []struct {
				tag     string
				bundles []string
			}{{"v1", v1}, {"v2", v2}, {"v1-again", v1}} {
				model := t.TempDir()
				writeTestFile(t, filepath.Join(model, "model.safetensors"), fmt.Sprintf("weights %d", i%2))
				tag, err := registry.ParseTag("oci://" + host + "/acme/model:" + run.tag)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Push(ctx, model, tag, run.bundles); err != nil {
					t.Fatal(err)
				}
			}
			known := func(t *testing.T, stores ...Store) (map[string]bool, int) {
				t.Helper()
				w := testWatch(t)
				n := 0
				for _, s := range stores {
					k, err := w.AddStore(ctx, s)
					if err != nil {
						t.Fatalf("%s: %v", s, err)
					}
					n += k
				}
				return w.known, n
			}
			repo := "oci://" + host + "/acme/model"
			for _, tc := range []struct {
				ref   string
				same  []Store
				count int
			}{
				{repo + ":v1", []Store{DirStore(dirV1)}, 2},
				{repo + ":v2", []Store{DirStore(dirV2)}, 1},
				// v1-again is v1's model: its bundles are read once.
				{repo, []Store{DirStore(dirV1), DirStore(dirV2)}, 3},
			} {
				t.Run(tc.ref, func(t *testing.T) {
					s, err := NewOCIStore(c, tc.ref)
					if err != nil {
						t.Fatal(err)
					}
					if s.String() != tc.ref {
						t.Errorf("String() = %s", s)
					}
					got, n := known(t, s)
					want, _ := known(t, tc.same...)
					if n != tc.count || !maps.Equal(got, want) {
						t.Fatalf("%d bundles, known %v; want %d, %v", n, slices.Sorted(maps.Keys(got)), tc.count, slices.Sorted(maps.Keys(want)))
					}
				})
			}
			for _, tc := range []struct{ ref, want string }{
				{repo + ":nope", "MANIFEST_UNKNOWN"},
				{"oci://" + host + "/acme/empty", "NAME_UNKNOWN"},
			} {
				s, err := NewOCIStore(c, tc.ref)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Bundles(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want an error with %s", tc.ref, err, tc.want)
				}
			}
		})
	}
}

func TestNewOCIStoreRefused(t *testing.T) {
	c, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ref, want string }{
		{"oci://acme/model:v1", "name the registry host"},
		{"oci://127.0.0.1:5000/Acme/model", "repository can only contain"},
		{"oci://127.0.0.1:5000/acme/model:bad tag", "could not parse reference"},
		{"oci://127.0.0.1:5000/acme/model@sha256:12", "could not parse reference"},
		{"https://127.0.0.1:5000/acme/model", "does not start with oci://"},
	} {
		if _, err := NewOCIStore(c, tc.ref); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.ref, err, tc.want)
		}
	}
}

func TestDirStore(t *testing.T) {
	dir, _ := storeBundles(t, 2, "d")
	writeTestFile(t, filepath.Join(dir, "notes.txt"), "not a bundle")
	bad := t.TempDir()
	writeTestFile(t, filepath.Join(bad, "x.sigstore.json"), "{not json")
	for _, tc := range []struct {
		dir   string
		count int
		want  string
	}{
		{dir, 2, ""},
		{t.TempDir(), 0, ""},
		{filepath.Join(dir, "missing"), 0, "no such file or directory"},
		{bad, 0, "x.sigstore.json: "},
	} {
		n, err := testWatch(t).AddStore(context.Background(), DirStore(tc.dir))
		if tc.want == "" && (err != nil || n != tc.count) || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %d, %v; want %d %q", tc.dir, n, err, tc.count, tc.want)
		}
	}
}

func writeTestFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
