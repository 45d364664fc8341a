package gate

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// FailureCode classifies a layout verification failure, so callers and tests
// can tell one reason from another without matching message text.
type FailureCode string

const (
	// The layout itself.
	FailLayoutUnsigned  FailureCode = "layout-unsigned"  // no layout bundle and no --insecure-unsigned-layout
	FailLayoutSignature FailureCode = "layout-signature" // the layout bundle does not verify for the owner
	FailLayoutInvalid   FailureCode = "layout-invalid"   // the signed bytes are not a valid layout
	FailLayoutExpired   FailureCode = "layout-expired"   // past its expires
	FailLayoutSerial    FailureCode = "layout-serial"    // serial below the required minimum

	// The attestations.
	FailNoAttestations  FailureCode = "no-attestations"   // no bundle in the directory
	FailUnsignedLeft    FailureCode = "unsigned-leftover" // an unsigned statement a failed run left behind
	FailBundle          FailureCode = "bundle-rejected"   // a bundle does not verify (or cannot be read or parsed)
	FailNoLogEntry      FailureCode = "no-tlog-entry"     // a bundle signed offline, and the layout requires log entries
	FailStatement       FailureCode = "statement-invalid" // a verified statement is malformed for its predicate type
	FailDuplicateKey    FailureCode = "duplicate-key"     // a bundle or its DSSE payload names a JSON object key twice
	FailTrailingData    FailureCode = "trailing-data"     // bytes after the JSON value of a bundle or its DSSE payload
	FailCannotBind      FailureCode = "cannot-bind"       // a statement the layout cares about has no step/run binding
	FailUnknownStep     FailureCode = "unknown-step"      // a statement for a step the layout does not define
	FailRunIDAmbiguous  FailureCode = "run-id-ambiguous"  // several run ids and no --run-id
	FailRunIDMismatch   FailureCode = "run-id-mismatch"   // a statement of another run
	FailRunInvocation   FailureCode = "run-invocation"    // run id disagrees with the certificate's CI run invocation URI
	FailUnauthorized    FailureCode = "unauthorized-signer"
	FailStepMissing     FailureCode = "step-missing"
	FailThreshold       FailureCode = "threshold"
	FailDisagreement    FailureCode = "link-disagreement" // counted links differ in materials or products
	FailExitCode        FailureCode = "exit-code"
	FailCommand         FailureCode = "command"
	FailPredicateAbsent FailureCode = "predicate-missing" // an expected predicate type was not signed
	FailExpectation     FailureCode = "expectation"       // a CEL expression is false or fails to evaluate
	FailArtifactRule    FailureCode = "artifact-rule"
	FailArtifactName    FailureCode = "artifact-name"        // a name that is not a clean relative path or URI (never normalised)
	FailArtifactDigest  FailureCode = "artifact-digest"      // a digest set with an algorithm verify cannot compute, or malformed
	FailSubject         FailureCode = "subject"              // released model files are not the subject step's products
	FailModelTree       FailureCode = "model-tree"           // the released model holds a symbolic link, FIFO, socket or device
	FailBaseModel       FailureCode = "base-model"           // a training base model is not exactly one the layout's pins allow
	FailUnexpected      FailureCode = "unexpected-statement" // a verified statement of a _type or predicate type the layout does not evaluate
	FailModelSignature  FailureCode = "model-signature"      // an OMS model signature whose manifest is not the released model
)

// Failure is one reason verification fails. It names the step, the rule and
// the artifact where they apply.
type Failure struct {
	Code     FailureCode `json:"code"`
	Step     string      `json:"step,omitempty"`
	Rule     string      `json:"rule,omitempty"`
	Artifact string      `json:"artifact,omitempty"`
	Bundle   string      `json:"bundle,omitempty"`
	Reason   string      `json:"reason"`
}

