package attest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/scan/model"
)

// KindProductScan is the statement kind of the model scan `mlattest run`
// writes when the command produced a pickle-format file.
const KindProductScan = "product-scan"

// AllowPickle lets Run accept pickle-format inputs (materials, base models,
// datasets). Pickle-format products are recorded in a product-scan
// statement either way; whether that fails the stage is the caller's
// decision (Record.PickleProducts).
func AllowPickle() RunOption { return func(c *config) { c.allowPickle = true } }

// scanPickle scans files and directories by content and returns the ones
// the pickle gate holds back (model.Result.PickleGated: a pickle stream,
// by parse or by container, or a name promising another format than the
// bytes). Paths are absolute.
func scanPickle(ctx context.Context, paths []string, withDigest bool) (pickles, all []model.Result, err error) {
	s := model.New(model.WithDigest(withDigest))
	err = s.ScanPaths(ctx, paths, func(r model.Result) error {
		all = append(all, r)
		if r.PickleGated() {
			pickles = append(pickles, r)
		}
		return nil
	})
	return pickles, all, err
}

// refusePickleInputs runs before the command: a pickle-format input is
// refused unless AllowPickle, since loading it runs code of its author's
// choosing, and base models must match their pins. Both problems are
// reported when both are found (a malicious pickle among unpinned files is
// worth naming).
func (c *config) refusePickleInputs(ctx context.Context, st *state) error {
	return errors.Join(c.refusePickles(ctx, st), c.checkPins(st))
}

func (c *config) refusePickles(ctx context.Context, st *state) error {
	if c.allowPickle {
		return nil
	}
	var paths, remote []string
	for _, a := range st.rec.Materials {
		if isLocation(a.Name) {
			remote = append(remote, a.Name)
			continue
		}
		paths = append(paths, filepath.Join(st.dir, filepath.FromSlash(a.Name)))
	}
	// Base models and datasets: the files digest kept (its ignore patterns,
	// e.g. .git/, apply here too).
	var res []predicates.Resource
	res = append(res, st.baseModel...)
	for _, d := range st.datasets {
		res = append(res, d.Resource)
	}
	inputs := append([]Input(nil), st.BaseModels...)
	for _, d := range st.Datasets {
		inputs = append(inputs, Input{URI: d.URI, Path: d.Path})
	}
	for _, in := range inputs {
		for _, r := range res {
			switch {
			case r.URI == in.URI:
				paths = append(paths, st.abs(in.Path))
			case strings.HasPrefix(r.URI, in.URI+"/"):
				paths = append(paths, filepath.Join(st.abs(in.Path), filepath.FromSlash(strings.TrimPrefix(r.URI, in.URI+"/"))))
			}
		}
	}
	if len(paths) == 0 && len(remote) == 0 {
		return nil
	}
	var pickles []model.Result
	if len(paths) > 0 {
		var err error
		if pickles, _, err = scanPickle(ctx, paths, false); err != nil {
			return inputErr("scanning inputs for pickle: %w", err)
		}
	}
	if len(remote) > 0 {
		rp, err := scanRemotePickles(ctx, st)
		if err != nil {
			return inputErr("scanning inputs for pickle: %w", err)
		}
		pickles = append(pickles, rp...)
	}
	if len(pickles) > 0 {
		var names []string
		for _, r := range pickles {
			what := r.Format
			if !r.Pickle {
				what += " under a name promising another format"
			}
			names = append(names, fmt.Sprintf("%s (%s, verdict %s)", st.name(r.Path), what, r.Verdict))
		}
		return inputErr("step %q: input %s is a pickle-format file or not the format its name says: %w; refused (AllowPickle accepts it)", st.Name, strings.Join(names, ", "), ErrPickleInput)
	}
	return nil
}

