package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/audit"
	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/internal/version"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/registry"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/verify"
)

type verifyFlags struct {
	layout                     layoutFlags
	attestations, model, runID string
	json                       bool
	vsa                        string
	graph                      string
	sign                       signFlags // --trusted-root is shared: it is the verification root too
	classic                    classicFlags
}

func newVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify [oci://REGISTRY/REPO(:TAG|@sha256:DIGEST)] --layout FILE (--layout-identity[-regexp] X --layout-oidc-issuer[-regexp] Y | --layout-key PUB) [--attestations DIR --model PATH]",
		Short: "Verify a whole pipeline run against its owner's signed layout before release",
		Long: `verify checks that a model was produced by exactly the pipeline its owner
declared in a signed layout:

  1. the layout bundle (--layout-bundle, default LAYOUT.sigstore.json) is a
     signature over the exact layout bytes by the layout owner
     (--layout-identity/--layout-oidc-issuer, or --layout-key), checked before
     the layout is parsed; then its expiry and --layout-min-serial;
  2. every *.sigstore.json in --attestations verifies (signature, certificate
     chain, transparency log, timestamp) and is signed by a functionary of the
     layout; a bundle that does not verify fails the run, and unsigned
     statements left behind (*.UNSIGNED.intoto.json) fail it too;
  3. each statement's step and run id are read from its signed content, never
     from its file name; all statements must belong to one run (--run-id, or
     the one they share) and, where the certificate names the CI run
     (Fulcio's run invocation URI), to that run; a signed statement of a type
     its step does not evaluate (another _type or predicate type, compared
     exactly) fails, unless the layout's allowedExtraPredicates lists it: it
     is then reported as ignored and left out of the VSA;
  4. per step: only the step's functionaries count, the threshold counts
     distinct signer identities, their links agree, the recorded exit code
     is 0 (unless allowFailure), the command matches expectedCommand, the
     expected predicates are signed and pass their CEL expressions, and the
     artifact rules hold across steps;
  5. when the layout has a baseModels section, every base model a training
     provenance records is hf://ORG/NAME@COMMIT and exactly (file for file)
     a model the layout pins, or one a model-pin statement in --attestations
     signed by one of its pinSigners pins ('mlattest run --layout' keeps the
     pin bundles it checked there);
  6. the released model (--model: a file, or a directory of regular files
     only) is exactly the subject step's products.

A model in an OCI registry (oci://REGISTRY/REPO:TAG or @sha256:DIGEST, as
'mlattest push' wrote it) is verified in place: a tag is resolved to a
digest once and everything after reads by that digest; the attestations
are the model's Sigstore bundle referrers and the released files are the
manifest's layers (title annotation and digest), so no blob is downloaded.
The report says which digest, run and layout were judged, and lists the
VSAs attached by 'mlattest promote'. Registry credentials come from the
Docker config and its credential helpers.

Identity regexps must match the whole value (they are anchored).
Without --trusted-root ($MLATTEST_TRUSTED_ROOT) the Sigstore public-good
trusted root is fetched via TUF, and only when it is needed: for a keyless
layout owner, keyless functionaries, or a layout with requireTransparencyLog.

Air-gapped (key-only): when the layout owner (--layout-key) and every
functionary are keys, no trusted root is needed: only signatures are
checked, and a warning says once that no transparency log was checked.
With a trusted root, key-signed bundles that carry a log entry must verify
it; bundles signed offline (run --key --offline) count on their signature
alone and are listed, unless the layout sets requireTransparencyLog: true,
which fails them ("no transparency-log entry"). Keyless functionaries always
need a trusted root and a log entry.

Classic in-toto: --in-toto-layout root.layout --layout-key owner.pub --links DIR
verifies an in-toto v1 layout and its .link files with in-toto-golang's verifier
(layout signature and expiry, link signatures and thresholds, artifact rules);
layouts with inspections are refused (they would run commands here).

--vsa OUT writes a signed SLSA Verification Summary Attestation for the model
(result PASSED or FAILED: a signed record of a failure is useful too), listing
the layout and exactly the attestation bundles whose statements were
evaluated (not rejected, unexpected or ignored ones) by digest; it is signed with the
signing flags (--key, --identity-token…, --signing-config) as 'mlattest sign'
does, and verifies with 'mlattest verify-bundle --artifact MODEL-FILE'.

--graph FILE draws the run as judged, pass or fail, as FILE.svg and FILE.mmd
(Mermaid): the stages with their verified signers and verdicts, the artifacts
they read and wrote (short digests); failing stages and the artifacts their
failures name are red. Only evaluated statements are drawn (a rejected bundle
proves nothing). The exit status is the verdict's.

Exit status: 0 verified; 1 verification failed (every failure is printed with
its step, rule, artifact and reason; a malformed layout or bundle, and a
--model tree holding a symbolic link, FIFO, socket or device (model-tree),
are failures); 2 usage error or unreadable input (layout, layout bundle,
attestation directory, model, key, trusted root) or the VSA could not be
signed or written.`,
		Example: `  mlattest verify --layout layout.yaml \
    --layout-identity owner@example.com --layout-oidc-issuer https://accounts.google.com \
    --attestations attestations/ --model release/

  # Air-gapped: owner and functionaries are keys, everything signed offline:
  mlattest verify --layout layout.yaml --layout-key owner.pub \
    --attestations attestations/ --model release/

  # Refuse layouts older than serial 7, pin the run, emit JSON and a signed VSA:
  mlattest verify --layout layout.yaml --layout-bundle layout.yaml.sigstore.json \
    --layout-key owner.pub --layout-min-serial 7 \
    --attestations attestations/ --model release/ --run-id acme/finetune/1234-1 \
    --json --vsa model.vsa.sigstore.json --key vsa.key`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, args)
		},
	}
	fs := cmd.Flags()
	f.layout.register(fs, "the layout file, exactly as its owner signed it (required)")
	fs.StringVar(&f.attestations, "attestations", "", "directory of the run's attestation bundles (*.sigstore.json) (required)")
	fs.StringVar(&f.model, "model", "", "the released model: a file, or a directory of files (required)")
	fs.StringVar(&f.runID, "run-id", "", "the run to verify (default: the one run id all statements share)")
	fs.BoolVar(&f.json, "json", false, "print the report as one JSON object instead of text")
	fs.StringVar(&f.graph, "graph", "", "also draw the verified run as FILE.svg and FILE.mmd (Mermaid), pass or fail")
	fs.StringVar(&f.vsa, "vsa", "", "write a signed SLSA VSA v1 for the model to this file (must not exist)")
	f.sign.register(fs)
	f.classic.register(fs)
	fs.Lookup("trusted-root").Usage = "Sigstore trusted_root.json for verifying every bundle, and checking the VSA's (default: $" + envTrustedRoot + ", else the public-good root via TUF when needed; a key-only layout needs none)"
	return cmd
}

