package gate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	linkv0 "github.com/in-toto/attestation/go/predicates/link/v0"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"golang.org/x/sync/semaphore"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/modelsig"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// Evidence is what the attestation directory proves: the verified
// statements, and a failure for every file that proves nothing.
type Evidence struct {
	Bundles    []BundleRef
	Statements []*VerifiedStatement
	Failures   []Failure
	// Manifests are the directory manifests the statements refer to, read
	// from manifests/ in the attestations directory and checked against
	// their digest (the map key, lowercase hex SHA-256).
	Manifests map[string][]predicates.ManifestEntry
}

// VerifiedStatement is one statement whose bundle verified against the
// trusted root and one of the layout's functionaries.
type VerifiedStatement struct {
	Bundle       string // file name in the attestation directory
	BundleSHA256 string
	Signer       verify.Signer
	// SignerID is the threshold identity: "issuer subject" keyless, the key
	// id for keys.
	SignerID      string
	Statement     *intoto.Statement
	PayloadSHA256 string // of the DSSE payload: equal for the same statement

	linkOnce sync.Once
	link     *linkv0.Link
	linkErr  error

	trainingOnce sync.Once
	training     *predicates.TrainingInput
	trainingErr  error

	// witness is the collection of a witness statement, parsed with it.
	witness *predicates.WitnessCollection
	// modelSig is the manifest of an OMS model signature, parsed with it.
	modelSig *modelsig.Manifest
}

// stepRecord reports whether a statement records a step's run (what in-toto
// calls a link): a link, or a witness collection. Thresholds count these,
// and they give the step's materials, products, command and exit code.
func stepRecord(pt string) bool {
	return pt == predicates.LinkV03 || pt == predicates.WitnessCollectionV01
}

// command is the command a step record says ran.
func (vs *VerifiedStatement) command() ([]string, error) {
	if vs.witness != nil {
		if !vs.witness.HasCommand {
			return nil, errors.New("witness collection has no command-run attestor")
		}
		return vs.witness.Command, nil
	}
	link, err := vs.Link()
	if err != nil {
		return nil, err
	}
	return link.GetCommand(), nil
}

// Link decodes and schema-validates a link statement's predicate once; the
// several checks that read a link share the result.
func (vs *VerifiedStatement) Link() (*linkv0.Link, error) {
	vs.linkOnce.Do(func() { vs.link, vs.linkErr = predicates.LinkOf(vs.Statement) })
	return vs.link, vs.linkErr
}

// Training decodes and validates a training provenance once (exit code and
// base-model checks share it).
func (vs *VerifiedStatement) Training() (*predicates.TrainingInput, error) {
	vs.trainingOnce.Do(func() { vs.training, vs.trainingErr = predicates.TrainingOf(vs.Statement) })
	return vs.training, vs.trainingErr
}

// exitCode is predicates.ExitCodeOf, with the predicate decoded once.
func (vs *VerifiedStatement) exitCode() (int, error) {
	switch vs.Statement.GetPredicateType() {
	case predicates.WitnessCollectionV01:
		if vs.witness == nil || !vs.witness.HasCommand {
			return 0, errors.New("witness collection has no command-run attestor")
		}
		return vs.witness.ExitCode, nil
	case predicates.LinkV03:
		link, err := vs.Link()
		if err != nil {
			return 0, err
		}
		return predicates.LinkExitCode(link)
	case predicates.ProvenanceV1:
		tr, err := vs.Training()
		if err != nil {
			return 0, err
		}
		return tr.ExitCode, nil
	}
	return predicates.ExitCodeOf(vs.Statement)
}

// materials is predicates.MaterialsOf, with a link decoded once.
func (vs *VerifiedStatement) materials() ([]digest.Artifact, error) {
	link, err := vs.Link()
	if err != nil {
		return nil, err
	}
	return predicates.LinkMaterials(link)
}

// functionaryTrust is the layout's functionaries, ready to verify and match.
type functionaryTrust struct {
	ids      []verify.Identity // keyless functionaries
	keyless  *verify.Verifier  // nil without keyless functionaries
	keys     map[string]*verify.Verifier
	keyOrder []string
}

// functionaryMatcher matches a verified signer against one functionary.
type functionaryMatcher struct {
	keyID string
	ci    *sgverify.CertificateIdentity
}

func (m functionaryMatcher) matches(s verify.Signer) bool {
	if m.keyID != "" {
		return s.Subject == "" && s.KeyID == m.keyID
	}
	if s.Subject == "" {
		return false
	}
	ext := s.Extensions
	ext.Issuer = s.Issuer
	return m.ci.Verify(certificate.Summary{SubjectAlternativeName: s.Subject, Extensions: ext}) == nil
}

