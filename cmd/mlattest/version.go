package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/internal/version"
)

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print mlattest's version, commit and Go version",
		Long: `Version prints the module version (a release tag such as v1.2.3, a
pseudo-version, or (devel)), the commit it was built from and whether the work
tree had changes (when the build recorded them), and the Go version. The same
version is recorded in every training provenance (runDetails.builder.version),
link (byproducts mlattest.dev/version), scan (scanner.version) and verification
summary (verifier.version) mlattest writes.`,
		Example: `  mlattest version
  mlattest version --json
  mlattest --version`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			if asJSON {
				b, err := json.Marshal(info)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), info)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {version, commit, commitTime, modified, goVersion} as JSON")
	return cmd
}
