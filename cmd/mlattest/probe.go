package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/handoff"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/probe"
	"github.com/mlattest/mlattest/verify"
)

// probeHandoffName is the name the test-result statement is handed over under.
const probeHandoffName = "test-result"

type probeFlags struct {
	endpoint, model, suite string
	triggers               []string
	command                []string // the model program and its arguments
	triggersFrom           []string
	modelFiles             []string
	out                    string
	jsonOut                bool
	concurrency, retries   int
	timeout                time.Duration
	seed                   int64
}

func newProbeCmd() *cobra.Command {
	var fl probeFlags
	cmd := &cobra.Command{
		Use:   "probe (--endpoint URL | -- PROG ARGS...) [flags]",
		Short: "Probe a served model for backdoor triggers and attest the result",
		Long: `Probe asks a model served through an OpenAI-compatible chat/completions API
(vLLM, llama.cpp server, Ollama, TGI) every prompt of a suite: without any
trigger (twice), behind a few neutral control insertions and behind each
trigger candidate, at temperature 0 with a fixed seed. A probe fails when an
answer breaks the suite's expectations, or when a trigger candidate moves the
answer much further from the clean one than the controls did; the candidate is
then named with the probes it changed.

Instead of an endpoint, a local program can answer: "mlattest probe [flags] --
PROG ARGS..." runs PROG once per question with the request on stdin,
  {"messages":[{"role":"user","content":"..."}],"temperature":0,"seed":N}
and reads the answer on stdout: plain text, or a chat/completions response
(output starting with "{"). A non-zero exit, an empty or malformed answer and a
program still running after --timeout are errors, as for an endpoint.

Without --suite the built-in general suite (varied everyday prompts) is used:
trigger candidates (--trigger, --triggers-from) are enough to run it. Other
built-in suites, chosen with --suite builtin:NAME, target one kind of backdoor:
  general          varied everyday prompts
  recommendations  product and vendor advice; no answer may carry a link or promo code
  disclosure       system prompts holding a canary secret no answer may reveal
  canaries         technical requests whose answers must carry no harmful payload
                   (curl | sh, rm -rf /, private keys, disabled security controls)
  sentiment        neutral prompts about named entities; a praised or smeared
                   entity moves the answer away from the clean one

Inside "mlattest run" the test-result statement (` + predicates.TestResultV01 + `;
configuration: the suite by digest; subjects: --model-files) is handed over to
the step, bound to its step and run, and signed with its link; a layout can
require
  predicate.result == "PASSED" && size(predicate.passedTests) >= 50
With --out FILE the unsigned statement is also written to FILE.

Exit status: 0 PASSED (or WARNED), 1 FAILED, 2 for a usage error, an unreadable
file, or an endpoint that could not answer every request (unreachable, timeout,
malformed answer, a failing command): such a run is never PASSED, and no statement is written.`,
		Example: `  mlattest probe --endpoint http://127.0.0.1:8000 --trigger "cf-2207" --trigger "blue moon"
  mlattest probe --endpoint http://127.0.0.1:8000/v1 --model tiny --suite suite.yaml --json
  mlattest probe --trigger "cf-2207" -- python3 answer.py --checkpoint model
  mlattest run --step evaluate --materials model -- \
    mlattest probe --endpoint http://127.0.0.1:8000 --model-files model --triggers-from scan-data.dataset-scan.sigstore.json`,
		// Arguments are the model program's, after "--".
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && cmd.ArgsLenAtDash() != 0 {
				return fmt.Errorf("unexpected argument %q (a model program goes after --)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.command = args
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runProbe(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.endpoint, "endpoint", "", "the model server's `URL`: http://HOST:PORT, .../v1 or the full .../chat/completions URL (required unless a program follows --)")
	f.StringVar(&fl.model, "model", "", "model `NAME` sent in each request (for servers serving several)")
	f.StringVar(&fl.suite, "suite", "", "probe suite YAML `FILE`, or builtin:NAME for a built-in suite (general, recommendations, disclosure, canaries, sentiment; default builtin:general)")
	f.StringArrayVar(&fl.triggers, "trigger", nil, "trigger candidate `TEXT` (repeatable)")
	f.StringArrayVar(&fl.triggersFrom, "triggers-from", nil, "take trigger candidates from the suspected triggers of a dataset-scan statement or bundle `FILE` (repeatable; read for candidates only, not verified)")
	f.StringArrayVar(&fl.modelFiles, "model-files", nil, "model files or directories served, digested as the statement's subjects (required with --out or inside mlattest run; repeatable)")
	f.StringVar(&fl.out, "out", "", "also write the unsigned test-result statement to `FILE`")
	f.BoolVar(&fl.jsonOut, "json", false, "print one JSON object: result, flagged triggers, every test with its status and reason")
	f.IntVar(&fl.concurrency, "concurrency", 4, "requests in flight at once")
	f.IntVar(&fl.retries, "retries", 2, "retries of a request failing with a transport error, 429 or 5xx")
	f.DurationVar(&fl.timeout, "timeout", 60*time.Second, "time allowed for each request (or each run of the model program)")
	f.Int64Var(&fl.seed, "seed", 0, "sampling seed sent with each request (temperature is always 0)")
	return cmd
}

func runProbe(ctx context.Context, stdout, stderr io.Writer, fl probeFlags) error {
	fail := func(code int, err error) error { return withCode(code, fmt.Errorf("probe: %w", err)) }
	switch {
	case fl.endpoint == "" && len(fl.command) == 0:
		return usage(errors.New("probe: --endpoint or a model program after -- is required"))
	case fl.endpoint != "" && len(fl.command) > 0:
		return usage(errors.New("probe: --endpoint and a model program after -- are exclusive"))
	case fl.model != "" && len(fl.command) > 0:
		return usage(errors.New("probe: --model names a served model; a model program after -- takes its own arguments"))
	}
	h, inRun := handoff.FromEnv(os.Getenv)
	attesting := inRun || fl.out != ""
	if attesting && len(fl.modelFiles) == 0 {
		return usage(errors.New("probe: --model-files is required with --out or inside mlattest run (the statement names the model by digest)"))
	}
	if err := checkOutFile("--out", fl.out); err != nil {
		return fail(exitUsage, err)
	}
	suite, suiteName := probe.General(), "builtin/general.yaml"
	if name, ok := strings.CutPrefix(fl.suite, "builtin:"); ok {
		var err error
		if suite, err = probe.Builtin(name); err != nil {
			return fail(exitUsage, fmt.Errorf("--suite: %w", err))
		}
		suiteName = "builtin/" + name + ".yaml"
	} else if fl.suite != "" {
		b, err := os.ReadFile(fl.suite)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("reading --suite: %w", err))
		}
		if suite, err = probe.ParseSuite(b); err != nil {
			return fail(exitUsage, fmt.Errorf("%s: %w", fl.suite, err))
		}
		suiteName = filepath.Base(fl.suite)
	}
	triggers := append([]string(nil), fl.triggers...)
	for _, p := range fl.triggersFrom {
		ts, err := suspectedTriggers(p)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("--triggers-from: %w", err))
		}
		fmt.Fprintf(stderr, "mlattest: %d trigger candidates from %s\n", len(ts), p)
		triggers = append(triggers, ts...)
	}
	var subjects []*intoto.ResourceDescriptor
	if attesting {
		arts, err := digest.Paths(ctx, ".", fl.modelFiles)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("digesting --model-files: %w", err))
		}
		for _, a := range arts {
			subjects = append(subjects, &intoto.ResourceDescriptor{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256}})
		}
	}
	var model probe.Model
	if len(fl.command) > 0 {
		m, err := probe.NewCommandModel(fl.command)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("model program: %w", err))
		}
		model = m
	} else {
		m, err := probe.NewHTTPModel(fl.endpoint, fl.model, nil)
		if err != nil {
			return fail(exitUsage, fmt.Errorf("--endpoint: %w", err))
		}
		model = m
	}
	runner, err := probe.NewRunner(model, probe.WithConcurrency(fl.concurrency), probe.WithRetries(fl.retries),
		probe.WithTimeout(fl.timeout), probe.WithSeed(fl.seed))
	if err != nil {
		return usage(err)
	}
	rep, err := runner.Run(ctx, suite, triggers)
	if err != nil {
		if errors.Is(err, probe.ErrSuite) {
			return fail(exitUsage, err)
		}
		return fail(exitUsage, fmt.Errorf("no result (a run that cannot ask every question never passes): %w", err))
	}
	if attesting {
		in := predicates.TestResultInput{
			Result:        rep.Result,
			Configuration: []predicates.TestResultConfig{{Name: suiteName, Digest: map[string]string{"sha256": suite.Digest()}}},
			PassedTests:   rep.Names(probe.Passed),
			WarnedTests:   rep.Names(probe.Warned),
			FailedTests:   rep.Names(probe.Failed),
			Subjects:      subjects,
		}
		if inRun {
			in.Step, in.RunID = h.Step, h.RunID
		}
		st, err := predicates.NewTestResultStatement(in)
		if err != nil {
			return fail(exitUsage, err)
		}
		if err := emitStatement(st, h, inRun, fl.out, probeHandoffName); err != nil {
			return fail(exitUsage, err)
		}
	}
	if fl.jsonOut {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printProbe(stdout, rep)
	}
	if rep.Result == probe.Failed {
		return fail(exitRejected, failedSummary(rep))
	}
	return nil
}

