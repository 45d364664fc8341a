package predicates

import (
	"fmt"
	"path"
	"sort"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ModelScanV1 is the predicate type `mlattest scan model` writes.
const ModelScanV1 = "https://mlattest.dev/attestation/model-scan/v1"

const schemaModelScan = "model-scan-v1.schema.json"

// Model-scan verdicts, worst last (the order of ModelScanWorse).
var modelScanVerdicts = []string{"safe", "unknown", "invalid", "error", "malicious"}

// ModelScanFinding is one reason a file is not safe.
type ModelScanFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Member   string `json:"member,omitempty"` // path inside a container
	Offset   int64  `json:"offset"`           // opcode/structure offset, -1 if none
	Message  string `json:"message"`
}

// ModelScanFile is the scan of one file.
type ModelScanFile struct {
	Path     string             `json:"path"` // slash-separated, relative to the working directory
	SHA256   string             `json:"sha256"`
	Format   string             `json:"format"`
	Verdict  string             `json:"verdict"`
	Pickle   bool               `json:"pickle"`
	Findings []ModelScanFinding `json:"findings"`
}

// ModelScanScanner names the scanner and its allow-list policy.
type ModelScanScanner struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Policy  string `json:"policy"`
}

// ModelScanInput is the model-scan predicate. Step and RunID are the
// binding; both or neither.
//
//	{step, runId, scanner{name, version, policy}, verdict, files[{path, sha256, format, verdict, pickle, findings[{rule, severity, member, offset, message}]}]}
//
// verdict is the worst file verdict. Subjects are the files (path, sha256).
type ModelScanInput struct {
	Step    string           `json:"step,omitempty"`
	RunID   string           `json:"runId,omitempty"`
	Scanner ModelScanScanner `json:"scanner"`
	Verdict string           `json:"verdict"`
	Files   []ModelScanFile  `json:"files"`
}

// ModelScanWorse returns the more severe of two verdicts.
func ModelScanWorse(a, b string) string {
	rank := func(v string) int {
		for i, x := range modelScanVerdicts {
			if x == v {
				return i
			}
		}
		return len(modelScanVerdicts)
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// NewModelScanStatement builds the model-scan statement; in.Verdict is
// computed from the files when empty. Files are sorted by path.
func NewModelScanStatement(in ModelScanInput) (*intoto.Statement, error) {
	if (in.Step == "") != (in.RunID == "") {
		return nil, fmt.Errorf("predicates: model-scan statement: step and run id must be given together")
	}
	if in.Step != "" {
		if err := CheckStepName(in.Step); err != nil {
			return nil, fmt.Errorf("predicates: model-scan statement: %w", err)
		}
		if err := CheckRunID(in.RunID); err != nil {
			return nil, fmt.Errorf("predicates: model-scan statement for step %q: %w", in.Step, err)
		}
	}
	if len(in.Files) == 0 {
		return nil, fmt.Errorf("predicates: model-scan statement: no files")
	}
	files := append([]ModelScanFile(nil), in.Files...)
	sort.SliceStable(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	worst := "safe"
	subjects := make([]*intoto.ResourceDescriptor, 0, len(files))
	for i, f := range files {
		if f.Findings == nil {
			files[i].Findings = []ModelScanFinding{}
		}
		if f.Path == "" || path.IsAbs(f.Path) {
			return nil, fmt.Errorf("predicates: model-scan statement: file path %q must be relative and non-empty", f.Path)
		}
		worst = ModelScanWorse(worst, f.Verdict)
		subjects = append(subjects, &intoto.ResourceDescriptor{Name: f.Path, Digest: map[string]string{"sha256": f.SHA256}})
	}
	in.Files = files
	if in.Verdict == "" {
		in.Verdict = worst
	}
	if in.Verdict != worst {
		return nil, fmt.Errorf("predicates: model-scan statement: verdict %q but the worst file verdict is %q", in.Verdict, worst)
	}
	st, err := checkedStatement(subjects, ModelScanV1, in)
	if err != nil {
		return nil, fmt.Errorf("predicates: model-scan statement: %w", err)
	}
	return st, nil
}

// ModelScanOf reads a model-scan predicate back (after ParseStatement).
func ModelScanOf(st *intoto.Statement) (*ModelScanInput, error) {
	return decodePredicate[ModelScanInput](st, ModelScanV1, "model-scan")
}

// modelScanSchema compiles the model-scan schema with every embedded schema
// available for $refs (its own compiler, so the shared set stays untouched).
var modelScanSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileEmbedded(schemaModelScan)
})

// compileEmbedded compiles one embedded schema with every embedded schema
// available for $refs.
func compileEmbedded(name string) (*jsonschema.Schema, error) {
	c, err := embeddedCompiler()
	if err != nil {
		return nil, err
	}
	return c.Compile(schemaBase + name)
}

// validateModelScanDoc checks a decoded model-scan predicate: the schema,
// and that the top verdict is the worst file verdict (a "safe" summary over
// an unsafe file would mislead a CEL rule on predicate.verdict).
func validateModelScanDoc(doc any) error {
	sch, err := modelScanSchema()
	if err != nil {
		return err
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("predicates: %s predicate does not match its schema: %w", ModelScanV1, err)
	}
	if (lookup(doc, "step") == nil) != (lookup(doc, "runId") == nil) {
		return fmt.Errorf("predicates: %s predicate: step and runId must be present together", ModelScanV1)
	}
	files, _ := lookup(doc, "files").([]any)
	worst := "safe"
	seen := map[string]bool{}
	for _, f := range files {
		v, _ := lookup(f, "verdict").(string)
		fw := "safe"
		fs, _ := lookup(f, "findings").([]any)
		for _, x := range fs {
			s, _ := lookup(x, "severity").(string)
			fw = ModelScanWorse(fw, s)
		}
		if fw != v {
			return fmt.Errorf("predicates: %s predicate: file verdict %q but its worst finding is %q", ModelScanV1, v, fw)
		}
		worst = ModelScanWorse(worst, v)
		p, _ := lookup(f, "path").(string)
		if seen[p] {
			return fmt.Errorf("predicates: %s predicate lists file %q twice", ModelScanV1, p)
		}
		seen[p] = true
	}
	if v, _ := lookup(doc, "verdict").(string); v != worst {
		return fmt.Errorf("predicates: %s predicate: verdict %q but the worst file verdict is %q", ModelScanV1, v, worst)
	}
	return nil
}