// IdentityOf converts a layout's keyless functionary into an Identity; its
// extensions are keyed by sigstore-go's certificate.Extensions JSON names.
func IdentityOf(k *layouts.KeylessIdentity) (verify.Identity, error) {
	id := verify.Identity{Issuer: k.Issuer, IssuerRegexp: k.IssuerRegexp, Subject: k.Subject, SubjectRegexp: k.SubjectRegexp}
	if len(k.Extensions) > 0 {
		if _, ok := k.Extensions["issuer"]; ok {
			return verify.Identity{}, errors.New("extension \"issuer\": give the OIDC issuer as the issuer")
		}
		raw, err := json.Marshal(k.Extensions)
		if err != nil {
			return verify.Identity{}, err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&id.Extensions); err != nil {
			return verify.Identity{}, fmt.Errorf("certificate extensions: %w", err)
		}
	}
	return id, nil
}

// ErrNoTrustedRoot is why a layout cannot be verified without a trusted
// root: it has keyless functionaries (short-lived certificates mean nothing
// without the Fulcio CA and a log entry), or it requires log entries.
var ErrNoTrustedRoot = errors.New("a trusted root is required")

// needsTrustedRoot says why the layout cannot be verified key-only, or "".
func needsTrustedRoot(l *layouts.Layout) string {
	if names := l.Keyless(); len(names) > 0 {
		return fmt.Sprintf("keyless functionaries (%s) need it", strings.Join(names, ", "))
	}
	if l.RequireTransparencyLog {
		return "the layout requires transparency-log entries (requireTransparencyLog)"
	}
	return ""
}

// newFunctionaryTrust builds a Verifier per functionary key and one for the
// keyless identities. With no trusted root, key functionaries are checked on
// their signature alone (key-only). With one, a key-signed bundle that
// carries log entries must verify them, and one signed offline counts on its
// signature unless the layout sets requireTransparencyLog.
func newFunctionaryTrust(l *layouts.Layout, tm root.TrustedMaterial) (*functionaryTrust, error) {
	if why := needsTrustedRoot(l); why != "" && tm == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoTrustedRoot, why)
	}
	ft := &functionaryTrust{keys: map[string]*verify.Verifier{}}
	names := make([]string, 0, len(l.Functionaries))
	for n := range l.Functionaries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := l.Functionaries[n]
		switch {
		case f == nil:
			return nil, fmt.Errorf("functionary %q: empty", n)
		case f.Key != nil && f.Keyless == nil:
			opts := []verify.Option{verify.WithKey(f.Key.Public)}
			if tm != nil {
				opts = append(opts, verify.WithTrustedRoot(tm))
				if !l.RequireTransparencyLog {
					opts = append(opts, verify.WithOptionalLogForKeys())
				}
			}
			v, err := verify.New(opts...)
			if err != nil {
				return nil, fmt.Errorf("functionary %q: %w", n, err)
			}
			if _, dup := ft.keys[v.KeyID()]; !dup {
				ft.keyOrder = append(ft.keyOrder, v.KeyID())
			}
			ft.keys[v.KeyID()] = v
		case f.Keyless != nil && f.Key == nil:
			id, err := IdentityOf(f.Keyless)
			if err != nil {
				return nil, fmt.Errorf("functionary %q: %w", n, err)
			}
			if _, err := id.CertificateIdentity(); err != nil {
				return nil, fmt.Errorf("functionary %q: %w", n, err)
			}
			ft.ids = append(ft.ids, id)
		default:
			return nil, fmt.Errorf("functionary %q: needs exactly one of a key and a keyless identity", n)
		}
	}
	if len(ft.ids) > 0 {
		v, err := verify.New(verify.WithTrustedRoot(tm))
		if err != nil {
			return nil, err
		}
		ft.keyless = v
	}
	return ft, nil
}

