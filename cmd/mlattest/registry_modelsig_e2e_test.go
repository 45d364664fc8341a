package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/stacktest"
)

// TestE2ERegistryModelSignature: against both real registries, `push` of a
// model directory holding model.sig attaches the OMS signature as a
// referrer of its own artifact type (not as a model file); `verify oci://`
// reads it for the layout's sign-model step, and lists it unevaluated under
// a layout with no such step; `pull` writes it back as model.sig, which
// `verify-model` accepts. Signed by a key the layout does not name, or not
// pushed, the sign-model step fails (exit 1).
func TestE2ERegistryModelSignature(t *testing.T) {
	dir := t.TempDir()
	do := func(t *testing.T, args ...string) cliResult {
		t.Helper()
		return mlattest(t, dir, noNetwork, args...)
	}
	must := succeeding(do)
	for _, k := range []string{"owner", "ci", "release", "other"} {
		must(t, "keygen", "--output-key-prefix", k, "--no-passphrase")
	}
	rpub, err := os.ReadFile(filepath.Join(dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	head := keyLayoutHead(t, dir) + "  release:\n    key: |\n      " + strings.ReplaceAll(strings.TrimSpace(string(rpub)), "\n", "\n      ") + "\n"
	pkg := `steps:
  - name: package
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE release/*, DISALLOW *]
`
	subject := "subject:\n  step: package\n  patterns: [\"release/*\"]\n"
	writeFile(t, filepath.Join(dir, "layout.yaml"), head+pkg+`  - name: sign-model
    functionaries: [release]
    expectedPredicates:
      - type: https://model_signing/signature/v1.0
`+subject)
	writeFile(t, filepath.Join(dir, "plain.yaml"), head+pkg+subject)
	for _, l := range []string{"layout.yaml", "plain.yaml"} {
		must(t, "layout", "sign", l, "--key", "owner.key", "--offline")
	}
	must(t, "run", "--step", "package", "--run-id", "p1", "--key", "ci.key", "--offline", "--out", "att", "--products", "release",
		"--", "sh", "-c", "mkdir -p release && printf weights > release/model.safetensors && printf '{}' > release/config.json")
	must(t, "sign-model", "release", "--key", "release.key", "--offline")
	sig, err := os.ReadFile(filepath.Join(dir, "release", "model.sig"))
	if err != nil {
		t.Fatal(err)
	}
	gate := func(layout string) []string { return []string{"--layout", layout, "--layout-key", "owner.pub"} }

	for _, kind := range stacktest.RegistryKinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := stacktest.StartRegistry(t, kind)
			ref := reg.Ref("acme/model:v1")
			res := must(t, "push", "release", ref, "--attestations", "att", "--json")
			var p struct {
				Files     []struct{ Name string }
				Referrers []struct{ Title, Kind string }
			}
			if err := json.Unmarshal([]byte(res.stdout), &p); err != nil || len(p.Files) != 2 || len(p.Referrers) != 2 ||
				p.Referrers[1].Kind != "model-signature" || p.Referrers[1].Title != "model.sig.sigstore.json" {
				t.Fatalf("push: model.sig must be a model-signature referrer, not a file: %v %v", err, res)
			}

			res = must(t, append([]string{"verify", ref}, gate("layout.yaml")...)...)
			if !strings.Contains(res.stdout, "model signature: sha256:") || !strings.Contains(res.stdout, "✔ step sign-model (1 of 1 signer(s): key sha256:") {
				t.Fatalf("verify: the sign-model step is not performed by the pushed signature: %v", res)
			}
			res = must(t, append([]string{"verify", ref}, gate("plain.yaml")...)...)
			if !strings.Contains(res.stdout, "not evaluated: no step of the layout expects an OMS model signature") {
				t.Fatalf("verify under a layout without a sign-model step: %v", res)
			}

			out := filepath.Join(t.TempDir(), "pulled")
			must(t, append([]string{"pull", ref, out}, gate("layout.yaml")...)...)
			if got, err := os.ReadFile(filepath.Join(out, "model.sig")); err != nil || !bytes.Equal(got, sig) {
				t.Fatalf("pull did not write the verified model.sig: %v", err)
			}
			must(t, "verify-model", out, "--key", "release.pub")

			t.Run("signed by a key the layout does not name", func(t *testing.T) {
				other := filepath.Join(dir, "other-"+string(kind))
				must(t, "sign-model", "release", "--key", "other.key", "--offline", "--signature", other)
				must(t, "push", "release", reg.Ref("acme/other:v1"), "--attestations", "att", "--model-signature", other)
				res := do(t, append([]string{"verify", reg.Ref("acme/other:v1")}, gate("layout.yaml")...)...)
				if res.code != exitRejected || !strings.Contains(res.stdout, "✘ step sign-model (0 of 1 signer(s))") {
					t.Fatalf("want exit 1, sign-model not performed: %v", res)
				}
			})
			t.Run("not pushed", func(t *testing.T) {
				must(t, "push", "release", reg.Ref("acme/unsigned:v1"), "--attestations", "att", "--model-signature", "")
				res := do(t, append([]string{"verify", reg.Ref("acme/unsigned:v1")}, gate("layout.yaml")...)...)
				if res.code != exitRejected || !strings.Contains(res.stdout, "no signed statement for this step") {
					t.Fatalf("want exit 1, sign-model missing: %v", res)
				}
			})
		})
	}
}
