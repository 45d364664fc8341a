// Package verify checks Sigstore bundles (message signatures and DSSE
// envelopes carrying in-toto statements) against a trusted root and an
// expected signer, using sigstore-go. It is the base of layout verification:
// a Verifier is immutable after New and safe for concurrent use.
//
// Policy, the one sigstore-go's own conformance client applies:
//   - at least one entry from a transparency log of the trusted root;
//   - at least one verified observer timestamp: a log's integrated time
//     (Rekor v1 SET) or an RFC 3161 timestamp from a trusted TSA (Rekor v2
//     has no integrated time, so there the TSA is what makes it pass); when
//     the bundle carries RFC 3161 timestamps and the root lists TSAs, at
//     least one of them must verify;
//   - SCTs are required exactly when the trusted root lists CT logs;
//   - with a key, the same log and timestamp rules apply, the key replacing
//     the certificate; with a key and no trusted root (WithKey alone) only
//     the signature is checked and Result.KeyOnly says so;
//   - a key-signed bundle with no log entry at all (signed offline) is
//     checked for its signature first, so a wrong key or a changed payload
//     is reported as such, and then rejected with ErrNoLogEntry, unless
//     WithOptionalLogForKeys accepts it on its signature alone.
package verify

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/proto"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/trust"
)

// Verifier verifies bundles against fixed trust material. Create it with New.
type Verifier struct {
	trusted root.TrustedMaterial // the trusted root; nil in key-only mode
	key     crypto.PublicKey
	keyID   string
	// material is what sigstore-go verifies against: the trusted root, the
	// key, or both.
	material root.TrustedMaterial
	// sigOnly checks the signature alone: the key-only Verifier a key and
	// a trusted root fall back to for bundles without a log entry.
	sigOnly     *Verifier
	logOptional bool
}

// ErrNoLogEntry is why a key-signed bundle without any transparency-log
// entry is rejected when a log entry is required. Its signature verified.
var ErrNoLogEntry = errors.New("no transparency-log entry: bundle signed offline")

// Option configures a Verifier.
type Option func(*config) error

type config struct {
	trusted     root.TrustedMaterial
	key         crypto.PublicKey
	logOptional bool
}

// WithTrustedRoot sets the trust root (Fulcio CAs, logs, TSAs, CT logs).
func WithTrustedRoot(tm root.TrustedMaterial) Option {
	return func(c *config) error {
		if tm == nil {
			return errors.New("nil trusted root")
		}
		c.trusted = tm
		return nil
	}
}

// WithTrustedRootFile reads a trusted_root.json; failure is an input error.
func WithTrustedRootFile(path string) Option {
	return func(c *config) error {
		tr, err := trust.ReadTrustedRoot(path)
		if err != nil {
			return err
		}
		c.trusted = tr
		return nil
	}
}

// WithKey verifies bundles signed with this public key instead of a Fulcio
// certificate. Without a trusted root as well, only the signature is checked.
func WithKey(pub crypto.PublicKey) Option {
	return func(c *config) error {
		if pub == nil {
			return errors.New("nil public key")
		}
		c.key = pub
		return nil
	}
}

// WithOptionalLogForKeys, with WithKey and a trusted root, accepts a bundle
// that has no transparency-log entry at all on its signature alone
// (Result.KeyOnly), as in-toto accepts key-signed links; a bundle that has
// entries must still verify them against the trusted root.
func WithOptionalLogForKeys() Option {
	return func(c *config) error {
		c.logOptional = true
		return nil
	}
}

