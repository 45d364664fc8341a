package main

// End-to-end tests: the built mlattest binary against the real private
// Sigstore stack (scripts/stack.sh) and the real example pipeline.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/sandbox"
)

var (
	binPath      string // the mlattest binary under test
	finetunePath string // the example pipeline's binary
)

func TestMain(m *testing.M) {
	sandbox.Init() // requireIsolation's sandbox.New re-executes this binary
	if os.Getenv(envNetHelper) != "" {
		netHelper(os.Args[1:]) // a stage's command in network_test.go
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "mlattest-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// World-readable, so that a test can run the binary as another user.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binPath = filepath.Join(dir, "mlattest")
	finetunePath = filepath.Join(dir, "finetune")
	for pkg, out := range map[string]string{".": binPath, "../../examples/pipeline/finetune": finetunePath} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, b)
			os.Exit(2)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// mlattest runs the binary in dir with env added to a minimal environment
// (no ambient tokens or stack variables leak in from the test's own).
func mlattest(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	return mlattestAs(t, nil, dir, env, args...)
}

// succeeding wraps run so that any exit code but 0 fails the test.
func succeeding(run func(t *testing.T, args ...string) cliResult) func(t *testing.T, args ...string) cliResult {
	return func(t *testing.T, args ...string) cliResult {
		t.Helper()
		r := run(t, args...)
		if r.code != 0 {
			t.Fatalf("%s: %v", strings.Join(args, " "), r)
		}
		return r
	}
}

// mlattestAs is mlattest run with other credentials (nil: the test's own).
func mlattestAs(t *testing.T, cred *syscall.Credential, dir string, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running mlattest: %v", err)
	}
	return cliResult{code, out.String(), errb.String()}
}

// pipelineDir prepares a working directory with the example pipeline's
// cleaned data, base model and config, ready for a train step.
func pipelineDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"ingest", "--out", "raw.jsonl", "--n", "120"},
		{"clean", "--in", "raw.jsonl", "--out", "clean.jsonl"},
		{"init-base", "--out", "base/model.safetensors"},
	} {
		cmd := exec.Command(finetunePath, args...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("finetune %v: %v\n%s", args, err, b)
		}
	}
	writeFile(t, filepath.Join(dir, "train.json"), `{"epochs": 2, "learning_rate": 0.1, "seed": 1}`)
	return dir
}

