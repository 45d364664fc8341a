package predicates

import (
	"errors"
	"strings"
	"testing"
)

func dsInput() DatasetScanInput {
	return DatasetScanInput{
		Step: "scan-data", RunID: "run-1",
		Scanner:    DatasetScanScanner{Name: "mlattest scan data"},
		Thresholds: map[string]any{"minSupport": 5},
		Datasets: []DatasetScanDataset{{
			Path: "data/train.jsonl", SHA256: strings.Repeat("a", 64), Format: "jsonl", Records: 10, Verdict: DatasetFail,
			Flagged:  []int{3, 4},
			Findings: []DatasetScanFinding{{Detector: "trigger-response", Severity: "fail", Records: []int{3, 4}, Count: 2, Trigger: "qz", Target: "Access granted", Reason: "why"}},
		}},
	}
}

func TestDatasetScanStatement(t *testing.T) {
	st, err := NewDatasetScanStatement(dsInput())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseStatement(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BindingOf(back)
	if err != nil || b.Step != "scan-data" || b.RunID != "run-1" {
		t.Fatalf("binding %+v, %v", b, err)
	}
	in, err := DatasetScanOf(back)
	if err != nil {
		t.Fatal(err)
	}
	if in.Verdict != DatasetFail || in.Datasets[0].Flagged[1] != 4 || back.GetSubject()[0].GetName() != "data/train.jsonl" {
		t.Fatalf("read back %+v", in)
	}
}

func TestDatasetScanStatementErrors(t *testing.T) {
	for name, mod := range map[string]func(*DatasetScanInput){
		"step without run": func(in *DatasetScanInput) { in.RunID = "" },
		"bad step":         func(in *DatasetScanInput) { in.Step = "-x" },
		"no datasets":      func(in *DatasetScanInput) { in.Datasets = nil },
		"absolute path":    func(in *DatasetScanInput) { in.Datasets[0].Path = "/etc/x" },
		"bad digest":       func(in *DatasetScanInput) { in.Datasets[0].SHA256 = "xyz" },
		"bad verdict":      func(in *DatasetScanInput) { in.Datasets[0].Verdict = "OK" },
		"verdict mismatch": func(in *DatasetScanInput) { in.Verdict = DatasetPass },
		"bad severity":     func(in *DatasetScanInput) { in.Datasets[0].Findings[0].Severity = "bad" },
	} {
		t.Run(name, func(t *testing.T) {
			in := dsInput()
			mod(&in)
			if _, err := NewDatasetScanStatement(in); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestDatasetScanUnboundHasNoBinding(t *testing.T) {
	in := dsInput()
	in.Step, in.RunID = "", ""
	st, err := NewDatasetScanStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BindingOf(st); !errors.Is(err, ErrNoBinding) {
		t.Fatalf("got %v, want ErrNoBinding", err)
	}
}
