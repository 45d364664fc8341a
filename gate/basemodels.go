package gate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// PinSet is the base-model pins a layout vouches for, by model URI
// (hf://ORG/NAME@COMMIT).
type PinSet map[string]PinSource

// PinSource is one pin and where it came from, for messages.
type PinSource struct {
	Pin predicates.ModelPin
	// From is "layout" or the bundle file of a signed pin statement.
	From string
}

// add records a pin; two different pins for one model make that model
// unusable (fail closed) rather than letting either win.
func (ps PinSet) add(p predicates.ModelPin, from string) error {
	if old, ok := ps[p.URI()]; ok {
		if len(old.Pin.Mismatches(p.FileDigests())) > 0 {
			return fmt.Errorf("%s is pinned differently by %s and %s", p.URI(), old.From, from)
		}
		return nil
	}
	ps[p.URI()] = PinSource{Pin: p, From: from}
	return nil
}

// isPinSigner reports whether a verified signer is one of the layout's pin
// signers.
func isPinSigner(bm *layouts.BaseModelPolicy, matchers map[string]functionaryMatcher, s verify.Signer) bool {
	for _, name := range bm.PinSigners {
		if m, ok := matchers[name]; ok && m.matches(s) {
			return true
		}
	}
	return false
}

// LayoutPins verifies pin bundles (written by `mlattest pin`) against the
// layout's functionaries, keeps those signed by one of its pinSigners, and
// adds the layout's own allow-list. It is what `mlattest run --layout`
// checks base models against before a step runs. A bundle that does not
// verify, is signed by someone else, or is not a model-pin statement is an
// error naming the file: a pin given on purpose is never skipped.
func LayoutPins(ctx context.Context, l *layouts.Layout, tm root.TrustedMaterial, bundles ...string) (PinSet, error) {
	bm := l.BaseModels
	if bm == nil {
		return nil, fmt.Errorf("layout %s has no baseModels section: it allows no base models to be pinned", l.File)
	}
	ps := PinSet{}
	for _, p := range bm.Pins {
		if err := ps.add(p, "layout"); err != nil {
			return nil, err
		}
	}
	if len(bundles) == 0 {
		return ps, nil
	}
	if len(bm.PinSigners) == 0 {
		return nil, fmt.Errorf("layout %s names no pinSigners: pin bundles cannot be accepted", l.File)
	}
	ft, err := newFunctionaryTrust(l, tm)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", l.File, err)
	}
	matchers, err := layoutMatchers(l)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", l.File, err)
	}
	for _, f := range bundles {
		data, err := fsutil.ReadFileMax(f, verify.MaxBundleSize)
		if err != nil {
			return nil, fmt.Errorf("pin %s: %w", f, err)
		}
		vb, err := ft.verifyStatement(ctx, data, false)
		if err != nil {
			return nil, fmt.Errorf("pin %s: %w", f, err)
		}
		if !isPinSigner(bm, matchers, vb.res.Signer) {
			return nil, fmt.Errorf("pin %s: signed by %s, who is not one of the layout's pinSigners (%s)", f, signerString(vb.res.Signer), strings.Join(bm.PinSigners, ", "))
		}
		pin, err := predicates.ModelPinOf(vb.statement)
		if err != nil {
			return nil, fmt.Errorf("pin %s: %w", f, err)
		}
		if err := ps.add(*pin, f); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// StepPins is what a step's base models are checked against before it
// runs: the layout is loaded as VerifyLayout loads it (signature over the
// exact bytes, expiry, serial; a refused layout is an error listing why),
// it must define step, and the pins are those LayoutPins accepts, sorted by
// model. No pins at all is an error: every base model would be refused.
func StepPins(ctx context.Context, opts LayoutOptions, step string, bundles ...string) ([]predicates.ModelPin, error) {
	ll, err := LoadLayout(ctx, opts)
	if err != nil {
		return nil, err
	}
	if len(ll.Failures) > 0 {
		reasons := make([]string, 0, len(ll.Failures))
		for _, f := range ll.Failures {
			reasons = append(reasons, f.String())
		}
		return nil, fmt.Errorf("layout %s refused: %s", opts.LayoutFile, strings.Join(reasons, "; "))
	}
	if ll.Layout.Step(step) == nil {
		return nil, fmt.Errorf("layout %s defines no step %q", opts.LayoutFile, step)
	}
	ps, err := LayoutPins(ctx, ll.Layout, ll.TrustedRoot, bundles...)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("layout %s pins no base model and no pin bundle was given: every base model would be refused", opts.LayoutFile)
	}
	pins := make([]predicates.ModelPin, 0, len(ps))
	for _, m := range slices.Sorted(maps.Keys(ps)) {
		pins = append(pins, ps[m].Pin)
	}
	return pins, nil
}

