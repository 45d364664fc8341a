package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/internal/witnesstest"
)

// TestE2EWitnessStepCounts: train is run by mlattest (ci key, offline) and
// evaluate is signed by witness (a bare DSSE envelope with witness's
// attestation collection, signed with the witness functionary's key, as
// `witness run --step evaluate -k witness.key -o att/evaluate.dsse.json`
// writes it; witnesstest builds those bytes because the witness CLI cannot
// be installed here). 'mlattest verify' counts it for evaluate: its
// material attestor matches train's product. Signed with another key, or
// with a material train did not produce, verification fails with exit 1.
// Pushed to a registry with the model, it counts in `verify oci://` too.
func TestE2EWitnessStepCounts(t *testing.T) {
	dir := t.TempDir()
	must := succeeding(func(t *testing.T, args ...string) cliResult { return mlattest(t, dir, noNetwork, args...) })
	for _, k := range []string{"owner", "ci"} {
		must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	wkey, other := ecKey(t), ecKey(t)
	der, err := x509.MarshalPKIXPublicKey(&wkey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	wpub := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	writeFile(t, filepath.Join(dir, "layout.yaml"), keyLayoutHead(t, dir)+"  witness:\n    key: |\n      "+
		strings.ReplaceAll(wpub, "\n", "\n      ")+`
steps:
  - name: train
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
  - name: evaluate
    functionaries: [witness]
    expectedCommand: [python, eval.py]
    expectedMaterials: [MATCH model/m.bin WITH PRODUCTS FROM train, DISALLOW *]
    expectedProducts: [CREATE report.json, DISALLOW *]
    expectedPredicates:
      - type: https://witness.testifysec.com/attestation-collection/v0.1
        expressions: ["predicate.name == 'evaluate'"]
subject:
  step: train
  patterns: ["model/*"]
`)
	must(t, "layout", "sign", "layout.yaml", "--key", "owner.key", "--offline")
	must(t, "run", "--step", "train", "--run-id", "w1", "--key", "ci.key", "--offline", "--out", "att",
		"--products", "model", "--", "sh", "-c", "mkdir -p model && printf weights > model/m.bin")

	evaluate := func(t *testing.T, k *ecdsa.PrivateKey, model []byte) {
		t.Helper()
		s := witnesstest.Step{Name: "evaluate", RunID: "w1", Command: []string{"python", "eval.py"},
			Materials: map[string][]byte{"model/m.bin": model}, Products: map[string][]byte{"report.json": []byte(`{"accuracy": 0.9}`)}}
		writeFile(t, filepath.Join(dir, "att", "evaluate.dsse.json"), string(witnesstest.Sign(t, k, s.Payload(t)).JSON(t)))
	}
	verify := []string{"verify", "--layout", "layout.yaml", "--layout-key", "owner.pub", "--attestations", "att", "--model", "model"}
	for _, tc := range []struct {
		name   string
		key    *ecdsa.PrivateKey
		model  string
		code   int
		output string
	}{
		{"witness-signed evaluate counts", wkey, "weights", 0, "✔ step evaluate (1 of 1 signer(s): key sha256:"},
		{"signed with a key the layout does not name", other, "weights", exitRejected,
			"bundle evaluate.dsse.json: does not verify: identity: signed with a key that is no functionary key of the layout"},
		{"evaluated another model", wkey, "other weights", exitRejected, "MATCH model/m.bin WITH PRODUCTS FROM train"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evaluate(t, tc.key, []byte(tc.model))
			r := mlattest(t, dir, noNetwork, verify...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.output) {
				t.Fatalf("want exit %d with %q: %v", tc.code, tc.output, r)
			}
		})
	}

	// The graph of the verified run draws witness's step with its artifacts.
	t.Run("graph", func(t *testing.T) {
		evaluate(t, wkey, []byte("weights"))
		graph := filepath.Join(t.TempDir(), "run")
		if r := mlattest(t, dir, noNetwork, append(verify, "--graph", graph)...); r.code != 0 {
			t.Fatalf("verify --graph: %v", r)
		}
		checkGraphFile(t, graph, "evaluate<br/>key ", "report.json", "PASSED")
	})

	// verify-bundle checks the envelope alone, through the same path.
	t.Run("verify-bundle", func(t *testing.T) {
		evaluate(t, wkey, []byte("weights"))
		writeFile(t, filepath.Join(dir, "witness.pub"), wpub+"\n")
		writeFile(t, filepath.Join(dir, "report.json"), `{"accuracy": 0.9}`)
		args := []string{"verify-bundle", "--bundle", filepath.Join("att", "evaluate.dsse.json"), "--artifact", "report.json"}
		if r := mlattest(t, dir, noNetwork, append(args, "--key", "witness.pub")...); r.code != 0 ||
			!strings.Contains(r.stdout, "https://witness.testifysec.com/attestation-collection/v0.1") {
			t.Fatalf("verify-bundle with witness's key: %v", r)
		}
		if r := mlattest(t, dir, noNetwork, append(args, "--key", "ci.pub")...); r.code != exitRejected || !strings.Contains(r.stderr, "signature does not match key ci.pub") {
			t.Fatalf("verify-bundle with another key: %v", r)
		}
	})

	// Pushed with the model, the envelope travels as the Sigstore bundle
	// verify makes of it, and counts for evaluate in `verify oci://`.
	t.Run("through a registry", func(t *testing.T) {
		evaluate(t, wkey, []byte("weights"))
		reg := stacktest.StartRegistry(t, stacktest.Distribution)
		ref := reg.Ref("acme/witnessed:v1")
		if r := mlattest(t, dir, noNetwork, "push", "model", ref, "--attestations", "att"); r.code != 0 || !strings.Contains(r.stdout, "2 attestation(s)") {
			t.Fatalf("push: %v", r)
		}
		r := mlattest(t, dir, noNetwork, "verify", ref, "--layout", "layout.yaml", "--layout-key", "owner.pub")
		if r.code != 0 || !strings.Contains(r.stdout, "✔ step evaluate (1 of 1 signer(s): key sha256:") {
			t.Fatalf("verify oci://: %v", r)
		}
	})
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
