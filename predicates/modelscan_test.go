package predicates

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func modelScanInput() ModelScanInput {
	return ModelScanInput{
		Step: "scan-model", RunID: "run-1",
		Scanner: ModelScanScanner{Name: "mlattest scan model", Policy: "weights-only-v1"},
		Files: []ModelScanFile{
			{Path: "model/b.safetensors", SHA256: strings.Repeat("b", 64), Format: "safetensors", Verdict: "safe"},
			{Path: "model/a.bin", SHA256: strings.Repeat("a", 64), Format: "pickle", Verdict: "malicious", Pickle: true,
				Findings: []ModelScanFinding{{Rule: "dangerous-import", Severity: "malicious", Offset: 2, Message: "import of os.system"}}},
		},
	}
}

func TestModelScanRoundTrip(t *testing.T) {
	st, err := NewModelScanStatement(modelScanInput())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ModelScanOf(st2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Verdict != "malicious" || len(got.Files) != 2 || got.Files[0].Path != "model/a.bin" || got.Files[0].Findings[0].Offset != 2 {
		t.Fatalf("round trip: %+v", got)
	}
	bd, err := BindingOf(st2)
	if err != nil || bd.Step != "scan-model" || bd.RunID != "run-1" {
		t.Fatalf("binding %+v %v", bd, err)
	}
	if len(st2.GetSubject()) != 2 || st2.GetSubject()[0].GetName() != "model/a.bin" {
		t.Fatalf("subjects %v", st2.GetSubject())
	}
}

func TestModelScanRejects(t *testing.T) {
	cases := map[string]func(*ModelScanInput){
		"step without run":   func(in *ModelScanInput) { in.RunID = "" },
		"bad step":           func(in *ModelScanInput) { in.Step = "-x" },
		"no files":           func(in *ModelScanInput) { in.Files = nil },
		"lying verdict":      func(in *ModelScanInput) { in.Verdict = "safe" },
		"bad file verdict":   func(in *ModelScanInput) { in.Files[0].Verdict = "fine" },
		"safe with finding":  func(in *ModelScanInput) { in.Files[1].Verdict = "safe"; in.Files[0].Verdict = "safe" },
		"bad digest":         func(in *ModelScanInput) { in.Files[0].SHA256 = "xyz" },
		"absolute path":      func(in *ModelScanInput) { in.Files[0].Path = "/etc/passwd" },
		"duplicate path":     func(in *ModelScanInput) { in.Files[1].Path = in.Files[0].Path },
		"bad finding offset": func(in *ModelScanInput) { in.Files[1].Findings[0].Offset = -2 },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			in := modelScanInput()
			mut(&in)
			if _, err := NewModelScanStatement(in); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestModelScanUnbound(t *testing.T) {
	in := modelScanInput()
	in.Step, in.RunID = "", ""
	st, err := NewModelScanStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BindingOf(st); !errors.Is(err, ErrNoBinding) {
		t.Fatalf("unbound statement: %v", err)
	}
}

// TestModelScanGolden pins the signed bytes of a model-scan statement
// (regenerate with -update).
func TestModelScanGolden(t *testing.T) {
	st, err := NewModelScanStatement(modelScanInput())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/modelscan.golden.json"
	if *update {
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(b)+"\n" != string(want) {
		t.Fatalf("statement:\n%s\nwant:\n%s", b, want)
	}
}
