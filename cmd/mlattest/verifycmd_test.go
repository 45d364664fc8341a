package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
)

const verifyLayoutYAML = `serial: 2
expires: "2099-01-01T00:00:00Z"
functionaries:
  trainer:
    keyless: {issuer: "{{I1}}", subject: trainer@example.com}
steps:
  - name: train
    functionaries: [trainer]
    expectedProducts: [CREATE model/*, DISALLOW *]
    expectedPredicates:
      - type: https://slsa.dev/provenance/v1
        expressions:
          - predicate.buildDefinition.buildType == "https://mlattest.dev/buildtypes/training/v1"
subject:
  step: train
  patterns: ["model/*"]
`

// verifySetup runs a real keyless train step with the mlattest binary and
// signs a layout for it as owner@example.com; it returns the working
// directory, the attestation directory and the layout path.
func verifySetup(t *testing.T, s *stacktest.Stack) (dir, att, layout string) {
	t.Helper()
	dir = pipelineDir(t)
	att = filepath.Join(dir, "att")
	if r := mlattest(t, dir, stackEnv(s, s.Token(t, 1, "trainer@example.com")), trainArgs(att)...); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	y := strings.ReplaceAll(verifyLayoutYAML, "{{I1}}", s.Issuer1)
	layout = filepath.Join(dir, "layout.yaml")
	writeFile(t, layout, y)
	sc, err := sign.LoadSigningConfig(s.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trust.LoadTrustedRoot(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := sign.New(sign.WithSigningConfig(sc), sign.WithTrustedMaterial(tr),
		sign.WithTokenSource(sign.StaticToken{Value: s.Token(t, 1, "owner@example.com"), From: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pb, err := sg.SignBlob(ctx, []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if err := sign.WriteBundle(layout+".sigstore.json", pb); err != nil {
		t.Fatal(err)
	}
	return dir, att, layout
}

func TestVerifyCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	s := stacktest.Get(t)
	dir, att, layout := verifySetup(t, s)
	model := filepath.Join(dir, "model")
	base := []string{"verify", "--layout", layout,
		"--layout-identity", "owner@example.com", "--layout-oidc-issuer", s.Issuer1,
		"--attestations", att, "--model", model, "--trusted-root", s.TrustedRoot}

	t.Run("text report passes", func(t *testing.T) {
		r := runCLI(t, base...)
		if r.code != exitOK {
			t.Fatalf("want exit 0: %v", r)
		}
		for _, want := range []string{"✔ step train (1 of 1 signer(s): trainer@example.com", "✔ threshold 1",
			"✔ predicate https://slsa.dev/provenance/v1", "✔ subject:", "PASSED", "Run e2e-run-1"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, r.stdout)
			}
		}
	})

	t.Run("json report passes", func(t *testing.T) {
		r := runCLI(t, append(base, "--json")...)
		if r.code != exitOK {
			t.Fatalf("want exit 0: %v", r)
		}
		var rep gate.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		if !rep.Passed || rep.RunID != "e2e-run-1" || rep.Layout.Serial != 2 || len(rep.Steps) != 1 || len(rep.Bundles) < 2 {
			t.Fatalf("unexpected report: %+v", rep)
		}
		if rep.Layout.Signer == nil || rep.Layout.Signer.Subject != "owner@example.com" {
			t.Fatalf("layout signer: %+v", rep.Layout.Signer)
		}
	})

	vsaArgs := func(out string) []string {
		return append(append([]string(nil), base...), "--vsa", out,
			"--signing-config", s.SigningConfig, "--identity-token", s.Token(t, 2, "release-gate@example.org"))
	}
	modelFile := filepath.Join(model, "model.safetensors")

	t.Run("signed VSA verifies with verify-bundle and cosign", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "model.vsa.sigstore.json")
		r := runCLI(t, vsaArgs(out)...)
		if r.code != exitOK {
			t.Fatalf("want exit 0: %v", r)
		}
		vb := runCLI(t, "verify-bundle", "--bundle", out, "--artifact", modelFile,
			"--certificate-identity", "release-gate@example.org", "--certificate-oidc-issuer", s.Issuer2,
			"--trusted-root", s.TrustedRoot, "--json")
		if vb.code != exitOK {
			t.Fatalf("verify-bundle rejected the VSA: %v", vb)
		}
		vsa := vsaOf(t, out)
		if vsa.Result != predicates.VSAPassed || vsa.PolicySerial != 2 || vsa.RunID != "e2e-run-1" || vsa.PolicyURI != "layout.yaml" {
			t.Fatalf("VSA: %+v", vsa)
		}
		ents, _ := os.ReadDir(att)
		if len(vsa.InputAttestations) != len(ents) || len(ents) < 2 {
			t.Fatalf("VSA lists %d attestations, the directory has %d", len(vsa.InputAttestations), len(ents))
		}
		for _, in := range vsa.InputAttestations {
			data, err := os.ReadFile(filepath.Join(att, in.URI))
			if err != nil || hexSum(string(data)) != in.SHA256 {
				t.Fatalf("input attestation %s: digest %s does not match the file (%v)", in.URI, in.SHA256, err)
			}
		}
		layoutBytes, _ := os.ReadFile(layout)
		if vsa.PolicyDigest != hexSum(string(layoutBytes)) {
			t.Fatal("VSA policy digest is not the layout's")
		}
		if s.Cosign == "" {
			t.Log("cosign not available: skipping the cosign check")
			return
		}
		cmd := exec.Command(s.CosignPath(t), "verify-blob-attestation", "--bundle", out,
			"--trusted-root", s.TrustedRoot, "--type", predicates.VSAV1,
			"--certificate-identity", "release-gate@example.org", "--certificate-oidc-issuer", s.Issuer2,
			"--insecure-ignore-sct", "--use-signed-timestamps", modelFile)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign rejected the VSA: %v\n%s", err, b)
		}
	})

	t.Run("swapped model fails with exit 1 and a FAILED VSA", func(t *testing.T) {
		swapped := t.TempDir()
		writeFile(t, filepath.Join(swapped, "model.safetensors"), "swapped weights")
		out := filepath.Join(t.TempDir(), "model.vsa.sigstore.json")
		args := vsaArgs(out)
		for i := range args {
			if args[i] == model {
				args[i] = swapped
			}
		}
		r := runCLI(t, append(args, "--json")...)
		if r.code != exitRejected {
			t.Fatalf("want exit 1: %v", r)
		}
		var rep gate.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		if rep.Passed || !rep.HasFailure(gate.FailSubject, "artifact model.safetensors: released file") {
			t.Fatalf("want a subject failure naming model.safetensors: %+v", rep.Failures)
		}
		if !strings.Contains(r.stderr, "verification FAILED") {
			t.Fatalf("stderr: %s", r.stderr)
		}
		if vsa := vsaOf(t, out); vsa.Result != predicates.VSAFailed {
			t.Fatalf("VSA result %s, want FAILED", vsa.Result)
		}
	})

	t.Run("text failure names step, rule, artifact and reason", func(t *testing.T) {
		empty := t.TempDir()
		r := runCLI(t, "verify", "--layout", layout, "--layout-identity", "owner@example.com", "--layout-oidc-issuer", s.Issuer1,
			"--attestations", empty, "--model", model, "--trusted-root", s.TrustedRoot)
		if r.code != exitRejected || !strings.Contains(r.stdout, "no attestation bundles") || !strings.Contains(r.stdout, "FAILED") {
			t.Fatalf("want exit 1 naming the empty directory: %v", r)
		}
	})

	t.Run("wrong layout owner fails", func(t *testing.T) {
		args := append([]string(nil), base...)
		args[4] = "mallory@example.com"
		r := runCLI(t, args...)
		if r.code != exitRejected || !strings.Contains(r.stdout, "[layout-signature]") {
			t.Fatalf("want exit 1 with a layout-signature failure: %v", r)
		}
	})

	t.Run("usage and input errors exit 2", func(t *testing.T) {
		for name, args := range map[string][]string{
			"no layout":            {"verify", "--attestations", att, "--model", model},
			"no owner":             {"verify", "--layout", layout, "--attestations", att, "--model", model},
			"key and identity":     append(append([]string(nil), base...), "--layout-key", layout),
			"insecure with owner":  append(append([]string(nil), base...), "--insecure-unsigned-layout"),
			"missing model":        {"verify", "--layout", layout, "--layout-identity", "owner@example.com", "--layout-oidc-issuer", s.Issuer1, "--attestations", att, "--model", filepath.Join(dir, "nope"), "--trusted-root", s.TrustedRoot},
			"missing attestations": {"verify", "--layout", layout, "--layout-identity", "owner@example.com", "--layout-oidc-issuer", s.Issuer1, "--attestations", filepath.Join(dir, "nope"), "--model", model, "--trusted-root", s.TrustedRoot},
			"vsa exists":           append(append([]string(nil), base...), "--vsa", layout),
			"unreadable layout":    {"verify", "--layout", filepath.Join(dir, "nope.yaml"), "--insecure-unsigned-layout", "--attestations", att, "--model", model, "--trusted-root", s.TrustedRoot},
		} {
			if r := runCLI(t, args...); r.code != exitUsage {
				t.Errorf("%s: want exit 2: %v", name, r)
			}
		}
	})

	t.Run("help has examples", func(t *testing.T) {
		r := runCLI(t, "verify", "--help")
		for _, want := range []string{"--layout-min-serial", "--vsa", "Exit status", "Example", "--insecure-unsigned-layout"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("help lacks %q", want)
			}
		}
	})
}

// vsaOf reads the VSA statement out of a bundle file.
func vsaOf(t *testing.T, path string) *predicates.VSAInput {
	t.Helper()
	raw := payloadBytes(t, path)
	st, err := predicates.ParseStatement(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := predicates.VSAOf(st)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
