package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newScanDataCmd is a placeholder; issue 6 replaces its body.
func newScanDataCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "data PATH...",
		Short: "Scan datasets for poisoning (not implemented yet)",
		RunE: func(*cobra.Command, []string) error {
			return withCode(exitUsage, errors.New("scan data: not implemented yet"))
		},
	}
}
