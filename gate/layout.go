package gate

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// MaxLayoutSize caps the layout file read: the parser's own limit, so that a
// layout `mlattest layout check` accepts is never refused here for its size.
const MaxLayoutSize = layouts.MaxSize

// LayoutOptions says what VerifyLayout checks against what. The zero values
// are the strict defaults; LayoutFile, AttestationsDir and one of Model and
// ModelDigests are required.
type LayoutOptions struct {
	// LayoutFile holds the exact layout bytes the owner signed.
	LayoutFile string
	// LayoutBundle is the Sigstore bundle signing LayoutFile as a message
	// signature (default LayoutFile + predicates.BundleSuffix).
	LayoutBundle string
	// The layout owner: a keyless identity, or a public key (with a trusted
	// root, the key's bundle must also be logged and timestamped).
	LayoutIdentity *verify.Identity
	LayoutKey      crypto.PublicKey
	// InsecureUnsignedLayout accepts a layout without checking any
	// signature: for trying layouts out, never for releases.
	InsecureUnsignedLayout bool
	// MinSerial refuses a layout whose serial is lower (an older layout
	// replayed).
	MinSerial int64

	// AttestationsDir holds the run's bundles (*.sigstore.json).
	AttestationsDir string
	// Model is the released model on disk: one file, or a directory of
	// files, hashed by VerifyLayout. Exactly one of Model and ModelDigests
	// is given.
	Model string
	// ModelDigests is a released model that is not on disk, given by the
	// names and SHA-256 digests of its files (for example an OCI
	// manifest's layers: title annotation and layer digest). Path names the
	// model in the report and the VSA (e.g. its oci:// reference); Files are
	// named relative to the model's root, as a hashed directory's files are,
	// and are compared with the subject step's products in the same way:
	// name for name, one to one. The report's Model is these digests. A
	// product that lists a digest other than sha256 fails, as no other
	// digest of a file given this way is known.
	ModelDigests *ModelDigests
	// Progress, when a terminal, gets a bar while the model is hashed.
	Progress io.Writer
	// TrustedRoot is the Sigstore trust root for every bundle. It may be nil
	// only when the layout and all its functionaries are keys (key-only
	// verification then checks signatures only).
	TrustedRoot root.TrustedMaterial
	// TrustedRootFunc, when TrustedRoot is nil, is called once the layout is
	// verified and parsed, and only if it needs a trusted root (keyless
	// functionaries, or requireTransparencyLog): a caller fetches one over
	// the network only when it is needed.
	TrustedRootFunc func() (root.TrustedMaterial, error)
	// RunID is the run to verify; empty means the single run id the
	// statements share.
	RunID string
	// Now is the clock for the layout's expiry (default time.Now).
	Now func() time.Time
}