func (f Failure) String() string {
	var b strings.Builder
	if f.Step != "" {
		fmt.Fprintf(&b, "step %s: ", f.Step)
	}
	if f.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", f.Rule)
	}
	if f.Artifact != "" {
		fmt.Fprintf(&b, "artifact %s: ", f.Artifact)
	}
	if f.Bundle != "" {
		fmt.Fprintf(&b, "bundle %s: ", f.Bundle)
	}
	b.WriteString(f.Reason)
	fmt.Fprintf(&b, " [%s]", f.Code)
	return b.String()
}

// Report is the outcome of VerifyLayout. It is JSON-serialisable; Passed is
// true only when Failures is empty.
type Report struct {
	Passed bool          `json:"passed"`
	Layout LayoutSummary `json:"layout"`
	RunID  string        `json:"runId,omitempty"`
	// RunIDs are the distinct run ids of the statements read, when there
	// are several (sorted): the pipeline's steps were not given one id, or
	// the directory holds several runs.
	RunIDs  []string      `json:"runIds,omitempty"`
	Steps   []StepReport  `json:"steps"`
	Subject SubjectReport `json:"subject"`
	// Model is the released model as hashed for this verdict, in every
	// outcome (a rejected layout or a failed step included): a summary of
	// the verdict names these digests and never hashes the model again.
	Model *ModelDigests `json:"model,omitempty"`
	// BaseModels are the training base models checked against the
	// layout's pins (only when the layout has a baseModels section).
	BaseModels []BaseModelReport `json:"baseModels,omitempty"`
	Bundles    []BundleRef       `json:"bundles"`
	// TransparencyLog says which log checks the verdict rests on; nil when
	// no attestation was verified (the layout was refused first).
	TransparencyLog *LogSummary `json:"transparencyLog,omitempty"`
	Failures        []Failure   `json:"failures"`
}

// LogSummary is what the verdict says about transparency logs: whether any
// log entry was checked, and which bundles count on their signature alone.
type LogSummary struct {
	// Checked is false for key-only verification (no trusted root): no
	// bundle's log entry was checked, only signatures.
	Checked bool `json:"checked"`
	// Required: the layout demands an entry for every bundle
	// (requireTransparencyLog).
	Required bool `json:"required,omitempty"`
	// Unlogged are the verified bundles that had no log entry checked:
	// key-signed offline (or, key-only, every bundle).
	Unlogged []string `json:"unlogged,omitempty"`
	// Notice says the above in one sentence when some bundle is unlogged.
	Notice string `json:"notice,omitempty"`
}

// NoLogNotice is LogSummary.Notice for key-only verification.
const NoLogNotice = "key-only verification: no transparency log was checked, only the signatures of the layout owner's and functionaries' keys (give a trusted root to check log entries)"

// logSummary sums up the log checks of the layout bundle and the verified
// attestation bundles.
func logSummary(checked, required bool, layout LayoutSummary, bundles []BundleRef) *LogSummary {
	s := &LogSummary{Checked: checked, Required: required}
	if layout.Signer != nil && !layout.Logged {
		s.Unlogged = append(s.Unlogged, layout.Bundle)
	}
	for _, b := range bundles {
		if b.Verified && !b.Logged {
			s.Unlogged = append(s.Unlogged, b.File)
		}
	}
	switch {
	case !checked:
		s.Notice = NoLogNotice
	case len(s.Unlogged) > 0:
		s.Notice = fmt.Sprintf("%d bundle(s) signed offline with a key have no transparency-log entry and count on their signature alone: %s",
			len(s.Unlogged), strings.Join(s.Unlogged, ", "))
	}
	return s
}

// LayoutSummary identifies the layout that was applied.
type LayoutSummary struct {
	File    string    `json:"file"`
	SHA256  string    `json:"sha256"`
	Bundle  string    `json:"bundle,omitempty"`
	Serial  int64     `json:"serial"`
	Expires time.Time `json:"expires,omitzero"`
	// Signer is the verified layout signer; nil when the layout was accepted
	// unsigned (InsecureUnsignedLayout).
	Signer   *verify.Signer `json:"signer,omitempty"`
	Unsigned bool           `json:"unsigned,omitempty"`
	// Logged: the layout bundle's transparency-log entry verified against
	// the trusted root (false: signed offline with the owner's key, or
	// verified key-only).
	Logged bool `json:"logged"`
}