// verify checks one bundle (parsed by the caller and used by no other
// goroutine) against every functionary of the layout: a
// certificate-signed bundle against the keyless identities, a key-signed one
// against each functionary key (the key decides which Verifier applies).
func (ft *functionaryTrust) verify(ctx context.Context, b *bundle.Bundle) (*verify.Result, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, verify.Reject(verify.StageBundle, err)
	}
	if vc.Certificate() != nil {
		if ft.keyless == nil {
			return nil, rejectf(verify.StageIdentity, "signed with a certificate, but the layout has no keyless functionary")
		}
		return ft.keyless.VerifyOwned(ctx, b, verify.SkipArtifact(), ft.ids...)
	}
	if len(ft.keys) == 0 {
		return nil, rejectf(verify.StageIdentity, "signed with a key, but the layout has no key functionary")
	}
	// The key the bundle names (its hint) is tried first and its failure is
	// the one reported: the hint is not trusted (every key is still tried),
	// but it says whose bundle this is. Without a usable hint, the key whose
	// signature verifies and a later check fails on is the signer.
	var hinted string
	if pk := vc.PublicKey(); pk != nil {
		hinted = ft.keyForHint(pk.Hint())
	}
	order := ft.keyOrder
	if hinted != "" {
		order = append([]string{hinted}, slices.DeleteFunc(slices.Clone(order), func(id string) bool { return id == hinted })...)
	}
	var reported error
	for _, id := range order {
		res, err := ft.keys[id].VerifyOwned(ctx, b, verify.SkipArtifact())
		if err == nil {
			return res, nil
		}
		if errors.Is(err, verify.ErrNoLogEntry) {
			// The signature verified with this key: the log is the cause.
			return nil, rejectf(verify.StageLog, "%w (signed by key %s)", verify.ErrNoLogEntry, id)
		}
		if !errors.Is(err, verify.ErrRejected) {
			return nil, err
		}
		if verify.StageOf(err) != verify.StageSignature {
			return nil, fmt.Errorf("functionary key %s: %w", id, err)
		}
		if id == hinted {
			reported = fmt.Errorf("functionary key %s (named by the bundle's key hint): %w", id, err)
		}
	}
	if reported != nil {
		return nil, reported
	}
	return nil, rejectf(verify.StageIdentity, "signed with a key that is no functionary key of the layout (its signature verifies under none of %d)", len(ft.keyOrder))
}

// keyForHint returns the functionary key id a bundle's key hint names (the
// base64 SHA-256 of the DER public key, as sigstore-go and mlattest write
// it), or "".
func (ft *functionaryTrust) keyForHint(hint string) string {
	sum, err := base64.StdEncoding.DecodeString(hint)
	if err != nil || len(sum) != sha256.Size {
		return ""
	}
	id := "sha256:" + hex.EncodeToString(sum)
	if _, ok := ft.keys[id]; ok {
		return id
	}
	return ""
}

// VerifyAttestations reads every *.sigstore.json (Sigstore bundle) and
// *.dsse.json (bare DSSE envelope, as witness writes one:
// verify.ParseEnvelope) in dir and verifies it against the layout's
// functionaries. Unreadable, malformed or unverifiable
// bundles and unsigned leftovers are failures in the Evidence, never skipped.
// The error is only for a directory that cannot be read or an unusable
// layout or trust root.
func VerifyAttestations(ctx context.Context, l *layouts.Layout, dir string, tm root.TrustedMaterial) (*Evidence, error) {
	ft, err := newFunctionaryTrust(l, tm)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", l.File, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("attestations %s: %w", dir, fsutil.Cause(err))
	}
	ev := &Evidence{}
	var files []string
	size := map[string]int64{}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, predicates.UnsignedSuffix):
			ev.Failures = append(ev.Failures, Failure{Code: FailUnsignedLeft, Artifact: name,
				Reason: "unsigned statement left by a run whose signing failed: sign it (`mlattest sign`) or remove it"})
		case strings.HasSuffix(name, predicates.BundleSuffix), strings.HasSuffix(name, predicates.EnvelopeSuffix):
			if !e.Type().IsRegular() {
				ev.Failures = append(ev.Failures, Failure{Code: FailBundle, Bundle: name, Reason: "not a regular file"})
				continue
			}
			files = append(files, name)
			if fi, err := e.Info(); err == nil {
				size[name] = fi.Size()
			}
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		ev.Failures = append(ev.Failures, Failure{Code: FailNoAttestations, Artifact: dir,
			Reason: "no attestation bundles (*" + predicates.BundleSuffix + ", *" + predicates.EnvelopeSuffix + ") in the directory"})
		return ev, nil
	}

	type outcome struct {
		ref  BundleRef
		st   *VerifiedStatement
		fail *Failure
	}
	out := make([]outcome, len(files))
	var wg sync.WaitGroup
	work := make(chan int)
	workers := min(runtime.GOMAXPROCS(0), len(files))
	// Each worker reads, parses and verifies one bundle at a time, and
	// together they hold at most MaxBundleSize of bundle files (a bundle
	// weighs its listed size, capped: a larger one is refused unread): a
	// directory of large bundles costs a few times the limit, not their sum,
	// however many CPUs there are.
	budget := semaphore.NewWeighted(verify.MaxBundleSize)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				w := min(max(size[files[i]], 1), verify.MaxBundleSize)
				if budget.Acquire(ctx, w) != nil {
					continue // cancelled: reported below
				}
				out[i].ref, out[i].st, out[i].fail = verifyOne(ctx, ft, dir, files[i])
				budget.Release(w)
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, o := range out {
		ev.Bundles = append(ev.Bundles, o.ref)
		if o.fail != nil {
			ev.Failures = append(ev.Failures, *o.fail)
		}
		if o.st != nil {
			ev.Statements = append(ev.Statements, o.st)
		}
	}
	loadManifests(dir, ev)
	return ev, nil
}