// VerifyLayout verifies the layout and then the pipeline run the
// attestations describe against it, and checks the released model.
//
// The error is non-nil only for input problems (missing options, unreadable
// layout, layout bundle, attestation directory or model). Every policy
// answer, including a malformed bundle or layout, is in the Report, whose
// Passed is then false: it fails closed.
func VerifyLayout(ctx context.Context, opts LayoutOptions) (*Report, error) {
	if opts.AttestationsDir == "" {
		return nil, errors.New("gate: no attestations directory given (LayoutOptions.AttestationsDir)")
	}
	if (opts.Model == "") == (opts.ModelDigests == nil) {
		return nil, errors.New("gate: give the released model as exactly one of LayoutOptions.Model and LayoutOptions.ModelDigests")
	}
	// Unreadable inputs are input errors whatever the layout says, so they
	// are checked first.
	if st, err := os.Stat(opts.AttestationsDir); err != nil {
		return nil, fmt.Errorf("attestations %s: %w", opts.AttestationsDir, fsutil.Cause(err))
	} else if !st.IsDir() {
		return nil, fmt.Errorf("attestations %s: not a directory", opts.AttestationsDir)
	}
	model, tree, err := releasedModel(ctx, opts)
	if err != nil {
		return nil, err
	}
	ll, err := LoadLayout(ctx, opts)
	if err != nil {
		return nil, err
	}
	digests := &ModelDigests{Path: model.Path, Files: slices.Clone(model.Files)}
	rep := &Report{Layout: ll.Summary, Model: digests}
	if len(ll.Failures) > 0 {
		// Nothing a rejected layout says can be trusted, so nothing more
		// is evaluated against it.
		rep.Failures = append(rep.Failures, ll.Failures...)
		tree.report(rep)
		return rep, nil
	}
	ev, err := VerifyAttestations(ctx, ll.Layout, opts.AttestationsDir, ll.TrustedRoot)
	if err != nil {
		return nil, err
	}
	if err := model.hashAlgorithms(ctx, subjectAlgorithms(ll.Layout, ev)); err != nil {
		return nil, err
	}
	out := Evaluate(ll.Layout, ev, EvalOptions{RunID: opts.RunID, Model: model})
	out.Layout = ll.Summary
	out.Model = digests
	tree.report(out)
	out.TransparencyLog = logSummary(ll.TrustedRoot != nil, ll.Layout.RequireTransparencyLog, ll.Summary, out.Bundles)
	return out, nil
}

// releasedModel is the released model to compare with the products:
// opts.Model hashed, or opts.ModelDigests as given. A hostile release tree
// is a verification failure, returned as tree to be reported with the rest;
// its regular files are still compared with the products.
func releasedModel(ctx context.Context, opts LayoutOptions) (*ModelFiles, *ModelTreeError, error) {
	if opts.ModelDigests != nil {
		m, err := opts.ModelDigests.modelFiles()
		return m, nil, err
	}
	var dopts []digest.Option
	if opts.Progress != nil {
		dopts = append(dopts, digest.WithProgress(opts.Progress))
	}
	model, err := HashModel(ctx, opts.Model, dopts...)
	var tree *ModelTreeError
	if errors.As(err, &tree) {
		return model, tree, nil
	}
	return model, nil, err
}

// LoadedLayout is a layout whose signature, expiry and serial were checked.
type LoadedLayout struct {
	// Layout is nil when the layout was rejected before parsing.
	Layout  *layouts.Layout
	Summary LayoutSummary
	// Failures, when any, reject the layout.
	Failures []Failure
	// TrustedRoot is the root to verify the run with: LayoutOptions'
	// TrustedRoot, or the one TrustedRootFunc returned; nil for key-only.
	TrustedRoot root.TrustedMaterial
}

