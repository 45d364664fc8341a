package audit

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/mlattest/mlattest/trust"
	"github.com/mlattest/mlattest/verify"
)

// Entry kinds a Rekor v2 log holds (and a Rekor v1 log, beside intoto).
const (
	KindHashedRekord = "hashedrekord"
	KindDSSE         = "dsse"
	// KindIntoto is Rekor v1 only.
	KindIntoto = "intoto"
)

// ErrEntry: a log entry's bytes are not a Rekor v2 entry mlattest can read.
var ErrEntry = errors.New("unreadable log entry")

// Entry is one parsed Rekor v2 log entry. What it says is proven to be in
// the log only when it comes from a Scan or Leaf that returned nil; the
// signature itself is not re-verified (Rekor checked it when logging, and the
// certificate chain is not the auditor's question: who claims to sign is).
type Entry struct {
	Index      uint64 `json:"index"`
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	// Digest is what was signed: for a hashedrekord entry the digest of the
	// signed bytes (a file, or a DSSE envelope's PAE: sigstore-go logs DSSE
	// bundles on Rekor v2 as hashedrekord), for a dsse entry the payload's.
	Digest Digest `json:"digest"`
	// Signers, one per signature (hashedrekord has one).
	Signers []Signer `json:"signers"`
	// LeafHash is the RFC 6962 leaf hash of the entry's bytes.
	LeafHash []byte `json:"-"`
	// UUID and IntegratedTime are Rekor v1's: the entry id (tree id and
	// leaf hash, hex) and the time the log says it logged the entry (signed
	// by its signed entry timestamp).
	UUID           string     `json:"uuid,omitempty"`
	IntegratedTime *time.Time `json:"integratedTime,omitempty"`
}

// Digest is an algorithm ("sha256", "sha384", "sha512") and a lowercase hex value.
type Digest struct {
	Algorithm string `json:"algorithm"`
	Hex       string `json:"hex"`
}

// String is "alg:hex".
func (d Digest) String() string { return d.Algorithm + ":" + d.Hex }

// Signer is one signature's identity: a Fulcio certificate's (subject,
// issuer, extensions) or a public key's id.
type Signer struct {
	verify.Signer
	// NotBefore is the certificate's start of validity: Fulcio certificates
	// live ten minutes from issuance, so it dates the signing (Rekor v2
	// entries carry no time of their own).
	NotBefore *time.Time `json:"notBefore,omitempty"`
	Signature []byte     `json:"-"`
}

// rekorEntry is the canonical JSON Rekor v2 logs (protojson of its Entry).
type rekorEntry struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		HashedRekord *struct {
			Data      hashOutput     `json:"data"`
			Signature rekorSignature `json:"signature"`
		} `json:"hashedRekordV002"`
		DSSE *struct {
			PayloadHash hashOutput       `json:"payloadHash"`
			Signatures  []rekorSignature `json:"signatures"`
		} `json:"dsseV002"`
	} `json:"spec"`
}

type hashOutput struct {
	Algorithm string `json:"algorithm"`
	Digest    []byte `json:"digest"`
}

type rekorSignature struct {
	Content  []byte `json:"content"`
	Verifier struct {
		KeyDetails      string `json:"keyDetails"`
		X509Certificate *struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"x509Certificate"`
		PublicKey *struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"publicKey"`
	} `json:"verifier"`
}

