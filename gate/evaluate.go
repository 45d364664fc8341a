package gate

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/predicates"
)

// EvalOptions are the inputs of Evaluate besides the layout and evidence.
type EvalOptions struct {
	// RunID is the run to verify; empty: the one run id all statements share.
	RunID string
	// Model is the released model (HashModel); nil skips nothing: the
	// subject check then fails.
	Model *ModelFiles
}

// bound is a verified statement with its step/run binding.
type bound struct {
	*VerifiedStatement
	predicates.Binding
}

// Evaluate applies the layout to verified evidence: statement types (a
// statement the layout does not evaluate fails, or is reported ignored when
// allowedExtraPredicates lists its type), run binding, signer
// authorisation, thresholds, link agreement, exit codes, commands, predicate
// expectations, artifact rules and the released-model check. It does no I/O
// and no cryptography, so it can be timed apart from bundle verification.
// The report's Layout is left for the caller to fill in.
func Evaluate(l *layouts.Layout, ev *Evidence, opts EvalOptions) *Report {
	r := &Report{Bundles: append([]BundleRef(nil), ev.Bundles...)}
	r.Failures = append(r.Failures, ev.Failures...)
	defer r.finish()

	stepIndex := map[string]*layouts.Step{}
	for _, s := range l.Steps {
		stepIndex[s.Name] = s
	}
	matchers, merr := layoutMatchers(l)
	if merr != nil {
		r.fail(Failure{Code: FailLayoutInvalid, Reason: merr.Error()})
		return r
	}
	u := &usage{r: r, l: l, evaluated: map[string]bool{}, ignored: map[string]string{}, dupOf: map[string]string{}}
	defer u.mark() // before r.finish

	// 1. Bind every statement to a step and run, from its signed content.
	// No statement is skipped silently: one of a predicate type the layout
	// does not evaluate (for its step) fails, or is reported ignored when
	// allowedExtraPredicates lists the type exactly.
	var all, oms []bound
	seen := map[string]string{} // signer + payload -> bundle: the same statement twice counts once
	for _, vs := range ev.Statements {
		pt := vs.Statement.GetPredicateType()
		if pt == predicates.ModelPinV1 && l.BaseModels != nil && isPinSigner(l.BaseModels, matchers, vs.Signer) {
			u.evaluated[vs.Bundle] = true // a pin: checkBaseModels reads it
			continue
		}
		if !l.UsesPredicate("", pt) {
			u.unexpected(vs, "")
			continue
		}
		if pt == modelsig.PredicateType {
			// An OMS signature names no step or run: it counts for each
			// step that expects one, and its binding is the released
			// model's digests (modelSignatures).
			for _, s := range l.Steps {
				if l.UsesPredicate(s.Name, pt) {
					oms = append(oms, bound{vs, predicates.Binding{Step: s.Name}})
				}
			}
			continue
		}
		b, err := predicates.BindingOf(vs.Statement)
		if err != nil {
			r.fail(Failure{Code: FailCannotBind, Bundle: vs.Bundle,
				Reason: fmt.Sprintf("cannot bind a %s statement to a step and run: %v", pt, err)})
			continue
		}
		if stepIndex[b.Step] == nil {
			r.fail(Failure{Code: FailUnknownStep, Step: b.Step, Bundle: vs.Bundle,
				Reason: fmt.Sprintf("statement for step %q, which the layout does not define", b.Step)})
			continue
		}
		if !l.UsesPredicate(b.Step, pt) {
			u.unexpected(vs, b.Step)
			continue
		}
		key := vs.SignerID + "\x00" + vs.Signer.Extensions.RunInvocationURI + "\x00" + vs.PayloadSHA256
		if first, dup := seen[key]; dup {
			u.dupOf[vs.Bundle] = first
			continue
		}
		seen[key] = vs.Bundle
		all = append(all, bound{vs, b})
	}

	// 2. The run: given, or the one all statements share.
	ids := map[string]bool{}
	for _, s := range all {
		ids[s.RunID] = true
	}
	if len(ids) > 1 {
		r.RunIDs = slices.Sorted(maps.Keys(ids))
	}
	r.RunID = opts.RunID
	if r.RunID == "" {
		switch len(ids) {
		case 1:
			for id := range ids {
				r.RunID = id
			}
		case 0:
		default:
			r.fail(Failure{Code: FailRunIDAmbiguous,
				Reason: fmt.Sprintf("statements from %d runs: %s; name the one to verify (LayoutOptions.RunID; steps of one run share a run id: export MLATTEST_RUN_ID)", len(r.RunIDs), strings.Join(r.RunIDs, ", "))})
		}
	}
	checkInvocation(r, all)
	var run []bound
	for _, s := range all {
		if r.RunID != "" && s.RunID != r.RunID {
			r.fail(Failure{Code: FailRunIDMismatch, Step: s.Step, Bundle: s.Bundle,
				Reason: fmt.Sprintf("statement of run %q, not of run %q", s.RunID, r.RunID)})
			continue
		}
		if r.RunID != "" {
			run = append(run, s)
		}
	}
	run = append(run, oms...)

	// 3. Per step.
	arts := map[string]StepArtifacts{}
	steps := make([]*stepEval, 0, len(l.Steps))
	for _, s := range l.Steps {
		se := evalStep(s, run, matchers, ev.Manifests, opts.Model)
		steps = append(steps, se)
		if se.arts != nil {
			arts[s.Name] = *se.arts
		}
	}
	for _, se := range steps {
		if se.arts != nil {
			se.applyRules(arts)
			// after evalStep's verdict: the rules can fail the step too
			se.report.Passed = len(se.report.Failures) == 0
		}
		r.Steps = append(r.Steps, se.report)
		r.Failures = append(r.Failures, se.report.Failures...)
		for _, b := range se.authorised {
			u.evaluated[b.Bundle] = true
		}
	}

	checkBaseModels(r, l, ev, run, matchers)

	// 4. The released model.
	checkSubject(r, l, arts, opts.Model)
	return r
}

