package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	dssev001 "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	hashedrekordv001 "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	intotov002 "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"
	"github.com/transparency-dev/merkle/rfc6962"
)

// ParseRekorV1Entry reads one Rekor v1 entry body (the canonicalized JSON
// the log hashes) with rekor's own entry types: hashedrekord 0.0.1, dsse
// 0.0.1 or intoto 0.0.2, into the Entry model Rekor v2 entries use. The
// digest is what was signed as the log records it: a hashedrekord's artifact
// digest, a dsse or intoto entry's payload digest. Errors are ErrEntry.
func ParseRekorV1Entry(index uint64, body []byte) (*Entry, error) {
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		return nil, entryErr(index, "not a Rekor v1 entry: %s", truncate(oneLineErr(err), 200))
	}
	impl, err := types.UnmarshalEntry(pe)
	if err != nil {
		return nil, entryErr(index, "kind %q: %s", truncate(pe.Kind(), 40), truncate(oneLineErr(err), 200))
	}
	e := &Entry{Index: index, Kind: pe.Kind(), LeafHash: rfc6962.DefaultHasher.HashLeaf(body)}
	var sigs []v1Signature
	switch t := impl.(type) {
	case *hashedrekordv001.V001Entry:
		e.APIVersion = "0.0.1"
		o := t.HashedRekordObj
		if o.Data == nil || o.Data.Hash == nil || o.Signature == nil || o.Signature.PublicKey == nil {
			return nil, entryErr(index, "hashedrekord without a digest, a signature or a public key")
		}
		e.Digest, err = v1Digest(o.Data.Hash.Algorithm, o.Data.Hash.Value)
		sigs = []v1Signature{{sig: o.Signature.Content, pem: o.Signature.PublicKey.Content}}
	case *dssev001.V001Entry:
		e.APIVersion = "0.0.1"
		o := t.DSSEObj
		if o.PayloadHash == nil {
			return nil, entryErr(index, "dsse without a payload digest")
		}
		e.Digest, err = v1Digest(o.PayloadHash.Algorithm, o.PayloadHash.Value)
		for _, s := range o.Signatures {
			if s == nil || s.Signature == nil || s.Verifier == nil {
				return nil, entryErr(index, "dsse signature without a signature or a verifier")
			}
			raw, derr := base64.StdEncoding.DecodeString(*s.Signature)
			if derr != nil {
				return nil, entryErr(index, "dsse signature: %v", derr)
			}
			sigs = append(sigs, v1Signature{sig: raw, pem: *s.Verifier})
		}
	case *intotov002.V002Entry:
		e.APIVersion = "0.0.2"
		c := t.IntotoObj.Content
		if c == nil || c.PayloadHash == nil || c.Envelope == nil {
			return nil, entryErr(index, "intoto without an envelope or a payload digest")
		}
		e.Digest, err = v1Digest(c.PayloadHash.Algorithm, c.PayloadHash.Value)
		for _, s := range c.Envelope.Signatures {
			if s == nil || s.Sig == nil || s.PublicKey == nil {
				return nil, entryErr(index, "intoto signature without a signature or a public key")
			}
			// The envelope's sig is base64 text, which the entry
			// base64-encodes once more.
			raw, derr := base64.StdEncoding.DecodeString(string(*s.Sig))
			if derr != nil {
				return nil, entryErr(index, "intoto signature: %v", derr)
			}
			sigs = append(sigs, v1Signature{sig: raw, pem: *s.PublicKey})
		}
	default:
		return nil, entryErr(index, "kind %q version %q is not one mlattest reads (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2)",
			truncate(pe.Kind(), 40), truncate(impl.APIVersion(), 40))
	}
	if err != nil {
		return nil, entryErr(index, "%v", err)
	}
	if len(sigs) == 0 {
		return nil, entryErr(index, "no signature")
	}
	for i, s := range sigs {
		signer, err := s.signer()
		if err != nil {
			return nil, entryErr(index, "signature %d: %v", i, err)
		}
		e.Signers = append(e.Signers, signer)
	}
	return e, nil
}

// v1Signature is a signature and its verifier as a Rekor v1 entry holds
// them: a PEM certificate or public key.
type v1Signature struct {
	sig, pem []byte
}

func (s v1Signature) signer() (Signer, error) {
	if len(s.sig) == 0 {
		return Signer{}, errors.New("empty signature")
	}
	block, rest := pem.Decode(s.pem)
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		return Signer{}, errors.New("verifier is not one PEM block")
	}
	switch block.Type {
	case "CERTIFICATE":
		return certSigner(block.Bytes, s.sig)
	case "PUBLIC KEY":
		return keySigner(block.Bytes, s.sig)
	}
	return Signer{}, fmt.Errorf("verifier is a PEM %q, want a CERTIFICATE or a PUBLIC KEY", truncate(block.Type, 40))
}

// v1Digest reads a Rekor v1 {algorithm, value} digest.
func v1Digest(alg, value *string) (Digest, error) {
	if alg == nil || value == nil {
		return Digest{}, errors.New("digest without an algorithm or a value")
	}
	for _, a := range digestSizes {
		if a.name != *alg {
			continue
		}
		raw, err := hex.DecodeString(*value)
		if err != nil || len(raw) != a.size {
			return Digest{}, fmt.Errorf("%s digest %q is not %d bytes of hex", a.name, truncate(*value, 140), a.size)
		}
		return Digest{Algorithm: a.name, Hex: hex.EncodeToString(raw)}, nil
	}
	return Digest{}, fmt.Errorf("digest algorithm %q", truncate(*alg, 40))
}

// oneLineErr flattens the multi-line validation errors of go-openapi.
func oneLineErr(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