func verifyOne(ctx context.Context, ft *functionaryTrust, dir, name string) (BundleRef, *VerifiedStatement, *Failure) {
	ref := BundleRef{File: name}
	data, err := fsutil.ReadFileMax(filepath.Join(dir, name), verify.MaxBundleSize)
	if err != nil {
		return ref, nil, &Failure{Code: FailBundle, Bundle: name, Reason: fmt.Sprintf("cannot read: %v", err)}
	}
	sum := sha256.Sum256(data)
	ref.SHA256 = hex.EncodeToString(sum[:])
	vb, err := ft.verifyStatement(ctx, data, strings.HasSuffix(name, predicates.EnvelopeSuffix))
	if err != nil {
		var be *bundleError
		if !errors.As(err, &be) {
			be = &bundleError{code: FailBundle, err: err}
		}
		return ref, nil, &Failure{Code: be.code, Bundle: name, Reason: be.Error()}
	}
	st := vb.statement
	vs := &VerifiedStatement{
		Bundle: name, BundleSHA256: ref.SHA256, Signer: vb.res.Signer, SignerID: signerID(vb.res.Signer),
		Statement: st, PayloadSHA256: vb.payloadSHA256, witness: vb.witness, modelSig: vb.modelSig,
	}
	ref.Verified, ref.Signer, ref.PredicateType = true, signerString(vb.res.Signer), st.GetPredicateType()
	ref.Logged = !vb.res.KeyOnly
	if b, err := predicates.BindingOf(st); err == nil {
		ref.Step, ref.RunID = b.Step, b.RunID
	}
	return ref, vs, nil
}

// largeBundle is the size above which verifying a bundle collects garbage
// between its steps (a bundle is normally a few kilobytes; a large one is
// almost all DSSE payload, decoded and copied several times).
const largeBundle = 8 << 20

// verifiedBundle is a bundle that verified for a functionary, with the
// statement its DSSE payload carries (strictly parsed).
type verifiedBundle struct {
	res           *verify.Result
	statement     *intoto.Statement
	witness       *predicates.WitnessCollection
	modelSig      *modelsig.Manifest
	payloadSHA256 string
}

// bundleError is why a bundle proves no statement, with its failure code.
type bundleError struct {
	code FailureCode
	err  error
	msg  string // the report's reason, when not err's text
}

func (e *bundleError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}
func (e *bundleError) Unwrap() error { return e.err }

func bundleErrorf(code FailureCode, format string, args ...any) error {
	return &bundleError{code: code, err: fmt.Errorf(format, args...)}
}