// usage records what became of each verified statement: evaluated (the
// VSA lists exactly these), ignored (allowedExtraPredicates) or a failure.
type usage struct {
	r         *Report
	l         *layouts.Layout
	evaluated map[string]bool   // by bundle file
	ignored   map[string]string // bundle file -> why
	dupOf     map[string]string // bundle file -> the bundle of the same statement that counted
}

// unexpected handles a verified statement whose predicate type the layout
// does not evaluate (for step, when it is bound to one).
func (u *usage) unexpected(vs *VerifiedStatement, step string) {
	pt := vs.Statement.GetPredicateType()
	where := "the layout evaluates no statement of this type"
	if step != "" {
		where = fmt.Sprintf("step %s does not evaluate statements of this type", step)
	}
	if u.l.AllowsExtraPredicate(pt) {
		u.ignored[vs.Bundle] = fmt.Sprintf("predicate type %s: %s, and allowedExtraPredicates lists it", pt, where)
		return
	}
	reason := fmt.Sprintf("signed statement of predicate type %q: %s (a layout lists the types it accepts unevaluated in allowedExtraPredicates)", pt, where)
	if like := u.l.LookAlike(pt); like != "" {
		reason += fmt.Sprintf("; it resembles %s, but predicate types are compared exactly", like)
	}
	u.r.fail(Failure{Code: FailUnexpected, Step: step, Bundle: vs.Bundle, Reason: reason})
}

// mark records each bundle's use in the report; a duplicate of a statement
// that counted shares its use.
func (u *usage) mark() {
	for i := range u.r.Bundles {
		b := &u.r.Bundles[i]
		name := b.File
		if first, ok := u.dupOf[name]; ok {
			name = first
		}
		b.Evaluated = u.evaluated[name]
		b.Ignored = u.ignored[b.File]
	}
}

