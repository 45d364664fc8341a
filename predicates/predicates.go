// Package predicates holds the Go types, JSON Schemas and validation for every
// in-toto predicate mlattest writes or reads, and the documented signed fields
// that bind a statement to a pipeline step and run.
//
// CONTRACT: the exported API is what attest/ and verify/ build against; keep
// these signatures.
//
// Binding (see README.md for the full table): the step name and the run id are
// read only from these signed fields, never from a file name:
//
//	link v0.3:           predicate.name                               = step
//	                     predicate.byproducts["mlattest.dev/run-id"]  = run id
//	provenance v1        predicate.buildDefinition.internalParameters.step = step
//	(training buildType) predicate.runDetails.metadata.invocationId   = run id
//
// Any other predicate type has no binding: BindingOf fails closed.
package predicates

import (
	"time"

	"github.com/mlattest/mlattest/digest"
)

const (
	// StatementTypeV1 is the in-toto Statement v1 _type.
	StatementTypeV1 = "https://in-toto.io/Statement/v1"
	// PayloadType is the DSSE payload type of every statement.
	PayloadType = "application/vnd.in-toto+json"
	// LinkV03 is the in-toto link predicate type.
	LinkV03 = "https://in-toto.io/attestation/link/v0.3"
	// ProvenanceV1 is the SLSA provenance predicate type.
	ProvenanceV1 = "https://slsa.dev/provenance/v1"
	// TrainingBuildTypeV1 is the buildType of mlattest's training provenance.
	TrainingBuildTypeV1 = "https://mlattest.dev/buildtypes/training/v1"

	// ByproductRunID is the link byproducts key that carries the run id.
	ByproductRunID = "mlattest.dev/run-id"
	// ByproductExitCode is the link byproducts key of the command's exit code
	// (in-toto's own name for it).
	ByproductExitCode = "return-value"
	// ByproductStdout and ByproductStderr carry "sha256:HEX" of the streams.
	ByproductStdout = "mlattest.dev/stdout"
	ByproductStderr = "mlattest.dev/stderr"
	// ByproductVersion carries the version of mlattest that recorded the
	// step (a link has no builder field).
	ByproductVersion = "mlattest.dev/version"

	// ProvenanceByproductExitCode names the runDetails.byproducts entry of the
	// training provenance whose annotations.exitCode is the command's exit code.
	ProvenanceByproductExitCode = "mlattest.dev/exit-code"
	// ProvenanceByproductIsolation names the runDetails.byproducts entry whose
	// annotations are the Isolation record of the training (network policy,
	// refused connection attempts).
	ProvenanceByproductIsolation = ByproductIsolation

	// Roles of the training provenance's resolvedDependencies
	// (annotations.role).
	RoleBaseModel      = "base-model"
	RoleDataset        = "dataset"
	RoleTrainingScript = "training-script"
	RoleContainerImage = "container-image"

	// MaxStatementSize caps the statement JSON ParseStatement accepts, so a
	// hostile bundle cannot make us allocate without bound.
	MaxStatementSize = 32 << 20
)

// Source classes a dataset may declare.
var SourceClasses = []string{"internal", "curated", "web", "crowd", "synthetic"}

// Binding is what ties a statement to one step of one pipeline run. It is read
// only from signed statement content, never from a file name.
type Binding struct {
	Step  string
	RunID string
}

// LinkInput is everything a link v0.3 statement records.
type LinkInput struct {
	Step        string
	RunID       string
	Command     []string
	Materials   []digest.Artifact
	Products    []digest.Artifact // become the statement's subjects
	ExitCode    int
	Stdout      string            // "sha256:HEX", optional
	Stderr      string            // "sha256:HEX", optional
	Environment map[string]string // recorded allow-list, never secrets
	// Isolation, optional, is byproducts["mlattest.dev/isolation"].
	Isolation *Isolation
	// Version is the recording tool's version, optional (byproducts
	// "mlattest.dev/version").
	Version string
	// Subjects, when set, are used instead of Products (a step without
	// products names what it acted on).
	Subjects []digest.Artifact
}

// Resource is a named artifact with its SHA-256 (name is a path or URI).
type Resource struct {
	URI    string
	SHA256 string
}

// Dataset is a training dataset file with its collection facts.
type Dataset struct {
	Resource
	CollectedAt string // RFC 3339 date or date-time, optional
	SourceClass string // one of SourceClasses, optional
}

// GitSource is the training script's repository state.
type GitSource struct {
	URI    string // git+https://host/org/repo or a local path URI
	Commit string // full hex commit
	Dirty  bool   // work tree had uncommitted changes (a recorded fact)
}

// TrainingInput is everything the training provenance records.
type TrainingInput struct {
	Step, RunID     string
	EntryPoint      []string
	Config          *Resource // path + digest of the training config file
	Hyperparameters map[string]any
	BaseModel       []Resource // one per file: hf://org/model@rev/file + digest
	Datasets        []Dataset
	Script          *GitSource
	Image           *Resource // oci://registry/repo + sha256 digest
	BuilderID       string    // CI identity (e.g. workflow URI) or local builder
	// BuilderVersion is runDetails.builder.version (component → version),
	// optional.
	BuilderVersion map[string]string
	InvocationURI  string // CI run URL when known
	StartedOn      time.Time
	FinishedOn     time.Time
	Isolation      *Isolation // network policy and what happened under it, optional
	ExitCode       int
	Subjects       []digest.Artifact // output model files
}