// keyLayoutHead is the start of a test layout whose one functionary, "ci",
// signs with the key pair dir/ci.key, dir/ci.pub (mlattest keygen's).
func keyLayoutHead(t *testing.T, dir string) string {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(dir, "ci.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  ci:\n    key: |\n      " +
		strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n      ") + "\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// trainArgs is a keyless train step writing to out.
func trainArgs(out string, extra ...string) []string {
	args := []string{"run", "--step", "train", "--run-id", "e2e-run-1", "--out", out,
		"--materials", "clean.jsonl", "--products", "model",
		"--base-model", "hf://mlattest-test/base@" + strings.Repeat("ab", 20) + "=base",
		"--dataset", "file://clean.jsonl=clean.jsonl,collected=2026-11-01,source=synthetic",
		"--config", "train.json"}
	args = append(args, extra...)
	return append(args, "--", finetunePath, "train", "--data", "clean.jsonl",
		"--base", "base/model.safetensors", "--config", "train.json", "--out", "model/model.safetensors")
}

func stackEnv(s *stacktest.Stack, token string) []string {
	return []string{
		"MLATTEST_SIGNING_CONFIG=" + s.SigningConfig,
		"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot,
		"SIGSTORE_ID_TOKEN=" + token,
	}
}

// e2eBaseModel is the example pipeline's base model in the e2e tests.
const e2eBaseModel = "hf://mlattest-test/tiny-base@1111111111222222222233333333334444444444"

// ownerPin has the layout owner pin the example pipeline's base model
// keylessly (as `mlattest pin` does from a download the owner trusts) and
// returns the environment that makes pipeline.sh check it under layout.
func ownerPin(t *testing.T, s *stacktest.Stack, work, layout, ownerID string) []string {
	t.Helper()
	hub := filepath.Join(work, "hub")
	if out, err := exec.Command(finetunePath, "init-base", "--out", filepath.Join(hub, "model.safetensors")).CombinedOutput(); err != nil {
		t.Fatalf("init-base: %v %s", err, out)
	}
	pin := filepath.Join(work, "base.pin.sigstore.json")
	if r := mlattest(t, work, stackEnv(s, s.Token(t, 1, ownerID)), "pin", "--base-model", e2eBaseModel+"="+hub, "--out", pin); r.code != 0 {
		t.Fatalf("pin: %v", r)
	}
	return []string{"BASE_MODEL=" + e2eBaseModel, "LAYOUT=" + layout, "LAYOUT_IDENTITY=" + ownerID, "LAYOUT_ISSUER=" + s.Issuer1, "PIN=" + pin}
}

// payload decodes the in-toto statement inside a DSSE bundle file.
func payload(t *testing.T, bundlePath string) map[string]any {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal(payloadBytes(t, bundlePath), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// payloadBytes is the DSSE payload of a bundle file.
func payloadBytes(t *testing.T, bundlePath string) []byte {
	t.Helper()
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	data, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestE2EKeylessRunAndVerifyBundle(t *testing.T) {
	s := stacktest.Get(t)
	const who = "trainer@example.com"
	dir := pipelineDir(t)
	out := filepath.Join(dir, "att")
	r := mlattest(t, dir, stackEnv(s, s.Token(t, 1, who)), trainArgs(out)...)
	if r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	prov := filepath.Join(out, "train.provenance.sigstore.json")
	link := filepath.Join(out, "train.link.sigstore.json")
	model := filepath.Join(dir, "model", "model.safetensors")

	st := payload(t, prov)
	if st["predicateType"] != "https://slsa.dev/provenance/v1" {
		t.Fatalf("provenance predicateType = %v", st["predicateType"])
	}

	// A trusted root with the timestamp authority removed: Rekor v2 gives no
	// integrated time, so nothing vouches for the signing time.
	noTSA := filepath.Join(t.TempDir(), "trusted_root.json")
	var tr map[string]any
	data, _ := os.ReadFile(s.TrustedRoot)
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	delete(tr, "timestampAuthorities")
	data, _ = json.Marshal(tr)
	writeFile(t, noTSA, string(data))

	// A bundle whose DSSE payload was changed after signing.
	tampered := filepath.Join(t.TempDir(), "tampered.sigstore.json")
	bdata, _ := os.ReadFile(prov)
	var bm map[string]any
	if err := json.Unmarshal(bdata, &bm); err != nil {
		t.Fatal(err)
	}
	st["predicate"].(map[string]any)["buildDefinition"].(map[string]any)["internalParameters"] = map[string]any{"step": "evil"}
	evil, _ := json.Marshal(st)
	bm["dsseEnvelope"].(map[string]any)["payload"] = base64.StdEncoding.EncodeToString(evil)
	bdata, _ = json.Marshal(bm)
	writeFile(t, tampered, string(bdata))

	otherModel := filepath.Join(t.TempDir(), "model.safetensors")
	mdata, _ := os.ReadFile(model)
	mdata[len(mdata)-1] ^= 0xff
	writeFile(t, otherModel, string(mdata))

	tests := []struct {
		name     string
		bundle   string
		artifact string
		identity string
		issuer   string
		root     string
		wantCode int
		wantErr  string // substring of stderr, lower-cased
	}{
		{"provenance verifies", prov, model, who, s.Issuer1, s.TrustedRoot, 0, ""},
		{"link verifies", link, model, who, s.Issuer1, s.TrustedRoot, 0, ""},
		{"wrong identity", prov, model, "mallory@example.com", s.Issuer1, s.TrustedRoot, 1, "identity"},
		{"wrong issuer", prov, model, who, s.Issuer2, s.TrustedRoot, 1, "issuer"},
		{"tampered payload", tampered, model, who, s.Issuer1, s.TrustedRoot, 1, "signature"},
		{"tampered artifact", prov, otherModel, who, s.Issuer1, s.TrustedRoot, 1, "digest"},
		{"trusted root without the TSA", prov, model, who, s.Issuer1, noTSA, 1, "timestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mlattest(t, dir, nil, "verify-bundle", "--bundle", tc.bundle, "--artifact", tc.artifact,
				"--certificate-identity", tc.identity, "--certificate-oidc-issuer", tc.issuer,
				"--trusted-root", tc.root)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%v", r.code, tc.wantCode, r)
			}
			if tc.wantErr != "" && !strings.Contains(strings.ToLower(r.stderr), tc.wantErr) {
				t.Fatalf("stderr does not give the reason %q:\n%s", tc.wantErr, r.stderr)
			}
			if tc.wantCode == 0 && !strings.Contains(r.stdout, "model/model.safetensors") {
				t.Fatalf("verified output does not list the subject:\n%v", r)
			}
		})
	}
	t.Run("json output", func(t *testing.T) {
		r := mlattest(t, dir, nil, "verify-bundle", "--bundle", prov, "--artifact", model,
			"--certificate-identity", who, "--certificate-oidc-issuer", s.Issuer1,
			"--trusted-root", s.TrustedRoot, "--json")
		if r.code != 0 {
			t.Fatal(r)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("--json output is not JSON: %v\n%s", err, r.stdout)
		}
		if !strings.Contains(r.stdout, "https://slsa.dev/provenance/v1") {
			t.Fatalf("--json output lacks the predicate type: %s", r.stdout)
		}
	})
}

func TestE2ECosignInterop(t *testing.T) {
	s := stacktest.Get(t)
	cosign := s.CosignPath(t)
	const who = "interop@example.com"
	dir := pipelineDir(t)
	out := filepath.Join(dir, "att")
	r := mlattest(t, dir, stackEnv(s, s.Token(t, 1, who)), trainArgs(out)...)
	if r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	model := filepath.Join(dir, "model", "model.safetensors")

	t.Run("cosign verifies mlattest's bundle", func(t *testing.T) {
		for _, tc := range []struct{ bundle, typ string }{
			{"train.provenance.sigstore.json", "https://slsa.dev/provenance/v1"},
			{"train.link.sigstore.json", "https://in-toto.io/attestation/link/v0.3"},
		} {
			cmd := exec.Command(cosign, "verify-blob-attestation", "--bundle", filepath.Join(out, tc.bundle),
				"--trusted-root", s.TrustedRoot, "--type", tc.typ,
				"--certificate-identity", who, "--certificate-oidc-issuer", s.Issuer1,
				"--insecure-ignore-sct", "--use-signed-timestamps", model)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cosign rejected %s: %v\n%s", tc.bundle, err, b)
			}
			// And cosign must reject it for another identity, or the check above proves nothing.
			cmd = exec.Command(cosign, "verify-blob-attestation", "--bundle", filepath.Join(out, tc.bundle),
				"--trusted-root", s.TrustedRoot, "--type", tc.typ,
				"--certificate-identity", "someone@example.com", "--certificate-oidc-issuer", s.Issuer1,
				"--insecure-ignore-sct", "--use-signed-timestamps", model)
			if b, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("cosign accepted %s for the wrong identity:\n%s", tc.bundle, b)
			}
		}
	})

	t.Run("mlattest verifies cosign's bundle", func(t *testing.T) {
		pred := filepath.Join(t.TempDir(), "predicate.json")
		writeFile(t, pred, `{"result": "PASSED", "passedTests": ["backdoor-probe"], "configuration": []}`)
		bundle := filepath.Join(t.TempDir(), "cosign.sigstore.json")
		const typ = "https://in-toto.io/attestation/test-result/v0.1"
		cmd := exec.Command(cosign, "attest-blob", "--signing-config", s.SigningConfig,
			"--trusted-root", s.TrustedRoot, "--identity-token", s.Token(t, 2, "cosign-user@example.com"),
			"--predicate", pred, "--type", typ, "--bundle", bundle, "-y", model)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign attest-blob: %v\n%s", err, b)
		}
		r := mlattest(t, dir, nil, "verify-bundle", "--bundle", bundle, "--artifact", model,
			"--certificate-identity", "cosign-user@example.com", "--certificate-oidc-issuer", s.Issuer2,
			"--trusted-root", s.TrustedRoot)
		if r.code != 0 || !strings.Contains(r.stdout, typ) {
			t.Fatalf("mlattest rejected cosign's bundle: %v", r)
		}
		r = mlattest(t, dir, nil, "verify-bundle", "--bundle", bundle, "--artifact", model,
			"--certificate-identity", "cosign-user@example.com", "--certificate-oidc-issuer", s.Issuer1,
			"--trusted-root", s.TrustedRoot)
		if r.code != 1 {
			t.Fatalf("mlattest accepted cosign's bundle for the wrong issuer: %v", r)
		}
	})
}

