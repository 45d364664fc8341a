package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/trust"
	"github.com/mlattest/mlattest/verify"
)

func newPinCmd() *cobra.Command {
	var (
		kf      signFlags
		jsonOut bool
		base    string
		out     string
		lfsDir  string
	)
	cmd := &cobra.Command{
		Use:   "pin --base-model hf://ORG/NAME@COMMIT=DIR --out FILE [flags]",
		Short: "Sign the digests of a trusted base-model download (a pin for mlattest run --pin)",
		Long: `Pin writes and signs a model-pin statement (` + predicates.ModelPinV1 + `):
the SHA-256 of every file of DIR, a download of the Hugging Face repository ORG/NAME
at COMMIT that the signer trusts. COMMIT must be a full 40-hex commit id: a
branch or tag can move.

--lfs-pointers DIR2 cross-checks the download against a checkout of the same
commit made without LFS smudging (GIT_LFS_SKIP_SMUDGE=1): every LFS pointer's
"oid sha256:" must equal the downloaded file's digest, every non-LFS file must
be identical, and both trees must hold the same files.

"mlattest run --base-model hf://ORG/NAME@COMMIT=DIR --pin FILE" then checks,
before the step's command runs, that DIR holds exactly the pinned files with
the pinned digests, after verifying FILE's signature (--pin-key, or keyless
--pin-identity and --pin-oidc-issuer).

Exit status: 0 when the pin was written; 1 when the LFS cross-check fails; 2 for
a usage error or an unreadable file.`,
		Example: `  mlattest pin --base-model hf://org/base@0123456789abcdef0123456789abcdef01234567=base \
    --lfs-pointers base-pointers --key owner.key --out base.pin.sigstore.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if base == "" || out == "" {
				return usage(errors.New("pin: --base-model and --out are required"))
			}
			in, err := attest.ParseInput(base)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			repo, rev, err := predicates.ParseHFURI(in.URI)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			if err := checkOutFile("--out", out); err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			if _, err := os.Lstat(out); err == nil {
				return withCode(exitUsage, fmt.Errorf("pin: %s already exists; not overwriting it", out))
			}
			// Both trees are checked before hashing either: a typo in the
			// second must not cost the hashing of the first.
			for flag, dir := range map[string]string{"--base-model " + base: in.Path, "--lfs-pointers": lfsDir} {
				if dir == "" {
					continue
				}
				if fi, err := os.Stat(dir); err != nil {
					return withCode(exitUsage, fmt.Errorf("pin: %s: %s: %w", flag, dir, fsutil.Cause(err)))
				} else if !fi.IsDir() {
					return withCode(exitUsage, fmt.Errorf("pin: %s: %s is not a directory", flag, dir))
				}
			}
			arts, err := digest.Paths(ctx, in.Path, []string{"."})
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			pin := predicates.ModelPin{Repository: repo, Revision: rev}
			for _, a := range arts {
				pin.Files = append(pin.Files, predicates.ModelPinFile{Path: a.Name, SHA256: a.SHA256})
			}
			if lfsDir != "" {
				if err := crossCheckLFS(ctx, pin, lfsDir); err != nil {
					var ee *exitError
					if errors.As(err, &ee) {
						return err
					}
					return withCode(exitRejected, fmt.Errorf("pin: LFS cross-check: %w", err))
				}
				pin.LFSCrossChecked = true
			}
			st, err := predicates.NewModelPinStatement(pin)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			b, err := predicates.Marshal(st)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			signer, err := kf.signer(cmd.ErrOrStderr())
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			bundle, err := signer.SignStatement(ctx, b)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: signing: %w", err))
			}
			if err := sign.WriteBundle(out, bundle); err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: wrote %s (%d files of %s, signed by %s)\n", out, len(pin.Files), pin.URI(), signer.Identity())
			if !jsonOut {
				return nil
			}
			w, err := newWrittenFile(out, "pin", predicates.ModelPinV1, true)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("pin: %w", err))
			}
			return writeJSON(cmd.OutOrStdout(), pinJSON{Bundle: w, URI: pin.URI(), Files: pin.Files, LFSCrossChecked: pin.LFSCrossChecked, Signer: signer.Identity()})
		},
	}
	f := cmd.Flags()
	f.StringVar(&base, "base-model", "", "the download to pin, hf://ORG/NAME@COMMIT=DIR")
	f.StringVar(&out, "out", "", "write the signed pin bundle to `FILE`")
	f.BoolVar(&jsonOut, "json", false, "print one JSON object: the bundle written with its SHA-256, the model URI and the pinned files with their digests")
	f.StringVar(&lfsDir, "lfs-pointers", "", "cross-check against a checkout of the same commit without LFS smudging")
	kf.register(f)
	return cmd
}

// pinJSON is `pin --json`'s object.
type pinJSON struct {
	Bundle          writtenFile               `json:"bundle"`
	URI             string                    `json:"uri"`
	Files           []predicates.ModelPinFile `json:"files"`
	LFSCrossChecked bool                      `json:"lfsCrossChecked"`
	Signer          string                    `json:"signer"`
}

var lfsOidRE = regexp.MustCompile(`(?m)^oid sha256:([0-9a-f]{64})$`)

// crossCheckLFS compares the pinned digests with a pointer checkout.
func crossCheckLFS(ctx context.Context, pin predicates.ModelPin, dir string) error {
	arts, err := digest.Paths(ctx, dir, []string{"."})
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("pin: %w", err))
	}
	want := map[string]string{}
	for _, f := range pin.Files {
		want[f.Path] = f.SHA256
	}
	seen := map[string]bool{}
	for _, a := range arts {
		seen[a.Name] = true
		d, ok := want[a.Name]
		if !ok {
			return fmt.Errorf("%s is in the pointer checkout but not in the download", a.Name)
		}
		got := a.SHA256
		if oid, isPtr, err := lfsPointer(filepath.Join(dir, filepath.FromSlash(a.Name))); err != nil {
			return withCode(exitUsage, fmt.Errorf("pin: %w", err))
		} else if isPtr {
			got = oid
		}
		if got != d {
			return fmt.Errorf("%s: the download has sha256 %s, the commit says %s", a.Name, d, got)
		}
	}
	for p := range want {
		if !seen[p] {
			return fmt.Errorf("%s is in the download but not in the pointer checkout", p)
		}
	}
	return nil
}

// lfsPointer reads a Git LFS pointer file (small, starting with the spec
// line) and returns its sha256 oid.
func lfsPointer(path string) (string, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	buf := make([]byte, 1024)
	n, _ := bufio.NewReader(f).Read(buf)
	s := string(buf[:n])
	if !strings.HasPrefix(s, "version https://git-lfs.github.com/spec/v1\n") {
		return "", false, nil
	}
	m := lfsOidRE.FindStringSubmatch(s)
	if m == nil {
		return "", false, fmt.Errorf("%s: LFS pointer without an oid sha256", path)
	}
	return m[1], true, nil
}

// pinFlags are run's flags for base-model pins.
type pinFlags struct {
	files            []string
	key              string
	identity, issuer string
	layout           layoutFlags
}

func (p *pinFlags) register(fs *pflag.FlagSet) {
	p.layout.register(fs, "signed layout whose baseModels section decides which base models this step may use: its own pins, and --pin bundles signed by its pinSigners")
	fs.StringArrayVar(&p.files, "pin", nil, "signed model-pin bundle (from mlattest pin): every --base-model must match a pin exactly before the command runs; with --layout, its signer must be one of the layout's pinSigners (repeatable)")
	fs.StringVar(&p.key, "pin-key", "", "public key the --pin bundles are signed with (without --layout)")
	fs.StringVar(&p.identity, "pin-identity", "", "keyless signer (certificate subject) of the --pin bundles (without --layout)")
	fs.StringVar(&p.issuer, "pin-oidc-issuer", "", "OIDC issuer of --pin-identity")
}

// resolve returns the pins base models are checked against: with --layout,
// the layout's (checked as verify checks it: signature, expiry, serial) and
// those of --pin bundles its pinSigners signed; otherwise the --pin bundles
// of the --pin-key or --pin-identity signer. The layout must define step.
func (p *pinFlags) resolve(ctx context.Context, step, trustedRoot string) ([]predicates.ModelPin, error) {
	if !p.layout.given() {
		return p.verifiedPins(ctx)
	}
	if p.key != "" || p.identity != "" || p.issuer != "" {
		return nil, errors.New("with --layout the layout names who may sign pins (pinSigners): drop --pin-key/--pin-identity/--pin-oidc-issuer")
	}
	opts, err := p.layout.options()
	if err != nil {
		return nil, err
	}
	// A key-only layout verifies offline; keyless owners or pin signers
	// need the trust root, loaded only then (no network otherwise).
	if err := setTrustedRoot(&opts, trustedRoot); err != nil {
		return nil, err
	}
	return gate.StepPins(ctx, opts, step, p.files...)
}

// keepPins copies the --pin bundles into the attestation directory, so
// verify finds the pins the step was checked against. Names are content
// addressed: the same pin kept by several steps is one file.
func (p *pinFlags) keepPins(out string) error {
	for _, f := range p.files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("pin %s: %w", f, err)
		}
		sum := sha256.Sum256(data)
		dst := filepath.Join(out, "pin-"+hex.EncodeToString(sum[:6])+predicates.BundleSuffix)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := fsutil.WriteFileAtomic(dst, data, 0o644); err != nil {
			return fmt.Errorf("pin %s: %w", f, err)
		}
	}
	return nil
}

// verifiedPins verifies each pin bundle's signature and reads its pin.
func (p *pinFlags) verifiedPins(ctx context.Context) ([]predicates.ModelPin, error) {
	if len(p.files) == 0 {
		if p.key != "" || p.identity != "" || p.issuer != "" {
			return nil, errors.New("--pin-key, --pin-identity and --pin-oidc-issuer need --pin")
		}
		return nil, nil
	}
	var opts []verify.Option
	var ids []verify.Identity
	switch {
	case p.key != "" && (p.identity != "" || p.issuer != ""):
		return nil, errors.New("--pin-key and --pin-identity are exclusive")
	case p.key != "":
		pub, err := trust.LoadPublicKey(p.key)
		if err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithKey(pub))
	case p.identity != "" && p.issuer != "":
		ids = append(ids, verify.Identity{Subject: p.identity, Issuer: p.issuer})
		if tr := os.Getenv(envTrustedRoot); tr != "" {
			opts = append(opts, verify.WithTrustedRootFile(tr))
		} else {
			tr, err := loadTrustedRoot("")
			if err != nil {
				return nil, err
			}
			opts = append(opts, verify.WithTrustedRoot(tr))
		}
	default:
		return nil, errors.New("--pin needs the pin's signer: --pin-key, or --pin-identity with --pin-oidc-issuer")
	}
	v, err := verify.New(opts...)
	if err != nil {
		return nil, err
	}
	var pins []predicates.ModelPin
	for _, f := range p.files {
		b, err := verify.LoadBundle(f)
		if err != nil {
			return nil, err
		}
		res, err := v.Verify(ctx, b, verify.SkipArtifact(), ids...)
		if err != nil {
			return nil, fmt.Errorf("pin %s: %w", f, err)
		}
		pin, err := predicates.ModelPinOf(res.Statement)
		if err != nil {
			return nil, fmt.Errorf("pin %s: %w", f, err)
		}
		pins = append(pins, *pin)
	}
	return pins, nil
}
