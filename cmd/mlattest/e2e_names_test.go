package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
)

// packageLayoutYAML: train as in verifyLayoutYAML, then a package step whose
// functionary may only copy the trained files into release/ and add docs
// under release/docs/. The released model is package's products under
// release/.
const packageLayoutYAML = `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  trainer:
    keyless: {issuer: "{{I1}}", subject: trainer@example.com}
  packager:
    keyless: {issuer: "{{I1}}", subject: pkg-bot@example.com}
steps:
  - name: train
    functionaries: [trainer]
    expectedProducts: [CREATE model/*, DISALLOW *]
    expectedPredicates:
      - type: https://slsa.dev/provenance/v1
        expressions:
          - predicate.buildDefinition.buildType == "https://mlattest.dev/buildtypes/training/v1"
  - name: package
    functionaries: [packager]
    expectedMaterials:
      - MATCH * IN model WITH PRODUCTS IN model FROM train
      - DISALLOW *
    expectedProducts:
      - MATCH * IN release WITH PRODUCTS IN model FROM train
      - CREATE release/docs/*
      - DISALLOW *
subject:
  step: package
  patterns: ["release/*"]
`

// TestE2EPackagerCannotReleaseOtherWeights drives the binary: a real
// keyless train step, then package links signed by the packager's identity.
// The honest one passes; one that lists other weights as
// release/docs/../model.safetensors or release/docs/model.safetensors (and
// which `mlattest verify` PASSED before names were judged as written) exits
// 1 with the reason in --json.
func TestE2EPackagerCannotReleaseOtherWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	s := stacktest.Get(t)
	dir := pipelineDir(t)
	trainAtt := filepath.Join(dir, "train-att")
	if r := mlattest(t, dir, stackEnv(s, s.Token(t, 1, "trainer@example.com")), trainArgs(trainAtt)...); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	trained, err := digest.Paths(context.Background(), dir, []string{"model"})
	if err != nil || len(trained) == 0 {
		t.Fatalf("digest model: %v %v", trained, err)
	}
	var honest []digest.Artifact
	for _, a := range trained {
		honest = append(honest, digest.Artifact{Name: "release/" + strings.TrimPrefix(a.Name, "model/"), SHA256: a.SHA256})
	}
	evil := []byte("other weights\n")
	evilSum := sha256.Sum256(evil)
	evilArt := func(name string) []digest.Artifact {
		out := []digest.Artifact{{Name: name, SHA256: hex.EncodeToString(evilSum[:])}}
		for _, a := range honest {
			if a.Name != "release/model.safetensors" {
				out = append(out, a)
			}
		}
		return out
	}

	sc, err := sign.LoadSigningConfig(s.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trust.LoadTrustedRoot(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	signAs := func(who string) *sign.Signer {
		sg, err := sign.New(sign.WithSigningConfig(sc), sign.WithTrustedMaterial(tr),
			sign.WithTokenSource(sign.StaticToken{Value: s.Token(t, 1, who), From: "test"}))
		if err != nil {
			t.Fatal(err)
		}
		return sg
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	layoutYAML := strings.ReplaceAll(packageLayoutYAML, "{{I1}}", s.Issuer1)
	layout := filepath.Join(dir, "layout.yaml")
	writeFile(t, layout, layoutYAML)
	pb, err := signAs("owner@example.com").SignBlob(ctx, []byte(layoutYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := sign.WriteBundle(layout+".sigstore.json", pb); err != nil {
		t.Fatal(err)
	}
	packager := signAs("pkg-bot@example.com")
	// pkgLink is the packager's link with products prods, its JSON then
	// edited old -> new (what mlattest itself would refuse to write).
	pkgLink := func(prods []digest.Artifact, oldnew ...string) []byte {
		st, err := predicates.NewLinkStatement(predicates.LinkInput{Step: "package", RunID: "e2e-run-1",
			Command: []string{"package"}, Materials: trained, Products: prods})
		if err != nil {
			t.Fatal(err)
		}
		b, err := predicates.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(oldnew); i += 2 {
			b = bytes.ReplaceAll(b, []byte(oldnew[i]), []byte(oldnew[i+1]))
		}
		return b
	}

	for _, tc := range []struct {
		name    string
		payload []byte
		model   []byte // released model.safetensors
		extra   string // a further released file
		vsa     bool   // also write a signed VSA, which must record the result
		code    string // "" = pass
	}{
		{name: "honest packager passes", payload: pkgLink(honest)},
		{name: "product with a .. segment", payload: pkgLink(evilArt("release/docs/DOTDOT/model.safetensors"), "DOTDOT", ".."), model: evil, code: "artifact-name"},
		{name: "product one directory deeper", payload: pkgLink(evilArt("release/docs/model.safetensors")), model: evil, code: "subject"},
		{name: "released file named in NFD, with a FAILED VSA", payload: pkgLink(honest), extra: "cafe\u0301.md", vsa: true, code: "artifact-name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			att := filepath.Join(t.TempDir(), "att")
			if err := os.CopyFS(att, os.DirFS(trainAtt)); err != nil {
				t.Fatal(err)
			}
			pb, err := packager.SignStatement(ctx, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if err := sign.WriteBundle(filepath.Join(att, "package.link.sigstore.json"), pb); err != nil {
				t.Fatal(err)
			}
			release := filepath.Join(t.TempDir(), "release")
			if err := os.CopyFS(release, os.DirFS(filepath.Join(dir, "model"))); err != nil {
				t.Fatal(err)
			}
			if tc.model != nil {
				writeFile(t, filepath.Join(release, "model.safetensors"), string(tc.model))
			}
			if tc.extra != "" {
				writeFile(t, filepath.Join(release, tc.extra), "docs\n")
			}
			args := []string{"verify", "--layout", layout,
				"--layout-identity", "owner@example.com", "--layout-oidc-issuer", s.Issuer1,
				"--attestations", att, "--model", release, "--json"}
			vsa := filepath.Join(t.TempDir(), "release.vsa.sigstore.json")
			if tc.vsa {
				args = append(args, "--vsa", vsa, "--signing-config", s.SigningConfig,
					"--identity-token", s.Token(t, 1, "release-gate@example.com"))
			}
			r := mlattest(t, dir, []string{"MLATTEST_TRUSTED_ROOT=" + s.TrustedRoot}, args...)
			if tc.vsa {
				if got := payload(t, vsa)["predicate"].(map[string]any)["verificationResult"]; got != "FAILED" {
					t.Fatalf("VSA verificationResult = %v, want FAILED (%v)", got, r)
				}
			}
			var rep struct {
				Passed   bool `json:"passed"`
				Failures []struct {
					Code   string `json:"code"`
					Reason string `json:"reason"`
				} `json:"failures"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("verify --json: %v\n%v", err, r)
			}
			if tc.code == "" {
				if r.code != 0 || !rep.Passed {
					t.Fatalf("want exit 0 and passed: %v", r)
				}
				return
			}
			if r.code != 1 || rep.Passed {
				t.Fatalf("want exit 1 and failed: %v", r)
			}
			for _, f := range rep.Failures {
				if f.Code == tc.code {
					return
				}
			}
			t.Fatalf("no %s failure in %s", tc.code, r.stdout)
		})
	}
}
