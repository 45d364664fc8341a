package main

import "github.com/spf13/cobra"

// newDigestCmd: CONTRACT, filled in by the digest work.
func newDigestCmd() *cobra.Command {
	return &cobra.Command{Use: "digest PATH...", Short: "Print SHA-256 digests of files and trees"}
}
