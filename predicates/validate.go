package predicates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

//go:embed schema/*.schema.json
var schemaFS embed.FS

// schemaBase is the $id prefix shared by the embedded schemas; relative $refs
// between them resolve against it and nothing is ever fetched.
const schemaBase = "https://mlattest.dev/schema/"

// Schema file names inside schema/.
const (
	schemaStatement  = "statement-v1.schema.json"
	schemaLink       = "link-v0.3.schema.json"
	schemaTraining   = "training-provenance-v1.schema.json"
	schemaProvenance = "slsa-provenance-v1.schema.json"
	schemaVSA        = "vsa-v1.schema.json"
)

type schemaSet struct {
	statement, link, training, provenance *jsonschema.Schema
	vsa, vsaMlattest                      *jsonschema.Schema
}

// embeddedCompiler is a schema compiler holding every embedded schema, so
// $refs between them resolve; its loader fails, so a $ref never reaches the
// network or disk.
func embeddedCompiler() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noLoader{})
	entries, err := schemaFS.ReadDir("schema")
	if err != nil {
		return nil, fmt.Errorf("predicates: reading embedded schemas: %w", err)
	}
	for _, e := range entries {
		b, err := schemaFS.ReadFile(path.Join("schema", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("predicates: reading embedded schema %s: %w", e.Name(), err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("predicates: parsing embedded schema %s: %w", e.Name(), err)
		}
		if err := c.AddResource(schemaBase+e.Name(), doc); err != nil {
			return nil, fmt.Errorf("predicates: adding embedded schema %s: %w", e.Name(), err)
		}
	}
	return c, nil
}

// compiledSchemas compiles the embedded schemas once. The result is immutable
// and derived only from embedded constants, so sharing it is not global state
// in any meaningful sense; compiling per call would cost milliseconds each.
var compiledSchemas = sync.OnceValues(func() (*schemaSet, error) {
	c, err := embeddedCompiler()
	if err != nil {
		return nil, err
	}
	var s schemaSet
	for _, x := range []struct {
		dst  **jsonschema.Schema
		name string
	}{
		{&s.statement, schemaStatement},
		{&s.link, schemaLink},
		{&s.training, schemaTraining},
		{&s.provenance, schemaProvenance},
		{&s.vsa, schemaVSA},
		{&s.vsaMlattest, schemaVSA + "#/$defs/mlattest"},
	} {
		sch, err := c.Compile(schemaBase + x.name)
		if err != nil {
			return nil, fmt.Errorf("predicates: compiling embedded schema %s: %w", x.name, err)
		}
		*x.dst = sch
	}
	return &s, nil
})

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("predicates: schema %s is not embedded", url)
}

// SchemaJSON returns the embedded JSON Schema file with the given base name
// (e.g. "link-v0.3.schema.json"), for documentation and external tooling.
func SchemaJSON(name string) ([]byte, error) {
	b, err := schemaFS.ReadFile(path.Join("schema", path.Base(name)))
	if err != nil {
		return nil, fmt.Errorf("predicates: no embedded schema %q: %w", name, err)
	}
	return b, nil
}

// predicateValidators is the one table of the predicate types this package
// has a schema for: each type's check of a predicate decoded by
// decodeStrict. It is never written to.
var predicateValidators = map[string]func(doc any) error{
	LinkV03:       validateLinkDoc,
	ProvenanceV1:  validateProvenanceDoc,
	VSAV1:         validateVSADoc,
	ModelScanV1:   validateModelScanDoc,
	DatasetScanV1: validateDatasetScanDoc,
	ModelPinV1:    validateModelPinDoc,
	TestResultV01: validateTestResultDoc,
}

// KnownPredicateTypes lists the predicate types this package has a schema
// for, sorted.
func KnownPredicateTypes() []string {
	return slices.Sorted(maps.Keys(predicateValidators))
}

// ErrUnknownPredicateType is returned (wrapped) by Validate for a predicate
// type this package has no schema for.
var ErrUnknownPredicateType = errors.New("unknown predicate type")

