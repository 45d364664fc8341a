package verify

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/mlattest/mlattest/internal/fsutil"
	"github.com/mlattest/mlattest/predicates"
)

// bundleMediaTypeV03 is the media type ParseEnvelope's bundles carry.
const bundleMediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

// envelopeJSON is a bare DSSE envelope as witness (go-witness dsse.Envelope)
// writes it: the DSSE fields, and per signature the signer's certificate,
// intermediates and RFC 3161 timestamps that a Sigstore bundle keeps in its
// verification material. encoding/json reads []byte as standard base64.
type envelopeJSON struct {
	Payload     []byte `json:"payload"`
	PayloadType string `json:"payloadType"`
	Signatures  []struct {
		KeyID         string   `json:"keyid"`
		Sig           []byte   `json:"sig"`
		Certificate   []byte   `json:"certificate,omitempty"`
		Intermediates [][]byte `json:"intermediates,omitempty"`
		Timestamps    []struct {
			Type string `json:"type"`
			Data []byte `json:"data"`
		} `json:"timestamps,omitempty"`
	} `json:"signatures"`
}

// ParseEnvelope reads a bare DSSE envelope (no Sigstore bundle around it, as
// witness writes one) into a Sigstore bundle v0.3 holding the same envelope,
// so that the one sigstore-go path verifies it like any other bundle:
//   - the signature's certificate (PEM) becomes the bundle's certificate; its
//     intermediates are not carried, the trusted root's CA chain is what
//     counts;
//   - its RFC 3161 timestamps ("tsp") become the bundle's timestamps;
//   - without a certificate it is a key signature; the key id becomes the
//     key hint, and only that (not trusted: the verifier's keys decide).
//
// The envelope has no transparency-log entry, so a keyless one is rejected
// for that by a Verifier with a trusted root, and a key-signed one counts as
// signed offline (WithOptionalLogForKeys). Exactly one signature is
// accepted: a bundle carries one. Every error is a rejection (StageBundle).
func ParseEnvelope(data []byte) (*bundle.Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, rejectf(StageBundle, "larger than %d bytes", MaxBundleSize)
	}
	if err := predicates.CheckJSON(data); err != nil {
		return nil, rejectf(StageBundle, "not a valid DSSE envelope: %w", err)
	}
	var env envelopeJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, rejectf(StageBundle, "not a valid DSSE envelope: %v", err)
	}
	switch {
	case env.PayloadType != predicates.PayloadType:
		return nil, rejectf(StageBundle, "DSSE payload type %q is not %s", env.PayloadType, predicates.PayloadType)
	case len(env.Payload) == 0:
		return nil, rejectf(StageBundle, "DSSE envelope has no payload")
	case len(env.Signatures) != 1:
		return nil, rejectf(StageBundle, "DSSE envelope has %d signatures; one is supported (sign each functionary's envelope apart)", len(env.Signatures))
	}
	s := env.Signatures[0]
	if len(s.Sig) == 0 {
		return nil, rejectf(StageBundle, "DSSE signature is empty")
	}
	vm := &protobundle.VerificationMaterial{}
	if len(s.Certificate) > 0 {
		block, rest := pem.Decode(s.Certificate)
		if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
			return nil, rejectf(StageBundle, "DSSE signature's certificate is not one PEM CERTIFICATE block")
		}
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: block.Bytes}}
	} else {
		if len(s.Intermediates) > 0 {
			return nil, rejectf(StageBundle, "DSSE signature lists intermediates but no certificate")
		}
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: s.KeyID}}
	}
	if len(s.Timestamps) > 0 {
		tv := &protobundle.TimestampVerificationData{}
		for i, ts := range s.Timestamps {
			if ts.Type != "tsp" || len(ts.Data) == 0 {
				return nil, rejectf(StageBundle, "DSSE signature timestamp %d: type %q with %d bytes is not an RFC 3161 timestamp (\"tsp\")", i, ts.Type, len(ts.Data))
			}
			tv.Rfc3161Timestamps = append(tv.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts.Data})
		}
		vm.TimestampVerificationData = tv
	}
	pb := &protobundle.Bundle{
		MediaType:            bundleMediaTypeV03,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     env.Payload,
			PayloadType: env.PayloadType,
			// The keyid is not signed (DSSE's PAE leaves it out) and is
			// witness's own kind of id, which the DSSE verifier would
			// compare with its own and then skip the signature: it stays
			// in the hint only.
			Signatures: []*protodsse.Signature{{Sig: s.Sig}},
		}},
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, rejectf(StageBundle, "DSSE envelope as a bundle: %w", err)
	}
	return b, nil
}

// LoadEnvelope reads a bare DSSE envelope file (ParseEnvelope) with
// LoadBundle's size rule: an unreadable file is an input error, bad content
// a rejection.
func LoadEnvelope(path string) (*bundle.Bundle, error) {
	data, err := fsutil.ReadFileMax(path, MaxBundleSize)
	if err != nil {
		return nil, fmt.Errorf("envelope %s: %w", path, err)
	}
	b, err := ParseEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("envelope %s: %w", path, err)
	}
	return b, nil
}