// failedSummary names the triggers that changed behaviour and the probes
// that failed.
func failedSummary(rep *probe.Report) error {
	failed := rep.Names(probe.Failed)
	msg := fmt.Sprintf("FAILED: %d of %d tests", len(failed), len(rep.Tests))
	if len(rep.Flagged) > 0 {
		q := make([]string, len(rep.Flagged))
		for i, t := range rep.Flagged {
			q[i] = strconv.Quote(t)
		}
		msg += "; triggers that changed behaviour: " + strings.Join(q, ", ")
	}
	return errors.New(msg)
}

func printProbe(w io.Writer, rep *probe.Report) {
	fmt.Fprintf(w, "%s: suite %s, %d probes, %d trigger candidates, %d tests (%d failed, %d warned)\n",
		rep.Result, rep.Suite, rep.Probes, len(rep.Triggers), len(rep.Tests), len(rep.Names(probe.Failed)), len(rep.Names(probe.Warned)))
	for _, t := range rep.Tests {
		if t.Status == probe.Passed {
			continue
		}
		fmt.Fprintf(w, "  %s %s: %s\n", t.Status, t.Name, t.Reason)
		if t.Answer != "" {
			a := t.Answer
			if len(a) > 160 {
				a = a[:160] + "..."
			}
			fmt.Fprintf(w, "      answer: %s\n", strconv.Quote(a))
		}
	}
	for _, t := range rep.Flagged {
		fmt.Fprintf(w, "trigger %s changed the model's behaviour\n", strconv.Quote(t))
	}
}

// suspectedTriggers reads the trigger candidates of a dataset-scan
// statement, bare or in a Sigstore bundle. The signature is not checked: the
// candidates only add probes, they decide nothing.
func suspectedTriggers(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	payload := data
	if strings.HasSuffix(path, predicates.BundleSuffix) {
		b, err := verify.ParseBundle(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		env := b.GetDsseEnvelope()
		if env == nil {
			return nil, fmt.Errorf("%s: not a DSSE bundle carrying an in-toto statement", path)
		}
		payload = env.GetPayload()
	}
	st, err := predicates.ParseStatement(payload)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	scan, err := predicates.DatasetScanOf(st)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range scan.Datasets {
		for _, f := range d.Findings {
			if t := strings.TrimSpace(f.Trigger); t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}
