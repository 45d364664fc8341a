package stacktest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RegistryKind names one of the two registries scripts/registry.sh builds.
type RegistryKind string

const (
	// Distribution is the distribution registry: no referrers API, so
	// clients use the referrers tag schema.
	Distribution RegistryKind = "distribution"
	// OCIRegistry is go-containerregistry's registry with the OCI 1.1
	// referrers API (internal/ociregistry).
	OCIRegistry RegistryKind = "ociregistry"
)

// RegistryKinds lists both, for tests that run against each.
var RegistryKinds = []RegistryKind{Distribution, OCIRegistry}

// The variables written to env.sh by scripts/registry.sh start.
const (
	envRegistryState  = "MLATTEST_REGISTRY_STATE"
	envRegistryBin    = "MLATTEST_REGISTRY_BIN"
	envOCIRegistryBin = "MLATTEST_OCI_REGISTRY_BIN"
)

// Registry is a registry process started for one test, on its own free
// loopback port with its own storage; it is killed when the test ends.
type Registry struct {
	Kind    RegistryKind
	Host    string // host:port, as in oci://HOST/REPO:TAG
	Storage string // the storage directory
	bin     string
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	logf    string
}

// StartRegistry starts a fresh registry of the given kind for t, or skips
// (fails under CI=true) when scripts/registry.sh has not built it.
func StartRegistry(t testing.TB, kind RegistryKind) *Registry {
	t.Helper()
	bin, err := registryBin(os.Getenv, kind)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		unavailableWith(t, "scripts/registry.sh start", "%s registry binary not available: %v", kind, err)
	}
	dir := t.TempDir()
	r := &Registry{Kind: kind, bin: bin, Storage: filepath.Join(dir, "storage"), logf: filepath.Join(dir, "registry.log")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Host = ln.Addr().String()
	ln.Close()
	if kind == Distribution {
		cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"+
			"storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"+
			"http:\n  addr: %s\n  secret: mlattest-test\n", r.Storage, r.Host)
		if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(r.Kill)
	r.Start(t)
	return r
}

// Start (re)starts the registry process on the same port and storage.
func (r *Registry) Start(t testing.TB) {
	t.Helper()
	var args []string
	switch r.Kind {
	case Distribution:
		args = []string{"serve", filepath.Join(filepath.Dir(r.Storage), "config.yml")}
	default:
		args = []string{"-addr", r.Host, "-dir", r.Storage}
	}
	logw, err := os.OpenFile(r.logf, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logw.Close()
	r.cmd = exec.Command(r.bin, args...)
	r.cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	r.cmd.Stdout, r.cmd.Stderr = logw, logw
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting the %s registry: %v", r.Kind, err)
	}
	done := make(chan struct{})
	r.done = done
	go func() { r.cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Host+"/v2/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			b, _ := os.ReadFile(r.logf)
			t.Fatalf("the %s registry exited during start-up:\n%s", r.Kind, b)
		case <-ctx.Done():
			t.Fatalf("the %s registry did not answer http://%s/v2/ within 20 s", r.Kind, r.Host)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill stops the process at once (SIGKILL), as a crash would.
func (r *Registry) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Ref is oci://HOST/repo.
func (r *Registry) Ref(repo string) string { return "oci://" + r.Host + "/" + repo }

// BlobFile is the file in the registry's storage that holds the blob with
// digest "sha256:HEX".
func (r *Registry) BlobFile(t testing.TB, digest string) string {
	t.Helper()
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || len(hex) < 2 {
		t.Fatalf("stacktest: bad digest %q", digest)
	}
	if r.Kind == Distribution {
		return filepath.Join(r.Storage, "docker", "registry", "v2", "blobs", alg, hex[:2], hex, "data")
	}
	return filepath.Join(r.Storage, alg, hex)
}

// registryBin finds the binary from the environment, else from the env.sh
// scripts/registry.sh writes.
func registryBin(getenv func(string) string, kind RegistryKind) (string, error) {
	key := envRegistryBin
	if kind == OCIRegistry {
		key = envOCIRegistryBin
	}
	if v := getenv(key); v != "" {
		return v, nil
	}
	dir, vars, err := serviceEnv(getenv, envRegistryState, "registry")
	if err != nil {
		return "", fmt.Errorf("%s unset and %w", key, err)
	}
	if vars[key] == "" {
		return "", fmt.Errorf("%s/env.sh does not set %s", dir, key)
	}
	return vars[key], nil
}