// checkInvocation binds statements to the CI run that Fulcio certified:
// all statements carrying the run invocation URI extension must carry the
// same one, and their run id must be the one derived from it.
func checkInvocation(r *Report, all []bound) {
	uris := map[string]bool{}
	for _, s := range all {
		uri := s.Signer.Extensions.RunInvocationURI
		if uri == "" {
			continue
		}
		uris[uri] = true
		if want := predicates.RunIDFromInvocationURI(uri); s.RunID != want {
			r.fail(Failure{Code: FailRunInvocation, Step: s.Step, Bundle: s.Bundle,
				Reason: fmt.Sprintf("statement claims run %q, but its certificate was issued to CI run %s (run id %q)", s.RunID, uri, want)})
		}
	}
	if len(uris) > 1 {
		list := slices.Sorted(maps.Keys(uris))
		r.fail(Failure{Code: FailRunInvocation,
			Reason: fmt.Sprintf("statements were signed in %d different CI runs: %s", len(list), strings.Join(list, ", "))})
	}
}

func layoutMatchers(l *layouts.Layout) (map[string]functionaryMatcher, error) {
	out := map[string]functionaryMatcher{}
	for n, f := range l.Functionaries {
		switch {
		case f != nil && f.Key != nil && f.Keyless == nil:
			out[n] = functionaryMatcher{keyID: f.Key.ID}
			if f.Key.ID == "" {
				return nil, fmt.Errorf("functionary %q: key without id", n)
			}
		case f != nil && f.Keyless != nil && f.Key == nil:
			id, err := IdentityOf(f.Keyless)
			if err != nil {
				return nil, fmt.Errorf("functionary %q: %w", n, err)
			}
			ci, err := id.CertificateIdentity()
			if err != nil {
				return nil, fmt.Errorf("functionary %q: %w", n, err)
			}
			out[n] = functionaryMatcher{ci: &ci}
		default:
			return nil, fmt.Errorf("functionary %q: needs exactly one of a key and a keyless identity", n)
		}
	}
	return out, nil
}

// stepEval is one step being evaluated.
type stepEval struct {
	step       *layouts.Step
	report     StepReport
	authorised []bound // statements signed by the step's functionaries
	links      []bound // authorised link statements
	arts       *StepArtifacts
}

func (se *stepEval) check(rule string, ok bool) {
	se.report.Checks = append(se.report.Checks, Check{Rule: rule, Passed: ok})
}

func (se *stepEval) fail(f Failure) {
	f.Step = se.step.Name
	se.report.Failures = append(se.report.Failures, f)
}

// evalStep judges one step of the layout: who signed, how many, whether
// the links agree, exit codes, the command and the predicate expectations,
// each by a method of its own, in the order reports list them.
func evalStep(s *layouts.Step, run []bound, matchers map[string]functionaryMatcher, manifests map[string][]predicates.ManifestEntry, model *ModelFiles) *stepEval {
	se := &stepEval{step: s, report: StepReport{Name: s.Name, Threshold: s.Threshold}}
	defer func() { se.report.Passed = len(se.report.Failures) == 0 }()

	var mine []bound
	for _, b := range run {
		if b.Step == s.Name {
			mine = append(mine, b)
		}
	}
	if len(mine) == 0 {
		se.check("performed", false)
		se.fail(Failure{Code: FailStepMissing, Reason: "no signed statement for this step: it did not run, or its attestations are missing"})
		return se
	}
	se.authorise(mine, matchers)
	se.threshold()
	se.linksAgree(manifests)
	se.exitCodes()
	se.command()
	se.expectations(mine)
	se.modelSignatures(model)
	return se
}

// authorise keeps the statements signed by the step's functionaries: only
// they count.
func (se *stepEval) authorise(mine []bound, matchers map[string]functionaryMatcher) {
	s := se.step
	for _, b := range mine {
		ok := false
		for _, fn := range s.Functionaries {
			if m, found := matchers[fn]; found && m.matches(b.Signer) {
				ok = true
				break
			}
		}
		if !ok {
			se.fail(Failure{Code: FailUnauthorized, Bundle: b.Bundle,
				Reason: fmt.Sprintf("signed by %s, who is not a functionary of this step (%s)", b.SignerID, strings.Join(s.Functionaries, ", "))})
			continue
		}
		se.authorised = append(se.authorised, b)
	}
}

