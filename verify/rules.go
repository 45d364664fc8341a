package verify

// CONTRACT (filled in by the artifact-rules work): keep these signatures.

import (
	"github.com/mlattest/mlattest/layouts"
)

// Artifacts maps artifact names (slash paths or URIs) to lowercase hex SHA-256.
type Artifacts map[string]string

// StepArtifacts are one verified step's materials and products.
type StepArtifacts struct {
	Materials Artifacts
	Products  Artifacts
}

// RuleError is an artifact rule that failed: it names the step, the rule and
// the artifact.
type RuleError struct {
	Step     string
	Kind     layouts.ArtifactKind // which of the step's artifacts the rule applied to
	Rule     string               // the rule as written
	Artifact string               // the offending artifact, if one
	Reason   string
}

func (e *RuleError) Error() string {
	msg := "step " + e.Step + ": expected " + string(e.Kind) + " rule \"" + e.Rule + "\""
	if e.Artifact != "" {
		msg += ": artifact " + e.Artifact
	}
	return msg + ": " + e.Reason
}

// ApplyRules applies a step's expectedMaterials (kind == layouts.Materials)
// or expectedProducts rules to its artifacts, in order, with in-toto's
// semantics; others holds the artifacts of the layout's other steps (for
// MATCH ... FROM). It returns a *RuleError for the first failing rule.
func ApplyRules(step string, kind layouts.ArtifactKind, rules []layouts.ArtifactRule, self StepArtifacts, others map[string]StepArtifacts) error {
	panic("not implemented")
}

// MatchCommand compares a recorded argv with a layout's expectedCommand,
// element by element; each expected element is a path.Match glob.
func MatchCommand(expected, actual []string) error {
	panic("not implemented")
}
