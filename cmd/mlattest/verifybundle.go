package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/trust"
	"github.com/mlattest/mlattest/verify"
)

// keyOnlyWarning is said whenever a key verifies without a trusted root, so
// nobody mistakes a bare signature check for a logged, timestamped one.
const keyOnlyWarning = "key-only verification: no transparency log entry and no timestamp were checked (pass --trusted-root to require them)"

type verifyBundleFlags struct {
	bundle, artifact, digest, key, trustedRoot string
	id                                         identityFlags
	json                                       bool
	predicateType                              string   // --type as given
	wantTypes                                  []string // the predicate type URIs it accepts
}

// predicateTypeNames are --type's short names: cosign's (verify-attestation
// --type) and mlattest's own statements. "link" also accepts what mlattest
// writes (link v0.3) besides cosign's in-toto 0.9 Link/v1.
var predicateTypeNames = map[string][]string{
	"slsaprovenance":   {"https://slsa.dev/provenance/v0.2"},
	"slsaprovenance02": {"https://slsa.dev/provenance/v0.2"},
	"slsaprovenance1":  {predicates.ProvenanceV1},
	"link":             {predicates.LinkV03, "https://in-toto.io/Link/v1"},
	"spdx":             {"https://spdx.dev/Document"},
	"spdxjson":         {"https://spdx.dev/Document"},
	"cyclonedx":        {"https://cyclonedx.org/bom"},
	"vuln":             {"https://cosign.sigstore.dev/attestation/vuln/v1"},
	"openvex":          {"https://openvex.dev/ns"},
	"custom":           {"https://cosign.sigstore.dev/attestation/v1"},
	"model-scan":       {predicates.ModelScanV1},
	"dataset-scan":     {predicates.DatasetScanV1},
	"model-pin":        {predicates.ModelPinV1},
	"vsa":              {predicates.VSAV1},
	"test-result":      {predicates.TestResultV01},
}

// parsePredicateType reads --type: a short name or an absolute URI.
func parsePredicateType(t string) ([]string, error) {
	if uris, ok := predicateTypeNames[t]; ok {
		return uris, nil
	}
	if u, err := url.ParseRequestURI(t); err == nil && u.Scheme != "" {
		return []string{t}, nil
	}
	names := make([]string, 0, len(predicateTypeNames))
	for n := range predicateTypeNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("--type %q: want a predicate type URI or one of %s", t, strings.Join(names, ", "))
}

func newVerifyBundleCmd() *cobra.Command {
	var f verifyBundleFlags
	cmd := &cobra.Command{
		Use:   "verify-bundle --bundle FILE (--artifact FILE | --digest sha256:HEX) (--key PUB.pem | --certificate-identity[-regexp] X --certificate-oidc-issuer[-regexp] Y)",
		Short: "Verify one Sigstore bundle (message signature or DSSE statement)",
		Long: `verify-bundle checks one Sigstore bundle: the signature over the artifact or the
DSSE payload, the signer (Fulcio certificate identity, or --key), at least one
transparency-log entry and at least one verified timestamp (the log's integrated
time or an RFC 3161 timestamp), and SCTs when the trusted root lists CT logs.
For a DSSE in-toto statement, the artifact's SHA-256 must be one of the
statement's subjects; the predicate type and subjects are printed.
A FILE ending in .dsse.json is a bare DSSE envelope (as witness writes one),
verified as the Sigstore bundle holding it.

--type checks the statement's predicate type, as cosign verify-attestation
--type does: a URI, or one of slsaprovenance (SLSA v0.2), slsaprovenance1
(SLSA v1), link, spdx, spdxjson, cyclonedx, vuln, openvex, custom (cosign's
names), model-scan, dataset-scan, model-pin, vsa (mlattest's). A bundle of
another type, or a message signature, is rejected.

Identity regexps must match the whole value (they are anchored).
Without --trusted-root the Sigstore public-good trusted root is fetched via
TUF. --key without --trusted-root checks the signature only (offline bundles);
--key with --trusted-root also requires a log entry, so a bundle signed
offline is rejected "no transparency-log entry: bundle signed offline" (after
its signature verified). 'mlattest verify' applies the same checks per
bundle, as the layout says (requireTransparencyLog).

Exit status: 0 verified; 1 rejected (the reason is printed; a malformed bundle
is rejected too); 2 usage error or unreadable input (bundle, artifact, key or
trusted root file).`,
		Example: `  mlattest verify-bundle --bundle att/train.provenance.sigstore.json \
    --artifact model/model.safetensors \
    --certificate-identity https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com

  mlattest verify-bundle --bundle clean.link.sigstore.json --digest sha256:… --key cosign.pub`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.bundle, "bundle", "", "the Sigstore bundle JSON file (required)")
	fs.StringVar(&f.artifact, "artifact", "", "the signed file; for DSSE, a file whose SHA-256 must be a statement subject")
	fs.StringVar(&f.digest, "digest", "", "the artifact's digest instead of the file, as sha256:HEX")
	fs.StringVar(&f.key, "key", "", "verify with this PEM public key instead of a certificate identity")
	f.id.register(fs, "certificate", "expected")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "trusted_root.json (default: $"+envTrustedRoot+", else Sigstore public-good via TUF; with --key: none)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object instead of text")
	fs.StringVar(&f.predicateType, "type", "", "required predicate type: a URI or a short name such as slsaprovenance1, link, vuln, custom (see above)")
	return cmd
}

