package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/registry"
	"github.com/mlattest/mlattest/sign"
)

// releaseFlags are promote's and rollback's: the layout to verify against,
// the trusted root, and (promote) the signer of the VSA.
type releaseFlags struct {
	layout layoutFlags
	sign   signFlags // --trusted-root is the verification root too
	runID  string
	json   bool
}

func (f *releaseFlags) register(cmd *cobra.Command, signs bool) {
	fs := cmd.Flags()
	f.layout.register(fs, "the layout file, exactly as its owner signed it (required)")
	fs.StringVar(&f.runID, "run-id", "", "the run to verify (default: the one run id all statements share)")
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON object")
	if signs {
		f.sign.register(fs)
	} else {
		fs.StringVar(&f.sign.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json for verifying every bundle (default: $"+envTrustedRoot+")")
	}
}

func (f *releaseFlags) options(cmd *cobra.Command) (gate.LayoutOptions, error) {
	if f.layout.file == "" {
		return gate.LayoutOptions{}, usage(errors.New("--layout is required"))
	}
	opts, err := f.layout.options()
	if err != nil {
		return opts, usage(err)
	}
	opts.RunID = f.runID
	if err := setTrustedRoot(&opts, orEnv(f.sign.trustedRoot, envTrustedRoot)); err != nil {
		return opts, withCode(exitUsage, err)
	}
	return opts, nil
}

// moveResult is promote's and rollback's JSON.
type moveResult struct {
	Tag     string               `json:"tag"`
	Digest  string               `json:"digest"`
	VSA     string               `json:"vsa,omitempty"`
	History []registry.Promotion `json:"history"`
	Verdict ociReport            `json:"verdict"`
}

// verifyForMove runs the gate on m and refuses (exit 1, the report
// printed) a model that does not pass.
func verifyForMove(cmd *cobra.Command, c *registry.Client, ref name.Reference, opts gate.LayoutOptions, asJSON bool, what string) (*registry.Verified, error) {
	v, err := c.Verify(cmd.Context(), ref, opts)
	if errors.Is(err, gate.ErrNoTrustedRoot) {
		return nil, withCode(exitUsage, fmt.Errorf("%w (give --trusted-root)", err))
	}
	if err != nil {
		return nil, registryError(err)
	}
	if !v.Report.Passed {
		if err := writeReport(cmd.OutOrStdout(), asJSON, v.Report, v); err != nil {
			return nil, err
		}
		writeFlagHints(cmd.ErrOrStderr(), v.Report.Failures)
		return nil, withCode(exitRejected, fmt.Errorf("%s refused: %s does not verify (%d failure(s)); the tag was not moved", what, registry.String(v.Model.Ref), len(v.Report.Failures)))
	}
	return v, nil
}

func newPromoteCmd() *cobra.Command {
	var (
		f  releaseFlags
		to string
	)
	cmd := &cobra.Command{
		Use:   "promote oci://REGISTRY/REPO@sha256:DIGEST --to TAG --layout FILE (--layout-key PUB | --layout-identity X --layout-oidc-issuer Y) (--key KEY | keyless)",
		Short: "Move a tag to a model digest only if it verifies, attaching a signed VSA",
		Long: `promote verifies the model exactly as 'mlattest verify oci://…' does and, only
if it passes, signs a SLSA Verification Summary Attestation for it (signing
flags as for 'mlattest sign'), attaches it as a referrer of the model, records
the promotion in the tag's history (an OCI index at tag
mlattest-history-TAG) and moves TAG to the digest.

Exit status: 0 promoted; 1 the digest does not verify (nothing moved);
2 usage error, unreadable input, the registry failed or the VSA could not
be signed.`,
		Example: `  mlattest promote oci://127.0.0.1:47541/acme/model@sha256:1f2e… --to prod \
    --layout layout.yaml --layout-key owner.pub --key release.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := registry.ParseReference(args[0])
			if err != nil {
				return usage(err)
			}
			if to == "" {
				return usage(errors.New("--to TAG is required"))
			}
			tag, err := name.NewTag(ref.Context().Name()+":"+to, name.StrictValidation)
			if err != nil {
				return usage(fmt.Errorf("--to %q: %w", to, err))
			}
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			signer, err := f.sign.signer(stderr)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("the VSA signer: %w", err))
			}
			c, err := registryClient(stderr)
			if err != nil {
				return withCode(exitUsage, err)
			}
			v, err := verifyForMove(cmd, c, ref, opts, f.json, "promote")
			if err != nil {
				return err
			}
			return finishMove(cmd, c, v, tag, registry.ActionPromote, signer, f.json)
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&to, "to", "", "the tag to move, in the model's repository (required)")
	return cmd
}

// finishMove signs and attaches the VSA (when signer is set), then moves
// the tag and records it.
func finishMove(cmd *cobra.Command, c *registry.Client, v *registry.Verified, tag name.Tag, action string, signer *sign.Signer, asJSON bool) error {
	ctx := cmd.Context()
	vsaDigest := ""
	if signer != nil {
		dir, err := os.MkdirTemp("", "mlattest-vsa-")
		if err != nil {
			return withCode(exitUsage, err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "model.vsa.sigstore.json")
		if err := writeVSA(ctx, path, signer, v.Report, time.Now()); err != nil {
			return withCode(exitUsage, fmt.Errorf("the VSA: %w", err))
		}
		r, err := c.Attach(ctx, v.Model, path, registry.KindVSA)
		if err != nil {
			return registryError(err)
		}
		vsaDigest = r.Digest
	}
	hist, err := c.MoveTag(ctx, v.Model, tag, action, vsaDigest, time.Now())
	if err != nil {
		return registryError(err)
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), moveResult{Tag: registry.String(tag), Digest: v.Model.Digest(), VSA: vsaDigest, History: hist, Verdict: newOCIReport(v)})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s now names %s (verified: run %s, layout %s)\n", action, registry.String(tag), v.Model.Digest(), v.Report.RunID, filepath.Base(v.Report.Layout.File))
	if vsaDigest != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "VSA attached: %s\n", vsaDigest)
	}
	return nil
}

func newRollbackCmd() *cobra.Command {
	var f releaseFlags
	cmd := &cobra.Command{
		Use:   "rollback oci://REGISTRY/REPO:TAG --layout FILE (--layout-key PUB | --layout-identity X --layout-oidc-issuer Y)",
		Short: "Move a tag back to the previous promoted digest, verifying it again",
		Long: `rollback reads the tag's promotion history, finds the promotion before the
latest promotion of the digest the tag names now, verifies that digest again
against the layout (the history is only a list of candidates), and moves the
tag back to it, recording the rollback.

Exit status: 0 rolled back; 1 the previous digest no longer verifies, or
there is none (nothing moved); 2 usage error, unreadable input or the
registry failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tag, err := registry.ParseTag(args[0])
			if err != nil {
				return usage(err)
			}
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			c, err := registryClient(cmd.ErrOrStderr())
			if err != nil {
				return withCode(exitUsage, err)
			}
			ctx := cmd.Context()
			cur, err := c.Resolve(ctx, tag)
			if err != nil {
				return registryError(err)
			}
			hist, err := c.History(ctx, tag)
			if err != nil {
				return registryError(err)
			}
			target, err := registry.RollbackTarget(hist, cur.Digest())
			if err != nil {
				return withCode(exitRejected, fmt.Errorf("rollback %s: %w (it names %s)", registry.String(tag), err, cur.Digest()))
			}
			v, err := verifyForMove(cmd, c, tag.Context().Digest(target), opts, f.json, "rollback")
			if err != nil {
				return err
			}
			return finishMove(cmd, c, v, tag, registry.ActionRollback, nil, f.json)
		},
	}
	f.register(cmd, false)
	return cmd
}

func newHistoryCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history oci://REGISTRY/REPO:TAG",
		Short: "List a tag's promotions and rollbacks, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tag, err := registry.ParseTag(args[0])
			if err != nil {
				return usage(err)
			}
			c, err := registryClient(cmd.ErrOrStderr())
			if err != nil {
				return withCode(exitUsage, err)
			}
			hist, err := c.History(cmd.Context(), tag)
			if err != nil {
				return registryError(err)
			}
			if asJSON {
				if hist == nil {
					hist = []registry.Promotion{}
				}
				return writeJSON(cmd.OutOrStdout(), hist)
			}
			for _, p := range hist {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %-8s  %s", p.Time.Format(time.RFC3339), p.Action, p.Digest)
				if p.VSA != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "  vsa %s", p.VSA)
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the history as one JSON array")
	return cmd
}
