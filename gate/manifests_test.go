package gate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

const manifestLayout = `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  pipeline:
    keyless: {issuer: "https://issuer.example", subject: pipeline@example.com}
steps:
  - name: clean
    functionaries: [pipeline]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE data/*, DISALLOW *]
  - name: train
    functionaries: [pipeline]
    expectedMaterials: [MATCH data/* WITH PRODUCTS FROM clean, DISALLOW *]
    expectedProducts: [CREATE model/*, DISALLOW *]
subject:
  step: train
`

// TestManifestExpansion: steps that record a directory as a manifest are
// evaluated on its files, whether the next step records the same directory
// as a manifest or file by file; a tampered, missing or mismatched manifest
// fails.
func TestManifestExpansion(t *testing.T) {
	l, err := layouts.Parse([]byte(manifestLayout), "layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var files []digest.Artifact
	for i := range 20 {
		files = append(files, digest.Artifact{Name: fmt.Sprintf("data/part-%d/f%02d", i%3, i), SHA256: hexSum([]byte(fmt.Sprint(i)))})
	}
	collapsed, ms, err := predicates.CollapseArtifacts(files, 10)
	if err != nil || len(ms) != 1 {
		t.Fatal(ms, err)
	}
	model := []digest.Artifact{{Name: "model/m.bin", SHA256: hexSum([]byte("w"))}}
	s := verify.Signer{Issuer: "https://issuer.example", Subject: "pipeline@example.com"}
	stmt := func(step string, mats, prods []digest.Artifact) *VerifiedStatement {
		st := linkStmt(t, step, "run-1", []string{step}, mats, prods, 0)
		payload, err := predicates.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return &VerifiedStatement{Bundle: step, Signer: s, SignerID: signerID(s), Statement: st, PayloadSHA256: hexSum(payload)}
	}
	mf := &ModelFiles{Path: "m.bin", Files: []digest.Artifact{{Name: "m.bin", SHA256: model[0].SHA256}}}

	dir := t.TempDir()
	mdir := filepath.Join(dir, predicates.ManifestDir)
	os.MkdirAll(mdir, 0o755)
	good := filepath.Join(mdir, predicates.ManifestFileName(ms[0].SHA256))
	if err := os.WriteFile(good, ms[0].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(stmts ...*VerifiedStatement) *Evidence {
		ev := &Evidence{Statements: stmts}
		loadManifests(dir, ev)
		return ev
	}

	// Both steps with the manifest; then train listing the files.
	for name, ev := range map[string]*Evidence{
		"manifest to manifest": load(stmt("clean", nil, collapsed), stmt("train", collapsed, model)),
		"manifest to files":    load(stmt("clean", nil, collapsed), stmt("train", files, model)),
		"files to manifest":    load(stmt("clean", nil, files), stmt("train", collapsed, model)),
	} {
		if len(ev.Failures) > 0 {
			t.Fatalf("%s: load failures %v", name, ev.Failures)
		}
		if r := Evaluate(l, ev, EvalOptions{Model: mf}); !r.Passed {
			t.Errorf("%s: want pass:\n%s", name, failureList(r))
		}
	}

	// A train step that used a changed file: the MATCH rule names it.
	changed := append([]digest.Artifact(nil), files...)
	changed[4].SHA256 = hexSum([]byte("poison"))
	ch, chm, _ := predicates.CollapseArtifacts(changed, 10)
	os.WriteFile(filepath.Join(mdir, predicates.ManifestFileName(chm[0].SHA256)), chm[0].Data, 0o644)
	ev := load(stmt("clean", nil, collapsed), stmt("train", ch, model))
	r := Evaluate(l, ev, EvalOptions{Model: mf})
	if r.Passed || !r.HasFailure(FailArtifactRule, changed[4].Name) {
		t.Errorf("changed file: want an artifact-rule failure naming %s:\n%s", changed[4].Name, failureList(r))
	}

	// The manifest file tampered with: its digest no longer matches.
	if err := os.WriteFile(good, []byte(strings.Replace(string(ms[0].Data), files[0].SHA256, hexSum([]byte("x")), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ev = load(stmt("clean", nil, collapsed), stmt("train", collapsed, model))
	if len(ev.Failures) != 1 || !strings.Contains(ev.Failures[0].Reason, "manifest digest") {
		t.Errorf("tampered manifest: failures %v", ev.Failures)
	}
	r = Evaluate(l, ev, EvalOptions{Model: mf})
	if r.Passed || !r.HasFailure(FailStatement, "missing or invalid") {
		t.Errorf("tampered manifest: want a statement failure:\n%s", failureList(r))
	}

	// Missing.
	os.Remove(good)
	ev = load(stmt("clean", nil, collapsed), stmt("train", collapsed, model))
	if len(ev.Failures) != 1 || !strings.Contains(ev.Failures[0].Reason, "no such file") {
		t.Errorf("missing manifest: failures %v", ev.Failures)
	}
	if r := Evaluate(l, ev, EvalOptions{Model: mf}); r.Passed {
		t.Error("missing manifest: passed")
	}
}
