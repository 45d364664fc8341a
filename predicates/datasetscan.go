package predicates

import (
	"fmt"
	"path"
	"sort"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// DatasetScanV1 is the predicate type `mlattest scan data` writes.
const DatasetScanV1 = "https://mlattest.dev/attestation/dataset-scan/v1"

const schemaDatasetScan = "dataset-scan-v1.schema.json"

// Dataset-scan verdicts.
const (
	DatasetPass = "PASS"
	DatasetFail = "FAIL"
)

// DatasetScanFinding is one explainable finding: which records and why.
type DatasetScanFinding struct {
	Detector string  `json:"detector"`
	Severity string  `json:"severity"` // fail, warn or info
	Records  []int   `json:"records"`  // 0-based record indices (possibly capped; Count is the total)
	Count    int     `json:"count"`
	Trigger  string  `json:"trigger,omitempty"`
	Target   string  `json:"target,omitempty"`
	Score    float64 `json:"score,omitempty"`
	Reason   string  `json:"reason"`
}

// DatasetScanDataset is the scan of one dataset file.
type DatasetScanDataset struct {
	Path       string               `json:"path"` // slash-separated, relative to the working directory
	SHA256     string               `json:"sha256"`
	Format     string               `json:"format"`
	Records    int                  `json:"records"`
	BadRecords int                  `json:"badRecords"`
	Verdict    string               `json:"verdict"`
	Flagged    []int                `json:"flagged"`
	SourceMix  map[string]int       `json:"sourceMix,omitempty"`
	Incomplete string               `json:"incomplete,omitempty"`
	Findings   []DatasetScanFinding `json:"findings"`
}

// DatasetScanScanner names the scanner.
type DatasetScanScanner struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// DatasetScanInput is the dataset-scan predicate. Step and RunID are the
// binding; both or neither.
//
//	{step, runId, scanner{name, version}, verdict, thresholds{...},
//	 datasets[{path, sha256, format, records, badRecords, verdict, flagged[], sourceMix{}, findings[{detector, severity, records[], count, trigger, target, score, reason}]}]}
//
// verdict is FAIL when any dataset fails. Subjects are the dataset files.
type DatasetScanInput struct {
	Step       string               `json:"step,omitempty"`
	RunID      string               `json:"runId,omitempty"`
	Scanner    DatasetScanScanner   `json:"scanner"`
	Verdict    string               `json:"verdict"`
	Thresholds map[string]any       `json:"thresholds"`
	Datasets   []DatasetScanDataset `json:"datasets"`
}

// NewDatasetScanStatement builds the dataset-scan statement; in.Verdict is
// computed from the datasets when empty. Datasets are sorted by path.
func NewDatasetScanStatement(in DatasetScanInput) (*intoto.Statement, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("predicates: dataset-scan statement: "+format, args...)
	}
	if (in.Step == "") != (in.RunID == "") {
		return nil, fail("step and run id must be given together")
	}
	if in.Step != "" {
		if err := CheckStepName(in.Step); err != nil {
			return nil, fail("%w", err)
		}
		if err := CheckRunID(in.RunID); err != nil {
			return nil, fail("step %q: %w", in.Step, err)
		}
	}
	if len(in.Datasets) == 0 {
		return nil, fail("no datasets")
	}
	if in.Scanner.Name == "" {
		return nil, fail("no scanner name")
	}
	if in.Thresholds == nil {
		in.Thresholds = map[string]any{}
	}
	ds := append([]DatasetScanDataset(nil), in.Datasets...)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Path < ds[j].Path })
	worst := DatasetPass
	subjects := make([]*intoto.ResourceDescriptor, 0, len(ds))
	for i, d := range ds {
		if d.Path == "" || path.IsAbs(d.Path) {
			return nil, fail("dataset path %q must be relative and non-empty", d.Path)
		}
		if !sha256RE.MatchString(d.SHA256) {
			return nil, fail("dataset %s: digest %q is not a lowercase hex SHA-256", d.Path, d.SHA256)
		}
		if d.Verdict != DatasetPass && d.Verdict != DatasetFail {
			return nil, fail("dataset %s: verdict %q is neither PASS nor FAIL", d.Path, d.Verdict)
		}
		if d.Flagged == nil {
			ds[i].Flagged = []int{}
		}
		if d.Findings == nil {
			ds[i].Findings = []DatasetScanFinding{}
		}
		for j, f := range ds[i].Findings {
			if f.Records == nil {
				ds[i].Findings[j].Records = []int{}
			}
		}
		if d.Verdict == DatasetFail {
			worst = DatasetFail
		}
		subjects = append(subjects, &intoto.ResourceDescriptor{Name: d.Path, Digest: map[string]string{"sha256": d.SHA256}})
	}
	in.Datasets = ds
	if in.Verdict == "" {
		in.Verdict = worst
	}
	if in.Verdict != worst {
		return nil, fail("verdict %q but the datasets' verdict is %q", in.Verdict, worst)
	}
	st, err := checkedStatement(subjects, DatasetScanV1, in)
	if err != nil {
		return nil, fail("%w", err)
	}
	return st, nil
}

// DatasetScanOf reads a dataset-scan predicate back (after ParseStatement).
func DatasetScanOf(st *intoto.Statement) (*DatasetScanInput, error) {
	return decodePredicate[DatasetScanInput](st, DatasetScanV1, "dataset-scan")
}

// datasetScanSchema compiles the dataset-scan schema with every embedded
// schema available for $refs (its own compiler; the shared set is untouched).
var datasetScanSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileEmbedded(schemaDatasetScan)
})

// validateDatasetScanDoc checks the schema and that the overall verdict
// agrees with the datasets'.
func validateDatasetScanDoc(doc any) error {
	sch, err := datasetScanSchema()
	if err != nil {
		return fmt.Errorf("predicates: compiling %s: %w", schemaDatasetScan, err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("predicates: %s predicate does not match its schema: %w", DatasetScanV1, err)
	}
	ds, _ := lookup(doc, "datasets").([]any)
	worst := DatasetPass
	seen := map[string]bool{}
	for _, d := range ds {
		if v, _ := lookup(d, "verdict").(string); v == DatasetFail {
			worst = DatasetFail
		}
		p, _ := lookup(d, "path").(string)
		if seen[p] {
			return fmt.Errorf("predicates: %s predicate lists dataset %q twice", DatasetScanV1, p)
		}
		seen[p] = true
	}
	if v, _ := lookup(doc, "verdict").(string); v != worst {
		return fmt.Errorf("predicates: %s predicate: verdict %q but the datasets' verdict is %q", DatasetScanV1, v, worst)
	}
	return nil
}