func (f *verifyFlags) run(cmd *cobra.Command, args []string) error {
	if f.classic.layout != "" || f.classic.links != "" {
		if len(args) > 0 {
			return usage(errors.New("--in-toto-layout takes no oci:// model"))
		}
		return f.classic.run(cmd, f)
	}
	required := []struct{ v, name string }{{f.layout.file, "--layout"}, {f.attestations, "--attestations"}, {f.model, "--model"}}
	var oci name.Reference
	if len(args) == 1 {
		// A model in a registry brings its attestations and file digests.
		if f.attestations != "" || f.model != "" {
			return usage(errors.New("an oci:// model takes its attestations and files from the registry: drop --attestations and --model"))
		}
		ref, err := registry.ParseReference(args[0])
		if err != nil {
			return usage(err)
		}
		oci, required = ref, required[:1]
	}
	for _, req := range required {
		if req.v == "" {
			return withCode(exitUsage, fmt.Errorf("%s is required", req.name))
		}
	}
	opts, err := f.layout.options()
	if err != nil {
		return withCode(exitUsage, err)
	}
	stderr := cmd.ErrOrStderr()
	opts.AttestationsDir, opts.Model, opts.RunID = f.attestations, f.model, f.runID
	opts.Progress = stderr
	if err := setTrustedRoot(&opts, orEnv(f.sign.trustedRoot, envTrustedRoot)); err != nil {
		return withCode(exitUsage, err)
	}

	// The VSA signer is checked before verifying, so a missing token or key
	// is reported before any work, and an existing output is not overwritten.
	var signer *sign.Signer
	if f.vsa != "" {
		if _, err := os.Lstat(f.vsa); err == nil {
			return withCode(exitUsage, fmt.Errorf("--vsa %s: file exists", f.vsa))
		}
		if err := checkOutFile("--vsa", f.vsa); err != nil {
			return withCode(exitUsage, err)
		}
		if signer, err = f.sign.signer(stderr); err != nil {
			return withCode(exitUsage, fmt.Errorf("--vsa: %w", err))
		}
	}
	if f.graph != "" {
		if err := checkGraphOut("--graph", f.graph); err != nil {
			return withCode(exitUsage, err)
		}
	}
	if f.layout.insecureUnsigned {
		fmt.Fprintln(stderr, "mlattest: warning: --insecure-unsigned-layout: the layout's signature is NOT checked")
	}

	var (
		rep *gate.Report
		v   *registry.Verified
	)
	if oci != nil {
		if v, err = verifyOCI(cmd, oci, opts); err == nil {
			rep = v.Report
		}
	} else {
		rep, err = gate.VerifyLayout(cmd.Context(), opts)
	}
	var code *exitError
	if errors.As(err, &code) {
		return err
	}
	if errors.Is(err, gate.ErrNoTrustedRoot) {
		return withCode(exitUsage, fmt.Errorf("%w (give --trusted-root)", err))
	}
	if err != nil {
		return withCode(exitUsage, err)
	}
	if t := rep.TransparencyLog; t != nil && t.Notice != "" {
		fmt.Fprintf(stderr, "mlattest: warning: %s\n", t.Notice)
	}

	var vsaErr error
	if signer != nil {
		vsaErr = writeVSA(cmd.Context(), f.vsa, signer, rep, time.Now())
	}
	if err := writeReport(cmd.OutOrStdout(), f.json, rep, v); err != nil {
		return err
	}
	writeFlagHints(stderr, rep.Failures)
	if f.graph != "" {
		if err := writeVerifyGraph(stderr, f.graph, rep, v, f.attestations); err != nil {
			return withCode(exitUsage, fmt.Errorf("--graph %s: %w", f.graph, err))
		}
	}
	if vsaErr != nil {
		return withCode(exitUsage, fmt.Errorf("--vsa %s: %w", f.vsa, vsaErr))
	}
	if signer != nil {
		fmt.Fprintf(stderr, "mlattest: wrote the signed VSA (%s) to %s\n", vsaResult(rep), f.vsa)
	}
	if !rep.Passed {
		return withCode(exitRejected, fmt.Errorf("verification FAILED: %d failure(s)", len(rep.Failures)))
	}
	return nil
}