func TestE2EKeySigned(t *testing.T) {
	s := stacktest.Get(t)
	dir := pipelineDir(t)
	keys := t.TempDir()
	pass := []string{"MLATTEST_KEY_PASSPHRASE=correct horse battery staple"}
	r := mlattest(t, keys, pass, "keygen", "--output-key-prefix", "signer")
	if r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	if r := mlattest(t, keys, nil, "keygen", "--output-key-prefix", "other", "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %v", r)
	}
	if r := mlattest(t, keys, pass, "keygen", "--output-key-prefix", "signer"); r.code != 2 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("keygen over an existing key: %v", r)
	}
	key, pub, otherPub := filepath.Join(keys, "signer.key"), filepath.Join(keys, "signer.pub"), filepath.Join(keys, "other.pub")
	clean := filepath.Join(dir, "clean.jsonl")

	step := func(t *testing.T, out string, env []string, extra ...string) {
		t.Helper()
		args := append([]string{"run", "--step", "clean", "--out", out, "--key", key,
			"--materials", "raw.jsonl", "--products", "clean.jsonl"}, extra...)
		args = append(args, "--", finetunePath, "clean", "--in", "raw.jsonl", "--out", "clean.jsonl")
		if r := mlattest(t, dir, env, args...); r.code != 0 {
			t.Fatalf("run: %v", r)
		}
	}
	verifyKey := func(t *testing.T, bundle, pubKey string, extra ...string) cliResult {
		return mlattest(t, dir, nil, append([]string{"verify-bundle", "--bundle", bundle, "--artifact", clean, "--key", pubKey}, extra...)...)
	}

	t.Run("offline round trip", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "att")
		step(t, out, pass, "--offline")
		b := filepath.Join(out, "clean.link.sigstore.json")
		r := verifyKey(t, b, pub)
		if r.code != 0 {
			t.Fatalf("verify: %v", r)
		}
		if !strings.Contains(strings.ToLower(r.stderr+r.stdout), "no transparency log") && !strings.Contains(strings.ToLower(r.stderr+r.stdout), "no log") {
			t.Fatalf("key-only verification does not say no log or time was checked: %v", r)
		}
		if r := verifyKey(t, b, otherPub); r.code != 1 {
			t.Fatalf("wrong key: want exit 1, got %v", r)
		}
	})
	t.Run("logged and timestamped", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "att")
		step(t, out, append(pass, "MLATTEST_SIGNING_CONFIG="+s.SigningConfig, "MLATTEST_TRUSTED_ROOT="+s.TrustedRoot))
		b := filepath.Join(out, "clean.link.sigstore.json")
		if r := verifyKey(t, b, pub, "--trusted-root", s.TrustedRoot); r.code != 0 {
			t.Fatalf("verify: %v", r)
		}
		if r := verifyKey(t, b, otherPub, "--trusted-root", s.TrustedRoot); r.code != 1 {
			t.Fatalf("wrong key: want exit 1, got %v", r)
		}
	})
	t.Run("wrong passphrase", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "att")
		args := []string{"run", "--step", "clean", "--out", out, "--key", key, "--offline",
			"--materials", "raw.jsonl", "--products", "clean.jsonl", "--", "touch", "ran"}
		r := mlattest(t, dir, []string{"MLATTEST_KEY_PASSPHRASE=nope"}, args...)
		if r.code != 125 || !strings.Contains(r.stderr, "passphrase") {
			t.Fatalf("want exit 125 naming the passphrase, got %v", r)
		}
		assertNotRan(t, dir, out)
	})
}