// New builds a Verifier. It needs a trusted root, a key, or both.
func New(opts ...Option) (*Verifier, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.trusted == nil && c.key == nil {
		return nil, errors.New("verify: a trusted root or a public key is required")
	}
	if c.logOptional && (c.trusted == nil || c.key == nil) {
		return nil, errors.New("verify: WithOptionalLogForKeys needs both WithKey and a trusted root")
	}
	v := &Verifier{trusted: c.trusted, key: c.key, material: c.trusted, logOptional: c.logOptional}
	if c.key != nil {
		id, err := trust.KeyID(c.key)
		if err != nil {
			return nil, fmt.Errorf("verify: public key: %w", err)
		}
		v.keyID = id
		if v.material, err = trust.WithPublicKey(c.trusted, c.key); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		if c.trusted != nil {
			if v.sigOnly, err = New(WithKey(c.key)); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// KeyOnly reports whether the Verifier checks signatures only (a key and no
// trusted root): no log entry and no timestamp are required or checked.
func (v *Verifier) KeyOnly() bool { return v.trusted == nil }

// KeyID is the id (trust.KeyID) of the Verifier's key, "" without one.
func (v *Verifier) KeyID() string { return v.keyID }

// Signer is who signed a verified bundle.
type Signer struct {
	// Keyless: the OIDC issuer and the certificate subject (SAN).
	Issuer  string `json:"issuer,omitempty"`
	Subject string `json:"subject,omitempty"`
	// CertificateIssuer is the X.509 issuer of the leaf (the Fulcio CA).
	CertificateIssuer string `json:"certificateIssuer,omitempty"`
	// KeyID is "sha256:HEX" of the verifying key's DER SubjectPublicKeyInfo
	// (key-signed bundles only).
	KeyID string `json:"keyId,omitempty"`
	// CertificateSubject is the X.509 subject of a certificate from a
	// caller-named CA (ChainVerifier), which need not carry a SAN.
	CertificateSubject string `json:"certificateSubject,omitempty"`
	// Extensions are the certificate's Fulcio extensions (RunInvocationURI,
	// GithubWorkflowRef, SourceRepositoryDigest, …).
	Extensions certificate.Extensions `json:"extensions,omitzero"`
}

// Timestamp is one verified time the signature is known to have existed at.
type Timestamp struct {
	Kind string    `json:"kind"` // "tlog" (integrated time) or "tsa" (RFC 3161)
	URI  string    `json:"uri,omitempty"`
	Time time.Time `json:"time"`
}

// Result is what a verified bundle says. Its contents are verified.
type Result struct {
	// Statement is the in-toto statement of a DSSE bundle; nil for message
	// signatures.
	Statement *intoto.Statement
	// PayloadType is the DSSE payload type; "" for message signatures.
	PayloadType string
	Signer      Signer
	Timestamps  []Timestamp
	// LogEntries counts the bundle's entries from logs of the trusted root.
	LogEntries int
	// KeyOnly: only the signature was checked, no log or time.
	KeyOnly bool
	// ArtifactChecked is false only for SkipArtifact.
	ArtifactChecked bool
}

// Verify verifies b for art. Keyless bundles must match at least one of ids;
// with a key, ids must be empty. The error is a *RejectionError (errors.Is
// ErrRejected) when the bundle does not verify, otherwise an input error.
func (v *Verifier) Verify(ctx context.Context, b *bundle.Bundle, art Artifact, ids ...Identity) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b == nil || b.Bundle == nil {
		return nil, errNilBundle
	}
	// sigstore-go's Bundle caches parse results in itself while verifying,
	// so verify a private copy: callers may share one bundle across
	// goroutines.
	return v.VerifyOwned(ctx, &bundle.Bundle{Bundle: proto.Clone(b.Bundle).(*protobundle.Bundle)}, art, ids...)
}

// VerifyOwned is Verify of a bundle no other goroutine uses while it runs:
// the caller parsed it and keeps it to itself, so its (possibly large) DSSE
// payload is not copied. The release gate verifies each bundle this way.
func (v *Verifier) VerifyOwned(ctx context.Context, b *bundle.Bundle, art Artifact, ids ...Identity) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !art.given() {
		return nil, errNoArtifact
	}

	if v.sigOnly != nil && len(b.GetVerificationMaterial().GetTlogEntries()) == 0 {
		// Signed offline: the signature is the first real cause to report
		// (wrong key, changed payload), the missing log entry the second.
		res, err := v.sigOnly.Verify(ctx, b, art, ids...)
		if err != nil || v.logOptional {
			return res, err
		}
		return nil, Reject(StageLog, ErrNoLogEntry)
	}

	var policyOpts []sgverify.PolicyOption
	if v.key != nil {
		if len(ids) > 0 {
			return nil, errors.New("verify: a certificate identity cannot be checked when verifying with a key")
		}
		policyOpts = append(policyOpts, sgverify.WithKey())
	} else {
		if len(ids) == 0 {
			return nil, errors.New("verify: an expected identity (issuer and subject) is required")
		}
		for _, id := range ids {
			ci, err := id.CertificateIdentity()
			if err != nil {
				return nil, err
			}
			policyOpts = append(policyOpts, sgverify.WithCertificateIdentity(ci))
		}
	}

	isDSSE := b.GetDsseEnvelope() != nil

	// For DSSE the subject check is ours (after sigstore-go has verified the
	// envelope), so that a wrong artifact is reported as such; for message
	// signatures the artifact is part of what is signed.
	var artOpt sgverify.ArtifactPolicyOption
	var wantDigest []byte
	switch {
	case isDSSE && art.skip:
		artOpt = sgverify.WithoutArtifactUnsafe()
	case isDSSE && art.path != "":
		d, err := fileDigest(art.path, "sha256")
		if err != nil {
			return nil, err
		}
		artOpt, wantDigest, art = sgverify.WithoutArtifactUnsafe(), d, Artifact{path: art.path, alg: "sha256"}
	case isDSSE:
		artOpt, wantDigest = sgverify.WithoutArtifactUnsafe(), art.digest
	case art.skip:
		return nil, errors.New("verify: a message-signature bundle cannot be verified without its artifact")
	case art.path != "":
		f, err := os.Open(art.path)
		if err != nil {
			return nil, fmt.Errorf("artifact %s: %w", art.path, fsutil.Cause(err))
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return nil, fmt.Errorf("artifact %s: not a readable regular file", art.path)
		}
		artOpt = sgverify.WithArtifact(f)
	default:
		// A message signature is over one digest algorithm; a digest of
		// another one cannot match, and that is the caller's mistake.
		if signed := messageDigestAlg(b); signed != "" && signed != art.alg {
			return nil, fmt.Errorf("verify: the bundle signs a %s digest, not %s: pass the artifact file or its %s digest", signed, art.alg, signed)
		}
		artOpt = sgverify.WithArtifactDigest(art.alg, art.digest)
	}

	sv, err := sgverify.NewVerifier(v.material, v.verifierOptions(b)...)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	res, err := sv.Verify(b, sgverify.NewPolicy(artOpt, policyOpts...))
	if err != nil {
		return nil, v.explain(b, isDSSE, err)
	}

	out := &Result{KeyOnly: v.KeyOnly(), ArtifactChecked: !art.skip}
	if res.Signature != nil && res.Signature.Certificate != nil {
		c := res.Signature.Certificate
		out.Signer = Signer{
			Issuer:            c.Extensions.Issuer,
			Subject:           c.SubjectAlternativeName,
			CertificateIssuer: c.CertificateIssuer,
			Extensions:        c.Extensions,
		}
	} else {
		out.Signer = Signer{KeyID: v.keyID}
	}
	out.Timestamps = timestamps(res.VerifiedTimestamps)
	if !out.KeyOnly {
		out.LogEntries = countLogEntries(b, v.trusted)
	}

	if isDSSE {
		out.PayloadType = b.GetDsseEnvelope().GetPayloadType()
		if res.Statement == nil {
			return nil, rejectf(StageStatement, "DSSE payload of type %q is not an in-toto statement", out.PayloadType)
		}
		out.Statement = res.Statement
		if err := checkStatement(out.Statement, art, wantDigest); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkStatement checks a verified DSSE statement: its type, that it has
// subjects, and that the artifact (wantDigest, nil when skipped) is one.
func checkStatement(st *intoto.Statement, art Artifact, wantDigest []byte) error {
	if t := st.GetType(); t != statementV1 && t != statementV01 {
		return Reject(StageStatement, statementTypeError(t))
	}
	if len(st.GetSubject()) == 0 {
		return rejectf(StageStatement, "statement has no subject")
	}
	if wantDigest != nil && !hasSubject(st, art.alg, wantDigest) {
		return rejectf(StageArtifact, "artifact %s: its %s digest %s matches no subject of the statement (subjects: %s)",
			art, art.alg, hex.EncodeToString(wantDigest), subjectList(st))
	}
	return nil
}

// explain turns a sigstore-go failure into a rejection. sigstore-go checks
// the log before the signature, so a DSSE payload changed after signing shows
// up as a log mismatch (Rekor v2 entries commit to the payload); when the
// envelope signature itself does not verify, that is the clearer reason.
// The verdict is sigstore-go's either way; only the stage is refined.
func (v *Verifier) explain(b *bundle.Bundle, isDSSE bool, err error) error {
	stage := classify(err)
	if !isDSSE || stage == StageSignature || stage == StageBundle {
		return Reject(stage, err)
	}
	sc, serr := b.SignatureContent()
	if serr != nil {
		return Reject(stage, err)
	}
	vc, serr := b.VerificationContent()
	if serr != nil {
		return Reject(stage, err)
	}
	if serr := sgverify.VerifySignature(sc, vc, v.material); serr != nil {
		return rejectf(StageSignature, "DSSE envelope signature does not verify: %w (first failed check: %v)", serr, err)
	}
	return Reject(stage, err)
}

// verifierOptions is the policy of the package comment, decided per bundle
// (as sigstore-go's conformance client does) because whether RFC 3161
// timestamps must verify depends on the bundle carrying any.
func (v *Verifier) verifierOptions(b *bundle.Bundle) []sgverify.VerifierOption {
	if v.KeyOnly() {
		return []sgverify.VerifierOption{sgverify.WithNoObserverTimestamps()}
	}
	opts := []sgverify.VerifierOption{
		sgverify.WithTransparencyLog(1),
		sgverify.WithObserverTimestamps(1),
	}
	if ts, err := b.Timestamps(); err == nil && len(ts) > 0 && len(v.trusted.TimestampingAuthorities()) > 0 {
		// A present RFC 3161 timestamp must not be ignored just because the
		// log's integrated time already meets the threshold.
		opts = append(opts, sgverify.WithSignedTimestamps(1))
	}
	if v.key == nil && len(v.trusted.CTLogs()) > 0 {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	return opts
}

// timestamps converts and de-duplicates (the signed-timestamp and observer
// checks can both report the same RFC 3161 timestamp).
func timestamps(in []sgverify.TimestampVerificationResult) []Timestamp {
	var out []Timestamp
	seen := map[Timestamp]bool{}
	for _, t := range in {
		kind := "tsa"
		if t.Type == "Tlog" {
			kind = "tlog"
		}
		ts := Timestamp{Kind: kind, URI: t.URI, Time: t.Timestamp.UTC()}
		if !seen[ts] {
			seen[ts] = true
			out = append(out, ts)
		}
	}
	return out
}

// The in-toto statement types accepted; the predicate type is not checked
// here (layout rules decide which predicates count).
const (
	statementV1  = "https://in-toto.io/Statement/v1"
	statementV01 = "https://in-toto.io/Statement/v0.1"
)

// statementTypeError is a DSSE payload whose _type is neither in-toto
// Statement v1 nor v0.1; it matches predicates.ErrStatementType, so the
// release gate can tell a well-formed statement of another kind from a
// broken bundle.
type statementTypeError string

func (e statementTypeError) Error() string {
	return fmt.Sprintf("statement _type %q is not an in-toto Statement (v1 or v0.1)", string(e))
}

func (e statementTypeError) Is(target error) bool { return target == predicates.ErrStatementType }

// messageDigestAlg names the digest algorithm of a message signature.
func messageDigestAlg(b *bundle.Bundle) string {
	switch b.GetMessageSignature().GetMessageDigest().GetAlgorithm() {
	case protocommon.HashAlgorithm_SHA2_256:
		return "sha256"
	case protocommon.HashAlgorithm_SHA2_384:
		return "sha384"
	case protocommon.HashAlgorithm_SHA2_512:
		return "sha512"
	}
	return ""
}

func countLogEntries(b *bundle.Bundle, tm root.TrustedMaterial) int {
	entries, err := b.TlogEntries()
	if err != nil {
		return 0
	}
	logs := tm.RekorLogs()
	n := 0
	for _, e := range entries {
		if _, ok := logs[hex.EncodeToString([]byte(e.LogKeyID()))]; ok {
			n++
		}
	}
	return n
}

func hasSubject(st *intoto.Statement, alg string, want []byte) bool {
	for _, s := range st.GetSubject() {
		for k, v := range s.GetDigest() {
			if !strings.EqualFold(k, alg) {
				continue
			}
			got, err := hex.DecodeString(v)
			if err == nil && bytes.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

func subjectList(st *intoto.Statement) string {
	var parts []string
	for i, s := range st.GetSubject() {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("… %d more", len(st.GetSubject())-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s sha256:%s", s.GetName(), s.GetDigest()["sha256"]))
	}
	return strings.Join(parts, ", ")
}
