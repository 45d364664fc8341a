package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newScanModelCmd is filled in by the scan/model work (issue 5).
func newScanModelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "model PATH...",
		Short: "Scan model files for unsafe formats and pickle code",
		RunE: func(*cobra.Command, []string) error {
			return withCode(exitUsage, errors.New("scan model: not implemented yet"))
		},
	}
}