// StepReport is the verdict for one layout step.
type StepReport struct {
	Name      string `json:"name"`
	Passed    bool   `json:"passed"`
	Threshold int    `json:"threshold"`
	// Signers are the distinct functionary identities counted for the
	// threshold (those with a link statement for the step).
	Signers  []string  `json:"signers"`
	Checks   []Check   `json:"checks"`
	Failures []Failure `json:"failures"`
}

// Check is one rule applied to a step and whether it held.
type Check struct {
	Rule   string `json:"rule"`
	Passed bool   `json:"passed"`
}

// ModelDigests are the released model's regular files as VerifyLayout
// hashed them (names relative to Path when it is a directory, else its
// base name; a tree's links and special files are not among them), or as
// they were given in LayoutOptions.ModelDigests for a model not on disk.
type ModelDigests struct {
	Path  string            `json:"path"`
	Files []digest.Artifact `json:"files"`
}

// SubjectReport is the released-model check.
type SubjectReport struct {
	Step  string   `json:"step"`
	Model string   `json:"model,omitempty"`
	Files []string `json:"files,omitempty"` // released files, as compared
	// Root is the directory of the step's products that the released
	// directory stands for ("" : the step's working directory).
	Root   string `json:"root,omitempty"`
	Passed bool   `json:"passed"`
}

// BundleRef is one attestation bundle that was read.
type BundleRef struct {
	File          string `json:"file"`
	SHA256        string `json:"sha256"` // of the bundle file's bytes
	Verified      bool   `json:"verified"`
	Signer        string `json:"signer,omitempty"`
	PredicateType string `json:"predicateType,omitempty"`
	Step          string `json:"step,omitempty"`
	RunID         string `json:"runId,omitempty"`
	// Logged: a transparency-log entry of the bundle verified against the
	// trusted root; false for a key-signed bundle counted on its signature
	// alone.
	Logged bool `json:"logged"`
	// Evaluated: the layout evaluation used the bundle's statement (the VSA
	// lists exactly these bundles as its inputAttestations).
	Evaluated bool `json:"evaluated"`
	// Ignored says why a verified statement was left out unevaluated: its
	// predicate type is one the layout's allowedExtraPredicates lists.
	Ignored string `json:"ignored,omitempty"`
}

// EvaluatedAttestations are the bundles whose statements the evaluation
// used, by file name and SHA-256 of their bytes: what a verification summary
// may list as its inputs. Rejected, unexpected and ignored statements are
// not among them.
func (r *Report) EvaluatedAttestations() []predicates.Resource {
	var out []predicates.Resource
	for _, b := range r.Bundles {
		if b.Evaluated && b.SHA256 != "" {
			out = append(out, predicates.Resource{URI: b.File, SHA256: b.SHA256})
		}
	}
	return out
}

// FailureCodes lists the distinct codes of the report's failures, for tests
// and summaries.
func (r *Report) FailureCodes() []FailureCode {
	seen := map[FailureCode]bool{}
	var out []FailureCode
	for _, f := range r.Failures {
		if !seen[f.Code] {
			seen[f.Code] = true
			out = append(out, f.Code)
		}
	}
	return out
}

// HasFailure reports whether a failure with code exists whose reason
// contains substr.
func (r *Report) HasFailure(code FailureCode, substr string) bool {
	for _, f := range r.Failures {
		if f.Code == code && strings.Contains(f.String(), substr) {
			return true
		}
	}
	return false
}

func (r *Report) fail(f Failure) { r.Failures = append(r.Failures, f) }