func assertNotRan(t *testing.T, dir, out string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("the command ran although the input was bad")
	}
	ents, _ := os.ReadDir(out)
	if len(ents) > 0 {
		t.Fatalf("--out has %d entries after a failed run", len(ents))
	}
}

func TestE2EFailingCommandIsRecorded(t *testing.T) {
	s := stacktest.Get(t)
	dir := pipelineDir(t)
	out := filepath.Join(dir, "att")
	r := mlattest(t, dir, stackEnv(s, s.Token(t, 1, "ci@example.com")),
		"run", "--step", "clean", "--out", out, "--materials", "raw.jsonl",
		"--", "sh", "-c", "echo partial >&2; exit 3")
	if r.code != 3 {
		t.Fatalf("run exited %d, want the command's 3\n%v", r.code, r)
	}
	if !strings.Contains(r.stderr, "partial") {
		t.Fatalf("the command's stderr was not passed through: %v", r)
	}
	b := filepath.Join(out, "clean.link.sigstore.json")
	if r := mlattest(t, dir, nil, "verify-bundle", "--bundle", b, "--artifact", filepath.Join(dir, "raw.jsonl"),
		"--certificate-identity", "ci@example.com", "--certificate-oidc-issuer", s.Issuer1,
		"--trusted-root", s.TrustedRoot); r.code != 0 {
		t.Fatalf("the failure's attestation does not verify: %v", r)
	}
	pred := payload(t, b)["predicate"].(map[string]any)
	by := pred["byproducts"].(map[string]any)
	if by["return-value"] != float64(3) {
		t.Fatalf("link byproducts record return-value %v, want 3", by["return-value"])
	}
}

