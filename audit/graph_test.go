package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
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
