package predicates

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"

	provv1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// NewTrainingStatement builds the SLSA provenance v1 training statement.
//
// Shape (README.md has a full example):
//
//	buildDefinition.buildType           TrainingBuildTypeV1
//	buildDefinition.externalParameters  {entryPoint: argv, config: {path, digest{sha256}}, hyperparameters}
//	buildDefinition.internalParameters  {step, invocationUri (when known)}
//	buildDefinition.resolvedDependencies, in this order:
//	    base model files  {uri, digest{sha256}, annotations{role:"base-model"}}
//	    datasets          {uri, digest{sha256}, annotations{role:"dataset", collectedAt, sourceClass}}
//	    training script   {uri, digest{gitCommit}, annotations{role:"training-script", dirty}}
//	    container image   {uri: oci://..., digest{sha256}, annotations{role:"container-image"}}
//	runDetails.builder.id               in.BuilderID
//	runDetails.builder.version          in.BuilderVersion (when set)
//	runDetails.metadata                 {invocationId: run id, startedOn, finishedOn} (UTC)
//	runDetails.byproducts               [{name:"mlattest.dev/exit-code", annotations{exitCode}},
//	                                     {name:"mlattest.dev/isolation", annotations: Isolation} (when set)]
//
// Subjects are in.Subjects (the output model files); at least one is required.
// The result is checked against the training schema before it is returned.
func NewTrainingStatement(in TrainingInput) (*intoto.Statement, error) {
	if err := CheckStepName(in.Step); err != nil {
		return nil, fmt.Errorf("predicates: training statement: %w", err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("predicates: training statement for step %q: "+format, append([]any{in.Step}, args...)...)
	}
	if err := CheckRunID(in.RunID); err != nil {
		return nil, fail("%w", err)
	}
	if len(in.Subjects) == 0 {
		return nil, fail("no subject (no output model files given)")
	}
	if len(in.EntryPoint) == 0 {
		return nil, fail("empty entry point")
	}
	if in.BuilderID == "" {
		return nil, fail("empty builder id")
	}
	if in.StartedOn.IsZero() || in.FinishedOn.IsZero() {
		return nil, fail("start and finish times are required")
	}
	if in.FinishedOn.Before(in.StartedOn) {
		return nil, fail("finished (%s) before it started (%s)", in.FinishedOn, in.StartedOn)
	}
	if in.ExitCode < math.MinInt32 || in.ExitCode > math.MaxInt32 {
		return nil, fail("exit code %d out of range", in.ExitCode)
	}

	ext := map[string]any{"entryPoint": in.EntryPoint}
	if in.Config != nil {
		ext["config"] = map[string]any{
			"path":   in.Config.URI,
			"digest": map[string]any{"sha256": in.Config.SHA256},
		}
	}
	if in.Hyperparameters != nil {
		ext["hyperparameters"] = in.Hyperparameters
	}
	extS, err := jsonToStruct(ext)
	if err != nil {
		return nil, fail("externalParameters: %w", err)
	}
	internal := map[string]any{"step": in.Step}
	if in.InvocationURI != "" {
		internal["invocationUri"] = in.InvocationURI
	}
	intS, err := jsonToStruct(internal)
	if err != nil {
		return nil, fail("internalParameters: %w", err)
	}

	var deps []*intoto.ResourceDescriptor
	addDep := func(uri string, dg map[string]string, ann map[string]any) error {
		a, err := jsonToStruct(ann)
		if err != nil {
			return err
		}
		deps = append(deps, &intoto.ResourceDescriptor{Uri: uri, Digest: dg, Annotations: a})
		return nil
	}
	for _, m := range in.BaseModel {
		if err := addDep(m.URI, map[string]string{"sha256": m.SHA256}, map[string]any{"role": RoleBaseModel}); err != nil {
			return nil, fail("base model %q: %w", m.URI, err)
		}
	}
	for _, d := range in.Datasets {
		ann := map[string]any{"role": RoleDataset}
		if d.CollectedAt != "" {
			ann["collectedAt"] = d.CollectedAt
		}
		if d.SourceClass != "" {
			ann["sourceClass"] = d.SourceClass
		}
		if err := addDep(d.URI, map[string]string{"sha256": d.SHA256}, ann); err != nil {
			return nil, fail("dataset %q: %w", d.URI, err)
		}
	}
	if s := in.Script; s != nil {
		if err := addDep(s.URI, map[string]string{"gitCommit": s.Commit}, map[string]any{"role": RoleTrainingScript, "dirty": s.Dirty}); err != nil {
			return nil, fail("training script %q: %w", s.URI, err)
		}
	}
	if im := in.Image; im != nil {
		if err := addDep(im.URI, map[string]string{"sha256": im.SHA256}, map[string]any{"role": RoleContainerImage}); err != nil {
			return nil, fail("container image %q: %w", im.URI, err)
		}
	}

	exitAnn, err := jsonToStruct(map[string]any{"exitCode": in.ExitCode})
	if err != nil {
		return nil, fail("exit code: %w", err)
	}
	byproducts := []*intoto.ResourceDescriptor{{Name: ProvenanceByproductExitCode, Annotations: exitAnn}}
	if in.Isolation != nil {
		m, err := in.Isolation.asMap()
		if err != nil {
			return nil, fail("%w", err)
		}
		isoAnn, err := jsonToStruct(m)
		if err != nil {
			return nil, fail("isolation: %w", err)
		}
		byproducts = append(byproducts, &intoto.ResourceDescriptor{Name: ProvenanceByproductIsolation, Annotations: isoAnn})
	}

	prov := &provv1.Provenance{
		BuildDefinition: &provv1.BuildDefinition{
			BuildType:            TrainingBuildTypeV1,
			ExternalParameters:   extS,
			InternalParameters:   intS,
			ResolvedDependencies: deps,
		},
		RunDetails: &provv1.RunDetails{
			Builder: &provv1.Builder{Id: in.BuilderID, Version: maps.Clone(in.BuilderVersion)},
			Metadata: &provv1.BuildMetadata{
				InvocationId: in.RunID,
				StartedOn:    timestamppb.New(in.StartedOn.UTC()),
				FinishedOn:   timestamppb.New(in.FinishedOn.UTC()),
			},
			Byproducts: byproducts,
		},
	}
	// No prov.Validate() here: in-toto's Go validator takes gitCommit to be
	// SHA-1 only and would refuse a SHA-256 repository's commit; the training
	// schema (applied by Marshal below) checks every field it checks.
	pred, err := messageToStruct(prov)
	if err != nil {
		return nil, fail("%w", err)
	}
	st := &intoto.Statement{
		Type:          StatementTypeV1,
		Subject:       artifactDescriptors(in.Subjects),
		PredicateType: ProvenanceV1,
		Predicate:     pred,
	}
	if _, err := Marshal(st); err != nil {
		return nil, fail("%w", err)
	}
	return st, nil
}

// trainingDoc mirrors the training predicate's JSON for reading. It is only
// used after the schema has accepted the same bytes, so encoding/json's
// case-insensitive field matching cannot see anything the schema did not.
type trainingDoc struct {
	BuildDefinition struct {
		ExternalParameters struct {
			EntryPoint []string `json:"entryPoint"`
			Config     *struct {
				Path   string            `json:"path"`
				Digest map[string]string `json:"digest"`
			} `json:"config"`
			Hyperparameters map[string]any `json:"hyperparameters"`
		} `json:"externalParameters"`
		InternalParameters struct {
			Step          string `json:"step"`
			InvocationURI string `json:"invocationUri"`
		} `json:"internalParameters"`
		ResolvedDependencies []struct {
			URI         string            `json:"uri"`
			Digest      map[string]string `json:"digest"`
			Annotations struct {
				Role        string `json:"role"`
				CollectedAt string `json:"collectedAt"`
				SourceClass string `json:"sourceClass"`
				Dirty       bool   `json:"dirty"`
			} `json:"annotations"`
		} `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID      string            `json:"id"`
			Version map[string]string `json:"version"`
		} `json:"builder"`
		Metadata struct {
			InvocationID string `json:"invocationId"`
			StartedOn    string `json:"startedOn"`
			FinishedOn   string `json:"finishedOn"`
		} `json:"metadata"`
		Byproducts []struct {
			Name        string         `json:"name"`
			Annotations map[string]any `json:"annotations"`
		} `json:"byproducts"`
	} `json:"runDetails"`
}

// ErrNotTraining marks a provenance of another buildType.
var ErrNotTraining = errors.New("not a training provenance")

// TrainingOf validates a training provenance statement against the training
// schema and returns it as a TrainingInput (the typed view verification reads;
// Subjects carry name or uri and sha256, Size 0). A provenance of another
// buildType is an error.
func TrainingOf(st *intoto.Statement) (*TrainingInput, error) {
	if st == nil {
		return nil, errors.New("predicates: nil statement")
	}
	if st.GetPredicateType() != ProvenanceV1 {
		return nil, fmt.Errorf("predicates: predicate type %q is not %s", st.GetPredicateType(), ProvenanceV1)
	}
	if bt, _ := stringField(st.GetPredicate(), "buildDefinition", "buildType"); bt != TrainingBuildTypeV1 {
		return nil, fmt.Errorf("predicates: provenance buildType %q is not %s: %w", bt, TrainingBuildTypeV1, ErrNotTraining)
	}
	raw, err := validatedPredicate(st)
	if err != nil {
		return nil, err
	}
	var doc trainingDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("predicates: training provenance: %w", err)
	}
	bd, rd := &doc.BuildDefinition, &doc.RunDetails
	out := &TrainingInput{
		Step:            bd.InternalParameters.Step,
		RunID:           rd.Metadata.InvocationID,
		EntryPoint:      bd.ExternalParameters.EntryPoint,
		Hyperparameters: bd.ExternalParameters.Hyperparameters,
		BuilderID:       rd.Builder.ID,
		BuilderVersion:  rd.Builder.Version,
		InvocationURI:   bd.InternalParameters.InvocationURI,
		Subjects:        descriptorArtifacts(st.GetSubject()),
	}
	if c := bd.ExternalParameters.Config; c != nil {
		out.Config = &Resource{URI: c.Path, SHA256: c.Digest["sha256"]}
	}
	if out.StartedOn, err = parseTime(rd.Metadata.StartedOn); err != nil {
		return nil, fmt.Errorf("predicates: training provenance startedOn: %w", err)
	}
	if out.FinishedOn, err = parseTime(rd.Metadata.FinishedOn); err != nil {
		return nil, fmt.Errorf("predicates: training provenance finishedOn: %w", err)
	}
	for _, d := range bd.ResolvedDependencies {
		switch d.Annotations.Role {
		case RoleBaseModel:
			out.BaseModel = append(out.BaseModel, Resource{URI: d.URI, SHA256: d.Digest["sha256"]})
		case RoleDataset:
			out.Datasets = append(out.Datasets, Dataset{
				Resource:    Resource{URI: d.URI, SHA256: d.Digest["sha256"]},
				CollectedAt: d.Annotations.CollectedAt,
				SourceClass: d.Annotations.SourceClass,
			})
		case RoleTrainingScript:
			out.Script = &GitSource{URI: d.URI, Commit: d.Digest["gitCommit"], Dirty: d.Annotations.Dirty}
		case RoleContainerImage:
			out.Image = &Resource{URI: d.URI, SHA256: d.Digest["sha256"]}
		}
	}
	for _, b := range rd.Byproducts {
		switch b.Name {
		case ProvenanceByproductExitCode:
			v, err := structpb.NewValue(b.Annotations["exitCode"])
			if err != nil {
				return nil, fmt.Errorf("predicates: training provenance exit code: %w", err)
			}
			if out.ExitCode, err = intValue(v, "training provenance exitCode"); err != nil {
				return nil, err
			}
		case ProvenanceByproductIsolation:
			if out.Isolation, err = isolationFrom(b.Annotations); err != nil {
				return nil, fmt.Errorf("predicates: training provenance: %w", err)
			}
		}
	}
	return out, nil
}
