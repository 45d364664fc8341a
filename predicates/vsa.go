package predicates

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/digest"
)

const (
	// VSAV1 is the SLSA Verification Summary predicate type.
	VSAV1 = "https://slsa.dev/verification_summary/v1"

	// VSAPassed and VSAFailed are the two verificationResult values.
	VSAPassed = "PASSED"
	VSAFailed = "FAILED"

	// VSAAnnotationLayoutSerial and VSAAnnotationRunID are the keys under
	// predicate.policy.annotations that carry the layout's serial and the
	// verified pipeline run id.
	VSAAnnotationLayoutSerial = "mlattest.dev/layout-serial"
	VSAAnnotationRunID        = "mlattest.dev/run-id"
	// VSAAnnotationUnlogged lists the input attestations whose
	// transparency-log entry was not checked (signed offline with a key, or
	// every one when verification was key-only).
	VSAAnnotationUnlogged = "mlattest.dev/unlogged-attestations"

	// vsaSLSAVersion is the SLSA version the verifiedLevels refer to.
	vsaSLSAVersion = "1.0"
	// maxSafeSerial is the largest serial a JSON number carries exactly
	// (2^53-1): readers decode numbers as float64.
	maxSafeSerial = 1<<53 - 1
)

// VSAInput is everything mlattest's verification summary records.
type VSAInput struct {
	// Verifier is verifier.id, e.g. "https://mlattest.dev/verify@v1.2.3".
	Verifier string
	// VerifierVersion is verifier.version (component → version), optional.
	VerifierVersion map[string]string
	TimeVerified    time.Time
	// ResourceURI names the verified model (resourceUri).
	ResourceURI string
	// PolicyURI names the layout (its file name or an OCI reference),
	// PolicyDigest is the hex SHA-256 of the layout's bytes and PolicySerial
	// its serial.
	PolicyURI    string
	PolicyDigest string
	PolicySerial int64
	// InputAttestations are the bundles whose statements verification
	// evaluated — not those it rejected or ignored: uri (file name or OCI
	// reference) and the SHA-256 of the bundle's bytes.
	InputAttestations []Resource
	// Result is VSAPassed or VSAFailed.
	Result string
	// VerifiedLevels are SLSA results such as "SLSA_BUILD_LEVEL_2" or other
	// upper-case properties; for a FAILED result only "FAILED" (the default).
	VerifiedLevels []string
	// Subjects are the released model files.
	Subjects []digest.Artifact
	// RunID is the verified pipeline run, optional.
	RunID string
	// Unlogged are the uris of input attestations whose transparency-log
	// entry was not checked; each must be an InputAttestations uri.
	Unlogged []string
}

