package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/registry"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/verify"
)

// approvalNoteKey holds an approval's note in the link's environment.
const approvalNoteKey = "MLATTEST_APPROVAL_NOTE"

func newApproveCmd() *cobra.Command {
	var (
		sf                signFlags
		note, step, runID string
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "approve oci://REGISTRY/REPO@sha256:DIGEST --note TEXT (--key KEY | keyless)",
		Short: "Sign a release approval of a model in a registry and attach it as a referrer",
		Long: `approve signs a release approval: an in-toto link for the layout step --step
(default "approve") of the model's run, whose materials are the model's
files by name and SHA-256 (from its manifest) and whose environment keeps
the note, and attaches it to the model as a bundle referrer. A layout step
'approve' with threshold N then needs N distinct approvers: the same
approver signing twice counts once.

The run id is --run-id, or the one run id the model's attestations share.

Exit status: 0 approved; 2 usage error, unreadable input, the registry
failed or the approval could not be signed.`,
		Example: `  mlattest approve oci://127.0.0.1:47541/acme/model@sha256:1f2e… --note "eval reviewed" --key alice.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := registry.ParseReference(args[0])
			if err != nil {
				return usage(err)
			}
			if note == "" {
				return usage(errors.New("--note is required: say what was reviewed"))
			}
			if err := predicates.CheckStepName(step); err != nil {
				return usage(fmt.Errorf("--step: %w", err))
			}
			stderr := cmd.ErrOrStderr()
			signer, err := sf.signer(stderr)
			if err != nil {
				return withCode(exitUsage, err)
			}
			c, err := registryClient(stderr)
			if err != nil {
				return withCode(exitUsage, err)
			}
			ctx := cmd.Context()
			m, err := c.Resolve(ctx, ref)
			if err != nil {
				return registryError(err)
			}
			if runID == "" {
				if runID, err = sharedRunID(cmd, c, m); err != nil {
					return err
				}
			}
			files := make([]digest.Artifact, 0, len(m.Files))
			for _, f := range m.Files {
				files = append(files, digest.Artifact{Name: f.Name, SHA256: f.SHA256(), Size: f.Size})
			}
			st, err := predicates.NewLinkStatement(predicates.LinkInput{Step: step, RunID: runID,
				Command: []string{"mlattest", "approve", registry.String(m.Ref)}, Materials: files, Subjects: files,
				Environment: map[string]string{approvalNoteKey: note}})
			if err != nil {
				return withCode(exitUsage, err)
			}
			payload, err := predicates.Marshal(st)
			if err != nil {
				return withCode(exitUsage, err)
			}
			pb, err := signer.SignStatement(ctx, payload)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("signing the approval: %w", err))
			}
			dir, err := os.MkdirTemp("", "mlattest-approval-")
			if err != nil {
				return withCode(exitUsage, err)
			}
			defer os.RemoveAll(dir)
			path := filepath.Join(dir, step+".approval"+predicates.BundleSuffix)
			if err := sign.WriteBundle(path, pb); err != nil {
				return withCode(exitUsage, err)
			}
			r, err := c.Attach(ctx, m, path, registry.KindAttestation)
			if err != nil {
				return registryError(err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"model": registry.String(m.Ref), "step": step, "runId": runID, "referrer": r.Digest})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "approved %s (run %s, step %s): referrer %s\n", registry.String(m.Ref), runID, step, r.Digest)
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&note, "note", "", "what was reviewed (required; kept in the signed approval)")
	cmd.Flags().StringVar(&step, "step", "approve", "the layout step the approval is for")
	cmd.Flags().StringVar(&runID, "run-id", "", "the run approved (default: the one run id the model's attestations share)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the approval as one JSON object")
	return cmd
}

// sharedRunID is the one run id the model's attestations carry. They are
// read unverified: an approval only counts if the gate later finds this
// run verified.
func sharedRunID(cmd *cobra.Command, c *registry.Client, m *registry.Model) (string, error) {
	bundles, err := c.Bundles(cmd.Context(), m, registry.KindAttestation)
	if err != nil {
		return "", registryError(err)
	}
	var ids []string
	for _, b := range bundles {
		pb, err := verify.ParseBundle(b.Data)
		if err != nil || pb.GetDsseEnvelope() == nil {
			continue
		}
		st, err := predicates.ParseStatement(pb.GetDsseEnvelope().GetPayload())
		if err != nil {
			continue
		}
		if bd, err := predicates.BindingOf(st); err == nil && !slices.Contains(ids, bd.RunID) {
			ids = append(ids, bd.RunID)
		}
	}
	if len(ids) != 1 {
		return "", usage(fmt.Errorf("the model's attestations carry %d run ids (%v): name the run with --run-id", len(ids), ids))
	}
	return ids[0], nil
}