// threshold counts the distinct identities with a link (or witness
// collection, or OMS model signature) for the step.
func (se *stepEval) threshold() {
	counted := map[string]bool{}
	for _, b := range se.authorised {
		switch pt := b.Statement.GetPredicateType(); {
		case stepRecord(pt):
			se.links = append(se.links, b)
			counted[b.SignerID] = true
		case pt == modelsig.PredicateType:
			counted[b.SignerID] = true // signing the model is the step
		}
	}
	se.report.Signers = slices.Sorted(maps.Keys(counted))
	thr := max(se.step.Threshold, 1)
	if len(counted) < thr {
		se.check(fmt.Sprintf("threshold %d", thr), false)
		se.fail(Failure{Code: FailThreshold, Rule: fmt.Sprintf("threshold %d", thr),
			Reason: fmt.Sprintf("%d distinct functionary identit(ies) signed a link for this step, %d required", len(counted), thr)})
	} else {
		se.check(fmt.Sprintf("threshold %d", thr), true)
	}
}

// linksAgree requires the step's links to agree on what went in and came
// out; the first readable one gives the step's artifacts.
func (se *stepEval) linksAgree(manifests map[string][]predicates.ManifestEntry) {
	ok := true
	for _, b := range se.links {
		sa, err := linkArtifacts(b.VerifiedStatement, manifests)
		if err != nil {
			ok = false
			se.fail(Failure{Code: failureCode(err), Bundle: b.Bundle, Reason: err.Error()})
			continue
		}
		if se.arts == nil {
			se.arts = &sa
			continue
		}
		if d := diffArtifacts("materials", se.arts.Materials, sa.Materials) + diffArtifacts("products", se.arts.Products, sa.Products); d != "" {
			ok = false
			se.fail(Failure{Code: FailDisagreement, Bundle: b.Bundle, Artifact: firstArtifact(d),
				Reason: fmt.Sprintf("link by %s disagrees with link %s: %s", b.SignerID, se.links[0].Bundle, strings.TrimSuffix(d, "; "))})
		}
	}
	if len(se.links) > 1 {
		se.check("links agree on materials and products", ok)
	}
}

// exitCodes requires exit code 0 of every link and provenance statement,
// unless the step allows failure.
func (se *stepEval) exitCodes() {
	allow := se.step.AllowFailure
	ok := true
	for _, b := range se.authorised {
		pt := b.Statement.GetPredicateType()
		if !stepRecord(pt) && pt != predicates.ProvenanceV1 {
			continue
		}
		code, err := b.exitCode()
		switch {
		case err != nil:
			ok = false
			se.fail(Failure{Code: FailStatement, Bundle: b.Bundle, Reason: "no readable exit code: " + err.Error()})
		case code != 0 && !allow:
			ok = false
			se.fail(Failure{Code: FailExitCode, Rule: "exit code 0", Bundle: b.Bundle,
				Reason: fmt.Sprintf("the command exited with %d (the layout does not set allowFailure)", code)})
		}
	}
	if allow {
		se.check("exit code (any: allowFailure)", ok)
	} else {
		se.check("exit code 0", ok)
	}
}

// command matches each link's recorded command with expectedCommand.
func (se *stepEval) command() {
	want := se.step.ExpectedCommand
	if want == nil {
		return
	}
	rule := "expectedCommand " + strings.Join(want, " ")
	ok := true
	for _, b := range se.links {
		cmd, err := b.command()
		if err != nil {
			if b.witness != nil {
				ok = false
				se.fail(Failure{Code: FailCommand, Rule: rule, Bundle: b.Bundle, Reason: err.Error()})
			}
			continue // a link's is reported by linksAgree
		}
		if err := MatchCommand(want, cmd); err != nil {
			ok = false
			se.fail(Failure{Code: FailCommand, Rule: rule, Bundle: b.Bundle,
				Reason: fmt.Sprintf("recorded command %q: %v", cmd, err)})
		}
	}
	se.check(rule, ok)
}