// NewVSAStatement builds a SLSA Verification Summary v1 statement about the
// released model files.
//
// Shape (README.md has a full example):
//
//	verifier.id          in.Verifier
//	verifier.version     in.VerifierVersion (when set)
//	timeVerified         in.TimeVerified (UTC)
//	resourceUri          in.ResourceURI
//	policy               {uri, digest{sha256}, annotations{"mlattest.dev/layout-serial": N,
//	                      "mlattest.dev/run-id": ID (when set),
//	                      "mlattest.dev/unlogged-attestations": [uri…] (when any)}}
//	inputAttestations    [{uri, digest{sha256}}], sorted by uri
//	verificationResult   PASSED | FAILED
//	verifiedLevels       in.VerifiedLevels (["FAILED"] for a failure when empty)
//	slsaVersion          "1.0"
//
// The layout serial and run id are policy annotations because SLSA makes
// policy a ResourceDescriptor, whose annotations are its extension point;
// in-toto's Go type for the VSA (policy as uri + digest only) reads such a
// predicate only with protojson's DiscardUnknown.
//
// A VSA is a verifier's statement, not a pipeline step's: BindingOf refuses
// it with ErrNoBinding. The result is checked against the schema before it
// is returned.
func NewVSAStatement(in VSAInput) (*intoto.Statement, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("predicates: verification summary: "+format, args...)
	}
	switch {
	case in.Verifier == "":
		return nil, fail("empty verifier id")
	case in.TimeVerified.IsZero():
		return nil, fail("no verification time")
	case in.ResourceURI == "":
		return nil, fail("empty resource uri")
	case in.PolicyURI == "":
		return nil, fail("empty policy (layout) uri")
	case !sha256RE.MatchString(in.PolicyDigest):
		return nil, fail("policy digest %q is not a lowercase hex SHA-256", in.PolicyDigest)
	case in.PolicySerial < 0 || in.PolicySerial > maxSafeSerial:
		return nil, fail("layout serial %d out of range [0, %d]", in.PolicySerial, int64(maxSafeSerial))
	case in.Result != VSAPassed && in.Result != VSAFailed:
		return nil, fail("result %q is neither %s nor %s", in.Result, VSAPassed, VSAFailed)
	case len(in.Subjects) == 0:
		return nil, fail("no subject (no released model files given)")
	}
	if in.RunID != "" {
		if err := CheckRunID(in.RunID); err != nil {
			return nil, fail("%w", err)
		}
	}
	levels := append([]string{}, in.VerifiedLevels...)
	if in.Result == VSAFailed && len(levels) == 0 {
		levels = []string{VSAFailed}
	}
	if err := checkVSALevels(in.Result, levels); err != nil {
		return nil, fail("%w", err)
	}

	inputs := append([]Resource(nil), in.InputAttestations...)
	sort.SliceStable(inputs, func(i, j int) bool { return inputs[i].URI < inputs[j].URI })
	atts := make([]any, 0, len(inputs))
	for _, r := range inputs {
		if r.URI == "" {
			return nil, fail("input attestation without a uri")
		}
		if !sha256RE.MatchString(r.SHA256) {
			return nil, fail("input attestation %q: digest %q is not a lowercase hex SHA-256", r.URI, r.SHA256)
		}
		atts = append(atts, map[string]any{"uri": r.URI, "digest": map[string]any{"sha256": r.SHA256}})
	}
	ann := map[string]any{VSAAnnotationLayoutSerial: in.PolicySerial}
	if in.RunID != "" {
		ann[VSAAnnotationRunID] = in.RunID
	}
	if len(in.Unlogged) > 0 {
		unlogged := slices.Sorted(slices.Values(in.Unlogged))
		list := make([]any, len(unlogged))
		for i, u := range unlogged {
			list[i] = u
		}
		ann[VSAAnnotationUnlogged] = list
	}
	verifier := map[string]any{"id": in.Verifier}
	if len(in.VerifierVersion) > 0 {
		v := make(map[string]any, len(in.VerifierVersion))
		for k, s := range in.VerifierVersion {
			v[k] = s
		}
		verifier["version"] = v
	}
	pred, err := jsonToStruct(map[string]any{
		"verifier":     verifier,
		"timeVerified": in.TimeVerified.UTC().Format(time.RFC3339Nano),
		"resourceUri":  in.ResourceURI,
		"policy": map[string]any{
			"uri":         in.PolicyURI,
			"digest":      map[string]any{"sha256": in.PolicyDigest},
			"annotations": ann,
		},
		"inputAttestations":  atts,
		"verificationResult": in.Result,
		"verifiedLevels":     levels,
		"slsaVersion":        vsaSLSAVersion,
	})
	if err != nil {
		return nil, fail("%w", err)
	}
	st := &intoto.Statement{
		Type:          StatementTypeV1,
		Subject:       artifactDescriptors(in.Subjects),
		PredicateType: VSAV1,
		Predicate:     pred,
	}
	// Marshal parses its own output, which applies the mlattest VSA schema
	// and checkVSADoc.
	if _, err := Marshal(st); err != nil {
		return nil, fail("%w", err)
	}
	return st, nil
}

// vsaDoc mirrors mlattest's VSA JSON for reading, after the strict schema
// accepted the same bytes.
type vsaDoc struct {
	Verifier struct {
		ID string `json:"id"`
	} `json:"verifier"`
	TimeVerified string `json:"timeVerified"`
	ResourceURI  string `json:"resourceUri"`
	Policy       struct {
		URI         string            `json:"uri"`
		Digest      map[string]string `json:"digest"`
		Annotations struct {
			Serial   json.Number `json:"mlattest.dev/layout-serial"`
			RunID    string      `json:"mlattest.dev/run-id"`
			Unlogged []string    `json:"mlattest.dev/unlogged-attestations"`
		} `json:"annotations"`
	} `json:"policy"`
	InputAttestations []struct {
		URI    string            `json:"uri"`
		Digest map[string]string `json:"digest"`
	} `json:"inputAttestations"`
	VerificationResult string   `json:"verificationResult"`
	VerifiedLevels     []string `json:"verifiedLevels"`
}

