package predicates

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"sort"

	linkv0 "github.com/in-toto/attestation/go/predicates/link/v0"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlattest/mlattest/digest"
)

// NewLinkStatement builds a link v0.3 statement. It fails when the statement
// would have no subject.
//
// The subjects are in.Subjects when set, else in.Products. The predicate is
// in-toto's link v0.3: name = in.Step; command; materials as
// {name, digest{sha256}}; byproducts {"return-value": exit code,
// "mlattest.dev/run-id": run id, "mlattest.dev/stdout"/"mlattest.dev/stderr":
// "sha256:HEX" when known, "mlattest.dev/isolation": in.Isolation when set};
// environment = in.Environment. The result is
// checked against the link schema (through Marshal) before it is returned.
func NewLinkStatement(in LinkInput) (*intoto.Statement, error) {
	if err := CheckStepName(in.Step); err != nil {
		return nil, fmt.Errorf("predicates: link statement: %w", err)
	}
	if err := CheckRunID(in.RunID); err != nil {
		return nil, fmt.Errorf("predicates: link statement for step %q: %w", in.Step, err)
	}
	subjects := in.Subjects
	if len(subjects) == 0 {
		subjects = in.Products
	}
	if len(subjects) == 0 {
		return nil, fmt.Errorf("predicates: link statement for step %q: no subject (no products and no subjects given)", in.Step)
	}
	if in.ExitCode < math.MinInt32 || in.ExitCode > math.MaxInt32 {
		return nil, fmt.Errorf("predicates: link statement for step %q: exit code %d out of range", in.Step, in.ExitCode)
	}

	byproducts := map[string]any{
		ByproductRunID:    in.RunID,
		ByproductExitCode: float64(in.ExitCode),
	}
	if in.Stdout != "" {
		byproducts[ByproductStdout] = in.Stdout
	}
	if in.Stderr != "" {
		byproducts[ByproductStderr] = in.Stderr
	}
	if in.Version != "" {
		byproducts[ByproductVersion] = in.Version
	}
	if in.Isolation != nil {
		m, err := in.Isolation.asMap()
		if err != nil {
			return nil, fmt.Errorf("predicates: link statement for step %q: %w", in.Step, err)
		}
		byproducts[ByproductIsolation] = m
	}
	bp, err := structpb.NewStruct(byproducts)
	if err != nil {
		return nil, fmt.Errorf("predicates: link statement for step %q: byproducts: %w", in.Step, err)
	}
	link := &linkv0.Link{
		Name:       in.Step,
		Command:    append([]string(nil), in.Command...),
		Materials:  artifactDescriptors(in.Materials),
		Byproducts: bp,
	}
	if len(in.Environment) > 0 {
		env := make(map[string]any, len(in.Environment))
		for k, v := range in.Environment {
			env[k] = v
		}
		if link.Environment, err = structpb.NewStruct(env); err != nil {
			return nil, fmt.Errorf("predicates: link statement for step %q: environment: %w", in.Step, err)
		}
	}
	pred, err := messageToStruct(link)
	if err != nil {
		return nil, fmt.Errorf("predicates: link statement for step %q: %w", in.Step, err)
	}
	st := &intoto.Statement{
		Type:          StatementTypeV1,
		Subject:       artifactDescriptors(subjects),
		PredicateType: LinkV03,
		Predicate:     pred,
	}
	if _, err := Marshal(st); err != nil {
		return nil, fmt.Errorf("predicates: link statement for step %q: %w", in.Step, err)
	}
	return st, nil
}