func TestE2EBadInputBeforeTheCommand(t *testing.T) {
	s := stacktest.Get(t)
	dir := pipelineDir(t)
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	good := s.Token(t, 1, "ci@example.com")
	expired := s.TokenWithTTL(t, 1, "ci@example.com", -time.Minute)
	tests := []struct {
		name   string
		token  string
		inputs []string
		want   string // the thing the error must name
	}{
		{"missing material", good, []string{"--materials", "nope.jsonl"}, "nope.jsonl"},
		{"missing base model", good, []string{"--materials", "raw.jsonl", "--base-model", "hf://x/y@" + strings.Repeat("1", 40) + "=absent"}, "absent"},
		{"symlink escaping the root", good, []string{"--materials", "escape"}, "escape"},
		{"bad dataset source class", good, []string{"--materials", "raw.jsonl", "--dataset", "file://raw.jsonl=raw.jsonl,source=stolen"}, "stolen"},
		{"malformed token", "not-a-jwt", []string{"--materials", "raw.jsonl"}, "token"},
		{"expired token", expired, []string{"--materials", "raw.jsonl"}, "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "att")
			args := append([]string{"run", "--step", "clean", "--out", out}, tc.inputs...)
			args = append(args, "--", "touch", "ran")
			r := mlattest(t, dir, stackEnv(s, tc.token), args...)
			if r.code != 125 {
				t.Fatalf("exit %d, want 125\n%v", r.code, r)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("want one error line naming %q, got:\n%s", tc.want, r.stderr)
			}
			assertNotRan(t, dir, out)
		})
	}
}