// Validate checks a predicate of a known type against its JSON Schema; an
// unknown type is an error.
//
// For ProvenanceV1, a predicate whose buildDefinition.buildType is
// TrainingBuildTypeV1 is checked against the strict training schema; any other
// buildType only against the generic SLSA provenance v1 shape (it carries no
// mlattest binding, so BindingOf still rejects it).
func Validate(predicateType string, predicate []byte) error {
	if len(predicate) > MaxStatementSize {
		return fmt.Errorf("predicates: predicate of %d bytes exceeds the %d byte limit", len(predicate), MaxStatementSize)
	}
	if _, ok := predicateValidators[predicateType]; !ok {
		return fmt.Errorf("predicates: %w %q", ErrUnknownPredicateType, predicateType)
	}
	doc, err := decodeStrict(predicate)
	if err != nil {
		return fmt.Errorf("predicates: %s predicate: %w", predicateType, err)
	}
	if err := validateDoc(predicateType, doc); err != nil {
		return err
	}
	// What a statement carries is the protobuf Struct form; refuse what it
	// cannot hold (e.g. numbers beyond float64) so Validate and
	// ParseStatement agree.
	if err := protojson.Unmarshal(predicate, &structpb.Struct{}); err != nil {
		return fmt.Errorf("predicates: %s predicate: %w", predicateType, err)
	}
	return nil
}

func isKnownType(t string) bool {
	_, ok := predicateValidators[t]
	return ok
}

// validateDoc validates an already decoded predicate (as produced by
// decodeStrict) of a known type.
func validateDoc(predicateType string, doc any) error {
	check, ok := predicateValidators[predicateType]
	if !ok {
		return fmt.Errorf("predicates: %w %q", ErrUnknownPredicateType, predicateType)
	}
	return check(doc)
}

// validateAgainst validates doc against one compiled schema.
func validateAgainst(predicateType string, sch *jsonschema.Schema, doc any) error {
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("predicates: %s predicate does not match its schema: %w", predicateType, err)
	}
	return nil
}

func validateLinkDoc(doc any) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return err
	}
	if err := checkDescriptorDocs("material", lookup(doc, "materials")); err != nil {
		return err
	}
	if err := validateAgainst(LinkV03, schemas.link, doc); err != nil {
		return err
	}
	return checkUniqueMaterials(doc)
}

func validateProvenanceDoc(doc any) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return err
	}
	if !isTrainingDoc(doc) {
		return validateAgainst(ProvenanceV1, schemas.provenance, doc)
	}
	if err := validateAgainst(ProvenanceV1, schemas.training, doc); err != nil {
		return err
	}
	return checkTrainingTimes(doc)
}

func validateVSADoc(doc any) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return err
	}
	if !isMlattestVSADoc(doc) {
		return validateAgainst(VSAV1, schemas.vsa, doc)
	}
	if err := validateAgainst(VSAV1, schemas.vsaMlattest, doc); err != nil {
		return err
	}
	return checkVSADoc(doc)
}

// isTrainingDoc reports whether a decoded provenance predicate claims the
// training buildType. A predicate that merely lacks the field gets the generic
// schema, which rejects it for the missing buildType.
func isTrainingDoc(doc any) bool {
	bt, _ := lookup(doc, "buildDefinition", "buildType").(string)
	return bt == TrainingBuildTypeV1
}

// checkUniqueMaterials rejects two materials with one name: artifact rules
// match by name, so a duplicate would make the recorded digest ambiguous.
func checkUniqueMaterials(doc any) error {
	mats, _ := lookup(doc, "materials").([]any)
	seen := make(map[string]bool, len(mats))
	for _, m := range mats {
		name, _ := lookup(m, "name").(string)
		if seen[name] {
			return fmt.Errorf("predicates: link predicate names material %q twice", name)
		}
		seen[name] = true
	}
	return nil
}

func checkTrainingTimes(doc any) error {
	started, _ := lookup(doc, "runDetails", "metadata", "startedOn").(string)
	finished, _ := lookup(doc, "runDetails", "metadata", "finishedOn").(string)
	s, err := parseTime(started)
	if err != nil {
		return fmt.Errorf("predicates: training provenance runDetails.metadata.startedOn: %w", err)
	}
	f, err := parseTime(finished)
	if err != nil {
		return fmt.Errorf("predicates: training provenance runDetails.metadata.finishedOn: %w", err)
	}
	if f.Before(s) {
		return fmt.Errorf("predicates: training provenance finishedOn %s is before startedOn %s", finished, started)
	}
	return nil
}

// lookup walks nested JSON objects; it returns nil when any step is missing
// or not an object.
func lookup(doc any, keys ...string) any {
	cur := doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}
