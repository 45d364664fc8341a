// Package intotoclassic verifies classic in-toto v1 supply chains: a layout
// (JSON metablock signed with securesystemslib keys) and its steps' .link
// files, with in-toto-golang's own verifier, so a team keeps its layouts
// while it moves stages to mlattest.
//
// Inspections are refused: in-toto runs their commands on the verifying
// machine, which a release gate must not do on a layout's say-so.
package intotoclassic

import (
	"errors"
	"fmt"
	"os"
	"sort"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/mlattest/mlattest/verify"
)

// StageInToto is the rejection stage of a classic in-toto verification.
const StageInToto verify.Stage = "in-toto"

// ErrInspections: the layout has inspections, which are not run.
var ErrInspections = errors.New("the layout has inspections, which would run commands on this machine; not supported")

// Result is a verified classic supply chain.
type Result struct {
	// Steps are the layout's step names, in layout order.
	Steps []string
	// Products are the summary link's products (the last step's), name to
	// digests by algorithm.
	Products map[string]map[string]string
	// Expires is the layout's expiry.
	Expires string
}

// LoadKey reads a PEM public key (or private key, whose public half is
// used) as in-toto-golang keys are loaded, with its default scheme.
func LoadKey(path string) (intoto.Key, error) {
	var k intoto.Key
	if err := k.LoadKeyDefaults(path); err != nil {
		return k, fmt.Errorf("key %s: %w", path, err)
	}
	k.KeyVal.Private = "" // only the public half is ever needed to verify
	return k, nil
}

// LoadLayout reads a signed classic layout. Content that is not a layout
// metablock is a rejection; an unreadable file an input error.
func LoadLayout(path string) (intoto.Metadata, intoto.Layout, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, intoto.Layout{}, fmt.Errorf("layout %s: %w", path, err)
	}
	md, err := intoto.LoadMetadata(path)
	if err != nil {
		return nil, intoto.Layout{}, &verify.RejectionError{Stage: StageInToto, Err: fmt.Errorf("layout %s: %w", path, err)}
	}
	l, ok := md.GetPayload().(intoto.Layout)
	if !ok {
		return nil, intoto.Layout{}, &verify.RejectionError{Stage: StageInToto, Err: fmt.Errorf("layout %s: %w", path, intoto.ErrNotLayout)}
	}
	return md, l, nil
}

// Verify verifies the layout at layoutPath, signed by the owner keys, and
// the links in linkDir: layout signature and expiry, each step's link
// signatures by its functionaries up to its threshold, and every artifact
// rule, with in-toto-golang's InTotoVerify. Failures are
// *verify.RejectionError (errors.Is verify.ErrRejected) carrying in-toto's
// reason; unreadable inputs are input errors.
func Verify(layoutPath string, ownerKeys []intoto.Key, linkDir string) (*Result, error) {
	if len(ownerKeys) == 0 {
		return nil, errors.New("intotoclassic: at least one layout owner key is required")
	}
	if fi, err := os.Stat(linkDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("links %s: not a readable directory", linkDir)
	}
	md, l, err := LoadLayout(layoutPath)
	if err != nil {
		return nil, err
	}
	if len(l.Inspect) > 0 {
		return nil, &verify.RejectionError{Stage: StageInToto, Err: fmt.Errorf("layout %s: %w", layoutPath, ErrInspections)}
	}
	keys := make(map[string]intoto.Key, len(ownerKeys))
	for _, k := range ownerKeys {
		keys[k.KeyID] = k
	}
	summary, err := intoto.InTotoVerify(md, keys, linkDir, "", nil, nil, false)
	if err != nil {
		return nil, &verify.RejectionError{Stage: StageInToto, Err: err}
	}
	res := &Result{Expires: l.Expires, Products: map[string]map[string]string{}}
	for _, s := range l.Steps {
		res.Steps = append(res.Steps, s.Name)
	}
	if link, ok := summary.GetPayload().(intoto.Link); ok {
		for name, h := range link.Products {
			res.Products[name] = h
		}
	}
	return res, nil
}

// ProductNames lists the summary's product names, sorted.
func (r *Result) ProductNames() []string {
	out := make([]string, 0, len(r.Products))
	for n := range r.Products {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