// writeVerifyGraph draws the run the report judged (audit.VerifiedGraph),
// reading its evaluated bundles from dir or, for a model in a registry, from
// the referrers v holds.
func writeVerifyGraph(stderr io.Writer, out string, rep *gate.Report, v *registry.Verified, dir string) error {
	read := func(file string) ([]byte, error) {
		return fsutil.ReadFileMax(filepath.Join(dir, file), verify.MaxBundleSize)
	}
	if v != nil {
		read = func(file string) ([]byte, error) {
			if data, ok := v.BundleData[file]; ok {
				return data, nil
			}
			return nil, os.ErrNotExist
		}
	}
	recs, err := audit.LoadVerifiedRun(rep, read)
	if err != nil {
		return err
	}
	g := audit.VerifiedGraph(recs, rep)
	if err := writeGraph(out, g); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mlattest: wrote %s.svg and %s.mmd (%d stages, %d artifacts)\n", out, out, len(g.Steps), len(g.Artifacts))
	return nil
}

// failureFlagHints are the flags that answer a failure code; the library's
// reasons name options, not flags.
var failureFlagHints = map[gate.FailureCode]string{
	gate.FailRunIDAmbiguous: "name the run to verify with --run-id",
	gate.FailLayoutUnsigned: "sign the layout (mlattest layout sign), give its bundle with --layout-bundle, or, for testing only, pass --insecure-unsigned-layout",
}

