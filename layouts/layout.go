// Package layouts is mlattest's layout format: the model owner's signed
// statement of how a model must be produced (which steps, by whom, how many
// signers, how artifacts flow between steps, what predicates must say).
//
// The exported types below are what verify/ builds against. Parse is the
// only way to get a Layout that has passed validation; the format is
// documented in README.md.
//
// A layout is signed as a Sigstore message-signature bundle over the layout
// file's exact bytes (`mlattest layout sign`). Verifiers check that
// signature over the bytes they are about to parse, before calling Parse:
// this package never verifies signatures itself (the release gate, package
// gate, imports layouts and verify; layouts imports neither).
package layouts

import (
	"crypto"
	"regexp"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/mlattest/mlattest/predicates"
)

// Layout is a parsed, validated layout.
type Layout struct {
	// Serial increases with every new version of a layout, so a verifier can
	// refuse an older one replayed (--layout-min-serial).
	Serial int64
	// Expires is when the layout stops being valid.
	Expires time.Time
	// Functionaries by name.
	Functionaries map[string]*Functionary
	// Steps in the order the layout lists them.
	Steps []*Step
	// Subject says which step's products the released model must be.
	Subject SubjectRule
	// BaseModels, when set, is the owner's word on which base models a run
	// may start from; nil leaves base models to the steps' own rules.
	BaseModels *BaseModelPolicy
	// RequireTransparencyLog demands a transparency-log entry, verified
	// against the trusted root, for every attestation bundle of the run.
	// Keyless signatures always need one; without this field a bundle
	// signed offline with a functionary key counts on its signature alone.
	// (The layout's own signature is checked as the verifier is told.)
	RequireTransparencyLog bool
	// RequireTransparencyLogLine locates the field (0 when absent).
	RequireTransparencyLogLine int
	// AllowedExtraPredicates are predicate types whose signed statements
	// verify reports as ignored, where a step does not use them, instead of
	// failing (exact strings: a look-alike of a type is another type).
	AllowedExtraPredicates []string
	// SHA256 is the hex SHA-256 of the exact bytes parsed.
	SHA256 string
	// File is the name the layout was parsed from, for messages.
	File string

	// ExpiresLine, SerialLine and AllowedExtraLine locate those fields,
	// for messages.
	ExpiresLine, SerialLine, AllowedExtraLine int

	funcOrder  []string // functionary names in declaration order
	extraLines []int    // line of each AllowedExtraPredicates entry
}

// FunctionaryNames returns the functionary names in the order the layout
// declares them.
func (l *Layout) FunctionaryNames() []string {
	return append([]string(nil), l.funcOrder...)
}

// Keyless returns the names of the keyless functionaries, sorted: their
// certificates are short-lived, so verifying them always needs a trusted
// root and a transparency-log entry.
func (l *Layout) Keyless() []string {
	var names []string
	for _, name := range sortedKeys(l.Functionaries) {
		if l.Functionaries[name].Keyless != nil {
			names = append(names, name)
		}
	}
	return names
}

