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
	v := &Verified{Model: m}
	if err := writeBundles(dir, bundles, v); err != nil {
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

// writeBundles writes each bundle under its title (made unique with its
// digest when two share one): file names are for the report only, the
// gate decides nothing from them.
func writeBundles(dir string, bundles []Bundle, v *Verified) error {
	used := map[string]bool{}
	v.BundleData = map[string][]byte{}
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
			return fmt.Errorf("attestations: %w", err)
		}
		r := b.Referrer
		r.Title = n
		v.BundleData[n] = b.Data
		v.Attestations = append(v.Attestations, r)
	}
	return nil
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
	return v, c.Download(ctx, v.Model, dir, admitted)
}
