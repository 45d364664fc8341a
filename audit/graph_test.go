package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/layouts"
)

var updateGolden = os.Getenv("MLATTEST_UPDATE_GOLDEN") == "1"

func art(name, content string) digest.Artifact {
	return digest.Artifact{Name: name, SHA256: fmt.Sprintf("%x", sha(content))}
}

// demoRun is the example pipeline's seven stages (examples/pipeline),
// as their link statements record them.
func demoRun(swapModel bool) []StepRecord {
	model := art("model/model.safetensors", "model")
	evalModel := model
	if swapModel {
		// The evaluated and packaged weights are not the trained ones.
		evalModel = art("model/model.safetensors", "other weights")
	}
	const ci = "ci@example.com"
	return []StepRecord{
		{Step: "ingest", Signer: ci, Products: []digest.Artifact{art("raw.jsonl", "raw")}},
		{Step: "clean", Signer: ci, Materials: []digest.Artifact{art("raw.jsonl", "raw")}, Products: []digest.Artifact{art("clean.jsonl", "clean")}},
		{Step: "scan-data", Signer: ci, Materials: []digest.Artifact{art("clean.jsonl", "clean")}, Products: []digest.Artifact{art("data-scan.json", "ds")}},
		{Step: "train", Signer: "trainer@example.com", Materials: []digest.Artifact{art("clean.jsonl", "clean"), art("train.json", "cfg")}, Products: []digest.Artifact{model}},
		{Step: "scan-model", Signer: ci, Materials: []digest.Artifact{evalModel}, Products: []digest.Artifact{art("model-scan.json", "ms")}},
		{Step: "evaluate", Signer: ci, Materials: []digest.Artifact{evalModel, art("clean.jsonl", "clean")}, Products: []digest.Artifact{art("eval.json", "ev")}},
		{Step: "package", Signer: "pkg-bot@example.com", Materials: []digest.Artifact{evalModel, art("eval.json", "ev")}, Products: []digest.Artifact{art("release/model.safetensors", "model")}},
	}
}