// expectations evaluates each expectedPredicates entry's CEL expressions
// over every authorised statement of its type; mine (all the step's
// statements) names what was found when none is of the type.
func (se *stepEval) expectations(mine []bound) {
	for _, pe := range se.step.ExpectedPredicates {
		var of []bound
		for _, b := range se.authorised {
			if b.Statement.GetPredicateType() == pe.Type {
				of = append(of, b)
			}
		}
		if len(of) == 0 {
			se.check("predicate "+pe.Type, false)
			se.fail(Failure{Code: FailPredicateAbsent, Rule: "predicate " + pe.Type,
				Reason: fmt.Sprintf("no %s statement signed by a functionary of this step (found: %s)", pe.Type, predicateTypes(mine))})
			continue
		}
		for _, x := range pe.Expressions {
			rule := "predicate " + pe.Type + ": " + strings.Join(strings.Fields(x.Source), " ") // one line in reports
			ok := true
			for _, b := range of {
				pass, err := evalExpression(x, b.Statement)
				switch {
				case err != nil:
					ok = false
					se.fail(Failure{Code: FailExpectation, Rule: rule, Bundle: b.Bundle, Reason: "cannot evaluate: " + err.Error()})
				case !pass:
					ok = false
					se.fail(Failure{Code: FailExpectation, Rule: rule, Bundle: b.Bundle, Reason: "evaluates to false"})
				}
			}
			se.check(rule, ok)
		}
	}
}

// applyRules applies the step's artifact rules, materials then products,
// against every step's artifacts.
func (se *stepEval) applyRules(all map[string]StepArtifacts) {
	others := make(map[string]StepArtifacts, len(all))
	for n, a := range all {
		if n != se.step.Name {
			others[n] = a
		}
	}
	for _, k := range []struct {
		kind  layouts.ArtifactKind
		rules []layouts.ArtifactRule
		label string
	}{
		{layouts.Materials, se.step.ExpectedMaterials, "expectedMaterials"},
		{layouts.Products, se.step.ExpectedProducts, "expectedProducts"},
	} {
		if len(k.rules) == 0 {
			continue
		}
		label := fmt.Sprintf("%s (%d rule(s))", k.label, len(k.rules))
		err := ApplyRules(se.step.Name, k.kind, k.rules, *se.arts, others)
		if err == nil {
			se.check(label, true)
			continue
		}
		se.check(label, false)
		var re *RuleError
		if errors.As(err, &re) {
			se.fail(Failure{Code: FailArtifactRule, Rule: re.Rule, Artifact: re.Artifact, Reason: re.Reason})
		} else {
			se.fail(Failure{Code: FailArtifactRule, Rule: k.label, Reason: err.Error()})
		}
	}
}

// linkArtifacts reads a link's materials and products (its subjects; a step
// without products names its materials as subjects, which then read as
// unchanged products, as in-toto records files a step left alone), or a
// witness collection's (its material and product attestors), with all
// their digests. A name that is not clean or a digest set verify cannot
// check is an error wrapping predicates.ErrArtifactName or ErrDigestSet.
func linkArtifacts(vs *VerifiedStatement, manifests map[string][]predicates.ManifestEntry) (StepArtifacts, error) {
	mats, prods, err := vs.recordArtifacts()
	if err != nil {
		return StepArtifacts{}, err
	}
	sa := StepArtifacts{Materials: Artifacts{}, Products: Artifacts{}}
	for _, m := range mats {
		sa.Materials[m.Name] = m.Digests
	}
	for _, p := range prods {
		sa.Products[p.Name] = p.Digests
	}
	// Directory manifests stand for their files: rules see the files.
	if err := expandManifests(sa.Materials, manifests); err != nil {
		return StepArtifacts{}, fmt.Errorf("materials: %w", err)
	}
	if err := expandManifests(sa.Products, manifests); err != nil {
		return StepArtifacts{}, fmt.Errorf("products: %w", err)
	}
	return sa, nil
}