// writeFlagHints writes one hint line per failure code that has one.
func writeFlagHints(w io.Writer, failures []gate.Failure) {
	codes := make([]gate.FailureCode, 0, len(failures))
	for _, f := range failures {
		codes = append(codes, f.Code)
	}
	writeHints(w, failureFlagHints, codes)
}

// writeHints writes hints[code] once for each code that has a hint, in the
// order the codes first appear.
func writeHints[C comparable](w io.Writer, hints map[C]string, codes []C) {
	seen := map[C]bool{}
	for _, c := range codes {
		if h, ok := hints[c]; ok && !seen[c] {
			seen[c] = true
			fmt.Fprintf(w, "mlattest: hint: %s\n", h)
		}
	}
}

func vsaResult(rep *gate.Report) string {
	if rep.Passed {
		return "PASSED"
	}
	return "FAILED"
}

// vsaVerifierID is the VSA's verifier.id.
const vsaVerifierID = "https://mlattest.dev/verify/v1"

// writeVSA signs a SLSA VSA v1 about the released model files and writes it
// atomically to out. It records the result whether verification passed or
// failed: a signed record of a failure is useful too.
func writeVSA(ctx context.Context, out string, signer *sign.Signer, rep *gate.Report, now time.Time) error {
	// The subjects are the digests the verdict rests on, taken from the
	// report: hashing the model again here could describe other bytes.
	m := rep.Model
	if m == nil {
		return errors.New("the verification report holds no model digests")
	}
	in := predicates.VSAInput{
		Verifier:        vsaVerifierID,
		VerifierVersion: version.Get().Map(),
		TimeVerified:    now,
		ResourceURI:     m.Path,
		PolicyURI:       filepath.Base(rep.Layout.File),
		PolicyDigest:    rep.Layout.SHA256,
		PolicySerial:    rep.Layout.Serial,
		Result:          predicates.VSAFailed,
		// A file named so that no statement may carry its name has
		// already failed verification (artifact-name); the FAILED VSA
		// lists the files it can name.
		Subjects: slices.DeleteFunc(slices.Clone(m.Files), func(a digest.Artifact) bool { return predicates.CheckPathName(a.Name) != nil }),
		RunID:    rep.RunID,
	}
	if rep.Passed {
		in.Result = predicates.VSAPassed
	}
	if predicates.CheckRunID(in.RunID) != nil {
		in.RunID = "" // an unusable run id is a verification failure already
	}
	in.InputAttestations = rep.EvaluatedAttestations()
	for _, b := range rep.Bundles {
		if b.Evaluated && !b.Logged {
			in.Unlogged = append(in.Unlogged, b.File)
		}
	}
	st, err := predicates.NewVSAStatement(in)
	if err != nil {
		return err
	}
	payload, err := predicates.Marshal(st)
	if err != nil {
		return err
	}
	pb, err := signer.SignStatement(ctx, payload)
	if err != nil {
		return err
	}
	return sign.WriteBundle(out, pb)
}
