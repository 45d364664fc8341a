// Command mlattest records ML pipeline stages as signed in-toto attestations
// and verifies them. The command is a thin layer over the library packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/internal/version"
	"github.com/mlattest/mlattest/sandbox"
)

// Exit codes, from docs/design.md "Conventions".
const (
	exitOK       = 0
	exitRejected = 1   // verification or scan failed: a policy answer
	exitUsage    = 2   // usage error or unreadable input
	exitRunError = 125 // mlattest run's own failures
)

// exitError carries an exit code and a one-line message to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks a wrong command line (as opposed to unreadable input,
// also exit 2): main prints the command's usage line after it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage is a usage error: exit 2, with the usage line.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return withCode(exitUsage, &usageError{err})
}

// withCode wraps err so that main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "mlattest",
		Short: "Verifiable chain of custody for ML fine-tuning pipelines",
		Long: `mlattest wraps each stage of an ML pipeline, records what went in and what came
out as in-toto attestations, signs them with Sigstore (keyless or with a key),
and verifies them before a model is released.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newDigestCmd(),
		newMergeCmd(),
		newK8sCmd(),
		newRunCmd(),
		newAttestCmd(),
		newSignCmd(),
		newKeygenCmd(),
		newVerifyBundleCmd(),
		newVerifyModelCmd(),
		newSignModelCmd(),
		newVerifyCmd(),
		newPushCmd(),
		newPullCmd(),
		newApproveCmd(),
		newPromoteCmd(),
		newRollbackCmd(),
		newHistoryCmd(),
		newLayoutCmd(),
		newScanCmd(),
		newPinCmd(),
		newRunIDCmd(),
		newVersionCmd(),
		newAuditCmd(),
		newProbeCmd(),
		newGraphCmd(),
	)
	root.Version = version.Get().String()
	root.SetVersionTemplate("{{.Version}}\n")
	// cobra adds these when it executes; add them now so that the whole
	// tree, theirs included, gets the same subcommand check.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	requireSubcommands(root)
	strictHelp(root)
	return root
}

func main() {
	// A sandboxed step's init is this binary re-executed: it sets the
	// network namespace up and becomes the step's command.
	sandbox.Init()
	ctx, stop := context.Background(), func() {}
	if !ownsSignals(os.Args[1:]) {
		ctx, stop = onInterrupt(ctx, func(code int, cause error) {
			fmt.Fprintf(os.Stderr, "mlattest: %v\n", cause)
			os.Exit(code)
		})
	}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code; tests call it
// in-process with their own streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if code, ok := exitInterrupted(ctx); ok {
		// What the command says about being cancelled adds nothing.
		fmt.Fprintf(stderr, "mlattest: %v\n", context.Cause(ctx))
		return code
	}
	code := exitUsage // flag parsing and other cobra errors are usage errors
	var ee *exitError
	var ue *usageError
	isUsage := !errors.As(err, &ee) || errors.As(err, &ue)
	if ee != nil {
		code = ee.code
		err = ee.err
	}
	printError(stderr, err)
	if isUsage && cmd != nil {
		fmt.Fprintf(stderr, "usage: %s\n", cmd.UseLine())
	}
	return code
}

// fileErrors are the failures of a command that goes on after a failing
// file: main prints one line for each (a multi-line cause is folded).
type fileErrors []error

func (e fileErrors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	}
	return strings.Join(lines, "\n")
}

func (e fileErrors) Unwrap() []error { return e }

// printError writes err as "mlattest: ..." lines: a joined error (one per
// failing file) gets one prefixed line per cause.
func printError(w io.Writer, err error) {
	if err == nil || err.Error() == "" {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "mlattest: ") {
			line = "mlattest: " + line
		}
		fmt.Fprintln(w, line)
	}
}
