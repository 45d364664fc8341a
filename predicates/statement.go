package predicates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// maxJSONDepth bounds nesting in anything we parse: the schema validator and
// protojson recurse, and a 32 MiB run of '[' must not exhaust the stack.
const maxJSONDepth = 128

// Marshal renders a statement as the JSON that gets signed.
//
// The output is deterministic: compact JSON, no HTML escaping, the top-level
// keys in the order _type, subject, predicateType, predicate, and every nested
// object's keys sorted. (protojson alone is deliberately unstable.) Marshal
// also parses its own output with ParseStatement and fails if that would
// reject it, so mlattest never signs a statement it would not accept.
func Marshal(st *intoto.Statement) ([]byte, error) {
	if st == nil {
		return nil, errors.New("predicates: marshal: nil statement")
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("predicates: marshal statement: %w", err)
	}
	out, err := canonicalJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("predicates: marshal statement: %w", err)
	}
	if _, err := ParseStatement(out); err != nil {
		return nil, fmt.Errorf("predicates: refusing to marshal an invalid statement: %w", err)
	}
	return out, nil
}

// statementKeyOrder is the top-level key order Marshal writes.
var statementKeyOrder = []string{"_type", "subject", "predicateType", "predicate"}

// canonicalJSON re-encodes raw JSON deterministically (see Marshal).
func canonicalJSON(raw []byte) ([]byte, error) {
	doc, err := decodeStrict(raw)
	if err != nil {
		return nil, err
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("statement is not a JSON object")
	}
	keys := make([]string, 0, len(top))
	rank := map[string]int{}
	for i, k := range statementKeyOrder {
		rank[k] = i
	}
	for k := range top {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, iok := rank[keys[i]]
		rj, jok := rank[keys[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		default:
			return keys[i] < keys[j]
		}
	})
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encodeCompact(&buf, k); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := encodeCompact(&buf, top[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// encodeCompact writes v as compact JSON with sorted object keys (the
// encoding/json behaviour for maps) and without HTML escaping.
func encodeCompact(buf *bytes.Buffer, v any) error {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
	return nil
}

// ErrStatementType is wrapped by ParseStatement's error for a statement
// whose _type is a string other than StatementTypeV1 (Statement v0.1, or a
// look-alike): a well-formed statement of a kind mlattest does not evaluate.
var ErrStatementType = errors.New("not an in-toto Statement v1")

// ParseStatement parses and strictly validates a statement: _type, at least one
// subject each with a hex sha256 digest, and, for predicate types this package
// knows, the predicate against its JSON Schema.
//
// In detail it rejects: input over MaxStatementSize, invalid UTF-8, duplicate
// object keys, nesting deeper than 128, trailing data, any top-level or
// subject field other than the in-toto JSON names (protobuf field-name
// aliases such as "predicate_type" are refused so every reader sees the same
// statement), _type other than Statement v1 (ErrStatementType), no subject, a subject without a
// name or uri, a subject whose sha256 is not 64 lowercase hex, two subjects
// with the same name or uri, an empty predicateType and a missing or
// non-object predicate, a subject (or link material) name that is not a
// clean relative path or a URI (wrapping ErrArtifactName), and a digest set
// with an algorithm other than sha256, sha384 and sha512 or a value that is
// not lowercase hex of its length (wrapping ErrDigestSet). Predicates of
// unknown types are accepted unchecked:
// whether such a statement counts is the verification policy's decision.
func ParseStatement(b []byte) (*intoto.Statement, error) {
	if len(b) > MaxStatementSize {
		return nil, fmt.Errorf("predicates: statement of %d bytes exceeds the %d byte limit", len(b), MaxStatementSize)
	}
	doc, err := decodeStrict(b)
	if err != nil {
		return nil, fmt.Errorf("predicates: statement: %w", err)
	}
	if t, ok := lookup(doc, "_type").(string); ok && t != StatementTypeV1 {
		return nil, fmt.Errorf("predicates: %w: _type %q", ErrStatementType, t)
	}
	// Names and digest sets first, so their errors say what is wrong
	// (ErrArtifactName, ErrDigestSet) rather than which schema rule failed.
	if err := checkDescriptorDocs("subject", lookup(doc, "subject")); err != nil {
		return nil, err
	}
	schemas, err := compiledSchemas()
	if err != nil {
		return nil, err
	}
	if err := schemas.statement.Validate(doc); err != nil {
		return nil, fmt.Errorf("predicates: statement does not match the in-toto Statement v1 schema: %w", err)
	}
	if err := checkUniqueSubjects(lookup(doc, "subject")); err != nil {
		return nil, err
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("predicates: statement: %w", err)
	}
	// in-toto's own checks, as a second opinion on the schema's.
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("predicates: statement: %w", err)
	}
	if pt := st.GetPredicateType(); isKnownType(pt) {
		if err := validateDoc(pt, lookup(doc, "predicate")); err != nil {
			return nil, err
		}
	}
	return &st, nil
}

func checkUniqueSubjects(v any) error {
	subjects, _ := v.([]any)
	names := make(map[string]bool, len(subjects))
	uris := make(map[string]bool, len(subjects))
	for _, s := range subjects {
		if name, _ := lookup(s, "name").(string); name != "" {
			if names[name] {
				return fmt.Errorf("predicates: statement names subject %q twice", name)
			}
			names[name] = true
		}
		if uri, _ := lookup(s, "uri").(string); uri != "" {
			if uris[uri] {
				return fmt.Errorf("predicates: statement names subject uri %q twice", uri)
			}
			uris[uri] = true
		}
	}
	return nil
}

// decodeStrict decodes one JSON value into the generic form the schema
// validator takes (objects as map[string]any, numbers as json.Number). Unlike
// encoding/json it rejects (CheckJSON) invalid UTF-8, duplicate object keys,
// nesting beyond maxJSONDepth and trailing data, so the document the schema
// sees is the one every other parser sees.
func decodeStrict(b []byte) (any, error) {
	if err := CheckJSON(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSONSyntax, err)
	}
	return v, nil
}

// parseTime parses an RFC 3339 date-time.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 date-time: %q", s)
	}
	return t, nil
}

