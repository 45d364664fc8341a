package modelsig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/verify"
)

// Rejection stages of model verification, beside verify's bundle stages.
const (
	// StageManifest: the signed statement is not a usable OMS manifest.
	StageManifest verify.Stage = "manifest"
	// StageModel: the model on disk is not the signed one (or cannot be
	// serialized as the signature says: a refused link or special file).
	StageModel verify.Stage = "model"
)

// ErrMismatch is wrapped by the rejection of a model that differs from its
// signed manifest.
var ErrMismatch = errors.New("model does not match its signature")

// MismatchError lists how a model differs from its signed manifest.
type MismatchError struct {
	Extra   []string // resources on disk that the signature does not list
	Missing []string // signed resources not on disk
	Changed []string // resources whose digest differs
}

func (e *MismatchError) Error() string {
	var parts []string
	for _, l := range []struct {
		what  string
		names []string
	}{{"unsigned files present", e.Extra}, {"signed files missing", e.Missing}, {"changed", e.Changed}} {
		if len(l.names) > 0 {
			parts = append(parts, l.what+": "+strings.Join(l.names, ", "))
		}
	}
	return ErrMismatch.Error() + ": " + strings.Join(parts, "; ")
}

func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// Compare reports how got (the model hashed now) differs from want (the
// signed manifest): nil, or a *MismatchError. Names and digests are
// compared; the model name is informative and ignored.
func Compare(want, got *Manifest) error {
	w := make(map[string]Resource, len(want.Resources))
	for _, r := range want.Resources {
		w[r.Name] = r
	}
	var e MismatchError
	seen := make(map[string]bool, len(got.Resources))
	for _, r := range got.Resources {
		seen[r.Name] = true
		wr, ok := w[r.Name]
		switch {
		case !ok:
			e.Extra = append(e.Extra, r.Name)
		case wr.Digest != r.Digest || wr.Algorithm != r.Algorithm:
			e.Changed = append(e.Changed, r.Name)
		}
	}
	for _, r := range want.Resources {
		if !seen[r.Name] {
			e.Missing = append(e.Missing, r.Name)
		}
	}
	if len(e.Extra)+len(e.Missing)+len(e.Changed) == 0 {
		return nil
	}
	for _, l := range [][]string{e.Extra, e.Missing, e.Changed} {
		slices.Sort(l)
	}
	return &e
}

// BundleVerifier verifies a bundle's signature and signer; *verify.Verifier
// and *verify.ChainVerifier are the ones mlattest has.
type BundleVerifier interface {
	Verify(ctx context.Context, b *bundle.Bundle, art verify.Artifact, ids ...verify.Identity) (*verify.Result, error)
}

// Result is a verified model.
type Result struct {
	// Manifest is the signed manifest (every resource matched the model).
	Manifest *Manifest
	// Bundle is what the bundle verification found: signer, timestamps, log.
	Bundle *verify.Result
	// IgnorePaths are all paths left out of the comparison: the signed
	// ones, the extra ones asked for, the signature file and the default
	// git paths the manifest does not list.
	IgnorePaths []string
}

// VerifyOption configures Verify.
type VerifyOption func(*verifyConfig) error

type verifyConfig struct {
	ignore     []string
	signature  string
	digestOpts []digest.Option
}

// WithIgnorePaths leaves more paths (relative to the model) out, besides
// those the signature records.
func WithIgnorePaths(paths ...string) VerifyOption {
	return func(c *verifyConfig) error {
		for _, p := range paths {
			if err := checkRelPath(p); err != nil {
				return fmt.Errorf("modelsig: ignore path %q: %w", p, err)
			}
		}
		c.ignore = append(c.ignore, paths...)
		return nil
	}
}

// WithSignatureFile names the signature file, which is never part of the
// model when it lies inside it.
func WithSignatureFile(path string) VerifyOption {
	return func(c *verifyConfig) error { c.signature = path; return nil }
}

// WithDigestOptions passes hashing options (workers, progress) to Hash.
func WithDigestOptions(opts ...digest.Option) VerifyOption {
	return func(c *verifyConfig) error { c.digestOpts = append(c.digestOpts, opts...); return nil }
}

