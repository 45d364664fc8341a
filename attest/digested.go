package attest

import (
	"fmt"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

// Digested records a step whose products were digested elsewhere and are
// given as artifacts (the parts of a sharded digest, merged by store.Merge)
// with the link statement Attest writes for products it digested itself:
// exit status 0, the products as its subjects (top-level directories with
// more files than s.ManifestThreshold collapsed into directory manifests,
// returned in Record.Manifests), the run id resolved as ResolveRunID does,
// the allow-listed environment recorded.
//
// s gives the step's Name, RunID, Command and ManifestThreshold; it must
// name no materials, products, training inputs or network policy, since
// there is nothing local to digest or scan. Errors wrap ErrInput.
func Digested(s *Step, products []digest.Artifact, opts ...RunOption) (*Record, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if !stepNameRE.MatchString(s.Name) {
		return nil, inputErr("step name %q: want letters, digits, '.', '_', '-' (starting with a letter or digit, at most 128)", s.Name)
	}
	if len(s.Materials) > 0 || len(s.Products) > 0 || s.training() || s.Network != "" {
		return nil, inputErr("step %q: a step of digested products names no materials, product paths, training inputs or network policy", s.Name)
	}
	if len(products) == 0 {
		return nil, inputErr("step %q: no product to name as the statement subject", s.Name)
	}
	runID, err := ResolveRunID(s.RunID, c.lookup)
	if err != nil {
		return nil, err
	}
	rec := &Record{Step: s.Name, RunID: runID, Products: products, Environment: environment(c.lookup, c.extraEnv)}
	_, prods, subjects, err := collapseTrees(rec, products, s.ManifestThreshold)
	if err != nil {
		return nil, inputErr("step %q: %w", s.Name, err)
	}
	link, err := c.newLink(predicates.LinkInput{
		Step:        s.Name,
		RunID:       runID,
		Command:     s.Command,
		Products:    prods,
		Environment: rec.Environment,
		Version:     c.version.Version,
		Subjects:    subjects,
	})
	if err != nil {
		return nil, inputErr("step %q: building link statement: %w", s.Name, err)
	}
	b, err := predicates.Marshal(link)
	if err != nil {
		return nil, fmt.Errorf("step %q: rendering link statement: %w", s.Name, err)
	}
	rec.Statements = []Statement{{Kind: KindLink, PredicateType: predicates.LinkV03, Statement: link, JSON: b}}
	return rec, nil
}
