package main

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
	"github.com/mlattest/mlattest/verify"
)

// defaultSignaturePath is DIR/model.sig for a model directory; a
// single-file model has no default (the signature would sit beside it,
// in a folder that is not the model).
func defaultSignaturePath(model, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	fi, err := os.Stat(model)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", model, fsutil.Cause(err))
	}
	if !fi.IsDir() {
		return "", &usageError{errors.New("--signature is required when the model is a single file")}
	}
	return filepath.Join(model, modelsig.DefaultSignatureName), nil
}

// chainWarning: a certificate-chain signature has no log entry and no
// signed time; the certificate is checked at the current time.
const chainWarning = "certificate-chain verification: no transparency log entry and no timestamp; the certificate was checked as of now"

type verifyModelFlags struct {
	signature, key, trustedRoot string
	chain                       []string
	ignore                      []string
	id                          identityFlags
	json                        bool
}

func newVerifyModelCmd() *cobra.Command {
	var f verifyModelFlags
	cmd := &cobra.Command{
		Use:   "verify-model MODEL [--signature FILE] (--certificate-identity[-regexp] X --certificate-oidc-issuer[-regexp] Y | --key PUB.pem | --certificate-chain CA.pem)",
		Short: "Verify an OpenSSF model signature (model_signing's model.sig)",
		Long: `verify-model checks a model (a directory, or a single file) against an OpenSSF
model signing signature, as written by the model_signing tool (v1.x; v0.3 too)
or by 'mlattest sign-model': a Sigstore bundle whose DSSE payload is the model's
manifest (predicate https://model_signing/signature/v1.0).

The bundle is verified first, by its signer:
  keyless             --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp],
                      against --trusted-root (default: $` + envTrustedRoot + `, else the
                      public-good root via TUF): log entry, timestamp, SCTs;
  key                 --key PUB.pem (signature only, unless --trusted-root is given);
  certificate         --certificate-chain FILE (repeatable): PEM intermediates and the root
                      CA the signing certificate must chain to, valid now. Only this path
                      reads bundles whose verification material is a certificate chain.
Then the model is hashed as the signed manifest says (files or shards, SHA-256,
symlink policy, ignore paths) and compared file by file. The signature's own
ignore paths are honoured, --ignore-paths adds more, git's files (.git,
.gitattributes, .github, .gitignore) are ignored unless signed, and the
signature file is never part of the model.

Exit status: 0 verified; 1 rejected (bad signature, wrong signer, a changed,
added or missing file; the reason is printed); 2 usage error or unreadable
input.`,
		Example: `  mlattest verify-model ./bert --certificate-identity ci@example.com \
    --certificate-oidc-issuer https://accounts.example.com
  mlattest verify-model ./bert --signature bert.sig --key signer.pub
  mlattest verify-model ./bert --certificate-chain int-ca.pem --certificate-chain ca.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd, args[0]) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.signature, "signature", "", "the signature file (default: MODEL/"+modelsig.DefaultSignatureName+")")
	fs.StringVar(&f.key, "key", "", "verify with this PEM public key")
	fs.StringSliceVar(&f.chain, "certificate-chain", nil, "PEM file of CA certificates (intermediates and root) the signing certificate must chain to; repeatable")
	f.id.register(fs, "certificate", "expected")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "trusted_root.json for keyless signatures (default: $"+envTrustedRoot+", else Sigstore public-good via TUF)")
	fs.StringSliceVar(&f.ignore, "ignore-paths", nil, "more paths, relative to the model, to leave out (comma-separated or repeated)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object instead of text")
	return cmd
}

// verifier builds the bundle verifier and parser the flags ask for.
func (f *verifyModelFlags) verifier() (modelsig.BundleVerifier, modelsig.BundleParser, []verify.Identity, error) {
	n := 0
	for _, given := range []bool{f.key != "", len(f.chain) > 0, f.id.given()} {
		if given {
			n++
		}
	}
	if n != 1 {
		return nil, nil, nil, &usageError{fmt.Errorf("give exactly one of --key, --certificate-chain, or %s", f.id.names())}
	}
	switch {
	case len(f.chain) > 0:
		if f.trustedRoot != "" {
			return nil, nil, nil, &usageError{errors.New("--trusted-root does not apply to --certificate-chain")}
		}
		certs, err := readCertificates(f.chain)
		if err != nil {
			return nil, nil, nil, err
		}
		cv, err := verify.NewChainVerifier(certs)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--certificate-chain: %w", err)
		}
		return cv, cv.ParseBundle, nil, nil
	case f.key != "":
		pub, err := trust.LoadPublicKey(f.key)
		if err != nil {
			return nil, nil, nil, err
		}
		opts := []verify.Option{verify.WithKey(pub)}
		if f.trustedRoot != "" {
			opts = append(opts, verify.WithTrustedRootFile(f.trustedRoot))
		}
		v, err := verify.New(opts...)
		return v, verify.ParseBundle, nil, err
	}
	id, err := f.id.identity()
	if err != nil {
		return nil, nil, nil, &usageError{err}
	}
	var opt verify.Option
	if p := orEnv(f.trustedRoot, envTrustedRoot); p != "" {
		opt = verify.WithTrustedRootFile(p)
	} else {
		tr, err := loadTrustedRoot("")
		if err != nil {
			return nil, nil, nil, err
		}
		opt = verify.WithTrustedRoot(tr)
	}
	v, err := verify.New(opt)
	return v, verify.ParseBundle, []verify.Identity{*id}, err
}

// readCertificates reads every PEM CERTIFICATE block of the files; a file
// with none, or with anything else, is an input error.
func readCertificates(files []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, path := range files {
		data, err := fsutil.ReadFileMax(path, 4<<20)
		if err != nil {
			return nil, fmt.Errorf("certificate chain %s: %w", path, fsutil.Cause(err))
		}
		n := 0
		for len(data) > 0 {
			var blk *pem.Block
			blk, data = pem.Decode(data)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("certificate chain %s: a %s PEM block, want CERTIFICATE", path, blk.Type)
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate chain %s: %w", path, err)
			}
			out = append(out, c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("certificate chain %s: no PEM certificate", path)
		}
	}
	return out, nil
}

func (f *verifyModelFlags) run(cmd *cobra.Command, model string) error {
	bv, parse, ids, err := f.verifier()
	if err != nil {
		return withCode(exitUsage, err)
	}
	sig, err := defaultSignaturePath(model, f.signature)
	if err != nil {
		return withCode(exitUsage, err)
	}
	switch v, ok := bv.(*verify.Verifier); {
	case len(f.chain) > 0:
		fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: warning: %s\n", chainWarning)
	case ok && v.KeyOnly():
		fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: warning: %s\n", keyOnlyWarning)
	}
	b, err := modelsig.LoadSignature(sig, parse)
	var res *modelsig.Result
	if err == nil {
		res, err = modelsig.Verify(cmd.Context(), model, b, bv, ids,
			modelsig.WithIgnorePaths(f.ignore...), modelsig.WithSignatureFile(sig),
			modelsig.WithDigestOptions(digest.WithProgress(cmd.ErrOrStderr())))
	}
	if err != nil {
		if !errors.Is(err, verify.ErrRejected) {
			return withCode(exitUsage, err)
		}
		if f.json {
			writeJSON(cmd.OutOrStdout(), map[string]any{
				"model": model, "signature": sig, "verified": false, "stage": verify.StageOf(err), "reason": err.Error(),
			})
		}
		return withCode(exitRejected, fmt.Errorf("%s: rejected: %w", sig, err))
	}
	root, _ := res.Manifest.RootDigest()
	if f.json {
		return writeJSON(cmd.OutOrStdout(), map[string]any{
			"model": model, "signature": sig, "verified": true,
			"predicateType":  res.Manifest.PredicateType,
			"serialization":  res.Manifest.Serialization,
			"resources":      len(res.Manifest.Resources),
			"manifestDigest": "sha256:" + hex.EncodeToString(root),
			"signer":         res.Bundle.Signer,
			"keyOnly":        res.Bundle.KeyOnly,
			"logEntries":     res.Bundle.LogEntries,
			"timestamps":     nonNil(res.Bundle.Timestamps),
			"ignorePaths":    res.IgnorePaths,
		})
	}
	printModelResult(cmd.OutOrStdout(), model, sig, res, root)
	return nil
}

func printModelResult(w io.Writer, model, sig string, res *modelsig.Result, root []byte) {
	m := res.Manifest
	fmt.Fprintf(w, "Verified model: %s (signature %s)\n", model, sig)
	s := res.Bundle.Signer
	switch {
	case s.Subject != "":
		fmt.Fprintf(w, "  signer:      %s (issuer %s)\n", s.Subject, s.Issuer)
	case s.CertificateSubject != "":
		fmt.Fprintf(w, "  signer:      certificate %q issued by %q (key %s)\n", s.CertificateSubject, s.CertificateIssuer, s.KeyID)
	default:
		fmt.Fprintf(w, "  signer key:  %s\n", s.KeyID)
	}
	unit := "file"
	if m.Serialization.Method == modelsig.MethodShards {
		unit = "shard"
	}
	fmt.Fprintf(w, "  manifest:    sha256:%x (%s, %d %s, %s)\n", root, m.PredicateType, len(m.Resources), plural(len(m.Resources), unit, unit+"s"), m.Serialization.HashType)
	if len(res.IgnorePaths) > 0 {
		fmt.Fprintf(w, "  ignored:     %v\n", res.IgnorePaths)
	}
	if res.Bundle.KeyOnly {
		fmt.Fprintf(w, "  log, time:   not checked\n")
		return
	}
	fmt.Fprintf(w, "  log entries: %d\n", res.Bundle.LogEntries)
	for _, ts := range res.Bundle.Timestamps {
		fmt.Fprintf(w, "  timestamp:   %s (%s %s)\n", ts.Time.Format("2006-01-02T15:04:05Z07:00"), ts.Kind, ts.URI)
	}
}

type signModelFlags struct {
	signature      string
	ignore         []string
	allowSymlinks  bool
	ignoreGitPaths bool
	shardSize      int64
	force          bool
	json           bool
	sf             signFlags
}

func newSignModelCmd() *cobra.Command {
	var f signModelFlags
	cmd := &cobra.Command{
		Use:   "sign-model MODEL [--signature FILE]",
		Short: "Sign a model in the OpenSSF model signing format (model_signing's model.sig)",
		Long: `sign-model writes an OpenSSF model signing signature for a model (a directory, or
a single file): a Sigstore bundle whose DSSE payload is the model's manifest
(predicate https://model_signing/signature/v1.0: every file's SHA-256, sorted by
path, or with --shard-size every shard's), readable by the model_signing tool
and by 'mlattest verify-model'. It signs keylessly (OIDC -> Fulcio, logged in
Rekor) or with --key, as 'mlattest run' does.

The signature file (default MODEL/model.sig), git's files (.git, .gitattributes,
.github, .gitignore; unless --ignore-git-paths=false) and --ignore-paths are
left out and recorded as the manifest's ignore paths. Symbolic links are refused
unless --allow-symlinks (then a link to a file inside the model is signed under
its own name; a link to a directory is refused).

Exit status: 0 signed; 1 the model cannot be signed as is (a refused link or
special file); 2 usage error, unreadable input or signing failure.`,
		Example: `  mlattest sign-model ./bert --identity-token-file /var/run/sigstore/token
  mlattest sign-model ./bert --key signer.key --offline --signature bert.sig`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(cmd, args[0]) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.signature, "signature", "", "where to write the signature (default: MODEL/"+modelsig.DefaultSignatureName+")")
	fs.StringSliceVar(&f.ignore, "ignore-paths", nil, "paths, relative to the model, to leave out (comma-separated or repeated)")
	fs.BoolVar(&f.allowSymlinks, "allow-symlinks", false, "sign symbolic links to files inside the model under their own names")
	fs.BoolVar(&f.ignoreGitPaths, "ignore-git-paths", true, "leave out .git, .gitattributes, .github and .gitignore")
	fs.Int64Var(&f.shardSize, "shard-size", 0, "hash files in shards of this many bytes (the format's \"shards\" method; the tool's default is 1000000000); 0 hashes whole files")
	fs.BoolVar(&f.force, "force", false, "replace an existing signature file")
	fs.BoolVar(&f.json, "json", false, "print one JSON object: the signature written and the manifest digest")
	f.sf.register(fs)
	return cmd
}

func (f *signModelFlags) run(cmd *cobra.Command, model string) error {
	if f.shardSize < 0 {
		return usage(errors.New("--shard-size must not be negative"))
	}
	sig, err := defaultSignaturePath(model, f.signature)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if !f.force {
		if _, err := os.Lstat(sig); err == nil {
			return withCode(exitUsage, fmt.Errorf("%s exists (give --force to replace it)", sig))
		}
	}
	s := modelsig.Serialization{Method: modelsig.MethodFiles, HashType: modelsig.HashSHA256, AllowSymlinks: f.allowSymlinks}
	if f.shardSize > 0 {
		s.Method, s.ShardSize = modelsig.MethodShards, f.shardSize
	}
	if f.ignoreGitPaths {
		s.IgnorePaths = modelsig.DefaultIgnorePaths()
	}
	s.IgnorePaths = append(s.IgnorePaths, f.ignore...)
	if rel, ok := modelsig.Inside(model, sig); ok {
		s.IgnorePaths = append(s.IgnorePaths, rel)
	}
	slices.Sort(s.IgnorePaths)
	s.IgnorePaths = slices.Compact(s.IgnorePaths)
	if err := s.Check(); err != nil {
		return usage(fmt.Errorf("--ignore-paths: %w", err))
	}
	signer, err := f.sf.signer(cmd.ErrOrStderr())
	if err != nil {
		return withCode(exitUsage, err)
	}
	m, err := modelsig.Hash(cmd.Context(), model, s, digest.WithProgress(cmd.ErrOrStderr()))
	if err != nil {
		if modelsig.ContentError(err) {
			return withCode(exitRejected, fmt.Errorf("%w%s", err, symlinkHintFor(err)))
		}
		return withCode(exitUsage, err)
	}
	payload, err := m.Statement()
	if err != nil {
		return withCode(exitUsage, err)
	}
	b, err := signer.SignStatement(cmd.Context(), payload)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("signing %s: %w", model, err))
	}
	data, err := sign.MarshalBundle(b)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := fsutil.WriteFileAtomic(sig, data, 0o644); err != nil {
		return withCode(exitUsage, err)
	}
	root, _ := m.RootDigest()
	fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: wrote %s (%d %s, manifest sha256:%x, signed by %s)\n", sig, len(m.Resources), s.Method, root, signer.Identity())
	if f.json {
		w, err := newWrittenFile(sig, "model-signature", modelsig.PredicateType, true)
		if err != nil {
			return withCode(exitUsage, err)
		}
		return writeJSON(cmd.OutOrStdout(), map[string]any{
			"model": model, "signature": w, "manifestDigest": "sha256:" + hex.EncodeToString(root),
			"resources": len(m.Resources), "serialization": m.Serialization, "signer": signer.Identity(),
		})
	}
	return nil
}

// symlinkHintFor names the flag that accepts links, for a refused one.
func symlinkHintFor(err error) string {
	if errors.Is(err, digest.ErrSymlink) {
		return " (give --allow-symlinks to sign links to files inside the model)"
	}
	return ""
}