// LoadLayout verifies the layout bundle as a message signature over the exact
// layout bytes by the owner, then parses them and checks expiry and serial.
// The signature is checked before parsing, so the parser only ever sees
// bytes the owner signed.
func LoadLayout(ctx context.Context, opts LayoutOptions) (*LoadedLayout, error) {
	if opts.LayoutFile == "" {
		return nil, errors.New("gate: no layout file given (LayoutOptions.LayoutFile)")
	}
	data, err := layouts.ReadFile(opts.LayoutFile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	ll := &LoadedLayout{Summary: LayoutSummary{File: opts.LayoutFile, SHA256: hex.EncodeToString(sum[:])}, TrustedRoot: opts.TrustedRoot}
	fail := func(code FailureCode, format string, args ...any) (*LoadedLayout, error) {
		ll.Failures = append(ll.Failures, Failure{Code: code, Artifact: opts.LayoutFile, Reason: fmt.Sprintf(format, args...)})
		return ll, nil
	}

	bundlePath := opts.LayoutBundle
	if bundlePath == "" {
		bundlePath = opts.LayoutFile + predicates.BundleSuffix
	}
	if opts.InsecureUnsignedLayout {
		ll.Summary.Unsigned = true
	} else {
		if opts.LayoutIdentity == nil && opts.LayoutKey == nil {
			return nil, errors.New("gate: the layout owner's identity or key is required (LayoutIdentity or LayoutKey, or InsecureUnsignedLayout)")
		}
		if opts.LayoutIdentity != nil && opts.LayoutKey != nil {
			return nil, errors.New("gate: give the layout owner's identity or key (LayoutIdentity or LayoutKey), not both")
		}
		ll.Summary.Bundle = bundlePath
		bdata, err := fsutil.ReadFileMax(bundlePath, verify.MaxBundleSize)
		if errors.Is(err, fs.ErrNotExist) {
			return fail(FailLayoutUnsigned, "layout is not signed: no bundle %s (an unsigned layout is accepted only with LayoutOptions.InsecureUnsignedLayout)", bundlePath)
		}
		if err != nil {
			return nil, fmt.Errorf("layout bundle %s: %w", bundlePath, err)
		}
		res, err := verifyLayoutSignature(ctx, opts, bdata, sum[:])
		if err != nil {
			if !errors.Is(err, verify.ErrRejected) {
				return nil, fmt.Errorf("layout bundle %s: %w", bundlePath, err)
			}
			return fail(FailLayoutSignature, "layout bundle %s does not verify for the layout owner: %v", bundlePath, err)
		}
		ll.Summary.Signer, ll.Summary.Logged = &res.Signer, !res.KeyOnly
	}

	l, err := layouts.Parse(data, opts.LayoutFile)
	if err != nil {
		return fail(FailLayoutInvalid, "%v", err)
	}
	ll.Layout = l
	if why := needsTrustedRoot(l); why != "" && ll.TrustedRoot == nil {
		if opts.TrustedRootFunc == nil {
			return nil, fmt.Errorf("layout %s: %w: %s", opts.LayoutFile, ErrNoTrustedRoot, why)
		}
		if ll.TrustedRoot, err = opts.TrustedRootFunc(); err != nil {
			return nil, fmt.Errorf("layout %s: %s: %w", opts.LayoutFile, why, err)
		}
	}
	ll.Summary.Serial, ll.Summary.Expires = l.Serial, l.Expires
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if t := now(); !t.Before(l.Expires) {
		fail(FailLayoutExpired, "layout expired at %s (now %s)", l.Expires.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	if l.Serial < opts.MinSerial {
		fail(FailLayoutSerial, "layout serial %d is lower than the required minimum %d (an older layout replayed?)", l.Serial, opts.MinSerial)
	}
	return ll, nil
}

// verifyLayoutSignature checks the layout bundle: a message signature (not a
// DSSE envelope) over the layout's SHA-256 by the owner. The owner is the
// deployer's choice, not the layout's: with a key owner and a trusted root,
// a layout signed offline (no log entry) verifies on its signature alone
// and the report lists it as unlogged, whatever requireTransparencyLog says
// about the run (an owner's key may well be kept offline).
func verifyLayoutSignature(ctx context.Context, opts LayoutOptions, bdata, sum []byte) (*verify.Result, error) {
	tm := opts.TrustedRoot
	b, err := verify.ParseBundle(bdata)
	if err != nil {
		return nil, err
	}
	if b.GetMessageSignature() == nil {
		return nil, rejectf(verify.StageBundle, "not a message signature over the layout file (a DSSE envelope cannot sign a layout)")
	}
	var vopts []verify.Option
	if tm != nil {
		vopts = append(vopts, verify.WithTrustedRoot(tm))
	}
	var ids []verify.Identity
	if opts.LayoutKey != nil {
		vopts = append(vopts, verify.WithKey(opts.LayoutKey))
		if tm != nil {
			vopts = append(vopts, verify.WithOptionalLogForKeys())
		}
	} else {
		if tm == nil {
			return nil, fmt.Errorf("%w to verify a keyless layout signature", ErrNoTrustedRoot)
		}
		ids = append(ids, *opts.LayoutIdentity)
	}
	v, err := verify.New(vopts...)
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, b, verify.ArtifactDigest("sha256", sum), ids...)
}
