package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
)

// TestVSASubjectsAreTheVerifiedDigests: the VSA names the model digests
// the verdict was reached on. The model file is replaced between the
// verdict and the VSA; the VSA must still carry the bytes that were
// verified, for a passing run and for a failing one (model altered before
// verification: subject failure), whose FAILED VSA still has subjects.
func TestVSASubjectsAreTheVerifiedDigests(t *testing.T) {
	dir := t.TempDir()
	must := func(args ...string) {
		t.Helper()
		if r := mlattest(t, dir, noNetwork, args...); r.code != 0 {
			t.Fatalf("%s: %v", strings.Join(args, " "), r)
		}
	}
	must("keygen", "--output-key-prefix", "owner", "--no-passphrase")
	must("keygen", "--output-key-prefix", "ci", "--no-passphrase")
	head := keyLayoutHead(t, dir)
	writeFile(t, filepath.Join(dir, "layout.yaml"), head+`steps:
  - name: train
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
subject:
  step: train
  patterns: ["model/*"]
`)
	must("layout", "sign", "layout.yaml", "--key", "owner.key", "--offline")
	must("run", "--step", "train", "--run-id", "r1", "--key", "ci.key", "--offline", "--out", "att",
		"--products", "model", "--", "sh", "-c", "mkdir -p model && echo weights > model/m.bin")

	key, err := sign.LoadPrivateKey(filepath.Join(dir, "owner.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.New(sign.WithKey(key), sign.WithOffline())
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model", "m.bin")
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

	for _, tc := range []struct {
		name     string
		verified string // the model's bytes when verified
		passed   bool
		result   string
		owner    string // the layout owner's public key file
		code     gate.FailureCode
	}{
		{"passing run", "weights\n", true, "PASSED", "owner.pub", ""},
		{"failing run", "tampered before the verdict\n", false, "FAILED", "owner.pub", gate.FailSubject},
		// Signed by another key than the owner's: nothing is evaluated,
		// and the FAILED VSA still names the model it was about.
		{"rejected layout", "weights\n", false, "FAILED", "ci.pub", gate.FailLayoutSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(model, []byte(tc.verified), 0o644); err != nil {
				t.Fatal(err)
			}
			ownerPub, err := trust.LoadPublicKey(filepath.Join(dir, tc.owner))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := gate.VerifyLayout(context.Background(), gate.LayoutOptions{
				LayoutFile: filepath.Join(dir, "layout.yaml"), LayoutKey: ownerPub,
				AttestationsDir: filepath.Join(dir, "att"), Model: filepath.Join(dir, "model"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Passed != tc.passed {
				t.Fatalf("Passed = %v, want %v: %v", rep.Passed, tc.passed, rep.Failures)
			}
			if tc.code != "" && !slices.ContainsFunc(rep.Failures, func(f gate.Failure) bool { return f.Code == tc.code }) {
				t.Fatalf("failures %v, want %s", rep.Failures, tc.code)
			}
			if rep.Model == nil || len(rep.Model.Files) != 1 || rep.Model.Files[0].SHA256 != sum(tc.verified) {
				t.Fatalf("report model digests = %+v, want m.bin at %s", rep.Model, sum(tc.verified))
			}
			// After the verdict, before the VSA: other bytes.
			if err := os.WriteFile(model, []byte("replaced after the verdict\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "vsa.sigstore.json")
			if err := writeVSA(context.Background(), out, signer, rep, time.Now()); err != nil {
				t.Fatal(err)
			}
			st := payload(t, out)
			subjects, _ := st["subject"].([]any)
			if len(subjects) != 1 {
				t.Fatalf("VSA subjects = %v, want one", st["subject"])
			}
			s, _ := subjects[0].(map[string]any)
			d, _ := s["digest"].(map[string]any)
			if s["name"] != "m.bin" || d["sha256"] != sum(tc.verified) {
				t.Fatalf("VSA subject = %v, want m.bin at the verified digest %s (replaced: %s)", s, sum(tc.verified), sum("replaced after the verdict\n"))
			}
			if pred, _ := st["predicate"].(map[string]any); pred["verificationResult"] != tc.result {
				t.Fatalf("verificationResult = %v, want %s", pred["verificationResult"], tc.result)
			}
		})
	}
}