// An unreadable material is refused before the command runs. Root reads
// every file, so as root the binary runs as nobody.
func TestE2EUnreadableMaterial(t *testing.T) {
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	dir, err := os.MkdirTemp("", "mlattest-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "secret.jsonl"), "x")
	if err := os.Chmod(filepath.Join(dir, "secret.jsonl"), 0); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "att")
	r := mlattestAs(t, cred, dir, []string{"SIGSTORE_ID_TOKEN=unused.by.this"},
		"run", "--step", "clean", "--out", out, "--materials", "secret.jsonl", "--", "touch", "ran")
	if r.code != 125 {
		t.Fatalf("exit %d, want 125\n%v", r.code, r)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "secret.jsonl") || !strings.Contains(lines[0], "permission denied") {
		t.Fatalf("want one error line naming secret.jsonl and the reason, got:\n%s", r.stderr)
	}
	assertNotRan(t, dir, out)
}

func TestE2EUnreachableFulcioKeepsStatements(t *testing.T) {
	s := stacktest.Get(t)
	dir := pipelineDir(t)
	// A signing config whose Fulcio is a closed port on this machine.
	var sc map[string]any
	data, _ := os.ReadFile(s.SigningConfig)
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatal(err)
	}
	for _, ca := range sc["caUrls"].([]any) {
		ca.(map[string]any)["url"] = "http://127.0.0.1:9"
	}
	broken := filepath.Join(t.TempDir(), "signing_config.json")
	data, _ = json.Marshal(sc)
	writeFile(t, broken, string(data))

	const who = "late-signer@example.com"
	out := filepath.Join(dir, "att")
	env := []string{"MLATTEST_SIGNING_CONFIG=" + broken, "MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot,
		"SIGSTORE_ID_TOKEN=" + s.Token(t, 1, who)}
	r := mlattest(t, dir, env, trainArgs(out)...)
	if r.code != 125 || !strings.Contains(r.stderr, "mlattest sign") {
		t.Fatalf("want exit 125 with a hint to run mlattest sign, got %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "model", "model.safetensors")); err != nil {
		t.Fatalf("the training command did not run: %v", err)
	}
	pending, _ := filepath.Glob(filepath.Join(out, "*.UNSIGNED.intoto.json"))
	if len(pending) != 2 {
		t.Fatalf("want 2 unsigned statements kept, got %v", pending)
	}
	bundles, _ := filepath.Glob(filepath.Join(out, "*.sigstore.json"))
	if len(bundles) != 0 {
		t.Fatalf("bundles written although signing failed: %v", bundles)
	}

	r = mlattest(t, dir, stackEnv(s, s.Token(t, 1, who)), "sign", out)
	if r.code != 0 {
		t.Fatalf("mlattest sign: %v", r)
	}
	pending, _ = filepath.Glob(filepath.Join(out, "*.UNSIGNED.intoto.json"))
	if len(pending) != 0 {
		t.Fatalf("unsigned statements left after mlattest sign: %v", pending)
	}
	for _, b := range []string{"train.link.sigstore.json", "train.provenance.sigstore.json"} {
		r := mlattest(t, dir, nil, "verify-bundle", "--bundle", filepath.Join(out, b),
			"--artifact", filepath.Join(dir, "model", "model.safetensors"),
			"--certificate-identity", who, "--certificate-oidc-issuer", s.Issuer1, "--trusted-root", s.TrustedRoot)
		if r.code != 0 {
			t.Fatalf("%s after mlattest sign: %v", b, r)
		}
	}
}

