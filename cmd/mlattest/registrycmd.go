package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/registry"
)

// registryClient is the client every registry command uses: credentials
// from the default keychain (Docker config, credential helpers), never
// from flags; a progress bar on a terminal.
func registryClient(stderr io.Writer) (*registry.Client, error) {
	return registry.New(registry.WithProgress(stderr))
}

// registryError is a registry failure as one line (exit 2: the input could
// not be read), or exit 1 when what the registry holds is not a model.
func registryError(err error) error {
	if err == nil {
		return nil
	}
	code := exitUsage
	if errors.Is(err, registry.ErrNotModel) || errors.Is(err, registry.ErrNotAdmitted) || errors.Is(err, registry.ErrBlobMismatch) {
		code = exitRejected
	}
	return withCode(code, errors.New(strings.Join(strings.Fields(err.Error()), " ")))
}

func newPushCmd() *cobra.Command {
	var (
		attestations   string
		modelSignature string
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "push DIR oci://REGISTRY/REPO:TAG --attestations DIR",
		Short: "Push a model to an OCI registry with its attestations attached as referrers",
		Long: `push uploads every file under DIR as one layer of a CNCF ModelPack artifact
(artifactType application/vnd.cncf.model.manifest.v1+json; weights as
application/vnd.cncf.model.weight.v1.raw, other files as weight-config, doc
or code raw layers; the file's path in the org.opencontainers.image.title
annotation), streamed from disk, then attaches each bundle in --attestations
(*.sigstore.json; *.dsse.json envelopes as the Sigstore bundles verify makes
of them) as an OCI 1.1 referrer of the model manifest (the referrers tag
schema where the registry has no referrers API).

The tag is written last: blobs, the manifest by digest and the referrers
come first, so the tag never names a model whose files or attestations are
missing. Failed requests (5xx, reset connections) are retried with backoff;
an interrupted push is completed by running it again, which sends only what
is missing (the same files always make the same manifest digest).

An OpenSSF model signature (--model-signature FILE, by default DIR/model.sig
when it exists) is attached as a referrer of its own artifact type
(application/vnd.dev.mlattest.model-signature.v1+json) and is not pushed as
a model file; it must sign exactly the files pushed. verify and pull read it
when a layout step expects one; pull then writes it as DIR/model.sig.

Registry credentials come from the Docker config and its credential helpers.

Exit status: 0 pushed; 2 unreadable input or the registry failed.`,
		Example: `  mlattest push release/ oci://127.0.0.1:47541/acme/model:v1 --attestations att/`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attestations == "" {
				return usage(errors.New("--attestations is required (the run's bundles: a model without them cannot be verified)"))
			}
			tag, err := registry.ParseTag(args[1])
			if err != nil {
				return usage(err)
			}
			bundles, err := filepath.Glob(filepath.Join(attestations, "*"+predicates.BundleSuffix))
			if err != nil {
				return withCode(exitUsage, err)
			}
			// Bare DSSE envelopes (witness) travel as the bundles the gate
			// makes of them.
			envelopes, err := filepath.Glob(filepath.Join(attestations, "*"+predicates.EnvelopeSuffix))
			if err != nil {
				return withCode(exitUsage, err)
			}
			bundles = append(bundles, envelopes...)
			if st, err := os.Stat(attestations); err != nil || !st.IsDir() {
				return withCode(exitUsage, fmt.Errorf("--attestations %s: not a directory", attestations))
			}
			if len(bundles) == 0 {
				return withCode(exitUsage, fmt.Errorf("--attestations %s: no *%s files", attestations, predicates.BundleSuffix))
			}
			c, err := registryClient(cmd.ErrOrStderr())
			if err != nil {
				return withCode(exitUsage, err)
			}
			sig := modelSignature
			if !cmd.Flags().Changed("model-signature") {
				// The format's default place, when there is one.
				if def := filepath.Join(args[0], modelsig.DefaultSignatureName); fileExists(def) {
					sig = def
				}
			}
			var popts []registry.PushOption
			if sig != "" {
				popts = append(popts, registry.WithModelSignature(sig))
			}
			p, err := c.Push(cmd.Context(), args[0], tag, bundles, popts...)
			if err != nil {
				return registryError(err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), p)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed %s@%s: %d file(s), %d attestation(s)\n", p.Ref, p.Digest, len(p.Files), len(p.Referrers))
			return nil
		},
	}
	cmd.Flags().StringVar(&attestations, "attestations", "", "directory of the run's bundles (*.sigstore.json) to attach (required)")
	cmd.Flags().StringVar(&modelSignature, "model-signature", "", "OpenSSF model signature to attach (default: DIR/"+modelsig.DefaultSignatureName+" when it exists; an empty value attaches none)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was pushed as one JSON object")
	return cmd
}

