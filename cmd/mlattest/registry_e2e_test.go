package main

// End-to-end tests of the registry commands: the mlattest binary against
// real registry processes (distribution without the referrers API, and
// go-containerregistry's registry with it) and the private Sigstore stack.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// registryRun is a signed one-step run ready to push: dir holds the owner's
// and the functionary's keys, a signed layout whose subject is the
// package step's release/ products, the bundles in att/, the model in
// release/; env logs and timestamps with the stack.
type registryRun struct {
	dir   string
	env   []string
	gate  []string // the layout flags for verify, pull, promote
	files map[string]string
}

func newRegistryRun(t *testing.T, s *stacktest.Stack) *registryRun {
	t.Helper()
	dir := t.TempDir()
	r := &registryRun{dir: dir, env: []string{"MLATTEST_SIGNING_CONFIG=" + s.SigningConfig, "MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot},
		files: map[string]string{"model.safetensors": "weights of the released model", "config.json": `{"layers": 2}`}}
	for _, k := range []string{"owner", "ci"} {
		r.must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	writeFile(t, filepath.Join(dir, "layout.yaml"), keyLayoutHead(t, dir)+`steps:
  - name: package
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE release/*, DISALLOW *]
subject:
  step: package
  patterns: ["release/*"]
`)
	r.must(t, "layout", "sign", "layout.yaml", "--key", "owner.key")
	r.pipeline(t, ".", "reg-run-1", r.files)
	r.gate = []string{"--layout", "layout.yaml", "--layout-key", "owner.pub", "--trusted-root", s.TrustedRoot}
	return r
}

// pipeline runs the package step in dir/sub, writing files into
// sub/release and the bundles into sub/att.
func (r *registryRun) pipeline(t *testing.T, sub, runID string, files map[string]string) {
	t.Helper()
	var script strings.Builder
	script.WriteString("mkdir -p release")
	for n, c := range files {
		script.WriteString(" && printf '%s' '" + c + "' > release/" + n)
	}
	work := filepath.Join(r.dir, sub)
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if res := mlattest(t, work, r.env, "run", "--step", "package", "--run-id", runID, "--key", filepath.Join(r.dir, "ci.key"), "--out", "att",
		"--products", "release", "--", "sh", "-c", script.String()); res.code != 0 {
		t.Fatalf("run %s: %v", runID, res)
	}
}

func (r *registryRun) do(t *testing.T, args ...string) cliResult {
	t.Helper()
	return mlattest(t, r.dir, r.env, args...)
}

func (r *registryRun) must(t *testing.T, args ...string) cliResult {
	t.Helper()
	res := r.do(t, args...)
	if res.code != 0 {
		t.Fatalf("%s: %v", strings.Join(args, " "), res)
	}
	return res
}

func (r *registryRun) push(t *testing.T, model, ref string) string {
	t.Helper()
	return r.pushWith(t, model, "att", ref)
}

func (r *registryRun) pushWith(t *testing.T, model, att, ref string) string {
	t.Helper()
	res := r.must(t, "push", model, ref, "--attestations", att, "--json")
	var p struct {
		Digest    string
		Referrers []any
	}
	if err := json.Unmarshal([]byte(res.stdout), &p); err != nil || !strings.HasPrefix(p.Digest, "sha256:") || len(p.Referrers) == 0 {
		t.Fatalf("push --json: %v %v", err, res)
	}
	return p.Digest
}

// assertEmptyParent: a refused pull left nothing beside its target.
func assertEmptyParent(t *testing.T, target string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Dir(target))
	for _, e := range ents {
		t.Errorf("a refused pull left %s behind", e.Name())
	}
}

func TestE2ERegistryPushVerifyPull(t *testing.T) {
	s := stacktest.Get(t)
	run := newRegistryRun(t, s)
	for _, kind := range stacktest.RegistryKinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := stacktest.StartRegistry(t, kind)
			ref := reg.Ref("acme/model:v1")
			d := run.push(t, "release", ref)

			graph := filepath.Join(t.TempDir(), "run")
			res := run.must(t, append([]string{"verify", ref, "--graph", graph}, run.gate...)...)
			checkGraphFile(t, graph, "package<br/>key ", "PASSED", "release/model.safetensors")
			if !strings.Contains(res.stdout, "ADMITTED by run reg-run-1") || !strings.Contains(res.stdout, d) ||
				!strings.Contains(res.stdout, "resolved once from "+ref) {
				t.Fatalf("verify does not say which digest, run and layout: %v", res)
			}
			res = run.must(t, append([]string{"verify", ref, "--json"}, run.gate...)...)
			var rep struct {
				Model  struct{ Digest string }
				Report struct {
					Passed bool
					RunID  string
				}
			}
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || rep.Model.Digest != d || !rep.Report.Passed || rep.Report.RunID != "reg-run-1" {
				t.Fatalf("verify --json: %v %+v", err, rep)
			}

			out := filepath.Join(t.TempDir(), "pulled")
			run.must(t, append([]string{"pull", ref, out}, run.gate...)...)
			for n, c := range run.files {
				if b, err := os.ReadFile(filepath.Join(out, n)); err != nil || string(b) != c {
					t.Fatalf("pulled %s: %q %v", n, b, err)
				}
			}

			t.Run("tag moved to an unverified digest", func(t *testing.T) {
				other := filepath.Join(run.dir, "other-"+string(kind))
				for n, c := range run.files {
					writeFile(t, filepath.Join(other, n), c)
				}
				writeFile(t, filepath.Join(other, "model.safetensors"), "weights someone swapped in")
				moved := run.push(t, other, ref)
				if moved == d {
					t.Fatal("the other model has the same digest")
				}
				res := run.do(t, append([]string{"verify", ref, "--graph", graph}, run.gate...)...)
				checkGraphFile(t, graph, "package<br/>key ", "FAILED", "class s1 bad")
				if res.code != 1 || !strings.Contains(res.stdout, moved) || !strings.Contains(res.stdout, "REFUSED") || !strings.Contains(res.stdout, "model.safetensors") {
					t.Fatalf("verify of the moved tag: want exit 1 naming the new digest and the file: %v", res)
				}
				out := filepath.Join(t.TempDir(), "pulled")
				if res := run.do(t, append([]string{"pull", ref, out}, run.gate...)...); res.code != 1 {
					t.Fatalf("pull of the moved tag: want exit 1: %v", res)
				}
				assertEmptyParent(t, out)
				// The verified digest still verifies, whatever the tag says.
				run.must(t, append([]string{"verify", reg.Ref("acme/model@" + d)}, run.gate...)...)
			})

			t.Run("tampered blob in the registry's storage", func(t *testing.T) {
				blob := reg.BlobFile(t, "sha256:"+sha256Hex(run.files["model.safetensors"]))
				data, err := os.ReadFile(blob)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(blob, bytes.ToUpper(data), 0o644); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "pulled")
				res := run.do(t, append([]string{"pull", reg.Ref("acme/model@" + d), out}, run.gate...)...)
				if res.code == 0 || !strings.Contains(res.stderr, "model.safetensors") {
					t.Fatalf("pull of a tampered blob: want a refusal naming the file: %v", res)
				}
				if kind == stacktest.Distribution && (res.code != 1 || !strings.Contains(res.stderr, "does not match its digest")) {
					// distribution serves the changed bytes; only the hash shows it.
					t.Fatalf("want exit 1, the blob does not match its digest: %v", res)
				}
				if errs := errorLines(res.stderr); len(errs) != 1 {
					t.Errorf("the refusal is not one line: %q", errs)
				}
				assertEmptyParent(t, out)
			})
		})
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestE2ERegistryPromoteRollback(t *testing.T) {
	s := stacktest.Get(t)
	run := newRegistryRun(t, s)
	reg := stacktest.StartRegistry(t, stacktest.OCIRegistry)
	d1 := run.push(t, "release", reg.Ref("acme/model:v1"))
	run.pipeline(t, "w2", "reg-run-2", map[string]string{"model.safetensors": "weights of version two", "config.json": `{"layers": 3}`})
	d2 := run.pushWith(t, "w2/release", "w2/att", reg.Ref("acme/model:v2"))
	writeFile(t, filepath.Join(run.dir, "bad", "model.safetensors"), "weights nobody attested")
	writeFile(t, filepath.Join(run.dir, "bad", "config.json"), run.files["config.json"])
	bad := run.pushWith(t, "bad", "att", reg.Ref("acme/model:bad"))
	prod := reg.Ref("acme/model:prod")

	promote := func(d string) cliResult {
		return run.do(t, append([]string{"promote", reg.Ref("acme/model@" + d), "--to", "prod", "--key", "owner.key"}, run.gate...)...)
	}
	history := func() []map[string]any {
		t.Helper()
		res := run.must(t, "history", prod, "--json")
		var h []map[string]any
		if err := json.Unmarshal([]byte(res.stdout), &h); err != nil {
			t.Fatalf("history --json: %v %v", err, res)
		}
		return h
	}
	verifiedDigest := func() string {
		t.Helper()
		res := run.must(t, append([]string{"verify", prod, "--json"}, run.gate...)...)
		var v struct {
			Model struct{ Digest string }
			VSAs  []any
		}
		if err := json.Unmarshal([]byte(res.stdout), &v); err != nil || len(v.VSAs) == 0 {
			t.Fatalf("verify prod: no VSA listed: %v %v", err, res)
		}
		return v.Model.Digest
	}

	if res := promote(bad); res.code != 1 || !strings.Contains(res.stderr, "promote refused") || !strings.Contains(res.stdout, "REFUSED") {
		t.Fatalf("promote of an unverified digest: want exit 1: %v", res)
	}
	if h := history(); len(h) != 0 {
		t.Fatalf("a refused promotion was recorded: %v", h)
	}
	if res := run.do(t, append([]string{"verify", prod}, run.gate...)...); res.code != 2 {
		t.Fatalf("the refused promotion moved the tag: %v", res)
	}
	for _, d := range []string{d1, d2} {
		if res := promote(d); res.code != 0 || !strings.Contains(res.stdout, "VSA attached") {
			t.Fatalf("promote %s: %v", d, res)
		}
		if got := verifiedDigest(); got != d {
			t.Fatalf("prod names %s after promoting %s", got, d)
		}
	}
	if h := history(); len(h) != 2 || h[0]["digest"] != d1 || h[1]["digest"] != d2 || h[1]["vsa"] == nil {
		t.Fatalf("history after two promotions: %v", h)
	}
	res := run.must(t, append([]string{"rollback", prod}, run.gate...)...)
	if !strings.Contains(res.stdout, "rollback: "+prod+" now names "+d1) {
		t.Fatalf("rollback output: %v", res)
	}
	if got := verifiedDigest(); got != d1 {
		t.Fatalf("prod names %s after the rollback, want %s", got, d1)
	}
	if h := history(); len(h) != 3 || h[2]["action"] != "rollback" || h[2]["digest"] != d1 {
		t.Fatalf("history after the rollback: %v", h)
	}
	if res := run.do(t, append([]string{"rollback", prod}, run.gate...)...); res.code != 1 || !strings.Contains(res.stderr, "no earlier promotion") {
		t.Fatalf("rollback past the first promotion: want exit 1: %v", res)
	}
}