// check validates flag combinations; every failure is a usage error.
func (f *verifyBundleFlags) check() (verify.Artifact, *verify.Identity, error) {
	if f.bundle == "" {
		return verify.Artifact{}, nil, errors.New("--bundle is required")
	}
	if f.predicateType != "" {
		uris, err := parsePredicateType(f.predicateType)
		if err != nil {
			return verify.Artifact{}, nil, err
		}
		f.wantTypes = uris
	}
	var art verify.Artifact
	switch {
	case f.artifact != "" && f.digest != "":
		return art, nil, errors.New("give --artifact or --digest, not both")
	case f.artifact != "":
		art = verify.ArtifactFile(f.artifact)
	case f.digest != "":
		a, err := verify.ParseArtifactDigest(f.digest)
		if err != nil {
			return art, nil, fmt.Errorf("--digest: %w", err)
		}
		art = a
	default:
		return art, nil, errors.New("one of --artifact FILE or --digest sha256:HEX is required " +
			"(for a DSSE bundle: the file, or its digest, that must be one of the statement's subjects)")
	}
	if f.key != "" {
		if f.id.given() {
			return art, nil, fmt.Errorf("--key cannot be combined with %s flags", f.id.names())
		}
		return art, nil, nil
	}
	if !f.id.given() {
		return art, nil, fmt.Errorf("give --key, or --certificate-identity (or --certificate-identity-regexp) with --certificate-oidc-issuer (or --certificate-oidc-issuer-regexp)")
	}
	id, err := f.id.identity()
	if err != nil {
		return art, nil, err
	}
	return art, id, nil
}

func (f *verifyBundleFlags) run(cmd *cobra.Command) error {
	art, id, err := f.check()
	if err != nil {
		return usage(err)
	}
	var opts []verify.Option
	var keyID string
	if f.key != "" {
		pub, err := trust.LoadPublicKey(f.key)
		if err != nil {
			return withCode(exitUsage, err)
		}
		if keyID, err = trust.KeyID(pub); err != nil {
			return withCode(exitUsage, fmt.Errorf("key %s: %w", f.key, err))
		}
		opts = append(opts, verify.WithKey(pub))
	}
	// $MLATTEST_TRUSTED_ROOT stands in for --trusted-root for keyless
	// bundles only: with --key, a trusted root changes what is required
	// (log and time), so it must be asked for explicitly.
	switch {
	case f.trustedRoot != "":
		opts = append(opts, verify.WithTrustedRootFile(f.trustedRoot))
	case f.key == "" && os.Getenv(envTrustedRoot) != "":
		opts = append(opts, verify.WithTrustedRootFile(os.Getenv(envTrustedRoot)))
	case f.key == "":
		tr, err := loadTrustedRoot("")
		if err != nil {
			return withCode(exitUsage, err)
		}
		opts = append(opts, verify.WithTrustedRoot(tr))
	}
	v, err := verify.New(opts...)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if v.KeyOnly() {
		fmt.Fprintf(cmd.ErrOrStderr(), "mlattest: warning: %s\n", keyOnlyWarning)
	}

	res, err := f.verify(cmd, v, art, id)
	if err == nil {
		err = f.checkType(res)
	}
	if err != nil {
		if !errors.Is(err, verify.ErrRejected) {
			return withCode(exitUsage, err)
		}
		if f.json {
			writeJSON(cmd.OutOrStdout(), map[string]any{
				"bundle": f.bundle, "verified": false, "stage": verify.StageOf(err), "reason": err.Error(),
			})
		}
		return withCode(exitRejected, f.rejection(err, keyID))
	}
	if f.json {
		return writeJSON(cmd.OutOrStdout(), f.jsonReport(res, art))
	}
	f.printText(cmd.OutOrStdout(), res, art)
	return nil
}

// checkType rejects a verified bundle whose predicate type --type excludes.
func (f *verifyBundleFlags) checkType(res *verify.Result) error {
	switch {
	case f.wantTypes == nil:
		return nil
	case res.Statement == nil:
		return &verify.RejectionError{Stage: stageType, Err: fmt.Errorf("a message signature, not an attestation of type %s", f.predicateType)}
	case !slices.Contains(f.wantTypes, res.Statement.GetPredicateType()):
		return &verify.RejectionError{Stage: stageType, Err: fmt.Errorf("predicate type is %s, not %s", res.Statement.GetPredicateType(), strings.Join(f.wantTypes, " or "))}
	}
	return nil
}

// stageType is the rejection stage of a bundle that verifies but is not of
// the type --type asks for.
const stageType verify.Stage = "type"