// sha256RE matches a lowercase hex SHA-256, as the schemas do.
var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// messageToStruct converts a predicate message into the Struct a Statement
// carries, through its protojson form.
func messageToStruct(m proto.Message) (*structpb.Struct, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// jsonToStruct converts any JSON-marshalable Go value that encodes as an
// object into a Struct.
// checkedStatement wraps predicate in a Statement v1 and checks the result
// the way readers will (ParseStatement), so a builder never hands out a
// statement its own verifier would refuse.
func checkedStatement(subjects []*intoto.ResourceDescriptor, predicateType string, predicate any) (*intoto.Statement, error) {
	pred, err := jsonToStruct(predicate)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{Type: StatementTypeV1, Subject: subjects, PredicateType: predicateType, Predicate: pred}
	raw, err := Marshal(st)
	if err != nil {
		return nil, err
	}
	if _, err := ParseStatement(raw); err != nil {
		return nil, err
	}
	return st, nil
}

func jsonToStruct(v any) (*structpb.Struct, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var s structpb.Struct
	if err := protojson.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// validatedPredicate renders a statement's predicate as JSON and validates it
// against the schema of the statement's (known) predicate type.
func validatedPredicate(st *intoto.Statement) ([]byte, error) {
	if st.GetPredicate() == nil {
		return nil, errors.New("predicates: statement has no predicate")
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("predicates: %s predicate: %w", st.GetPredicateType(), err)
	}
	if err := Validate(st.GetPredicateType(), raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// decodePredicate checks st is of type want, validates its predicate against
// the schema and decodes it into a T; what names the predicate in errors.
func decodePredicate[T any](st *intoto.Statement, want, what string) (*T, error) {
	if st.GetPredicateType() != want {
		return nil, fmt.Errorf("predicates: predicate type %q is not %s", st.GetPredicateType(), want)
	}
	raw, err := validatedPredicate(st)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("predicates: %s predicate: %w", what, err)
	}
	return &v, nil
}
