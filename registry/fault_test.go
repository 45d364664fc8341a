package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// killingTransport kills the registry once kill bytes of blob uploads have
// been sent, as a crash in the middle of a push would.
type killingTransport struct {
	kill int64
	reg  *stacktest.Registry
	mu   sync.Mutex
	sent int64
	done bool
}

func (k *killingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && (r.Method == http.MethodPatch || r.Method == http.MethodPut) {
		r.Body = &killingBody{ReadCloser: r.Body, k: k}
	}
	return remote.DefaultTransport.RoundTrip(r)
}

type killingBody struct {
	io.ReadCloser
	k *killingTransport
}

func (b *killingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.k.mu.Lock()
	defer b.k.mu.Unlock()
	b.k.sent += int64(n)
	if b.k.sent > b.k.kill && !b.k.done {
		b.k.done = true
		b.k.reg.Kill()
	}
	return n, err
}

func randomFiles(t *testing.T, dir string, sizes map[string]int) {
	t.Helper()
	for n, size := range sizes {
		b := make([]byte, size)
		rand.Read(b)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The registry killed in the middle of a push: no tag names anything, and
// running the push again completes it.
func TestPushKilledMidwayThenRerun(t *testing.T) {
	ctx := context.Background()
	reg := stacktest.StartRegistry(t, stacktest.Distribution)
	src := t.TempDir()
	randomFiles(t, src, map[string]int{"a.safetensors": 24 << 20, "b.safetensors": 24 << 20, "config.json": 100})
	bundles := testBundles(t, 1)
	tag, err := ParseTag("oci://" + reg.Host + "/acme/model:v1")
	if err != nil {
		t.Fatal(err)
	}
	kt := &killingTransport{kill: 20 << 20, reg: reg}
	c := newClient(t, WithTransport(kt), WithJobs(1))
	if _, err := c.Push(ctx, src, tag, bundles); err == nil {
		t.Fatal("push through a registry killed midway succeeded")
	}
	if !kt.done {
		t.Fatal("the registry was not killed")
	}
	reg.Start(t)
	c = newClient(t)
	if m, err := c.Resolve(ctx, tag); err == nil {
		t.Fatalf("after the interrupted push the tag names %s", m.Digest())
	}
	pushed, err := c.Push(ctx, src, tag, bundles)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	m, err := c.Resolve(ctx, tag)
	if err != nil || m.Digest() != pushed.Digest {
		t.Fatalf("resolve after the rerun: %v", err)
	}
	if got, err := c.Bundles(ctx, m, KindAttestation); err != nil || len(got) != 1 {
		t.Fatalf("bundles after the rerun: %d, %v", len(got), err)
	}
	assertPulledEqual(t, c, m, src)
}

func assertPulledEqual(t *testing.T, c *Client, m *Model, src string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pulled")
	if err := c.Download(context.Background(), m, out, admittedAll(m)); err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		want, _ := os.ReadFile(filepath.Join(src, f.Name))
		got, err := os.ReadFile(filepath.Join(out, f.Name))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("pulled %s differs (%v)", f.Name, err)
		}
	}
}

// Two versions pushed at once (sharing a file) leave two intact models,
// each with its own attestations.
func TestConcurrentPushes(t *testing.T) {
	ctx := context.Background()
	for _, kind := range stacktest.RegistryKinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := stacktest.StartRegistry(t, kind)
			c := newClient(t)
			shared := t.TempDir()
			randomFiles(t, shared, map[string]int{"tokenizer.json": 1 << 20})
			tok, _ := os.ReadFile(filepath.Join(shared, "tokenizer.json"))
			var wg sync.WaitGroup
			srcs, errs := make([]string, 2), make([]error, 2)
			for i := range 2 {
				srcs[i] = t.TempDir()
				randomFiles(t, srcs[i], map[string]int{"model.safetensors": 4 << 20})
				writeFiles(t, srcs[i], map[string]string{"tokenizer.json": string(tok)})
				b := testBundles(t, 2)
				tag, _ := ParseTag(fmt.Sprintf("oci://%s/acme/model:v%d", reg.Host, i+1))
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = c.Push(ctx, srcs[i], tag, b)
				}()
			}
			wg.Wait()
			for i := range 2 {
				if errs[i] != nil {
					t.Fatalf("push v%d: %v", i+1, errs[i])
				}
				tag, _ := ParseTag(fmt.Sprintf("oci://%s/acme/model:v%d", reg.Host, i+1))
				m, err := c.Resolve(ctx, tag)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := c.Bundles(ctx, m, KindAttestation); err != nil || len(got) != 2 {
					t.Fatalf("v%d: %d bundles, %v", i+1, len(got), err)
				}
				assertPulledEqual(t, c, m, srcs[i])
			}
		})
	}
}