// evidencePins collects the pins of a layout's baseModels policy from the
// verified statements: the layout's allow-list plus model-pin statements
// signed by a pin signer. Conflicts are failures.
func evidencePins(r *Report, l *layouts.Layout, ev *Evidence, matchers map[string]functionaryMatcher) PinSet {
	ps := PinSet{}
	for _, p := range l.BaseModels.Pins {
		if err := ps.add(p, "layout"); err != nil {
			r.fail(Failure{Code: FailBaseModel, Rule: "baseModels", Reason: err.Error()})
		}
	}
	for _, vs := range ev.Statements {
		if vs.Statement.GetPredicateType() != predicates.ModelPinV1 || !isPinSigner(l.BaseModels, matchers, vs.Signer) {
			continue
		}
		pin, err := predicates.ModelPinOf(vs.Statement)
		if err != nil {
			r.fail(Failure{Code: FailStatement, Bundle: vs.Bundle, Reason: err.Error()})
			continue
		}
		if err := ps.add(*pin, vs.Bundle); err != nil {
			r.fail(Failure{Code: FailBaseModel, Bundle: vs.Bundle, Rule: "baseModels", Reason: err.Error()})
		}
	}
	return ps
}

// modelURIRE is the model part of a base-model resource URI.
var modelURIRE = regexp.MustCompile(`^hf://[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*@[^/]*`)

// BaseModelReport is the pin check of one base model of a training step.
type BaseModelReport struct {
	Step  string `json:"step"`
	Model string `json:"model"`
	// PinnedBy is where the matching pin came from: "layout" or the pin
	// bundle's file name; empty when no pin covers the model.
	PinnedBy string `json:"pinnedBy,omitempty"`
	Passed   bool   `json:"passed"`
	Problem  string `json:"problem,omitempty"`
}

// CheckBaseModels compares the base models a training provenance records
// with the pins: every model must be hf://ORG/NAME@COMMIT with a pin, and
// its files exactly the pinned files. It returns one report per model.
func (ps PinSet) CheckBaseModels(res []predicates.Resource) []BaseModelReport {
	models := map[string]bool{}
	var out []BaseModelReport
	for _, r := range res {
		m := modelURIRE.FindString(r.URI)
		if m == "" {
			out = append(out, BaseModelReport{Model: r.URI, Problem: fmt.Sprintf("base model file %s is not named hf://ORG/NAME@COMMIT[/PATH]", r.URI)})
			continue
		}
		models[m] = true
	}
	for _, m := range slices.Sorted(maps.Keys(models)) {
		rep := BaseModelReport{Model: m}
		if _, _, err := predicates.ParseHFURI(m); err != nil {
			rep.Problem = err.Error()
			out = append(out, rep)
			continue
		}
		src, ok := ps[m]
		if !ok {
			rep.Problem = fmt.Sprintf("base model %s has no pin the layout accepts", m)
			out = append(out, rep)
			continue
		}
		rep.PinnedBy = src.From
		single := ""
		if len(src.Pin.Files) == 1 {
			single = src.Pin.Files[0].Path // a single-file base model is recorded by the model URI alone
		}
		if mm := src.Pin.Mismatches(predicates.BaseModelFiles(res, m, single)); len(mm) > 0 {
			rep.Problem = fmt.Sprintf("base model %s does not match its pin (%s): %s", m, src.From, strings.Join(mm, "; "))
		}
		rep.Passed = rep.Problem == ""
		out = append(out, rep)
	}
	return out
}

// checkBaseModels applies the layout's baseModels policy to every training
// provenance of the run.
func checkBaseModels(r *Report, l *layouts.Layout, ev *Evidence, run []bound, matchers map[string]functionaryMatcher) {
	if l.BaseModels == nil {
		return
	}
	ps := evidencePins(r, l, ev, matchers)
	for _, s := range run {
		if s.Statement.GetPredicateType() != predicates.ProvenanceV1 {
			continue
		}
		tr, err := s.Training()
		if err != nil {
			if errors.Is(err, predicates.ErrNotTraining) {
				continue
			}
			r.fail(Failure{Code: FailStatement, Step: s.Step, Bundle: s.Bundle, Reason: err.Error()})
			continue
		}
		for _, rep := range ps.CheckBaseModels(tr.BaseModel) {
			rep.Step = s.Step
			r.BaseModels = append(r.BaseModels, rep)
			if !rep.Passed {
				r.fail(Failure{Code: FailBaseModel, Step: s.Step, Bundle: s.Bundle, Rule: "baseModels", Reason: rep.Problem})
			}
		}
	}
}
