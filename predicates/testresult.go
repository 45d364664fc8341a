package predicates

import (
	"fmt"
	"sync"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestResultV01 is the in-toto test-result predicate type `mlattest probe`
// writes.
const TestResultV01 = "https://in-toto.io/attestation/test-result/v0.1"

const schemaTestResult = "test-result-v0.1.schema.json"

// Test results, as the in-toto specification spells them.
const (
	TestPassed = "PASSED"
	TestWarned = "WARNED"
	TestFailed = "FAILED"
)

// TestResultConfig is one configuration element: a named resource by digest
// (for `mlattest probe`, the suite).
type TestResultConfig struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// TestResultInput is the test-result predicate plus its subjects. Step and
// RunID are mlattest's binding; both or neither.
//
//	{step, runId, result, configuration[{name, digest}], url, passedTests[], warnedTests[], failedTests[]}
type TestResultInput struct {
	Step          string             `json:"step,omitempty"`
	RunID         string             `json:"runId,omitempty"`
	Result        string             `json:"result"`
	Configuration []TestResultConfig `json:"configuration"`
	URL           string             `json:"url,omitempty"`
	PassedTests   []string           `json:"passedTests"`
	WarnedTests   []string           `json:"warnedTests"`
	FailedTests   []string           `json:"failedTests"`
	// Subjects are what was tested (the model files); not in the predicate.
	Subjects []*intoto.ResourceDescriptor `json:"-"`
}

// NewTestResultStatement builds and checks a test-result statement.
func NewTestResultStatement(in TestResultInput) (*intoto.Statement, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("predicates: test-result statement: "+format, args...)
	}
	if (in.Step == "") != (in.RunID == "") {
		return nil, fail("step and run id must be given together")
	}
	if len(in.Subjects) == 0 {
		return nil, fail("no subjects (what was tested)")
	}
	for _, l := range []*[]string{&in.PassedTests, &in.WarnedTests, &in.FailedTests} {
		if *l == nil {
			*l = []string{}
		}
	}
	if in.Configuration == nil {
		in.Configuration = []TestResultConfig{}
	}
	st, err := checkedStatement(in.Subjects, TestResultV01, in)
	if err != nil {
		return nil, fail("%w", err)
	}
	return st, nil
}

// TestResultOf reads a test-result predicate back (after ParseStatement).
func TestResultOf(st *intoto.Statement) (*TestResultInput, error) {
	return decodePredicate[TestResultInput](st, TestResultV01, "test-result")
}

var testResultSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return compileEmbedded(schemaTestResult)
})

// validateTestResultDoc checks the schema and that a result with failed
// tests says FAILED: a gate reading only result must not pass it.
func validateTestResultDoc(doc any) error {
	sch, err := testResultSchema()
	if err != nil {
		return fmt.Errorf("predicates: compiling %s: %w", schemaTestResult, err)
	}
	if err := validateAgainst(TestResultV01, sch, doc); err != nil {
		return err
	}
	failed, _ := lookup(doc, "failedTests").([]any)
	if r, _ := lookup(doc, "result").(string); len(failed) > 0 && r != TestFailed {
		return fmt.Errorf("predicates: %s predicate: result %q with %d failed tests", TestResultV01, r, len(failed))
	}
	if err := checkDescriptorDocs("configuration", lookup(doc, "configuration")); err != nil {
		return err
	}
	return nil
}
