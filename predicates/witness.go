package predicates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Witness (go-witness) names: the predicate type of the attestation
// collection `witness run` signs, and the attestors mlattest reads from it.
const (
	// WitnessCollectionV01 is go-witness's attestation.CollectionType.
	WitnessCollectionV01 = "https://witness.testifysec.com/attestation-collection/v0.1"
	// StatementTypeV01 is the in-toto Statement _type witness writes.
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"

	WitnessMaterialV01    = "https://witness.dev/attestations/material/v0.1"
	WitnessProductV01     = "https://witness.dev/attestations/product/v0.1"
	WitnessCommandRunV01  = "https://witness.dev/attestations/command-run/v0.1"
	WitnessEnvironmentV01 = "https://witness.dev/attestations/environment/v0.1"

	// WitnessRunIDVariable is the environment variable whose value, as the
	// environment attestor records it, is a witness step's run id: the
	// variable every step of an mlattest run shares.
	WitnessRunIDVariable = "MLATTEST_RUN_ID"
)

// witnessDerivedDigests are digests witness records by default beside
// sha256 (git object ids of the same bytes). mlattest compares sha256, so
// these are dropped rather than refused; any other unknown algorithm is an
// ErrDigestSet error.
var witnessDerivedDigests = map[string]bool{"gitoid:sha256": true, "gitoid:sha1": true}

// WitnessCollection is what mlattest reads from a witness attestation
// collection: the step name, the run id, materials and products (from the
// material and product attestors) and the command (command-run attestor).
type WitnessCollection struct {
	Name      string
	RunID     string // "" when the environment attestor did not record it
	Materials []NamedDigests
	Products  []NamedDigests
	// Command and ExitCode are the command-run attestor's; HasCommand is
	// false without one.
	Command    []string
	ExitCode   int
	HasCommand bool
}

// ErrWitnessCollection is wrapped by every error about a malformed witness
// collection.
var ErrWitnessCollection = errors.New("bad witness attestation collection")

type witnessCollectionJSON struct {
	Name         string `json:"name"`
	Attestations []struct {
		Type        string          `json:"type"`
		Attestation json.RawMessage `json:"attestation"`
		StartTime   time.Time       `json:"starttime"`
		EndTime     time.Time       `json:"endtime"`
	} `json:"attestations"`
}