// finish sets Passed from the failures and makes the JSON stable (empty
// lists rather than null).
func (r *Report) finish() {
	r.Passed = len(r.Failures) == 0
	if r.Failures == nil {
		r.Failures = []Failure{}
	}
	if r.Steps == nil {
		r.Steps = []StepReport{}
	}
	if r.Bundles == nil {
		r.Bundles = []BundleRef{}
	}
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Signers == nil {
			s.Signers = []string{}
		}
		if s.Checks == nil {
			s.Checks = []Check{}
		}
		if s.Failures == nil {
			s.Failures = []Failure{}
		}
	}
}

// WriteText renders the report for people: ✔/✘ per step and rule, each
// failure naming step, rule, artifact and reason.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	mark := func(ok bool) string {
		if ok {
			return "✔"
		}
		return "✘"
	}
	l := r.Layout
	fmt.Fprintf(&b, "Layout %s (sha256:%s, serial %d", l.File, l.SHA256, l.Serial)
	if !l.Expires.IsZero() {
		fmt.Fprintf(&b, ", expires %s", l.Expires.UTC().Format(time.RFC3339))
	}
	b.WriteString(")\n")
	switch {
	case l.Unsigned:
		b.WriteString("  signed by:  NOBODY (accepted unsigned: InsecureUnsignedLayout)\n")
	case l.Signer != nil:
		fmt.Fprintf(&b, "  signed by:  %s\n", signerString(*l.Signer))
	}
	if r.RunID != "" {
		fmt.Fprintf(&b, "Run %s\n", r.RunID)
	}
	if len(r.RunIDs) > 1 {
		fmt.Fprintf(&b, "Statements from %d runs: %s\n", len(r.RunIDs), strings.Join(r.RunIDs, ", "))
	}
	fmt.Fprintf(&b, "Attestations: %d bundle(s)\n", len(r.Bundles))
	for _, x := range r.Bundles {
		if x.Ignored != "" {
			fmt.Fprintf(&b, "  - ignored %s: %s\n", x.File, x.Ignored)
		}
	}
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%s step %s (%d of %d signer(s)", mark(s.Passed), s.Name, len(s.Signers), s.Threshold)
		if len(s.Signers) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(s.Signers, "; "))
		}
		b.WriteString(")\n")
		for _, c := range s.Checks {
			fmt.Fprintf(&b, "    %s %s\n", mark(c.Passed), c.Rule)
		}
		for _, f := range s.Failures {
			fmt.Fprintf(&b, "      ✘ %s\n", f)
		}
	}
	for _, m := range r.BaseModels {
		if m.Passed {
			fmt.Fprintf(&b, "%s base model %s of step %s: exactly the files pinned by %s\n", mark(true), m.Model, m.Step, m.PinnedBy)
		} else {
			fmt.Fprintf(&b, "%s base model %s of step %s: %s\n", mark(false), m.Model, m.Step, m.Problem)
		}
	}
	// One short line; LogSummary.Notice is the sentence a caller prints
	// once beside the report.
	switch t := r.TransparencyLog; {
	case t == nil:
	case !t.Checked:
		b.WriteString("⚠ transparency log: not checked (key-only verification: signatures only)\n")
	case len(t.Unlogged) > 0:
		fmt.Fprintf(&b, "⚠ transparency log: no entry for %s (signed offline; counted on the signature alone)\n", strings.Join(t.Unlogged, ", "))
	}
	if r.Subject.Step != "" {
		under := ""
		if r.Subject.Root != "" {
			under = " under " + r.Subject.Root + "/"
		}
		fmt.Fprintf(&b, "%s subject: released model %s is exactly the products of step %s%s\n", mark(r.Subject.Passed), r.Subject.Model, r.Subject.Step, under)
	}
	if r.Passed {
		b.WriteString("PASSED\n")
	} else {
		fmt.Fprintf(&b, "FAILED: %d failure(s)\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "  ✘ %s\n", f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// signerString names a signer identity: subject and issuer, or the key id.
func signerString(s verify.Signer) string {
	if s.Subject != "" {
		return s.Subject + " (issuer " + s.Issuer + ")"
	}
	if s.KeyID != "" {
		return "key " + s.KeyID
	}
	return "(unknown signer)"
}