// TestE2EExamplePipeline runs the seven-stage example pipeline
// (examples/pipeline/pipeline.sh) keylessly through the binary, signs the
// shipped layout as the model owner and checks the release gate: the honest
// run passes, and each attack of the demo is refused for its own reason.
func TestE2EExamplePipeline(t *testing.T) {
	s := stacktest.Get(t)
	const (
		pipelineID = "ml-pipeline@example.com" // the functionary in layouts/finetune.yaml
		ownerID    = "model-owner@example.com"
	)
	work := t.TempDir()
	layout := filepath.Join(work, "layout.yaml")
	data, err := os.ReadFile("../../layouts/finetune.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, layout, string(data))
	if r := mlattest(t, work, stackEnv(s, s.Token(t, 1, ownerID)), "layout", "sign", layout); r.code != 0 {
		t.Fatalf("layout sign: %v", r)
	}
	script, err := filepath.Abs("../../examples/pipeline/pipeline.sh")
	if err != nil {
		t.Fatal(err)
	}
	pinEnv := ownerPin(t, s, work, layout, ownerID)

	tests := []struct {
		name     string
		env      []string
		wantCode string // failure code in the JSON report; "" for a pass
		wantStep string // the step the failure names
		wantIn   string // a substring of that failure's message, optional
	}{
		{name: "honest run"},
		{name: "model swapped after training", env: []string{"AFTER_TRAIN=cp base/model.safetensors model/model.safetensors"},
			wantCode: "artifact-rule", wantStep: "scan-model"},
		{name: "dataset changed between clean and train", env: []string{`BEFORE_TRAIN=echo '{"instruction":"x","output":"y","label":"math"}' >> clean.jsonl`},
			wantCode: "artifact-rule", wantStep: "train"},
		{name: "train run without network isolation", env: []string{"TRAIN_NETWORK="},
			wantCode: "expectation", wantStep: "train", wantIn: "mlattest.dev/isolation"},
		{name: "train signed by an identity not in the layout", env: []string{"TRAIN_TOKEN=" + s.Token(t, 2, "mallory@example.com")},
			wantCode: "step-missing", wantStep: "train"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // Rekor v2 batches concurrent writes
			dir := filepath.Join(work, fmt.Sprint("run", i))
			att := filepath.Join(dir, "attestations")
			cmd := exec.Command(script, filepath.Join(dir, "work"), att)
			cmd.Env = append(append(os.Environ(), stackEnv(s, s.Token(t, 1, pipelineID))...),
				"MLATTEST="+binPath, "FINETUNE="+finetunePath, fmt.Sprintf("MLATTEST_RUN_ID=e2e-pipeline-%d", i))
			cmd.Env = append(append(cmd.Env, pinEnv...), tc.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pipeline: %v\n%s", err, out)
			}
			r := mlattest(t, dir, []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}, "verify", "--layout", layout,
				"--layout-identity", ownerID, "--layout-oidc-issuer", s.Issuer1,
				"--attestations", att, "--model", filepath.Join(dir, "work", "release"), "--json")
			var rep struct {
				Passed   bool `json:"passed"`
				Failures []struct {
					Code   string `json:"code"`
					Step   string `json:"step"`
					Rule   string `json:"rule"`
					Reason string `json:"reason"`
				} `json:"failures"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("verify --json: %v\n%v", err, r)
			}
			if tc.wantCode == "" {
				if r.code != 0 || !rep.Passed {
					t.Fatalf("the honest pipeline does not verify: %v", r)
				}
				return
			}
			if r.code != 1 || rep.Passed {
				t.Fatalf("attack not caught: %v", r)
			}
			for _, f := range rep.Failures {
				if f.Code == tc.wantCode && f.Step == tc.wantStep && strings.Contains(f.Rule+" "+f.Reason, tc.wantIn) {
					return
				}
			}
			t.Fatalf("no %s failure at step %s in the report: %s", tc.wantCode, tc.wantStep, r.stdout)
		})
	}
}