// ParseWitnessStatement parses a DSSE payload signed by witness: an in-toto
// Statement (v0.1, as witness writes it, or v1) whose predicate is a
// WitnessCollectionV01, read with the strict JSON rules of ParseStatement
// (duplicate keys, trailing data, size). The subjects are witness's own
// ("<attestor type>/file:<path>") and are not checked: mlattest takes the
// step's products from the product attestor.
func ParseWitnessStatement(b []byte) (*intoto.Statement, *WitnessCollection, error) {
	if len(b) > MaxStatementSize {
		return nil, nil, fmt.Errorf("predicates: statement of %d bytes exceeds the %d byte limit", len(b), MaxStatementSize)
	}
	doc, err := decodeStrict(b)
	if err != nil {
		return nil, nil, fmt.Errorf("predicates: statement: %w", err)
	}
	if t, _ := lookup(doc, "_type").(string); t != StatementTypeV01 && t != StatementTypeV1 {
		return nil, nil, fmt.Errorf("predicates: %w: _type %q", ErrStatementType, t)
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(b, &st); err != nil {
		return nil, nil, fmt.Errorf("predicates: statement: %w", err)
	}
	if pt := st.GetPredicateType(); pt != WitnessCollectionV01 {
		return nil, nil, fmt.Errorf("predicates: %w: predicate type %q is not %s", ErrWitnessCollection, pt, WitnessCollectionV01)
	}
	raw, err := json.Marshal(lookup(doc, "predicate"))
	if err != nil {
		return nil, nil, fmt.Errorf("predicates: statement: %w", err)
	}
	c, err := parseWitnessCollection(raw)
	if err != nil {
		return nil, nil, err
	}
	return &st, c, nil
}

// WitnessCollectionOf reads the collection of a statement already parsed
// (ParseWitnessStatement).
func WitnessCollectionOf(st *intoto.Statement) (*WitnessCollection, error) {
	if st.GetPredicateType() != WitnessCollectionV01 {
		return nil, fmt.Errorf("predicates: %w: predicate type %q is not %s", ErrWitnessCollection, st.GetPredicateType(), WitnessCollectionV01)
	}
	if st.GetPredicate() == nil {
		return nil, fmt.Errorf("predicates: %w: no predicate", ErrWitnessCollection)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, fmt.Errorf("predicates: %w: %v", ErrWitnessCollection, err)
	}
	return parseWitnessCollection(raw)
}

func parseWitnessCollection(raw []byte) (*WitnessCollection, error) {
	var cj witnessCollectionJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cj); err != nil {
		return nil, fmt.Errorf("predicates: %w: %v", ErrWitnessCollection, err)
	}
	if cj.Name == "" {
		return nil, fmt.Errorf("predicates: %w: predicate.name (the step) is empty", ErrWitnessCollection)
	}
	c := &WitnessCollection{Name: cj.Name}
	seen := map[string]bool{}
	for i, a := range cj.Attestations {
		var err error
		switch a.Type {
		case WitnessMaterialV01, WitnessProductV01, WitnessCommandRunV01, WitnessEnvironmentV01:
			if seen[a.Type] {
				return nil, fmt.Errorf("predicates: %w: attestation %d: a second %s attestor", ErrWitnessCollection, i, a.Type)
			}
			seen[a.Type] = true
		default:
			continue // other attestors (git, github, …) are for CEL expectations
		}
		switch a.Type {
		case WitnessMaterialV01:
			var m map[string]map[string]string
			if err = json.Unmarshal(a.Attestation, &m); err == nil {
				c.Materials, err = witnessArtifacts("material", m)
			}
		case WitnessProductV01:
			var p map[string]struct {
				MimeType string            `json:"mime_type"`
				Digest   map[string]string `json:"digest"`
			}
			if err = json.Unmarshal(a.Attestation, &p); err == nil {
				m := make(map[string]map[string]string, len(p))
				for n, v := range p {
					m[n] = v.Digest
				}
				c.Products, err = witnessArtifacts("product", m)
			}
		case WitnessCommandRunV01:
			var cr struct {
				Cmd      []string `json:"cmd"`
				ExitCode *int     `json:"exitcode"`
			}
			if err = json.Unmarshal(a.Attestation, &cr); err == nil {
				if cr.ExitCode == nil {
					err = errors.New("no exitcode")
				}
				c.Command, c.HasCommand = cr.Cmd, true
				if cr.ExitCode != nil {
					c.ExitCode = *cr.ExitCode
				}
			}
		case WitnessEnvironmentV01:
			var env struct {
				Variables map[string]string `json:"variables"`
			}
			if err = json.Unmarshal(a.Attestation, &env); err == nil {
				c.RunID = env.Variables[WitnessRunIDVariable]
			}
		}
		if err != nil {
			return nil, fmt.Errorf("predicates: %w: attestation %d (%s): %w", ErrWitnessCollection, i, a.Type, err)
		}
	}
	return c, nil
}

// witnessArtifacts checks an attestor's path -> digest set map the way
// link materials are checked (clean names, ErrArtifactName; sha256 and the
// algorithms mlattest computes, ErrDigestSet), after dropping witness's
// derived git object ids. Sorted by name.
func witnessArtifacts(kind string, m map[string]map[string]string) ([]NamedDigests, error) {
	out := make([]NamedDigests, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if err := CheckArtifactName(name); err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		d := maps.Clone(m[name])
		maps.DeleteFunc(d, func(alg, _ string) bool { return witnessDerivedDigests[alg] })
		if err := CheckDigestSet(fmt.Sprintf("%s %q", kind, name), d); err != nil {
			return nil, err
		}
		out = append(out, NamedDigests{Name: name, Digests: d})
	}
	return out, nil
}
