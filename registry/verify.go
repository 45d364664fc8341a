package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/predicates"
)

// Verified is a model in a registry judged by the release gate.
type Verified struct {
	Model  *Model
	Report *gate.Report
	// Attestations are the bundles the gate read, as attached.
	Attestations []Referrer
	// BundleData are their bytes by file name (Attestations' titles, the
	// report's bundle file names).
	BundleData map[string][]byte
	// VSAs are the verification summaries attached to the model (by
	// promote); listed, not judged here.
	VSAs []Referrer
	// ModelSignatures are the OMS model signatures attached to the model.
	// The gate reads them (and BundleData holds them) only when a step of
	// the layout expects one; otherwise they are listed, not judged, and
	// ModelSignaturesIgnored says why.
	ModelSignatures        []Referrer
	ModelSignaturesIgnored string
}

// Verify resolves ref once and runs the release gate on the model it names
// by digest: the run's attestations are the model's bundle referrers, the
// released files are the manifest's layers (names from the title
// annotations, SHA-256s from the layer digests), so nothing is downloaded.
// opts holds the layout and trust part of the gate's options;
// AttestationsDir, Model and ModelDigests are set here. As with
// gate.VerifyLayout, the error is for input problems; the verdict is in
// Report.
func (c *Client) Verify(ctx context.Context, ref name.Reference, opts gate.LayoutOptions) (*Verified, error) {
	m, err := c.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return c.verifyModel(ctx, m, opts)
}

func (c *Client) verifyModel(ctx context.Context, m *Model, opts gate.LayoutOptions) (*Verified, error) {
	bundles, err := c.Bundles(ctx, m, KindAttestation)
	if err != nil {
		return nil, err
	}
	vsas, err := c.Bundles(ctx, m, KindVSA)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mlattest-referrers-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	v := &Verified{Model: m, BundleData: map[string][]byte{}}
	used := map[string]bool{}
	if v.Attestations, err = writeBundles(dir, bundles, v, used); err != nil {
		return nil, err
	}
	if err := c.modelSignatures(ctx, m, dir, v, used, &opts); err != nil {
		return nil, err
	}
	for _, b := range vsas {
		v.VSAs = append(v.VSAs, b.Referrer)
	}
	opts.AttestationsDir, opts.Model = dir, ""
	opts.ModelDigests = &gate.ModelDigests{Path: String(m.Ref), Files: make([]digest.Artifact, 0, len(m.Files))}
	for _, f := range m.Files {
		opts.ModelDigests.Files = append(opts.ModelDigests.Files, digest.Artifact{Name: f.Name, SHA256: f.SHA256(), Size: f.Size})
	}
	if v.Report, err = gate.VerifyLayout(ctx, opts); err != nil {
		return nil, err
	}
	return v, nil
}

// modelSignatures fetches the model's OMS signatures and, when the layout
// has a step expecting one, puts them among the bundles the gate reads. The
// layout is loaded (and checked) here to know; its trusted root is kept in
// opts so that one fetched on demand is fetched once.
func (c *Client) modelSignatures(ctx context.Context, m *Model, dir string, v *Verified, used map[string]bool, opts *gate.LayoutOptions) error {
	sigs, err := c.Bundles(ctx, m, KindModelSignature)
	if err != nil || len(sigs) == 0 {
		return err
	}
	ll, err := gate.LoadLayout(ctx, *opts)
	if err != nil {
		return err
	}
	if opts.TrustedRoot == nil {
		opts.TrustedRoot = ll.TrustedRoot
	}
	if ll.Layout == nil || !ll.Layout.UsesPredicate("", modelsig.PredicateType) {
		for _, b := range sigs {
			v.ModelSignatures = append(v.ModelSignatures, b.Referrer)
		}
		v.ModelSignaturesIgnored = "no step of the layout expects an OMS model signature (" + modelsig.PredicateType + ")"
		return nil
	}
	v.ModelSignatures, err = writeBundles(dir, sigs, v, used)
	return err
}

// writeBundles writes each bundle under its title (made unique with its
// digest when two share one), records its bytes in v.BundleData and
// returns the referrers written: file names are for the report only, the
// gate decides nothing from them.
func writeBundles(dir string, bundles []Bundle, v *Verified, used map[string]bool) ([]Referrer, error) {
	var out []Referrer
	for _, b := range bundles {
		n := b.Title
		if used[n] {
			n = strings.TrimSuffix(n, predicates.BundleSuffix) + "." + strings.TrimPrefix(b.Digest, "sha256:")[:12] + predicates.BundleSuffix
		}
		if used[n] {
			continue // the same referrer listed twice
		}
		used[n] = true
		if err := os.WriteFile(filepath.Join(dir, n), b.Data, 0o600); err != nil {
			return nil, fmt.Errorf("attestations: %w", err)
		}
		r := b.Referrer
		r.Title = n
		v.BundleData[n] = b.Data
		out = append(out, r)
	}
	return out, nil
}

// Pull verifies the model ref names and, only if it passes, downloads it
// into dir (see Download): the files admitted are exactly the released
// files of the verdict, by name and SHA-256. A model that fails
// verification is not downloaded; the Verified says why.
func (c *Client) Pull(ctx context.Context, ref name.Reference, dir string, opts gate.LayoutOptions) (*Verified, error) {
	if err := checkTarget(dir); err != nil {
		return nil, err
	}
	v, err := c.Verify(ctx, ref, opts)
	if err != nil || !v.Report.Passed {
		return v, err
	}
	admitted := map[string]string{}
	if v.Report.Model != nil {
		for _, f := range v.Report.Model.Files {
			admitted[f.Name] = f.SHA256
		}
	}
	return v, c.download(ctx, v.Model, dir, admitted, v.pulledSignature(admitted))
}

// pulledSignature is the model signature to write beside the pulled model
// as model.sig (where verify-model and the model_signing tool look for it):
// the one OMS signature the gate evaluated, unless a model file has that
// name; nil otherwise.
func (v *Verified) pulledSignature(files map[string]string) map[string][]byte {
	if _, clash := files[modelsig.DefaultSignatureName]; clash {
		return nil
	}
	evaluated := map[string]bool{}
	for _, b := range v.Report.Bundles {
		evaluated[b.File] = b.Evaluated
	}
	var data []byte
	for _, r := range v.ModelSignatures {
		if !evaluated[r.Title] {
			continue
		}
		if data != nil {
			return nil // several: none is the model's signature
		}
		data = v.BundleData[r.Title]
	}
	if data == nil {
		return nil
	}
	return map[string][]byte{modelsig.DefaultSignatureName: data}
}
