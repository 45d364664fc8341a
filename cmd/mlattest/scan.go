package main

import (
	"fmt"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/internal/handoff"
	"github.com/mlattest/mlattest/predicates"
)

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

// emitStatement writes a scan's unsigned statement to out (when given) and,
// inside `mlattest run`, hands it to the step under name (name-2, ... for
// further scans in the same step).
func emitStatement(st *intoto.Statement, h handoff.Handoff, inRun bool, out, name string) error {
	b, err := predicates.Marshal(st)
	if err != nil {
		return err
	}
	if out != "" {
		if err := fsutil.WriteFileAtomic(out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if inRun {
		if _, err := h.WriteNew(name, b); err != nil {
			return fmt.Errorf("handing the statement to mlattest run: %w", err)
		}
	}
	return nil
}