// VSAOf checks a VSA statement against mlattest's strict VSA schema (a VSA
// from another verifier is refused) and returns its fields; Subjects carry
// name or uri and sha256, Size 0.
func VSAOf(st *intoto.Statement) (*VSAInput, error) {
	if st == nil {
		return nil, errors.New("predicates: nil statement")
	}
	if st.GetPredicateType() != VSAV1 {
		return nil, fmt.Errorf("predicates: predicate type %q is not %s", st.GetPredicateType(), VSAV1)
	}
	raw, err := validatedPredicate(st)
	if err != nil {
		return nil, err
	}
	doc, err := decodeStrict(raw)
	if err != nil {
		return nil, fmt.Errorf("predicates: verification summary: %w", err)
	}
	if !isMlattestVSADoc(doc) {
		return nil, errors.New("predicates: verification summary was not written by mlattest (no mlattest.dev/ policy annotations)")
	}
	var v vsaDoc
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("predicates: verification summary: %w", err)
	}
	out := &VSAInput{
		Verifier:       v.Verifier.ID,
		ResourceURI:    v.ResourceURI,
		PolicyURI:      v.Policy.URI,
		PolicyDigest:   v.Policy.Digest["sha256"],
		Result:         v.VerificationResult,
		VerifiedLevels: v.VerifiedLevels,
		Subjects:       descriptorArtifacts(st.GetSubject()),
		RunID:          v.Policy.Annotations.RunID,
		Unlogged:       v.Policy.Annotations.Unlogged,
	}
	if out.PolicySerial, err = v.Policy.Annotations.Serial.Int64(); err != nil {
		return nil, fmt.Errorf("predicates: verification summary layout serial: %w", err)
	}
	if out.TimeVerified, err = parseTime(v.TimeVerified); err != nil {
		return nil, fmt.Errorf("predicates: verification summary timeVerified: %w", err)
	}
	for _, a := range v.InputAttestations {
		out.InputAttestations = append(out.InputAttestations, Resource{URI: a.URI, SHA256: a.Digest["sha256"]})
	}
	return out, nil
}

// isMlattestVSADoc reports whether a decoded VSA predicate claims to be
// mlattest's, so that it gets the strict schema; a VSA that merely lacks
// the markers gets only the generic SLSA shape and VSAOf refuses it.
func isMlattestVSADoc(doc any) bool {
	if id, _ := lookup(doc, "verifier", "id").(string); strings.HasPrefix(id, "https://mlattest.dev/") {
		return true
	}
	ann, _ := lookup(doc, "policy", "annotations").(map[string]any)
	for k := range ann {
		if strings.HasPrefix(k, "mlattest.dev/") {
			return true
		}
	}
	return false
}

// checkVSADoc is what the mlattest VSA schema cannot say: input attestation
// uris are unique, unlogged ones are among them, and the levels agree with
// the result.
func checkVSADoc(doc any) error {
	atts, _ := lookup(doc, "inputAttestations").([]any)
	seen := make(map[string]bool, len(atts))
	for _, a := range atts {
		uri, _ := lookup(a, "uri").(string)
		if seen[uri] {
			return fmt.Errorf("predicates: verification summary lists input attestation %q twice", uri)
		}
		seen[uri] = true
	}
	unlogged, _ := lookup(doc, "policy", "annotations", VSAAnnotationUnlogged).([]any)
	for _, u := range unlogged {
		if uri, _ := u.(string); !seen[uri] {
			return fmt.Errorf("predicates: verification summary lists %q as unlogged, but not as an input attestation", uri)
		}
	}
	result, _ := lookup(doc, "verificationResult").(string)
	raw, _ := lookup(doc, "verifiedLevels").([]any)
	levels := make([]string, 0, len(raw))
	for _, l := range raw {
		s, _ := l.(string)
		levels = append(levels, s)
	}
	if err := checkVSALevels(result, levels); err != nil {
		return fmt.Errorf("predicates: verification summary: %w", err)
	}
	return nil
}

// slsaLevelRE matches a SLSA track level, e.g. SLSA_BUILD_LEVEL_3.
var slsaLevelRE = regexp.MustCompile(`^SLSA_([A-Z0-9_]+)_LEVEL_[0-9]+$`)

// vsaLevelRE is the shape of any verifiedLevels entry mlattest writes.
var vsaLevelRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// checkVSALevels: a FAILED result claims nothing but FAILED; a PASSED one
// never says FAILED; at most one level per SLSA track (SLSA v1.0 requires
// it); no duplicates.
func checkVSALevels(result string, levels []string) error {
	tracks := map[string]string{}
	seen := map[string]bool{}
	for _, l := range levels {
		if !vsaLevelRE.MatchString(l) {
			return fmt.Errorf("verified level %q is not an upper-case property such as SLSA_BUILD_LEVEL_2", l)
		}
		if seen[l] {
			return fmt.Errorf("verified level %q listed twice", l)
		}
		seen[l] = true
		switch {
		case result == VSAFailed && l != VSAFailed:
			return fmt.Errorf("a FAILED verification claims level %q", l)
		case result == VSAPassed && l == VSAFailed:
			return errors.New("a PASSED verification lists FAILED among its levels")
		}
		if m := slsaLevelRE.FindStringSubmatch(l); m != nil {
			if prev, ok := tracks[m[1]]; ok {
				return fmt.Errorf("verified levels %q and %q are both of SLSA track %s", prev, l, m[1])
			}
			tracks[m[1]] = l
		}
	}
	return nil
}