// fileExists reports whether path names a regular file (following links).
func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// gateFlags are the flags of the commands that run the release gate on a
// model in a registry (pull, promote, rollback).
type gateFlags struct {
	layout      layoutFlags
	trustedRoot string
	runID       string
	json        bool
}

func (f *gateFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	f.layout.register(fs, "the layout file, exactly as its owner signed it (required)")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json for verifying every bundle (default: $"+envTrustedRoot+", else the public-good root via TUF when needed)")
	fs.StringVar(&f.runID, "run-id", "", "the run to verify (default: the one run id all statements share)")
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON object")
}

func (f *gateFlags) options(stderr io.Writer) (gate.LayoutOptions, error) {
	if f.layout.file == "" {
		return gate.LayoutOptions{}, usage(errors.New("--layout is required"))
	}
	opts, err := f.layout.options()
	if err != nil {
		return opts, usage(err)
	}
	opts.RunID = f.runID
	if err := setTrustedRoot(&opts, orEnv(f.trustedRoot, envTrustedRoot)); err != nil {
		return opts, withCode(exitUsage, err)
	}
	if f.layout.insecureUnsigned {
		fmt.Fprintln(stderr, "mlattest: warning: --insecure-unsigned-layout: the layout's signature is NOT checked")
	}
	return opts, nil
}

// verifyOCI runs the gate on a model in a registry.
func verifyOCI(cmd *cobra.Command, ref name.Reference, opts gate.LayoutOptions) (*registry.Verified, error) {
	c, err := registryClient(cmd.ErrOrStderr())
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	v, err := c.Verify(cmd.Context(), ref, opts)
	if err != nil && !errors.Is(err, gate.ErrNoTrustedRoot) {
		return nil, registryError(err)
	}
	return v, err
}

// ociReport is the JSON of a registry command's verdict.
type ociReport struct {
	Model        ociModel            `json:"model"`
	Attestations []registry.Referrer `json:"attestations"`
	VSAs         []registry.Referrer `json:"vsas"`
	// ModelSignatures are the OMS signature referrers; ignored says why
	// the gate did not read them.
	ModelSignatures        []registry.Referrer `json:"modelSignatures"`
	ModelSignaturesIgnored string              `json:"modelSignaturesIgnored,omitempty"`
	Report                 *gate.Report        `json:"report"`
	Pulled                 string              `json:"pulled,omitempty"`
}

type ociModel struct {
	Ref    string          `json:"ref"`  // by digest
	From   string          `json:"from"` // as given
	Digest string          `json:"digest"`
	Files  []registry.File `json:"files"`
}

func newOCIReport(v *registry.Verified) ociReport {
	return ociReport{
		Model:        ociModel{Ref: registry.String(v.Model.Ref), From: registry.String(v.Model.From), Digest: v.Model.Digest(), Files: v.Model.Files},
		Attestations: v.Attestations, VSAs: v.VSAs, Report: v.Report,
		ModelSignatures: v.ModelSignatures, ModelSignaturesIgnored: v.ModelSignaturesIgnored,
	}
}

// writeReport prints the verdict: for a registry model, first which digest
// was judged, which run and which layout admitted it, and the VSAs.
func writeReport(w io.Writer, asJSON bool, rep *gate.Report, v *registry.Verified) error {
	if asJSON {
		if v != nil {
			return writeJSON(w, newOCIReport(v))
		}
		return writeJSON(w, rep)
	}
	if v != nil {
		writeOCIHeader(w, v)
	}
	if err := rep.WriteText(w); err != nil {
		return withCode(exitUsage, err)
	}
	return nil
}