// productScan scans the products after the command. When one is a
// pickle-format file it returns a model-scan statement of every product,
// bound to this step and run, and records the files in
// Record.PickleProducts; otherwise nil.
func (c *config) productScan(ctx context.Context, st *state) (*Statement, error) {
	if len(st.rec.Products) == 0 {
		return nil, nil
	}
	var paths []string
	for _, a := range st.rec.Products {
		if isLocation(a.Name) {
			continue // written to storage: no local loader reads it here
		}
		paths = append(paths, filepath.Join(st.dir, filepath.FromSlash(a.Name)))
	}
	// The products were just digested; the scan only needs their content's
	// format, not a second hash of every byte.
	pickles, all, err := scanPickle(ctx, paths, false)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: step %q: product vanished while being scanned: %w", ErrRecord, st.Name, err)
		}
		return nil, fmt.Errorf("%w: step %q: scanning products: %w", ErrRecord, st.Name, err)
	}
	if len(pickles) == 0 {
		return nil, nil
	}
	in := predicates.ModelScanInput{
		Step: st.Name, RunID: st.rec.RunID,
		Scanner: predicates.ModelScanScanner{Name: "mlattest run (products)", Version: c.version.Version, Policy: "mlattest.dev/model-scan/allow-list/v1"},
	}
	digests := make(map[string]string, len(st.rec.Products))
	for _, a := range st.rec.Products {
		digests[a.Name] = a.SHA256
	}
	for _, r := range all {
		f := predicates.ModelScanFile{Path: st.name(r.Path), SHA256: digests[st.name(r.Path)], Format: r.Format, Verdict: string(r.Verdict), Pickle: r.Pickle, Findings: []predicates.ModelScanFinding{}}
		for _, x := range r.Findings {
			f.Findings = append(f.Findings, predicates.ModelScanFinding{Rule: x.Rule, Severity: string(x.Severity), Member: x.Member, Offset: x.Offset, Message: x.Message})
		}
		in.Files = append(in.Files, f)
		if r.PickleGated() {
			st.rec.PickleProducts = append(st.rec.PickleProducts, f.Path)
		}
	}
	stmt, err := predicates.NewModelScanStatement(in)
	if err != nil {
		return nil, fmt.Errorf("%w: step %q: building product scan: %w", ErrRecord, st.Name, err)
	}
	st.rec.Warnings = append(st.rec.Warnings, fmt.Sprintf("the command produced pickle-format files: %s (recorded in the %s statement)", strings.Join(st.rec.PickleProducts, ", "), KindProductScan))
	return &Statement{Kind: KindProductScan, PredicateType: predicates.ModelScanV1, Statement: stmt}, nil
}

// WithBaseModelPins makes Run check every base model against signed pins
// before the command runs: each --base-model must be hf://ORG/NAME@COMMIT
// (40 hex) with a pin for exactly that repository and commit, and its files
// must be exactly the pinned files with the pinned digests. The caller has
// verified the pins' signatures (`mlattest run --pin`).
func WithBaseModelPins(pins ...predicates.ModelPin) RunOption {
	return func(c *config) { c.pins = append(c.pins, pins...) }
}

// checkPins compares the digested base models with the pins.
func (c *config) checkPins(st *state) error {
	if len(c.pins) == 0 {
		return nil
	}
	byURI := map[string]predicates.ModelPin{}
	for _, p := range c.pins {
		if _, dup := byURI[p.URI()]; dup {
			return inputErr("two pins for %s", p.URI())
		}
		byURI[p.URI()] = p
	}
	if len(st.BaseModels) == 0 {
		return inputErr("step %q: %w", st.Name, ErrPinsWithoutBaseModel)
	}
	for _, b := range st.BaseModels {
		if _, _, err := predicates.ParseHFURI(b.URI); err != nil {
			return inputErr("step %q: %w", st.Name, err)
		}
		pin, ok := byURI[b.URI]
		if !ok {
			return inputErr("step %q: base model %s has no signed pin", st.Name, b.URI)
		}
		problems := pin.Mismatches(predicates.BaseModelFiles(st.baseModel, b.URI, filepath.Base(b.Path)))
		if len(problems) > 0 {
			return inputErr("step %q: base model %s does not match its pin: %s", st.Name, b.URI, strings.Join(problems, "; "))
		}
	}
	return nil
}
