package predicates

import (
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// stepNameRE and the run-id rules mirror common.schema.json's stepName and
// runId, so the Go checks and the schemas accept the same values.
var stepNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ErrNoBinding is returned (wrapped) by BindingOf when a statement does not
// carry a usable binding.
var ErrNoBinding = errors.New("no step/run binding")

// CheckStepName reports whether s is a valid step name: letters, digits, '.',
// '_' and '-', starting with a letter or digit, at most 128 characters.
func CheckStepName(s string) error {
	if !stepNameRE.MatchString(s) {
		return fmt.Errorf("invalid step name %q: want 1-128 of [A-Za-z0-9._-], starting with a letter or digit", s)
	}
	return nil
}

// CheckRunID reports whether s is a valid run id: 1 to 512 characters of
// valid UTF-8, no control characters, no leading or trailing space.
func CheckRunID(s string) error {
	if s == "" {
		return errors.New("empty run id")
	}
	if !utf8.ValidString(s) {
		return errors.New("run id is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > 512 {
		return fmt.Errorf("run id has %d characters, more than 512", n)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("run id %q contains a control character", s)
		}
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return fmt.Errorf("run id %q has leading or trailing space", s)
	}
	return nil
}

// BindingOf reads the step name and run id from their documented signed fields.
//
//	link v0.3:         predicate.name, predicate.byproducts["mlattest.dev/run-id"]
//	SLSA provenance v1 with buildType TrainingBuildTypeV1:
//	                   predicate.buildDefinition.internalParameters.step,
//	                   predicate.runDetails.metadata.invocationId
//	model-scan, dataset-scan, test-result:
//	                   predicate.step, predicate.runId
//	witness collection (Statement v0.1 or v1):
//	                   predicate.name, the environment attestor's
//	                   variables["MLATTEST_RUN_ID"]
//
// It fails closed: a nil statement, a _type other than Statement v1, any other
// predicate type, another buildType, or a missing, non-string or invalid field
// is an error wrapping ErrNoBinding. It reads only these fields; call
// ParseStatement (or Validate) for the full schema check.
func BindingOf(st *intoto.Statement) (Binding, error) {
	if st == nil {
		return Binding{}, fmt.Errorf("predicates: %w: nil statement", ErrNoBinding)
	}
	if st.GetPredicateType() == WitnessCollectionV01 {
		return witnessBinding(st)
	}
	if st.GetType() != StatementTypeV1 {
		return Binding{}, fmt.Errorf("predicates: %w: statement _type %q is not %s", ErrNoBinding, st.GetType(), StatementTypeV1)
	}
	pred := st.GetPredicate()
	if pred == nil {
		return Binding{}, fmt.Errorf("predicates: %w: statement has no predicate", ErrNoBinding)
	}
	var (
		b                 Binding
		stepPath, runPath string
		stepOK, runOK     bool
	)
	switch pt := st.GetPredicateType(); pt {
	case LinkV03:
		stepPath, runPath = "predicate.name", `predicate.byproducts["`+ByproductRunID+`"]`
		b.Step, stepOK = stringField(pred, "name")
		b.RunID, runOK = stringField(pred, "byproducts", ByproductRunID)
	case ProvenanceV1:
		bt, _ := stringField(pred, "buildDefinition", "buildType")
		if bt != TrainingBuildTypeV1 {
			return Binding{}, fmt.Errorf("predicates: %w: provenance buildType %q is not %s", ErrNoBinding, bt, TrainingBuildTypeV1)
		}
		stepPath, runPath = "predicate.buildDefinition.internalParameters.step", "predicate.runDetails.metadata.invocationId"
		b.Step, stepOK = stringField(pred, "buildDefinition", "internalParameters", "step")
		b.RunID, runOK = stringField(pred, "runDetails", "metadata", "invocationId")
	case ModelScanV1, DatasetScanV1, TestResultV01:
		stepPath, runPath = "predicate.step", "predicate.runId"
		b.Step, stepOK = stringField(pred, "step")
		b.RunID, runOK = stringField(pred, "runId")
	default:
		return Binding{}, fmt.Errorf("predicates: %w: predicate type %q carries no mlattest binding", ErrNoBinding, pt)
	}
	if !stepOK {
		return Binding{}, fmt.Errorf("predicates: %w: %s is missing or not a string", ErrNoBinding, stepPath)
	}
	if err := CheckStepName(b.Step); err != nil {
		return Binding{}, fmt.Errorf("predicates: %w: %s: %w", ErrNoBinding, stepPath, err)
	}
	if !runOK {
		return Binding{}, fmt.Errorf("predicates: %w: %s is missing or not a string", ErrNoBinding, runPath)
	}
	if err := CheckRunID(b.RunID); err != nil {
		return Binding{}, fmt.Errorf("predicates: %w: %s: %w", ErrNoBinding, runPath, err)
	}
	return b, nil
}

// stringField walks nested Struct fields and returns the string at the end.
func stringField(s *structpb.Struct, keys ...string) (string, bool) {
	v := fieldValue(s, keys...)
	if v == nil {
		return "", false
	}
	sv, ok := v.GetKind().(*structpb.Value_StringValue)
	if !ok {
		return "", false
	}
	return sv.StringValue, true
}

// fieldValue walks nested Struct fields; nil when a step is missing or not an
// object. Nil-safe on every level.
func fieldValue(s *structpb.Struct, keys ...string) *structpb.Value {
	cur := s
	for i, k := range keys {
		v, ok := cur.GetFields()[k]
		if !ok || v == nil {
			return nil
		}
		if i == len(keys)-1 {
			return v
		}
		cur = v.GetStructValue()
		if cur == nil {
			return nil
		}
	}
	return nil
}

// witnessBinding binds a witness collection: the step is the collection's
// name (`witness run --step`), the run id the MLATTEST_RUN_ID variable its
// environment attestor recorded.
func witnessBinding(st *intoto.Statement) (Binding, error) {
	if t := st.GetType(); t != StatementTypeV1 && t != StatementTypeV01 {
		return Binding{}, fmt.Errorf("predicates: %w: statement _type %q is not an in-toto Statement", ErrNoBinding, t)
	}
	c, err := WitnessCollectionOf(st)
	if err != nil {
		return Binding{}, fmt.Errorf("predicates: %w: %w", ErrNoBinding, err)
	}
	const runPath = `the environment attestor's variables["` + WitnessRunIDVariable + `"]`
	if err := CheckStepName(c.Name); err != nil {
		return Binding{}, fmt.Errorf("predicates: %w: predicate.name: %w", ErrNoBinding, err)
	}
	if c.RunID == "" {
		return Binding{}, fmt.Errorf("predicates: %w: %s is missing (run witness with the environment attestor and %s exported)", ErrNoBinding, runPath, WitnessRunIDVariable)
	}
	if err := CheckRunID(c.RunID); err != nil {
		return Binding{}, fmt.Errorf("predicates: %w: %s: %w", ErrNoBinding, runPath, err)
	}
	return Binding{Step: c.Name, RunID: c.RunID}, nil
}