func writeOCIHeader(w io.Writer, v *registry.Verified) {
	fmt.Fprintf(w, "model:   %s\n", registry.String(v.Model.Ref))
	if _, byTag := v.Model.From.(name.Tag); byTag {
		fmt.Fprintf(w, "         (resolved once from %s)\n", registry.String(v.Model.From))
	}
	rep := v.Report
	verdict := "REFUSED"
	if rep.Passed {
		verdict = "ADMITTED"
	}
	run := rep.RunID
	if run == "" {
		run = "(none)"
	}
	fmt.Fprintf(w, "%s by run %s, layout %s (sha256:%s), %d attestation referrer(s)\n", verdict, run, filepath.Base(rep.Layout.File), rep.Layout.SHA256, len(v.Attestations))
	for _, s := range v.VSAs {
		fmt.Fprintf(w, "VSA:     %s (%s)\n", s.Digest, s.Title)
	}
	for _, s := range v.ModelSignatures {
		if v.ModelSignaturesIgnored != "" {
			fmt.Fprintf(w, "model signature: %s (not evaluated: %s)\n", s.Digest, v.ModelSignaturesIgnored)
		} else {
			fmt.Fprintf(w, "model signature: %s (%s)\n", s.Digest, s.Title)
		}
	}
}

func newPullCmd() *cobra.Command {
	var f gateFlags
	cmd := &cobra.Command{
		Use:   "pull oci://REGISTRY/REPO(:TAG|@sha256:DIGEST) DIR --layout FILE (--layout-identity X --layout-oidc-issuer Y | --layout-key PUB)",
		Short: "Verify a model in an OCI registry against its layout, then download it",
		Long: `pull first verifies the model exactly as 'mlattest verify oci://…' does (a tag
is resolved to a digest once; attestations from the referrers; file digests
from the manifest), and downloads nothing unless it passes. It then
downloads only the blobs whose digests the verified verdict names, each
hashed while it is written, into a staging directory beside DIR that is
renamed to DIR once every file is complete: DIR appears whole or not at all.
DIR must not exist, or be an empty directory.

Exit status: 0 verified and pulled; 1 verification failed, or a blob did
not match its digest (nothing written); 2 usage error, unreadable input, or
the registry failed.`,
		Example: `  mlattest pull oci://127.0.0.1:47541/acme/model:v1 release/ \
    --layout layout.yaml --layout-key owner.pub`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := registry.ParseReference(args[0])
			if err != nil {
				return usage(err)
			}
			stderr := cmd.ErrOrStderr()
			opts, err := f.options(stderr)
			if err != nil {
				return err
			}
			c, err := registryClient(stderr)
			if err != nil {
				return withCode(exitUsage, err)
			}
			v, err := c.Pull(cmd.Context(), ref, args[1], opts)
			if v == nil {
				if errors.Is(err, gate.ErrNoTrustedRoot) {
					return withCode(exitUsage, fmt.Errorf("%w (give --trusted-root)", err))
				}
				return registryError(err)
			}
			pulled := ""
			if err == nil && v.Report.Passed {
				pulled = args[1]
			}
			if f.json {
				r := newOCIReport(v)
				r.Pulled = pulled
				if werr := writeJSON(cmd.OutOrStdout(), r); werr != nil {
					return werr
				}
			} else if werr := writeReport(cmd.OutOrStdout(), false, v.Report, v); werr != nil {
				return werr
			}
			writeFlagHints(stderr, v.Report.Failures)
			if !v.Report.Passed {
				return withCode(exitRejected, fmt.Errorf("verification FAILED: %d failure(s); nothing pulled", len(v.Report.Failures)))
			}
			if err != nil {
				// A blob that does not match the digest the verdict
				// admitted is a refusal, not an unreadable input.
				return registryError(err)
			}
			if !f.json {
				fmt.Fprintf(cmd.OutOrStdout(), "pulled %d file(s) into %s\n", len(v.Model.Files), args[1])
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
