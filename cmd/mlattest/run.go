package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/attest"
	"github.com/mlattest/mlattest/sandbox"
)

func newRunCmd() *cobra.Command {
	var sf stepFlags
	var kf signFlags
	cmd := &cobra.Command{
		Use:   "run --step NAME --out DIR [flags] -- CMD [ARGS...]",
		Short: "Run a pipeline step and record it as signed in-toto attestations",
		// Signals are relayed to the command, and run's own handling
		// takes over once it has exited (see runguard.go).
		Annotations: map[string]string{ownSignalsAnnotation: "relayed"},
		Long: `Run digests the step's materials and training inputs, runs the command (stdin,
stdout and stderr pass through; signals are forwarded), digests its products and
writes one Sigstore bundle per statement to --out:

  <step>.link.sigstore.json        in-toto link v0.3: materials, products, command,
                                   exit code, stdout/stderr digests, environment
  <step>.provenance.sigstore.json  SLSA provenance v1 training record, when any of
                                   --base-model, --dataset, --config, --image is given

--materials and --products may name storage locations, s3://BUCKET/PREFIX,
gs://BUCKET/PREFIX or file:///DIR: every object below is read and hashed and
recorded under its full URI (s3://BUCKET/PREFIX/KEY), which layout artifact
rules match like any other name; an ETag or generation only pins the version
read, never stands for the digest. A location that lists no object, or an
object that changes while it is read, is an error naming it. Credentials come
from the AWS SDK's chains and Google Application Default Credentials, never
from flags.

File names are for people only: verification reads the step and run id from the
signed statements. Signing happens after the command finishes, because identity
tokens and Fulcio certificates last minutes and training takes hours. If signing
fails, the statements are kept in --out marked UNSIGNED and 'mlattest sign DIR'
finishes them later: a finished training run is never lost.

Terminal and signals: when mlattest's stdout or stderr is a terminal, the
command gets a pseudo-terminal there, so it prints and draws progress bars as
it would on its own (Python line-buffers); when both are one terminal, one
pseudo-terminal carries both streams in order, and the link's stdout digest
covers that merged output (no stderr digest). Otherwise stdout and stderr are
pipes copied through. The command runs in a session of its own: SIGINT,
SIGTERM, SIGHUP and SIGQUIT are relayed to its process group; a second Ctrl-C
(SIGINT) kills that group at once (SIGKILL), and on Linux the command is
killed if mlattest dies. stdin is passed through unchanged; /dev/tty is not
available to the command (read prompts from stdin).

Exit status: the command's own exit status (a failed command is still recorded, as
a failure); 125 when mlattest itself fails, with a one-line reason. Bad input found
before the command runs (missing file, symlink out of the directory, malformed or
expired token, ...) exits 125 and writes nothing. Checked before the command starts:
--out can be created and written (a probe file is written and removed); the step
will have a subject (its products, else its materials: materials that hold no file
and no products are refused); the token of --identity-token, $SIGSTORE_ID_TOKEN or
--identity-token-file is a JWT that has not expired (the file is read again when
signing, so it may be refreshed meanwhile).

Interrupted (SIGINT, SIGTERM, SIGHUP) after the command finished, while its products are
digested or its statements signed, run takes back what it wrote to --out, prints
one line with the 'mlattest attest ...' command that records the step (with the
command's start and finish times and exit status), and exits 128+signal. Until the
command exits, signals are the command's: they are forwarded to it.

Run id: --run-id, else $MLATTEST_RUN_ID, else the GitHub Actions run; failing all
three the step gets a new id of its own, printed with how to share it. Export one
for every step of a local pipeline: export MLATTEST_RUN_ID=$(mlattest run-id).

Network isolation (Linux): --network none runs the command in a network
namespace of its own with only loopback; --network allow=ADDR:PORT,... makes
exactly those TCP endpoints reachable (through forwarders mlattest runs outside
the namespace; give IP addresses, not names). Every address is routed to the
namespace's loopback, so each attempt to reach anything else is refused at once
and recorded (TCP and UDP, DNS queries included). The link's byproducts
"mlattest.dev/isolation" and the training provenance's runDetails byproduct of
that name record the policy, the forwarded connections and the refused attempts,
for a layout to require. Where no network namespace can be made (not root and
unprivileged user namespaces disabled) run exits 125 before the command starts:
it never runs unisolated. Not isolated: Unix sockets in the file system.

Model-file safety: an input (material, --base-model, --dataset) whose content is a
pickle format (PyTorch .bin/.pt, pickle, joblib, ...: loading it runs code) is
refused before the command runs (125) unless --allow-pickle. When the command
produces a pickle-format file, a third statement <step>.product-scan.sigstore.json
(model-scan v1, bound to the step and run, one entry per product with format,
verdict and findings) is signed with the link, and then run exits 125 naming the
files unless --allow-pickle; the command's exit status is never altered in the
link. A layout can demand 'no pickle' with a CEL rule on that statement or on
a scan-model step's statement: !predicate.files.exists(f, f.pickle).

Base-model pins: a Hugging Face base model is named at a full 40-hex commit. With
--layout (and its owner: --layout-identity/--layout-oidc-issuer or --layout-key),
the layout is checked as verify checks it, and every --base-model must be exactly
(file for file, by SHA-256) a model the layout pins or a --pin bundle signed by one
of its pinSigners pins, or the command does not run (125, naming the file); the
pin bundles are copied into --out for verify. Without a layout, --pin-key or
--pin-identity names the pin signer.`,
		Example: `  # keyless, in GitHub Actions (permissions: id-token: write)
  mlattest run --step train --out attestations \
    --materials data/clean.jsonl --products model/ \
    --base-model hf://org/base@0123456789abcdef0123456789abcdef01234567=base/ \
    --dataset file://data/clean.jsonl=data/clean.jsonl,collected=2026-11-01,source=curated \
    --config train.yaml -- python train.py --config train.yaml

  # with a key, no network at all
  mlattest run --step clean --key step.key --offline --out att \
    --materials raw.jsonl --products clean.jsonl -- python clean.py`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || cmd.ArgsLenAtDash() != 0 {
				return withCode(exitRunError, &usageError{errors.New("put the command after --, e.g. mlattest run --step s --out d -- make train")})
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStep(cmd, &sf, &kf, args)
		},
	}
	cmd.Flags().SortFlags = false
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&sf.allowPickle, "allow-pickle", false, "accept pickle-format inputs (refused by default: loading them runs code) and pickle-format products (by default they fail the step with 125 after it is recorded)")
	cmd.Flags().StringVar(&sf.network, "network", "", "run the command in a network namespace of its own: 'none' (loopback only) or 'allow=ADDR:PORT,...' (only these TCP endpoints reachable); the policy and every refused attempt are recorded (default: unrestricted, nothing recorded)")
	sf.registerEnv(cmd.Flags())
	sf.pins.register(cmd.Flags())
	kf.register(cmd.Flags())
	// Flag errors are mlattest's own failures: 125, not the usage code 2,
	// which a wrapped command could also return.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitRunError, &usageError{err}) })
	return cmd
}

