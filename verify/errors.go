package verify

import (
	"errors"
	"fmt"
	"strings"
)

// ErrRejected marks a policy answer: the bundle was read and does not verify
// (including a bundle that is malformed). Every other error from this package
// is an input error (unreadable file, bad option, unparseable trusted root).
// Test with errors.Is(err, ErrRejected).
var ErrRejected = errors.New("rejected")

// Stage names the check that rejected a bundle, so callers and tests can tell
// "wrong identity" from "no timestamp" without matching message text.
type Stage string

const (
	StageBundle      Stage = "bundle"      // malformed or unsupported bundle
	StageLog         Stage = "tlog"        // transparency-log entry, proof, checkpoint or SET
	StageTimestamp   Stage = "timestamp"   // no verified timestamp, or a bad RFC 3161 timestamp
	StageCertificate Stage = "certificate" // chain, validity at the signing time, SCTs, key vs certificate
	StageSignature   Stage = "signature"   // the signature over the artifact or DSSE payload
	StageArtifact    Stage = "artifact"    // the artifact is not a subject of the statement
	StageIdentity    Stage = "identity"    // the certificate's signer is not the expected one
	StageStatement   Stage = "statement"   // the DSSE payload is not a readable in-toto statement
)

// RejectionError is the error for a bundle that does not verify. It matches
// ErrRejected with errors.Is and unwraps to the underlying cause.
type RejectionError struct {
	Stage Stage
	Err   error
}

func (e *RejectionError) Error() string { return fmt.Sprintf("%s: %v", e.Stage, e.Err) }

// Unwrap exposes both the sentinel and the cause.
func (e *RejectionError) Unwrap() []error { return []error{ErrRejected, e.Err} }

// Reject returns err as a rejection at stage, for callers (the release
// gate) that reject a bundle for reasons of their own.
func Reject(stage Stage, err error) error { return &RejectionError{Stage: stage, Err: err} }

func rejectf(stage Stage, format string, args ...any) error {
	return Reject(stage, fmt.Errorf(format, args...))
}

// StageOf returns the stage of a rejection, or "" when err is not one.
func StageOf(err error) Stage {
	var re *RejectionError
	if errors.As(err, &re) {
		return re.Stage
	}
	return ""
}

// classify maps an error from sigstore-go's Verifier.Verify to a stage. It
// relies on the fixed prefixes sigstore-go v1.3.0 wraps each step with; an
// unknown prefix still rejects (fail closed), only less precisely.
func classify(err error) Stage {
	msg := err.Error()
	prefixes := []struct {
		prefix string
		stage  Stage
	}{
		{"failed to build policy", StageSignature},
		{"failed to verify log inclusion", StageLog},
		{"failed to verify timestamps", StageTimestamp},
		{"failed to fetch verification content", StageBundle},
		{"expected key signature, not certificate", StageCertificate},
		{"must provide timestamp to verify certificate", StageTimestamp},
		{"failed to summarize certificate", StageCertificate},
		{"failed to verify leaf certificate", StageCertificate},
		{"failed to verify signed certificate timestamp", StageCertificate},
		{"signature time outside of public key validity window", StageCertificate},
		{"SCTs required but bundle is signed with a public key", StageCertificate},
		{"failed to fetch signature content", StageBundle},
		{"failed to fetch entity version", StageBundle},
		{"failed to get signature verifier", StageSignature},
		{"failed to verify signature", StageSignature},
		{"failed to fetch envelope statement", StageStatement},
		{"can't verify certificate identities", StageIdentity},
		{"failed to verify certificate identity", StageIdentity},
	}
	for _, p := range prefixes {
		if strings.HasPrefix(msg, p.prefix) {
			return p.stage
		}
	}
	return StageSignature
}