// Verify checks that the model at modelPath is the one signed by b: the
// bundle is verified by bv (signature, signer among ids, log and time as bv
// requires), its DSSE payload read as an OMS manifest (ParseStatement), the
// model hashed the way the manifest says (Hash) and the two compared. A
// failure of any of these is a *verify.RejectionError (errors.Is
// verify.ErrRejected); an unreadable model or bad option is an input error.
func Verify(ctx context.Context, modelPath string, b *bundle.Bundle, bv BundleVerifier, ids []verify.Identity, opts ...VerifyOption) (*Result, error) {
	var c verifyConfig
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(modelPath); err != nil {
		return nil, fmt.Errorf("model %s: %w", modelPath, err)
	}
	res, err := bv.Verify(ctx, b, verify.SkipArtifact(), ids...)
	if err != nil {
		return nil, err
	}
	if res.PayloadType != PayloadType {
		return nil, &verify.RejectionError{Stage: StageManifest, Err: fmt.Errorf("%w: DSSE payload type %q, want %s", ErrFormat, res.PayloadType, PayloadType)}
	}
	// The envelope's payload bytes are what the signature covers; sigstore-go
	// verified them above.
	m, err := ParseStatement(b.GetDsseEnvelope().GetPayload())
	if err != nil {
		return nil, &verify.RejectionError{Stage: StageManifest, Err: err}
	}

	s := m.Serialization
	s.IgnorePaths = slices.Clone(s.IgnorePaths)
	s.IgnorePaths = append(s.IgnorePaths, c.ignore...)
	if rel, ok := Inside(modelPath, c.signature); ok {
		s.IgnorePaths = append(s.IgnorePaths, rel)
	}
	// The tool ignores git's files when it verifies, unless signed.
	for _, p := range DefaultIgnorePaths() {
		if !m.lists(p) {
			s.IgnorePaths = append(s.IgnorePaths, p)
		}
	}
	slices.Sort(s.IgnorePaths)
	s.IgnorePaths = slices.Compact(s.IgnorePaths)

	got, err := Hash(ctx, modelPath, s, c.digestOpts...)
	if err != nil {
		if ContentError(err) {
			return nil, &verify.RejectionError{Stage: StageModel, Err: err}
		}
		return nil, err
	}
	if err := Compare(m, got); err != nil {
		return nil, &verify.RejectionError{Stage: StageModel, Err: err}
	}
	return &Result{Manifest: m, Bundle: res, IgnorePaths: s.IgnorePaths}, nil
}

// lists reports whether the manifest has a resource at or below p.
func (m *Manifest) lists(p string) bool {
	for _, r := range m.Resources {
		name := r.Name
		if m.Serialization.Method == MethodShards {
			name, _, _ = splitShard(name)
		}
		if name == p || strings.HasPrefix(name, p+"/") {
			return true
		}
	}
	return false
}

// ContentError reports whether a Hash error is about the model's content (a
// refused link, a special file, a bad name): a verdict, not an input error.
func ContentError(err error) bool {
	for _, e := range []error{digest.ErrSymlink, digest.ErrSymlinkEscapes, digest.ErrSymlinkLoop, digest.ErrSpecialFile, digest.ErrBadName, ErrSymlinkedDirectory} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Inside returns file's path relative to the model directory when it lies
// below it: the signature file, which is never part of the model.
func Inside(modelPath, file string) (string, bool) {
	if file == "" {
		return "", false
	}
	mp, err1 := filepath.Abs(modelPath)
	fp, err2 := filepath.Abs(file)
	if err1 != nil || err2 != nil {
		return "", false
	}
	// Resolve the model directory's own links, as the walker does.
	if r, err := filepath.EvalSymlinks(mp); err == nil {
		mp = r
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(fp)); err == nil {
		fp = filepath.Join(r, filepath.Base(fp))
	}
	rel, err := filepath.Rel(mp, fp)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// ErrShardedManifest is why CompareDigests cannot judge a manifest of the
// "shards" method: whole-file digests say nothing of shard digests.
var ErrShardedManifest = errors.New(`a "shards" manifest cannot be compared with whole-file digests`)

// CompareDigests compares a signed manifest of the "files" method with a
// model given by the SHA-256 (lowercase hex) of each file, named relative
// to the model root as resources are: the release gate's released model,
// hashed once. The manifest's ignore paths are honoured, and git's files
// (DefaultIgnorePaths) are left out unless signed, as Verify does. The
// error is a *MismatchError (ErrMismatch), ErrShardedManifest, or nil.
func (m *Manifest) CompareDigests(files map[string]string) error {
	if m.Serialization.Method != MethodFiles {
		return ErrShardedManifest
	}
	ignore := slices.Clone(m.Serialization.IgnorePaths)
	for _, p := range DefaultIgnorePaths() {
		if !m.lists(p) {
			ignore = append(ignore, p)
		}
	}
	got := &Manifest{Serialization: m.Serialization}
	for name, sum := range files {
		if !ignored(name, ignore) {
			got.Resources = append(got.Resources, Resource{Name: name, Algorithm: m.Serialization.resourceAlgorithm(), Digest: sum})
		}
	}
	return Compare(m, got)
}