func runStep(cmd *cobra.Command, sf *stepFlags, kf *signFlags, command []string) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	step, err := sf.step(command, kf.files()...)
	if err != nil {
		return withCode(exitRunError, err)
	}
	if sf.pipFreeze && sf.python == "" {
		return withCode(exitRunError, &usageError{errors.New("--pip-freeze needs --python (the interpreter whose packages to list)")})
	}
	if err := checkOut(sf.out, step.Name); err != nil {
		return withCode(exitRunError, err)
	}
	if err := probeOut(sf.out); err != nil {
		return withCode(exitRunError, err)
	}
	pins, err := sf.pins.resolve(ctx, step.Name, orEnv(kf.trustedRoot, envTrustedRoot))
	if err != nil {
		return withCode(exitRunError, err)
	}
	signer, err := kf.signer(stderr)
	if err != nil {
		return withCode(exitRunError, err)
	}
	madeUpRunID, err := bindRun(step)
	if err != nil {
		return withCode(exitRunError, err)
	}
	record := func(ctx context.Context, g *interruptGuard, written *outFiles, stderr io.Writer) (bool, error) {
		rec, err := attest.Run(ctx, step, append(sf.runOptions(),
			attest.WithHostFacts(sandbox.EnvOptions{Python: sf.python, PipFreeze: sf.pipFreeze, LockFiles: sf.lockFiles}),
			attest.WithBaseModelPins(pins...),
			attest.WithOnExit(g.onExit),
			attest.WithStdio(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()))...)
		if err != nil {
			return false, withCode(exitRunError, attestFlagHint(err))
		}
		if madeUpRunID {
			announceRunID(stderr, step)
		}
		for _, w := range rec.Warnings {
			fmt.Fprintf(stderr, "mlattest: warning: %s\n", w)
		}
		if err := sf.store(ctx, cmd.OutOrStdout(), signer, rec, stderr, written); err != nil {
			return false, withCode(exitRunError, err)
		}
		if err := sf.pins.keepPins(sf.out); err != nil {
			return true, withCode(exitRunError, err)
		}
		if rec.ExitCode != 0 {
			fmt.Fprintf(stderr, "mlattest: step %q recorded as FAILED (exit status %d)\n", rec.Step, rec.ExitCode)
			return true, withCode(rec.ExitCode, errors.New(""))
		}
		if len(rec.PickleProducts) > 0 && !sf.allowPickle {
			return true, withCode(exitRunError, fmt.Errorf("step %q produced pickle-format files (%s): recorded in its %s statement; the step fails (pass --allow-pickle to accept them)", rec.Step, strings.Join(rec.PickleProducts, ", "), attest.KindProductScan))
		}
		return true, nil
	}
	attestLine := func(e attest.Exit) string { return attestCommand(cmd, step, e) }
	return recordInterruptibly(ctx, stderr, record, attestLine, step.Name)
}