// keyEntry is a layout functionary entry for the key pair dir/NAME.pub.
func keyEntry(t *testing.T, dir, name string) string {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(dir, name+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	return "  " + name + ":\n    key: |\n      " + strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n      ") + "\n"
}

// Threshold 2 on the approve step: one approver signing twice counts once;
// a second, distinct approver makes the model pass.
func TestE2ERegistryApprovals(t *testing.T) {
	s := stacktest.Get(t)
	run := newRegistryRun(t, s)
	for _, k := range []string{"alice", "bob"} {
		run.must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	writeFile(t, filepath.Join(run.dir, "approve.yaml"), keyLayoutHead(t, run.dir)+keyEntry(t, run.dir, "alice")+keyEntry(t, run.dir, "bob")+`steps:
  - name: package
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE release/*, DISALLOW *]
  - name: approve
    functionaries: [alice, bob]
    threshold: 2
    expectedMaterials: ["MATCH * WITH PRODUCTS IN release FROM package", "DISALLOW *"]
subject:
  step: package
  patterns: ["release/*"]
`)
	run.must(t, "layout", "sign", "approve.yaml", "--key", "owner.key")
	gate := []string{"--layout", "approve.yaml", "--layout-key", "owner.pub", "--trusted-root", s.TrustedRoot}
	reg := stacktest.StartRegistry(t, stacktest.Distribution)
	d := run.push(t, "release", reg.Ref("acme/model:v1"))
	byDigest := reg.Ref("acme/model@" + d)
	verify := func() cliResult { return run.do(t, append([]string{"verify", byDigest}, gate...)...) }

	if res := verify(); res.code != 1 || !strings.Contains(res.stdout, "approve") {
		t.Fatalf("no approval yet: want exit 1 naming the approve step: %v", res)
	}
	for i := range 2 {
		res := run.must(t, "approve", byDigest, "--note", fmt.Sprintf("evaluation reviewed (%d)", i), "--key", "alice.key")
		if !strings.Contains(res.stdout, "run reg-run-1, step approve") {
			t.Fatalf("approve output: %v", res)
		}
	}
	if res := verify(); res.code != 1 || !strings.Contains(res.stdout, "threshold 2") || !strings.Contains(res.stdout, "1 distinct") {
		t.Fatalf("one approver twice: want exit 1, threshold 2 unmet: %v", res)
	}
	run.must(t, "approve", byDigest, "--note", "security review", "--key", "bob.key")
	if res := verify(); res.code != 0 {
		t.Fatalf("two distinct approvers: want exit 0: %v", res)
	}
	if res := run.do(t, "approve", byDigest, "--key", "bob.key"); res.code != 2 || !strings.Contains(res.stderr, "--note") {
		t.Fatalf("approve without a note: %v", res)
	}
}

// A registry answering 503 or resetting connections is retried with
// backoff; when it never recovers, the command fails with one line.
func TestE2ERegistryRetriesThenOneLine(t *testing.T) {
	s := stacktest.Get(t)
	run := newRegistryRun(t, s)
	reg := stacktest.StartRegistry(t, stacktest.Distribution)
	target, _ := url.Parse("http://" + reg.Host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var failures atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failures.Add(-1) >= 0 {
			if failures.Load()%2 == 0 {
				if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ref := "oci://" + strings.TrimPrefix(srv.URL, "http://") + "/acme/model:v1"

	failures.Store(2)
	run.push(t, "release", ref)

	failures.Store(1 << 30)
	start := time.Now()
	res := run.do(t, "push", "release", ref, "--attestations", "att")
	if res.code != 2 || len(errorLines(res.stderr)) != 1 || !strings.Contains(res.stderr, "503") {
		t.Fatalf("a registry that never recovers: want exit 2 and one line naming the 503: %v", res)
	}
	if d := time.Since(start); d < 4*time.Second {
		t.Fatalf("gave up after %s: no backoff", d)
	}
}

// checkGraphFile: verify --graph wrote FILE.svg and a FILE.mmd holding each
// of want.
func checkGraphFile(t *testing.T, file string, want ...string) {
	t.Helper()
	svg, err := os.ReadFile(file + ".svg")
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Fatalf("%s.svg: %v", file, err)
	}
	mmd, err := os.ReadFile(file + ".mmd")
	for _, w := range want {
		if err != nil || !strings.Contains(string(mmd), w) {
			t.Fatalf("%s.mmd lacks %q (%v):\n%s", file, w, err, mmd)
		}
	}
}