// diffArtifacts describes how b differs from a ("" when equal).
func diffArtifacts(kind string, a, b Artifacts) string {
	var d strings.Builder
	for _, n := range slices.Sorted(maps.Keys(a)) {
		switch h, ok := b[n]; {
		case !ok:
			fmt.Fprintf(&d, "%s %s missing; ", kind, n)
		case h.mismatch(a[n]) != "":
			fmt.Fprintf(&d, "%s %s has %s, not %s; ", kind, n, h, a[n])
		}
	}
	for _, n := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[n]; !ok {
			fmt.Fprintf(&d, "%s %s extra; ", kind, n)
		}
	}
	return d.String()
}

// firstArtifact extracts the artifact name of diffArtifacts' first entry.
func firstArtifact(d string) string {
	f := strings.Fields(d)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

func predicateTypes(bs []bound) string {
	set := map[string]bool{}
	for _, b := range bs {
		set[b.Statement.GetPredicateType()] = true
	}
	if len(set) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(set)), ", ")
}

// evalExpression runs a CEL expectation over a statement: predicate as JSON
// values, subject as a list of {name, digest}.
func evalExpression(x *layouts.Expression, st *intoto.Statement) (bool, error) {
	pred := st.GetPredicate().AsMap()
	subj := make([]any, 0, len(st.GetSubject()))
	for _, s := range st.GetSubject() {
		d := make(map[string]any, len(s.GetDigest()))
		for k, v := range s.GetDigest() {
			d[k] = v
		}
		name := s.GetName()
		if name == "" {
			name = s.GetUri()
		}
		subj = append(subj, map[string]any{"name": name, "digest": d})
	}
	return x.Eval(pred, subj)
}

// recordArtifacts is a step record's materials and products: a link's
// materials and subjects, or a witness collection's attestors.
func (vs *VerifiedStatement) recordArtifacts() (mats, prods []predicates.NamedDigests, err error) {
	if vs.witness != nil {
		return vs.witness.Materials, vs.witness.Products, nil
	}
	link, err := vs.Link()
	if err != nil {
		return nil, nil, err
	}
	if mats, err = predicates.MaterialDigests(link); err != nil {
		return nil, nil, err
	}
	if prods, err = predicates.SubjectDigests(vs.Statement); err != nil {
		return nil, nil, err
	}
	return mats, prods, nil
}

// modelSignatures checks each authorised OMS model signature of the step:
// its manifest must list exactly the released model's files with their
// SHA-256 digests (modelsig.Manifest.CompareDigests). The OMS format binds
// to no step or run; the released model's digests are its binding, the
// subject rule binding those to the run.
func (se *stepEval) modelSignatures(model *ModelFiles) {
	const rule = "model signature over the released model"
	var checked, ok = false, true
	for _, b := range se.authorised {
		if b.modelSig == nil {
			continue
		}
		checked = true
		if model == nil {
			ok = false
			se.fail(Failure{Code: FailModelSignature, Rule: rule, Bundle: b.Bundle, Reason: "no released model to compare the signed manifest with"})
			continue
		}
		files := make(map[string]string, len(model.Files))
		for _, f := range model.Files {
			files[f.Name] = f.SHA256
		}
		if err := b.modelSig.CompareDigests(files); err != nil {
			ok = false
			se.fail(Failure{Code: FailModelSignature, Rule: rule, Bundle: b.Bundle, Artifact: model.Path,
				Reason: fmt.Sprintf("the signed manifest is not the released model %s: %v", model.Path, err)})
		}
	}
	if checked {
		se.check(rule, ok)
	}
}