func newAttestCmd() *cobra.Command {
	var sf stepFlags
	var kf signFlags
	var exitCode int
	var started, finished string
	cmd := &cobra.Command{
		Use:   "attest --step NAME --out DIR [flags] [-- CMD ARGS...]",
		Short: "Record a step that ran elsewhere, without running anything",
		Long: `Attest writes the same signed statements as 'mlattest run' for a step that ran
outside mlattest (another machine, a managed training service): it digests the
materials, products and training inputs as they are now and records the command
and exit status you give. Training provenance needs --started and --finished.

Exit status: 0 recorded; 1 recorded, but a product is a pickle-format file
(without --allow-pickle), or signing failed (the statements are then kept
UNSIGNED in --out for 'mlattest sign'); 2 usage error or unreadable input
(nothing is written then).`,
		Example: `  mlattest attest --step train --out att --materials data.jsonl --products model/ \
    --base-model hf://org/base@0123456789abcdef0123456789abcdef01234567=base/ --started 2026-11-20T08:00:00Z \
    --finished 2026-11-20T11:42:00Z --exit-code 0 -- python train.py`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if exitCode < 0 || exitCode > 255 {
				return usage(fmt.Errorf("--exit-code %d: an exit status is 0 to 255", exitCode))
			}
			step, err := sf.step(args, kf.files()...)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := checkOut(sf.out, step.Name); err != nil {
				return withCode(exitUsage, err)
			}
			if err := probeOut(sf.out); err != nil {
				return withCode(exitUsage, err)
			}
			var opts []attest.RunOption
			if started != "" || finished != "" {
				s, err1 := parseTimeFlag("--started", started)
				e, err2 := parseTimeFlag("--finished", finished)
				if err := cmp.Or(err1, err2); err != nil {
					return usage(err)
				}
				opts = append(opts, attest.WithTimes(s, e))
			}
			signer, err := kf.signer(cmd.ErrOrStderr())
			if err != nil {
				return withCode(exitUsage, err)
			}
			madeUpRunID, err := bindRun(step)
			if err != nil {
				return withCode(exitUsage, err)
			}
			rec, err := attest.Attest(ctx, step, exitCode, append(sf.runOptions(), opts...)...)
			if err != nil {
				return withCode(exitUsage, attestFlagHint(err))
			}
			if madeUpRunID {
				announceRunID(cmd.ErrOrStderr(), step)
			}
			for _, w := range rec.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: warning: %s\n", w)
			}
			if err := sf.store(ctx, cmd.OutOrStdout(), signer, rec, cmd.ErrOrStderr(), nil); err != nil {
				return withCode(exitRejected, err)
			}
			if len(rec.PickleProducts) > 0 && !sf.allowPickle {
				return withCode(exitRejected, fmt.Errorf("step %q produced pickle-format files (%s): recorded in its %s statement; the step fails (pass --allow-pickle to accept them)", rec.Step, strings.Join(rec.PickleProducts, ", "), attest.KindProductScan))
			}
			return nil
		},
	}
	cmd.Flags().SortFlags = false
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&sf.allowPickle, "allow-pickle", false, "accept pickle-format materials and products (by default a pickle-format input is refused and a pickle-format product fails the step, exit 1, after it is recorded)")
	cmd.Flags().StringVar(&sf.network, "network", "", "network policy the step ran under, as you assert it ('none' or 'allow=ADDR:PORT,...'; recorded with enforced: false)")
	cmd.Flags().IntVar(&exitCode, "exit-code", 0, "exit status of the step's command, as recorded (0 to 255)")
	cmd.Flags().StringVar(&started, "started", "", "when the step started (RFC 3339)")
	cmd.Flags().StringVar(&finished, "finished", "", "when the step finished (RFC 3339)")
	kf.register(cmd.Flags())
	return cmd
}

// parseTimeFlag reads an RFC 3339 time flag; the error shows the value and
// an example, not Go's layout string.
func parseTimeFlag(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s is required with --started/--finished (RFC 3339, e.g. 2026-11-20T08:00:00Z)", flag)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-11-20T08:00:00Z", flag, v)
	}
	return t, nil
}
