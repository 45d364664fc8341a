package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2EModelSignatureStep: `sign-model` is just another stage. The
// layout's sign-model step expects an OMS signature
// (https://model_signing/signature/v1.0) by the release key; `mlattest
// sign-model --signature att/model.sig.sigstore.json` writes it and `mlattest
// verify` passes. Signed by another key, over a model with one file changed,
// or missing, verify fails (exit 1) with the step's reason.
func TestE2EModelSignatureStep(t *testing.T) {
	dir := t.TempDir()
	do := func(t *testing.T, args ...string) cliResult {
		t.Helper()
		return mlattest(t, dir, noNetwork, args...)
	}
	must := func(t *testing.T, args ...string) {
		t.Helper()
		if r := do(t, args...); r.code != 0 {
			t.Fatalf("%s: %v", strings.Join(args, " "), r)
		}
	}
	for _, k := range []string{"owner", "ci", "release", "other"} {
		must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	rpub, err := os.ReadFile(filepath.Join(dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "layout.yaml"), keyLayoutHead(t, dir)+"  release:\n    key: |\n      "+
		strings.ReplaceAll(strings.TrimSpace(string(rpub)), "\n", "\n      ")+`
steps:
  - name: train
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE model/*, DISALLOW *]
  - name: sign-model
    functionaries: [release]
    expectedPredicates:
      - type: https://model_signing/signature/v1.0
subject:
  step: train
  patterns: ["model/*"]
`)
	must(t, "layout", "sign", "layout.yaml", "--key", "owner.key", "--offline")
	must(t, "run", "--step", "train", "--run-id", "m1", "--key", "ci.key", "--offline", "--out", "att",
		"--products", "model", "--", "sh", "-c", "mkdir -p model && printf weights > model/m.bin && printf '{}' > model/config.json")
	writeFile(t, filepath.Join(dir, "changed", "m.bin"), "weights")
	writeFile(t, filepath.Join(dir, "changed", "config.json"), `{"evil": true}`)

	sig := filepath.Join("att", "model.sig.sigstore.json")
	for _, tc := range []struct {
		name       string
		key, model string // "" = no signature
		code       int
		stdout     string
	}{
		{"signed by the release key", "release.key", "model", 0, "✔ step sign-model (1 of 1 signer(s): key sha256:"},
		{"signed by a key the layout does not name", "other.key", "model", exitRejected,
			"✘ step sign-model (0 of 1 signer(s))"},
		{"signed over a model with one file changed", "release.key", "changed", exitRejected,
			"the signed manifest is not the released model model: model does not match its signature: changed: config.json"},
		{"missing", "", "", exitRejected, "no signed statement for this step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, sig))
			if tc.key != "" {
				must(t, "sign-model", tc.model, "--key", tc.key, "--offline", "--signature", sig)
			}
			r := do(t, "verify", "--layout", "layout.yaml", "--layout-key", "owner.pub", "--attestations", "att", "--model", "model")
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) {
				t.Fatalf("want exit %d with %q: %v", tc.code, tc.stdout, r)
			}
		})
	}
}