func TestGraphGolden(t *testing.T) {
	lay, err := layouts.Parse([]byte(`serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  ci:
    keyless: {issuer: https://issuer.test, subject: ci@example.com}
steps:
  - {name: ingest, functionaries: [ci]}
  - {name: clean, functionaries: [ci]}
  - {name: scan-data, functionaries: [ci]}
  - {name: train, functionaries: [ci]}
  - {name: scan-model, functionaries: [ci]}
  - {name: evaluate, functionaries: [ci]}
  - {name: package, functionaries: [ci]}
  - {name: probe, functionaries: [ci]}
subject:
  step: package
`), "layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		recs   []StepRecord
		layout *layouts.Layout
		red    []string // labels drawn red
	}{
		{"honest", demoRun(false), nil, nil},
		{"swapped", demoRun(true), nil, []string{"evaluate", "scan-model", "package"}},
		{"honest-layout", demoRun(false), lay, []string{"probe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := BuildGraph(tc.recs, tc.layout)
			var red []string
			for _, s := range g.Steps {
				if s.Problem != "" {
					red = append(red, s.Name)
				}
			}
			if fmt.Sprint(red) != fmt.Sprint(tc.red) {
				t.Fatalf("red steps %v, want %v", red, tc.red)
			}
			mismatched := 0
			for _, a := range g.Artifacts {
				if a.Mismatch {
					mismatched++
				}
			}
			if (mismatched > 0) != (tc.name == "swapped") {
				t.Fatalf("%d mismatched artifacts", mismatched)
			}
			for ext, got := range map[string]string{".mmd": g.Mermaid(), ".svg": g.SVG()} {
				golden(t, filepath.Join("testdata", "graph", tc.name+ext), got)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (MLATTEST_UPDATE_GOLDEN=1 writes it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs (MLATTEST_UPDATE_GOLDEN=1 rewrites it):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(bl), len(al))
}

// demoReport is the release gate's verdict on demoRun: every step passes,
// or, with the model swapped, the steps reading the trained weights fail
// the artifact rule that ties them to train's products.
func demoReport(recs []StepRecord, swapped bool) *gate.Report {
	rep := &gate.Report{Passed: !swapped}
	for i := range recs {
		recs[i].Bundle = recs[i].Step + ".link.sigstore.json"
		rep.Bundles = append(rep.Bundles, gate.BundleRef{File: recs[i].Bundle, Verified: true, Evaluated: true, Step: recs[i].Step})
		sr := gate.StepReport{Name: recs[i].Step, Passed: true, Threshold: 1, Signers: []string{recs[i].Signer}}
		if swapped && slices.Contains([]string{"scan-model", "evaluate", "package"}, recs[i].Step) {
			f := gate.Failure{Code: gate.FailArtifactRule, Step: recs[i].Step, Rule: "MATCH model/model.safetensors WITH PRODUCTS FROM train",
				Artifact: "model/model.safetensors", Reason: "digest differs from train's product"}
			sr.Passed, sr.Failures = false, []gate.Failure{f}
			rep.Failures = append(rep.Failures, f)
		}
		rep.Steps = append(rep.Steps, sr)
	}
	return rep
}

// TestVerifiedGraphGolden draws the demo run as verify --graph does, from
// the gate's report: the honest and the swapped run, plus what a report
// changes (rejected bundles left out, layout steps without a statement red).
func TestVerifiedGraphGolden(t *testing.T) {
	withRejected := func() ([]StepRecord, *gate.Report) {
		recs := demoRun(false)
		rep := demoReport(recs, false)
		// A bundle that did not verify, and a layout step nobody signed.
		recs = append(recs, StepRecord{Step: "train", Bundle: "forged.link.sigstore.json", Signer: "mallory@example.com",
			Materials: []digest.Artifact{art("clean.jsonl", "poisoned")}, Products: []digest.Artifact{art("model/model.safetensors", "backdoor")}})
		rep.Bundles = append(rep.Bundles, gate.BundleRef{File: "forged.link.sigstore.json"})
		rep.Steps = append(rep.Steps, gate.StepReport{Name: "probe", Threshold: 1,
			Failures: []gate.Failure{{Code: gate.FailStepMissing, Step: "probe", Reason: "no link statement for this step"}}})
		rep.Passed = false
		return recs, rep
	}
	for _, tc := range []struct {
		name     string
		run      func() ([]StepRecord, *gate.Report)
		red      []string // steps drawn red
		verdicts string
		badArts  int
	}{
		{"verify-honest", func() ([]StepRecord, *gate.Report) { r := demoRun(false); return r, demoReport(r, false) },
			nil, "[PASSED PASSED PASSED PASSED PASSED PASSED PASSED]", 0},
		{"verify-swapped", func() ([]StepRecord, *gate.Report) { r := demoRun(true); return r, demoReport(r, true) },
			[]string{"scan-model", "evaluate", "package"}, "[PASSED PASSED PASSED PASSED FAILED FAILED FAILED]", 1},
		{"verify-rejected", withRejected, []string{"probe"}, "[PASSED FAILED PASSED PASSED PASSED PASSED PASSED PASSED]", 0},
		{"verify-layout-refused", func() ([]StepRecord, *gate.Report) {
			return demoRun(false), &gate.Report{Layout: gate.LayoutSummary{File: "/x/layout.yaml"},
				Failures: []gate.Failure{{Code: gate.FailLayoutExpired, Reason: "layout expired at 2020-01-01T00:00:00Z"}}}
		}, []string{"layout layout.yaml"}, "[FAILED]", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, rep := tc.run()
			g := VerifiedGraph(recs, rep)
			var red, verdicts []string
			for _, s := range g.Steps {
				if s.Problem != "" {
					red = append(red, s.Name)
				}
				verdicts = append(verdicts, s.Verdict)
			}
			if fmt.Sprint(red) != fmt.Sprint(tc.red) || fmt.Sprint(verdicts) != tc.verdicts {
				t.Fatalf("red steps %v verdicts %v, want %v %s", red, verdicts, tc.red, tc.verdicts)
			}
			bad := 0
			for _, a := range g.Artifacts {
				if a.Mismatch {
					bad++
				}
				if strings.Contains(a.Digest, fmt.Sprintf("%x", sha("backdoor"))[:12]) {
					t.Fatalf("an unverified bundle's product is drawn: %+v", a)
				}
			}
			if bad != tc.badArts {
				t.Fatalf("%d red artifacts, want %d", bad, tc.badArts)
			}
			for ext, got := range map[string]string{".mmd": g.Mermaid(), ".svg": g.SVG()} {
				golden(t, filepath.Join("testdata", "graph", tc.name+ext), got)
			}
		})
	}
}