func (f *verifyBundleFlags) verify(cmd *cobra.Command, v *verify.Verifier, art verify.Artifact, id *verify.Identity) (*verify.Result, error) {
	load := verify.LoadBundle
	if strings.HasSuffix(f.bundle, predicates.EnvelopeSuffix) {
		load = verify.LoadEnvelope // a bare DSSE envelope (witness)
	}
	b, err := load(f.bundle)
	if err != nil {
		return nil, err
	}
	if id == nil {
		return v.Verify(cmd.Context(), b, art)
	}
	return v.Verify(cmd.Context(), b, art, *id)
}

// rejection says why the bundle was rejected in the user's terms: a
// malformed file by its name, a key that did not sign it by its file and id.
func (f *verifyBundleFlags) rejection(err error, keyID string) error {
	var re *verify.RejectionError
	if errors.As(err, &re) {
		switch {
		case re.Stage == verify.StageBundle:
			return fmt.Errorf("bundle %s: rejected: %w", f.bundle, re.Err)
		case re.Stage == verify.StageSignature && f.key != "":
			return fmt.Errorf("%s: rejected: signature does not match key %s (%s)", f.bundle, f.key, keyID)
		}
	}
	return fmt.Errorf("%s: rejected: %w", f.bundle, stripBundlePrefix(err, f.bundle))
}

// stripBundlePrefix avoids naming the bundle twice in one message
// (LoadBundle's errors already name it).
func stripBundlePrefix(err error, path string) error {
	msg := err.Error()
	if p := "bundle " + path + ": "; strings.HasPrefix(msg, p) {
		return errors.New(strings.TrimPrefix(msg, p))
	}
	return err
}

func (f *verifyBundleFlags) printText(w io.Writer, res *verify.Result, art verify.Artifact) {
	fmt.Fprintf(w, "Verified: %s\n", f.bundle)
	if res.Signer.Subject != "" {
		fmt.Fprintf(w, "  signer:      %s\n", res.Signer.Subject)
		fmt.Fprintf(w, "  issuer:      %s\n", res.Signer.Issuer)
		for _, kv := range notableExtensions(res) {
			fmt.Fprintf(w, "  %-12s %s\n", kv[0]+":", kv[1])
		}
	} else {
		fmt.Fprintf(w, "  signer key:  %s\n", res.Signer.KeyID)
	}
	if res.Statement != nil {
		fmt.Fprintf(w, "  payload:     %s\n", res.PayloadType)
		fmt.Fprintf(w, "  predicate:   %s\n", res.Statement.GetPredicateType())
		fmt.Fprintf(w, "  subjects:\n")
		for _, s := range res.Statement.GetSubject() {
			fmt.Fprintf(w, "    %s  %s\n", s.GetName(), digestString(s.GetDigest()))
		}
	} else {
		fmt.Fprintf(w, "  artifact:    %s (message signature)\n", art)
	}
	if res.KeyOnly {
		fmt.Fprintf(w, "  log, time:   not checked (key-only)\n")
		return
	}
	fmt.Fprintf(w, "  log entries: %d\n", res.LogEntries)
	for _, ts := range res.Timestamps {
		fmt.Fprintf(w, "  timestamp:   %s (%s %s)\n", ts.Time.Format("2006-01-02T15:04:05Z07:00"), ts.Kind, ts.URI)
	}
}

// notableExtensions are the Fulcio extensions a reader checks first.
func notableExtensions(res *verify.Result) [][2]string {
	e := res.Signer.Extensions
	var out [][2]string
	for _, kv := range [][2]string{
		{"workflow", e.BuildSignerURI},
		{"repository", e.SourceRepositoryURI},
		{"commit", e.SourceRepositoryDigest},
		{"ref", e.SourceRepositoryRef},
		{"run", e.RunInvocationURI},
	} {
		if kv[1] != "" {
			out = append(out, kv)
		}
	}
	return out
}

func digestString(d map[string]string) string {
	if v, ok := d["sha256"]; ok {
		return "sha256:" + v
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+":"+d[k])
	}
	return strings.Join(parts, " ")
}

type jsonSubject struct {
	Name   string            `json:"name,omitempty"`
	Digest map[string]string `json:"digest"`
}

func (f *verifyBundleFlags) jsonReport(res *verify.Result, art verify.Artifact) map[string]any {
	out := map[string]any{
		"bundle":     f.bundle,
		"verified":   true,
		"signer":     res.Signer,
		"keyOnly":    res.KeyOnly,
		"logEntries": res.LogEntries,
		"timestamps": nonNil(res.Timestamps),
		"artifact":   art.String(),
	}
	if res.KeyOnly {
		out["warning"] = keyOnlyWarning
	}
	if res.Statement != nil {
		out["payloadType"] = res.PayloadType
		out["predicateType"] = res.Statement.GetPredicateType()
		subjects := []jsonSubject{}
		for _, s := range res.Statement.GetSubject() {
			subjects = append(subjects, jsonSubject{Name: s.GetName(), Digest: s.GetDigest()})
		}
		out["subjects"] = subjects
		if raw, err := protojson.Marshal(res.Statement); err == nil {
			out["statement"] = json.RawMessage(raw)
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return withCode(exitUsage, err)
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}
