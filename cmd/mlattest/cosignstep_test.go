package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestE2ECosignStepCounts: a pipeline whose train step is run by mlattest
// and whose evaluate step is signed by cosign attest-blob (keyless on the
// private stack, --statement: a Statement v1 whose link v0.3 predicate
// names the step and the run) passes
// 'mlattest verify': the cosign bundle is verified by the same sigstore-go
// path and counts for evaluate because the layout names its signer. Signed
// by another identity, the evaluate step is missing and verification fails.
func TestE2ECosignStepCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	s := stacktest.Get(t)
	cosign := s.CosignPath(t)
	dir := t.TempDir()
	work, att := filepath.Join(dir, "work"), filepath.Join(dir, "att")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "data.txt"), "training data\n")
	if r := runCLI(t, "keygen", "--output-key-prefix", filepath.Join(dir, "owner"), "--no-passphrase"); r.code != 0 {
		t.Fatalf("keygen: %s", r)
	}
	layout := filepath.Join(dir, "layout.yaml")
	writeFile(t, layout, fmt.Sprintf(`serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  pipeline:
    keyless: {issuer: %q, subject: trainer@example.com}
  evaluator:
    keyless: {issuer: %q, subject: evaluator@example.com}
steps:
  - name: train
    functionaries: [pipeline]
    expectedMaterials: ["ALLOW data.txt", "DISALLOW *"]
    expectedProducts: ["CREATE model.bin", "DISALLOW *"]
  - name: evaluate
    functionaries: [evaluator]
    expectedMaterials: ["MATCH model.bin WITH PRODUCTS FROM train", "DISALLOW *"]
    expectedProducts: ["CREATE report.json", "DISALLOW *"]
subject:
  step: train
  patterns: [model.bin]
`, s.Issuer1, s.Issuer2))
	if r := runCLI(t, "layout", "sign", layout, "--key", filepath.Join(dir, "owner.key"), "--offline"); r.code != 0 {
		t.Fatalf("layout sign: %s", r)
	}
	const runID = "cosign-interop-1"
	if r := runCLI(t, "run", "--step", "train", "--run-id", runID, "--dir", work, "--out", att,
		"--identity-token", s.Token(t, 1, "trainer@example.com"), "--signing-config", s.SigningConfig, "--trusted-root", s.TrustedRoot,
		"--materials", "data.txt", "--products", "model.bin", "--", "sh", "-c", "printf weights > model.bin"); r.code != 0 {
		t.Fatalf("run train: %s", r)
	}
	model := filepath.Join(work, "model.bin")
	sum := sha256.Sum256([]byte("weights"))
	writeFile(t, filepath.Join(work, "report.json"), `{"accuracy": 0.9}`)
	report := sha256.Sum256([]byte(`{"accuracy": 0.9}`))
	// cosign's --predicate mode wraps the predicate in an in-toto Statement
	// v0.1, which the gate does not evaluate (a v1 look-alike must not pass
	// for one); --statement signs this Statement v1 as it is.
	stmt := filepath.Join(dir, "evaluate.statement.json")
	writeFile(t, stmt, fmt.Sprintf(`{"_type": "https://in-toto.io/Statement/v1",
  "subject": [{"name": "report.json", "digest": {"sha256": %q}}],
  "predicateType": "https://in-toto.io/attestation/link/v0.3",
  "predicate": {"name": "evaluate", "command": ["python", "eval.py"],
    "materials": [{"name": "model.bin", "digest": {"sha256": %q}}],
    "byproducts": {"return-value": 0, "mlattest.dev/run-id": %q}}}`,
		hex.EncodeToString(report[:]), hex.EncodeToString(sum[:]), runID))

	evaluate := func(t *testing.T, who string) {
		t.Helper()
		b := filepath.Join(att, "evaluate.cosign.sigstore.json")
		os.Remove(b)
		cmd := exec.Command(cosign, "attest-blob", "--signing-config", s.SigningConfig,
			"--trusted-root", s.TrustedRoot, "--identity-token", s.Token(t, 2, who),
			"--statement", stmt, "--bundle", b, "-y")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign attest-blob: %v\n%s", err, out)
		}
	}
	verifyArgs := []string{"verify", "--layout", layout, "--layout-key", filepath.Join(dir, "owner.pub"),
		"--attestations", att, "--model", model, "--trusted-root", s.TrustedRoot}

	evaluate(t, "evaluator@example.com")
	r := runCLI(t, verifyArgs...)
	if r.code != 0 || !strings.Contains(r.stdout, "✔ step evaluate (1 of 1 signer(s): evaluator@example.com") {
		t.Fatalf("verify with cosign's evaluate: %s", r)
	}
	evaluate(t, "mallory@example.com")
	r = runCLI(t, verifyArgs...)
	if r.code != exitRejected || !strings.Contains(r.stdout, "✘ step evaluate (0 of 1 signer(s))") {
		t.Fatalf("evaluate signed by another identity: %s", r)
	}
}