// Step returns the step called name, or nil.
func (l *Layout) Step(name string) *Step {
	for _, s := range l.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// alwaysEvaluated are the predicate types verify reads for every step:
// links (thresholds, artifacts, commands, exit codes) and training
// provenance (exit codes, base models).
var alwaysEvaluated = map[string]bool{predicates.LinkV03: true, predicates.ProvenanceV1: true}

// UsesPredicate reports whether verify evaluates a statement of predicate
// type pt signed for step: links and SLSA provenance v1 for every step,
// other types where the step lists them in expectedPredicates. With step
// "", whether any step does. Types are compared as exact strings.
func (l *Layout) UsesPredicate(step, pt string) bool {
	if alwaysEvaluated[pt] {
		return true
	}
	for _, s := range l.Steps {
		if step != "" && s.Name != step {
			continue
		}
		for _, pe := range s.ExpectedPredicates {
			if pe.Type == pt {
				return true
			}
		}
	}
	return false
}

// AllowsExtraPredicate reports whether pt is listed, exactly, in
// allowedExtraPredicates.
func (l *Layout) AllowsExtraPredicate(pt string) bool {
	for _, t := range l.AllowedExtraPredicates {
		if t == pt {
			return true
		}
	}
	return false
}

// BaseModelPolicy says where base-model pins come from: the layout's own
// allow-list, and model-pin statements signed by the named functionaries.
// A base model no pin covers exactly is refused, before training by
// `mlattest run --layout` and at release by verify.
type BaseModelPolicy struct {
	// PinSigners are functionary names whose signed model-pin statements
	// (`mlattest pin`) count as pins.
	PinSigners []string
	// Pins are the layout's own allow-list, each validated (ModelPin.Check).
	Pins []predicates.ModelPin
	Line int
}

// Functionary is someone allowed to perform steps: a public key or a
// keyless (Fulcio certificate) identity. Exactly one of Key and Keyless is set.
type Functionary struct {
	Name    string
	Key     *Key
	Keyless *KeylessIdentity
	Line    int
}

// Key is a functionary's public key.
type Key struct {
	Public crypto.PublicKey
	// ID is "sha256:HEX" of the DER public key (trust.KeyID).
	ID string
}

// KeylessIdentity matches a Fulcio certificate. Exactly one of Issuer and
// IssuerRegexp, and exactly one of Subject and SubjectRegexp, is set;
// regexps are anchored (^(?:...)$) at parse time.
type KeylessIdentity struct {
	Issuer, IssuerRegexp   string
	Subject, SubjectRegexp string
	// Extensions are further Fulcio certificate extensions that must equal
	// the given values, keyed by sigstore-go's certificate.Extensions JSON
	// field names (e.g. "githubWorkflowRef", "sourceRepositoryURI").
	Extensions map[string]string

	issuerRE, subjectRE     *regexp.Regexp // compiled anchored regexps
	issuerRaw, subjectRaw   string         // regexps as written, for Lint
	issuerLine, subjectLine int            // where they are written
}

// MatchesIdentity reports whether an OIDC issuer and certificate subject
// satisfy the identity's issuer and subject constraints (Extensions are
// not checked here: they need the certificate). Regexps match the whole
// value.
func (k *KeylessIdentity) MatchesIdentity(issuer, subject string) bool {
	return matchOne(k.Issuer, k.IssuerRegexp, k.issuerRE, issuer) &&
		matchOne(k.Subject, k.SubjectRegexp, k.subjectRE, subject)
}

func matchOne(exact, re string, compiled *regexp.Regexp, v string) bool {
	switch {
	case exact != "" && re != "":
		return false // malformed identity: fail closed
	case exact != "":
		return v == exact
	case re == "":
		return false
	case compiled != nil:
		return compiled.MatchString(v)
	}
	// Built by hand rather than by Parse: anchor here too (compiling the
	// regexp alone first, so `a)|(.*` cannot escape the anchoring group).
	c, _, err := compileAnchored(stripAnchor(re))
	return err == nil && c.MatchString(v)
}

// stripAnchor undoes the anchoring Parse applies (^(?:...)$), so a
// hand-built identity may hold either form.
func stripAnchor(re string) string {
	if len(re) >= 6 && re[:4] == "^(?:" && re[len(re)-2:] == ")$" {
		if _, err := regexp.Compile(re[4 : len(re)-2]); err == nil {
			return re[4 : len(re)-2]
		}
	}
	return re
}

// Step is one step of the pipeline.
type Step struct {
	Name          string
	Functionaries []string // names in Layout.Functionaries
	Threshold     int      // distinct signer identities required (>= 1)
	// ExpectedMaterials and ExpectedProducts are in-toto artifact rules,
	// applied in order.
	ExpectedMaterials []ArtifactRule
	ExpectedProducts  []ArtifactRule
	// ExpectedCommand, when non-nil, is compared with the recorded argv
	// element by element; each element is a glob (path.Match syntax).
	ExpectedCommand []string
	// ExpectedPredicates are predicate types the step must have signed
	// statements of, with CEL expressions each must satisfy.
	ExpectedPredicates []*PredicateExpectation
	// AllowFailure accepts a recorded non-zero exit code (default: fail).
	AllowFailure bool
	Line         int

	commandLine int // line of expectedCommand, for messages
}

// PredicateExpectation demands signed statements of one predicate type.
type PredicateExpectation struct {
	Type        string
	Expressions []*Expression
	Line        int
}

// Expression is a compiled CEL expression over the variables `predicate`
// (the statement's predicate as a map) and `subject` (the statement's
// subjects as a list of {name, digest} maps). It must yield a bool.
type Expression struct {
	Source string
	// AllowMissing makes a reference to an absent field evaluate to true
	// (default: a missing field fails the expression).
	AllowMissing bool
	Program      cel.Program
	Line         int
}

// RuleKind is an in-toto artifact rule keyword.
type RuleKind string

const (
	RuleMatch    RuleKind = "MATCH"
	RuleCreate   RuleKind = "CREATE"
	RuleDelete   RuleKind = "DELETE"
	RuleModify   RuleKind = "MODIFY"
	RuleAllow    RuleKind = "ALLOW"
	RuleDisallow RuleKind = "DISALLOW"
	RuleRequire  RuleKind = "REQUIRE"
)

// ArtifactKind names which artifacts of a step a MATCH rule refers to.
type ArtifactKind string

const (
	Materials ArtifactKind = "MATERIALS"
	Products  ArtifactKind = "PRODUCTS"
)

// ArtifactRule is one parsed in-toto artifact rule:
//
//	MATCH <pattern> [IN <source-prefix>] WITH (MATERIALS|PRODUCTS) [IN <destination-prefix>] FROM <step>
//	CREATE|DELETE|MODIFY|ALLOW|DISALLOW|REQUIRE <pattern>
type ArtifactRule struct {
	Kind    RuleKind
	Pattern string
	// MATCH only:
	SourcePrefix string
	With         ArtifactKind
	DestPrefix   string
	FromStep     string
	// Raw is the rule as written, for messages.
	Raw  string
	Line int
}

// SubjectRule ties the released model files to a step's products.
type SubjectRule struct {
	Step string
	// Patterns select which of the step's products are the model (default
	// "*": all of them); the released files must be exactly those products.
	Patterns []string
	Line     int
}