// artifactDescriptors turns hashed files into {name, digest{sha256}}
// descriptors, sorted by name so the output does not depend on input order.
func artifactDescriptors(arts []digest.Artifact) []*intoto.ResourceDescriptor {
	if len(arts) == 0 {
		return nil
	}
	sorted := append([]digest.Artifact(nil), arts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	out := make([]*intoto.ResourceDescriptor, 0, len(sorted))
	for _, a := range sorted {
		rd := &intoto.ResourceDescriptor{
			Name:   a.Name,
			Digest: map[string]string{"sha256": a.SHA256},
		}
		if IsManifestName(a.Name) {
			rd.MediaType = ManifestMediaType // a directory manifest (manifest.go)
		}
		out = append(out, rd)
	}
	return out
}

// checkManifestDescriptors fails closed on a descriptor that is half a
// directory manifest: a name ending in "/" without the manifest media type,
// or the media type on a name that is not a directory's.
func checkManifestDescriptors(rds []*intoto.ResourceDescriptor) error {
	for _, rd := range rds {
		if IsManifestName(rd.GetName()) != (rd.GetMediaType() == ManifestMediaType) {
			return fmt.Errorf("predicates: descriptor %q: a directory manifest needs both a name ending in \"/\" and mediaType %s", rd.GetName(), ManifestMediaType)
		}
	}
	return nil
}

// descriptorArtifacts is the inverse of artifactDescriptors: name (or uri when
// there is no name) and sha256. Size is unknown and left 0.
func descriptorArtifacts(rds []*intoto.ResourceDescriptor) []digest.Artifact {
	out := make([]digest.Artifact, 0, len(rds))
	for _, rd := range rds {
		name := rd.GetName()
		if name == "" {
			name = rd.GetUri()
		}
		out = append(out, digest.Artifact{Name: name, SHA256: rd.GetDigest()["sha256"]})
	}
	return out
}

// LinkOf validates a link v0.3 statement's predicate against the link schema
// and returns it as in-toto's Go type.
func LinkOf(st *intoto.Statement) (*linkv0.Link, error) {
	if st == nil {
		return nil, errors.New("predicates: nil statement")
	}
	if st.GetPredicateType() != LinkV03 {
		return nil, fmt.Errorf("predicates: predicate type %q is not %s", st.GetPredicateType(), LinkV03)
	}
	raw, err := validatedPredicate(st)
	if err != nil {
		return nil, err
	}
	var link linkv0.Link
	if err := protojson.Unmarshal(raw, &link); err != nil {
		return nil, fmt.Errorf("predicates: link predicate: %w", err)
	}
	return &link, nil
}

// MaterialsOf returns a link statement's materials as artifacts (Size 0).
func MaterialsOf(st *intoto.Statement) ([]digest.Artifact, error) {
	link, err := LinkOf(st)
	if err != nil {
		return nil, err
	}
	return LinkMaterials(link)
}

// LinkMaterials is MaterialsOf for a link LinkOf already decoded.
func LinkMaterials(link *linkv0.Link) ([]digest.Artifact, error) {
	if err := checkManifestDescriptors(link.GetMaterials()); err != nil {
		return nil, err
	}
	return descriptorArtifacts(link.GetMaterials()), nil
}

// SubjectsOf returns a statement's subjects as artifacts: the name, or the
// uri when there is no name, and the sha256 (Size 0). For a link these are the
// step's products. It fails when a subject lacks either.
func SubjectsOf(st *intoto.Statement) ([]digest.Artifact, error) {
	if st == nil {
		return nil, errors.New("predicates: nil statement")
	}
	if len(st.GetSubject()) == 0 {
		return nil, errors.New("predicates: statement has no subject")
	}
	if err := checkManifestDescriptors(st.GetSubject()); err != nil {
		return nil, err
	}
	arts := descriptorArtifacts(st.GetSubject())
	for i, a := range arts {
		if a.Name == "" || !sha256RE.MatchString(a.SHA256) {
			return nil, fmt.Errorf("predicates: subject %d lacks a name or uri or a sha256 digest", i)
		}
	}
	return arts, nil
}

// ExitCodeOf returns the recorded exit code of the step's command: the link's
// byproducts["return-value"], or the training provenance's
// runDetails.byproducts entry "mlattest.dev/exit-code". The predicate is
// validated against its schema first; any other predicate type is an error.
func ExitCodeOf(st *intoto.Statement) (int, error) {
	if st == nil {
		return 0, errors.New("predicates: nil statement")
	}
	switch st.GetPredicateType() {
	case LinkV03:
		link, err := LinkOf(st)
		if err != nil {
			return 0, err
		}
		return LinkExitCode(link)
	case ProvenanceV1:
		tr, err := TrainingOf(st)
		if err != nil {
			return 0, err
		}
		return tr.ExitCode, nil
	default:
		return 0, fmt.Errorf("predicates: predicate type %q records no exit code", st.GetPredicateType())
	}
}

// LinkExitCode is ExitCodeOf for a link LinkOf already decoded.
func LinkExitCode(link *linkv0.Link) (int, error) {
	v, ok := link.GetByproducts().GetFields()[ByproductExitCode]
	if !ok {
		return 0, fmt.Errorf("predicates: link predicate has no byproducts[%q]", ByproductExitCode)
	}
	return intValue(v, "link byproducts[\""+ByproductExitCode+"\"]")
}

func intValue(v *structpb.Value, what string) (int, error) {
	n, ok := v.GetKind().(*structpb.Value_NumberValue)
	if !ok {
		return 0, fmt.Errorf("predicates: %s is not a number", what)
	}
	f := n.NumberValue
	if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return 0, fmt.Errorf("predicates: %s = %v is not a 32-bit integer", what, f)
	}
	return int(f), nil
}

// NamedDigests is a subject's or material's name (its uri when it has no
// name) with every digest it lists, by algorithm.
type NamedDigests struct {
	Name    string
	Digests map[string]string
}

// SubjectDigests returns a statement's subjects with their whole digest
// sets; for a link these are the step's products. Like ParseStatement it
// rejects a name that is not a clean relative path or URI (wrapping
// ErrArtifactName) and a digest set it cannot check (wrapping ErrDigestSet),
// for statements that were built rather than parsed.
func SubjectDigests(st *intoto.Statement) ([]NamedDigests, error) {
	if _, err := SubjectsOf(st); err != nil {
		return nil, err
	}
	return namedDigests("subject", st.GetSubject())
}

// MaterialDigests is SubjectDigests for a link's materials.
func MaterialDigests(link *linkv0.Link) ([]NamedDigests, error) {
	if err := checkManifestDescriptors(link.GetMaterials()); err != nil {
		return nil, err
	}
	return namedDigests("material", link.GetMaterials())
}

func namedDigests(kind string, rds []*intoto.ResourceDescriptor) ([]NamedDigests, error) {
	out := make([]NamedDigests, 0, len(rds))
	for i, rd := range rds {
		name, what := rd.GetName(), fmt.Sprintf("%s %d", kind, i)
		if name != "" {
			if err := CheckArtifactName(name); err != nil {
				return nil, fmt.Errorf("predicates: %s: %w", what, err)
			}
		}
		if uri := rd.GetUri(); uri != "" {
			if err := checkURIName(uri); err != nil {
				return nil, fmt.Errorf("predicates: %s: uri: %w", what, err)
			}
			if name == "" {
				name = uri
			}
		}
		if name == "" {
			return nil, fmt.Errorf("predicates: %s has neither a name nor a uri", what)
		}
		if err := CheckDigestSet(fmt.Sprintf("%s %q", kind, name), rd.GetDigest()); err != nil {
			return nil, fmt.Errorf("predicates: %w", err)
		}
		out = append(out, NamedDigests{Name: name, Digests: maps.Clone(rd.GetDigest())})
	}
	return out, nil
}
