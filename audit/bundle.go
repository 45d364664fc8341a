package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/transparency-dev/merkle/rfc6962"
)

// BundleEntry is the log entry a bundle points to, re-verified online.
type BundleEntry struct {
	Entry *Entry
	// BundleCheckpoint is the checkpoint of the bundle's inclusion proof
	// (nil when the bundle has none), proven consistent with Checkpoint.
	BundleCheckpoint *Checkpoint
	// Checkpoint is the log's current checkpoint, in which the entry was
	// proven included.
	Checkpoint *Checkpoint
}

// VerifyBundle finds the entry of the bundle's transparency-log entry in
// the log, proves it included in the log's current checkpoint and that
// checkpoint consistent with the one the bundle carries, and checks that the
// entry logs this bundle's signature. Rekor v2 bundles only (their
// canonicalized body is the entry).
func (l *Log) VerifyBundle(ctx context.Context, b *bundle.Bundle) (*BundleEntry, error) {
	tle, err := bundleTlogEntry(b)
	if err != nil {
		return nil, err
	}
	body, index := tle.GetCanonicalizedBody(), uint64(tle.GetLogIndex())
	e, err := ParseEntry(index, body)
	if err != nil {
		return nil, err
	}
	if err := matchesBundle(e, b); err != nil {
		return nil, err
	}
	cur, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	out := &BundleEntry{Entry: e, Checkpoint: cur}
	if env := tle.GetInclusionProof().GetCheckpoint().GetEnvelope(); env != "" {
		bcp, err := l.VerifyCheckpoint([]byte(env))
		if err != nil {
			return nil, fmt.Errorf("the bundle's checkpoint: %w", err)
		}
		if err := l.Consistency(ctx, bcp, cur); err != nil {
			return nil, err
		}
		out.BundleCheckpoint = bcp
	}
	if err := l.Inclusion(ctx, cur, index, rfc6962.DefaultHasher.HashLeaf(body)); err != nil {
		return nil, err
	}
	return out, nil
}

// bundleTlogEntry is the bundle's one transparency-log entry.
func bundleTlogEntry(b *bundle.Bundle) (*rekorpb.TransparencyLogEntry, error) {
	tles := b.GetVerificationMaterial().GetTlogEntries()
	if len(tles) != 1 {
		return nil, fmt.Errorf("the bundle has %d transparency-log entries, want 1", len(tles))
	}
	tle := tles[0]
	if len(tle.GetCanonicalizedBody()) == 0 {
		return nil, errors.New("the bundle's log entry has no canonicalized body")
	}
	if tle.GetLogIndex() < 0 {
		return nil, fmt.Errorf("log index %d", tle.GetLogIndex())
	}
	return tle, nil
}

// BundleRekorVersion is the Rekor major version of the log a bundle's entry
// is in, told by its kind and version: hashedrekord and dsse 0.0.2 entries
// are Rekor v2's, every other kind (hashedrekord and dsse 0.0.1, intoto) is
// Rekor v1's.
func BundleRekorVersion(b *bundle.Bundle) (int, error) {
	tle, err := bundleTlogEntry(b)
	if err != nil {
		return 0, err
	}
	kv := tle.GetKindVersion()
	if kv.GetVersion() == "0.0.2" && (kv.GetKind() == KindHashedRekord || kv.GetKind() == KindDSSE) {
		return 2, nil
	}
	return 1, nil
}

// matchesBundle checks that the entry logs the bundle's signature over the
// bundle's content (for DSSE, Rekor v2 hashedrekord entries log the PAE's
// digest, dsse and intoto entries the payload's).
func matchesBundle(e *Entry, b *bundle.Bundle) error {
	var sig, digest []byte
	switch {
	case b.GetDsseEnvelope() != nil:
		env := b.GetDsseEnvelope()
		if len(env.GetSignatures()) == 0 {
			return errors.New("the bundle's envelope has no signature")
		}
		sig = env.GetSignatures()[0].GetSig()
		if e.Kind == KindDSSE || e.Kind == KindIntoto {
			h := sha256.Sum256(env.GetPayload())
			digest = h[:]
		} else {
			h := sha256.Sum256(dsse.PAE(env.GetPayloadType(), env.GetPayload()))
			digest = h[:]
		}
	case b.GetMessageSignature() != nil:
		sig = b.GetMessageSignature().GetSignature()
		digest = b.GetMessageSignature().GetMessageDigest().GetDigest()
	default:
		return errors.New("the bundle has no signature")
	}
	if e.Digest.Algorithm == "sha256" && e.Digest.Hex != hex.EncodeToString(digest) {
		return fmt.Errorf("%w: entry %d logs digest %s, not this bundle's", ErrNotInLog, e.Index, e.Digest)
	}
	for _, s := range e.Signers {
		if bytes.Equal(s.Signature, sig) {
			return nil
		}
	}
	return fmt.Errorf("%w: entry %d logs another signature than this bundle's", ErrNotInLog, e.Index)
}
