package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/store"
)

func newMergeCmd() *cobra.Command {
	var jsonOut bool
	var msf mergeSignFlags
	cmd := &cobra.Command{
		Use:   "merge [flags] PREFIX",
		Short: "Merge the parts of a sharded digest into one manifest",
		Long: `Merge the parts that "mlattest digest --shard i/N --part-out PREFIX" workers
wrote under PREFIX (a directory or s3://BUCKET/PREFIX) and print exactly
what one "mlattest digest LOCATION" prints: the same lines in the same
order (--json: the same JSON lines).

Before printing anything merge checks that all N parts are there, once
each and under their own names; that they come from one listing of one
location (the listing digest every part carries); that together they hold
exactly that listing (their names, sizes and ETags hash to its digest);
and that each holds exactly the files the size-balanced plan gives its
shard. A missing, duplicated or foreign part, or parts that do not cover
the listing, is an error naming the part file.

Parts of a sharded digest ("mlattest digest --sharded SIZE --shard i/N")
hold byte ranges instead of files; merge then also checks that every
range of every file is held exactly once, where the file's cut puts it,
and prints the sha256-sharded-SIZE manifest one "mlattest digest --sharded
SIZE LOCATION" prints.

With --step NAME --sign-out DIR|s3://BUCKET/PREFIX merge also signs the
merged manifest as NAME's in-toto link statement, the one "mlattest attest
--step NAME --products LOCATION" signs for the same objects digested by one
process: every object, named by its URI (LOCATION followed by the name
printed), with its SHA-256 is a product and subject, bound to --run-id. The sign flags are
attest's: --key, or keylessly --identity-token-file (in a Kubernetes pod,
its projected service-account token: see "mlattest k8s job").

Parts of a sharded dataset scan ("mlattest scan data --shard i/N
--part-out PREFIX FILE...") are checked the same way, and each section's
summaries against the digest its part names; merge then finishes the scan
and prints what "mlattest scan data FILE..." prints, exiting as it does (1
when a dataset fails). It reads the FILEs themselves, at the paths the
workers were given, which must not have changed since.

Exit status: 0 when the parts merge (and the statement is signed); 1 when
signing failed (the statement is kept unsigned beside where the bundle
would be, for "mlattest sign") or a merged dataset scan fails; 2 when the
parts are refused or cannot be read, or a usage error (nothing is printed
then).`,
		Example: `  # Four workers (any machines), then one merge
  mlattest digest --shard 0/4 --part-out s3://scratch/run-7/ s3://datasets/mix/
  ...
  mlattest digest --shard 3/4 --part-out s3://scratch/run-7/ s3://datasets/mix/
  mlattest merge s3://scratch/run-7/ > mix.sha256

  # Merge and sign keylessly as step "digest-mix" of the pipeline run
  mlattest merge --step digest-mix --run-id "$MLATTEST_RUN_ID" --sign-out att/ \
    --identity-token-file /var/run/sigstore/token s3://scratch/run-7/ > mix.sha256`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			signer, err := msf.prepareIf(cmd)
			if err != nil {
				return err
			}
			b, err := store.OpenParts(ctx, args[0], false)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("merge: %w", err))
			}
			files, err := store.ReadPartFiles(ctx, b)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("merge: %w", err))
			}
			if isScanParts(files) {
				if signer != nil {
					return usage(errors.New("merge: --step and --sign-out sign a digest's manifest; these are a dataset scan's parts"))
				}
				return mergeScanData(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), b, files, jsonOut)
			}
			parts, err := store.ParseParts(files)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("merge: %w", err))
			}
			if len(parts) > 0 && parts[0].Part.Type == store.ShardPartType {
				if signer != nil {
					return usage(errors.New("merge: --step and --sign-out sign the files' manifest; these parts hold a sha256-sharded one"))
				}
				return mergeShards(cmd, b.Location(), parts, jsonOut)
			}
			arts, err := store.Merge(parts)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("merge %s: %w", b.Location(), err))
			}
			if err := writeDigests(cmd.OutOrStdout(), arts, jsonOut); err != nil {
				return withCode(exitUsage, fmt.Errorf("merge: writing output: %w", err))
			}
			if signer != nil {
				return msf.sign(ctx, cmd.ErrOrStderr(), signer, parts[0].Part.Location, arts)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, `print one JSON object per line: {"name":…,"sha256":…,"size":…}`)
	msf.register(cmd.Flags())
	return cmd
}

// mergeShards merges the parts of a sharded digest and prints its manifest.
func mergeShards(cmd *cobra.Command, loc string, parts []store.NamedPart, jsonOut bool) error {
	shards, size, err := store.MergeShards(parts)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("merge %s: %w", loc, err))
	}
	if err := writeShards(cmd.OutOrStdout(), cmd.ErrOrStderr(), shards, size, jsonOut); err != nil {
		return withCode(exitUsage, fmt.Errorf("merge: writing output: %w", err))
	}
	return nil
}