// ParseEntry reads one Rekor v2 entry (hashedrekord or dsse, API version
// 0.0.2). Errors are ErrEntry and say what is missing.
func ParseEntry(index uint64, data []byte) (*Entry, error) {
	var re rekorEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&re); err != nil {
		return nil, entryErr(index, "%v", err)
	}
	if dec.More() {
		return nil, entryErr(index, "data after the entry")
	}
	e := &Entry{Index: index, Kind: re.Kind, APIVersion: re.APIVersion, LeafHash: rfc6962.DefaultHasher.HashLeaf(data)}
	if re.APIVersion != "0.0.2" {
		return nil, entryErr(index, "kind %q API version %q, want 0.0.2", truncate(re.Kind, 40), truncate(re.APIVersion, 40))
	}
	var sigs []rekorSignature
	var h hashOutput
	switch {
	case re.Kind == KindHashedRekord && re.Spec.HashedRekord != nil && re.Spec.DSSE == nil:
		h, sigs = re.Spec.HashedRekord.Data, []rekorSignature{re.Spec.HashedRekord.Signature}
	case re.Kind == KindDSSE && re.Spec.DSSE != nil && re.Spec.HashedRekord == nil:
		h, sigs = re.Spec.DSSE.PayloadHash, re.Spec.DSSE.Signatures
	default:
		return nil, entryErr(index, "kind %q with a spec of another kind, or none", truncate(re.Kind, 40))
	}
	d, err := parseHash(h)
	if err != nil {
		return nil, entryErr(index, "%v", err)
	}
	e.Digest = d
	if len(sigs) == 0 {
		return nil, entryErr(index, "no signature")
	}
	for i, s := range sigs {
		signer, err := parseSigner(s)
		if err != nil {
			return nil, entryErr(index, "signature %d: %v", i, err)
		}
		e.Signers = append(e.Signers, signer)
	}
	return e, nil
}

func entryErr(index uint64, format string, args ...any) error {
	return fmt.Errorf("%w %d: %s", ErrEntry, index, fmt.Sprintf(format, args...))
}

// digestAlg is a digest algorithm: our name and its size in bytes.
type digestAlg struct {
	name string
	size int
}

// digestSizes are the digest algorithms of entries, by their
// protobuf-specs names.
var digestSizes = [...]struct {
	proto string
	digestAlg
}{
	{"SHA2_256", digestAlg{"sha256", 32}},
	{"SHA2_384", digestAlg{"sha384", 48}},
	{"SHA2_512", digestAlg{"sha512", 64}},
}

// digestNamed is the algorithm of protobuf-specs name proto. (Three
// comparisons cost a scan less per entry than hashing the name for a map.)
func digestNamed[T string | []byte](proto T) (digestAlg, bool) {
	for _, a := range digestSizes {
		if string(proto) == a.proto {
			return a.digestAlg, true
		}
	}
	return digestAlg{}, false
}

func parseHash(h hashOutput) (Digest, error) {
	a, ok := digestNamed(h.Algorithm)
	if !ok {
		return Digest{}, fmt.Errorf("digest algorithm %q", truncate(h.Algorithm, 40))
	}
	if len(h.Digest) != a.size {
		return Digest{}, fmt.Errorf("%s digest of %d bytes", a.name, len(h.Digest))
	}
	return Digest{Algorithm: a.name, Hex: hex.EncodeToString(h.Digest)}, nil
}

func parseSigner(s rekorSignature) (Signer, error) {
	if len(s.Content) == 0 {
		return Signer{}, errors.New("empty signature")
	}
	v := s.Verifier
	switch {
	case v.X509Certificate != nil && v.PublicKey == nil:
		return certSigner(v.X509Certificate.RawBytes, s.Content)
	case v.PublicKey != nil && v.X509Certificate == nil:
		return keySigner(v.PublicKey.RawBytes, s.Content)
	}
	return Signer{}, errors.New("want exactly one of a certificate and a public key")
}

// certSigner is the identity of a Fulcio certificate (DER).
func certSigner(der, sig []byte) (Signer, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Signer{}, fmt.Errorf("certificate: %w", err)
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return Signer{}, fmt.Errorf("certificate extensions: %w", err)
	}
	nb := cert.NotBefore.UTC()
	ext := sum.Extensions
	issuer := ext.Issuer
	ext.Issuer = ""
	return Signer{
		Signer: verify.Signer{
			Issuer: issuer, Subject: sum.SubjectAlternativeName,
			CertificateIssuer: sum.CertificateIssuer, Extensions: ext,
		},
		NotBefore: &nb, Signature: sig,
	}, nil
}

// keySigner is the key id of a PKIX public key (DER).
func keySigner(der, sig []byte) (Signer, error) {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return Signer{}, fmt.Errorf("public key: %w", err)
	}
	id, err := trust.KeyID(pub)
	if err != nil {
		return Signer{}, fmt.Errorf("public key: %w", err)
	}
	return Signer{Signer: verify.Signer{KeyID: id}, Signature: sig}, nil
}
