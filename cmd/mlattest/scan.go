package main

import "github.com/spf13/cobra"

// newScanCmd groups the content scanners; each subcommand emits its own
// predicate (model-scan or dataset-scan).
func newScanCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "scan",
		Short: "Scan model files or datasets and attest the result",
	}
	c.AddCommand(newScanModelCmd(), newScanDataCmd())
	return c
}
