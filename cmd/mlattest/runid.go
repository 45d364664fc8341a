package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/attest"
)

func newRunIDCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run-id",
		Short: "Print a new pipeline run id, for the steps of one run to share",
		Long: `Run-id prints a new random run id (32 hex digits). Every statement of a step is
bound to a run id, and verify checks the statements of one run: the steps of one
pipeline run must share it. run and attest take it from --run-id, else
$MLATTEST_RUN_ID, else the GitHub Actions run; failing all three they make up a
new one for that step alone (and print it). Export one before a local
multi-step run.`,
		Example: `  export MLATTEST_RUN_ID=$(mlattest run-id)
  mlattest run --step clean ... -- python clean.py
  mlattest run --step train ... -- python train.py`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := attest.NewRunID()
			if err != nil {
				return withCode(exitRunError, err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), id)
			return err
		},
	}
}

// bindRun settles the step's run id: --run-id, else the environment's,
// else a new one (made up reports true): the pipeline's other steps need the
// same id, or verify sees statements from several runs.
func bindRun(s *attest.Step) (madeUp bool, err error) {
	if s.RunID != "" {
		return false, nil
	}
	if s.RunID = attest.AmbientRunID(os.LookupEnv); s.RunID != "" {
		return false, nil
	}
	if s.RunID, err = attest.NewRunID(); err != nil {
		return false, err
	}
	return true, nil
}

// announceRunID says which made-up run id a recorded step is bound to, and
// how the pipeline's other steps get the same one.
func announceRunID(w io.Writer, s *attest.Step) {
	fmt.Fprintf(w, "mlattest: new run id %s for step %q; give the pipeline's other steps the same one: export MLATTEST_RUN_ID=%s\n", s.RunID, s.Name, s.RunID)
}