// verifyStatement parses bundle JSON (a bare DSSE envelope when envelope),
// reads its DSSE payload with mlattest's
// strict parser and verifies it against the functionaries. Its errors are
// *bundleError, except input errors from the verifier. data is not used
// after parsing, so the collector may reclaim it (when the caller holds no
// other reference) while the bundle is verified.
func (ft *functionaryTrust) verifyStatement(ctx context.Context, data []byte, envelope bool) (*verifiedBundle, error) {
	large := len(data) > largeBundle
	// Bundles are read as model signatures are: a bundle of the pre-1.1
	// model_signing tool, whose publicKey is {rawBytes, keyDetails}, is
	// read with that (untrusted) key material dropped; the layout's keys
	// decide.
	parse := func(data []byte) (*bundle.Bundle, error) { return modelsig.ParseSignature(data, verify.ParseBundle) }
	if envelope {
		parse = verify.ParseEnvelope
	}
	b, err := parse(data)
	if err != nil {
		return nil, bundleErrorf(decodeFailure(err, FailBundle), "does not verify: %w", err)
	}
	if large {
		// The file and the decoder's copy of its payload are garbage now;
		// collect them before verifying allocates as much again, and what
		// verifying leaves before the next bundle is read, so a large
		// bundle peaks at a few times its size and the next does not add
		// to it.
		runtime.GC()
		defer runtime.GC()
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, bundleErrorf(FailBundle, "does not verify: %w", rejectf(verify.StageBundle, "not a DSSE envelope carrying an in-toto statement"))
	}
	// The strict checker reads the payload before any other parser
	// (sigstore-go's, while verifying): a payload that is not exactly one
	// JSON document without duplicate keys is refused for that reason, not
	// for whatever a later check makes of it. It builds nothing, so a bundle
	// that then fails its signature cost no statement; one that decodes but
	// is malformed is reported only once its signature is known to verify.
	payload := env.GetPayload()
	if len(payload) > predicates.MaxStatementSize {
		return nil, bundleErrorf(FailStatement, "DSSE payload of %d bytes exceeds the %d byte statement limit", len(payload), predicates.MaxStatementSize)
	}
	if err := predicates.CheckJSON(payload); err != nil {
		return nil, bundleErrorf(decodeFailure(err, FailStatement), "DSSE payload is not strict JSON: %w", err)
	}
	res, err := ft.verify(ctx, b)
	if re := (*verify.RejectionError)(nil); errors.Is(err, verify.ErrNoLogEntry) && errors.As(err, &re) {
		return nil, &bundleError{code: FailNoLogEntry, err: err, msg: fmt.Sprintf("%v; the layout requires one (requireTransparencyLog)", re.Err)}
	}
	// A signed statement of another _type (Statement v0.1, a look-alike of
	// v1) is one the layout does not evaluate.
	if errors.Is(err, predicates.ErrStatementType) {
		return nil, bundleErrorf(FailUnexpected, "signed by a functionary, but %w: the layout evaluates in-toto Statement v1 only", err)
	}
	if err != nil {
		if !errors.Is(err, verify.ErrRejected) {
			return nil, err
		}
		if envelope && verify.StageOf(err) == verify.StageLog {
			return nil, bundleErrorf(FailBundle, "does not verify: %w (a bare DSSE envelope carries no transparency-log entry: a certificate-signed statement counts only when logged, so sign it with a functionary key or submit it as a Sigstore bundle)", err)
		}
		return nil, bundleErrorf(FailBundle, "does not verify: %w", err)
	}
	if res.Statement.GetPredicateType() == predicates.WitnessCollectionV01 {
		// witness signs Statement v0.1 with subjects of its own naming; the
		// collection's attestors give the step's artifacts.
		st, wc, err := predicates.ParseWitnessStatement(payload)
		if err != nil {
			return nil, bundleErrorf(failureCode(err), "verified, but its witness collection is malformed: %w", err)
		}
		psum := sha256.Sum256(payload)
		return &verifiedBundle{res: res, statement: st, witness: wc, payloadSHA256: hex.EncodeToString(psum[:])}, nil
	}
	st, err := predicates.ParseStatement(payload)
	if errors.Is(err, predicates.ErrStatementType) {
		return nil, bundleErrorf(FailUnexpected, "signed by a functionary, but %w: the layout evaluates in-toto Statement v1 only", err)
	}
	if err != nil {
		return nil, bundleErrorf(failureCode(err), "verified, but its statement is malformed: %w", err)
	}
	vb := &verifiedBundle{res: res, statement: st}
	if st.GetPredicateType() == modelsig.PredicateType {
		// An OMS model signature: its manifest is what the gate compares
		// with the released model.
		if vb.modelSig, err = modelsig.ParseStatement(payload); err != nil {
			return nil, bundleErrorf(FailStatement, "verified, but its model signing manifest is malformed: %w", err)
		}
	}
	psum := sha256.Sum256(payload)
	vb.payloadSHA256 = hex.EncodeToString(psum[:])
	return vb, nil
}

// decodeFailure is the failure code of a duplicate key or trailing data (in
// a bundle or its payload), otherwise other.
func decodeFailure(err error, other FailureCode) FailureCode {
	switch {
	case errors.Is(err, predicates.ErrDuplicateKey):
		return FailDuplicateKey
	case errors.Is(err, predicates.ErrTrailingData):
		return FailTrailingData
	}
	return other
}

// signerID is the identity thresholds count: (issuer, subject) keyless, the
// key id for keys.
func signerID(s verify.Signer) string {
	if s.Subject != "" {
		return s.Subject + " (issuer " + s.Issuer + ")"
	}
	return "key " + s.KeyID
}

// rejectf is a bundle rejection at stage for a reason of the gate's own.
func rejectf(stage verify.Stage, format string, args ...any) error {
	return verify.Reject(stage, fmt.Errorf(format, args...))
}
