package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/mlattest/mlattest/trust"
)

// ChainVerifier verifies bundles signed with a long-lived X.509 certificate
// that chains to a CA the caller names, as the OpenSSF model-signing tool
// makes them: a v0.3 bundle whose verification material is an
// x509CertificateChain (leaf first), with no transparency-log entry and no
// timestamp. Such bundles are refused by LoadBundle and by Verifier; only
// ChainVerifier.LoadBundle accepts them (sigstore-go's
// bundle.AllowCertificateChain, on this path alone).
//
// The leaf must chain to one of the given roots (self-signed certificates)
// through the given intermediates or the bundle's own, be valid now (there
// is no signed time to check it at), and allow signing (key usage
// digitalSignature or extended key usage codeSigning, as the model-signing
// tool requires). Its SAN, if any, is not checked: the CA is the policy.
// The DSSE signature is then verified by sigstore-go with the leaf's key.
type ChainVerifier struct {
	roots, intermediates *x509.CertPool
	now                  func() time.Time
}

// ErrNoRoot is returned by NewChainVerifier when no certificate given is
// self-signed: a chain must end at a root the caller trusts.
var ErrNoRoot = errors.New("no self-signed root certificate among the trusted certificates")

// NewChainVerifier trusts the self-signed certificates among certs as roots
// and uses the others as intermediates.
func NewChainVerifier(certs []*x509.Certificate) (*ChainVerifier, error) {
	v := &ChainVerifier{roots: x509.NewCertPool(), intermediates: x509.NewCertPool(), now: time.Now}
	nroots := 0
	for _, c := range certs {
		if c.CheckSignatureFrom(c) == nil && c.IsCA {
			v.roots.AddCert(c)
			nroots++
		} else {
			v.intermediates.AddCert(c)
		}
	}
	if nroots == 0 {
		return nil, ErrNoRoot
	}
	return v, nil
}

// LoadBundle reads a bundle as LoadBundle does, also accepting a v0.3
// bundle whose verification material is a certificate chain.
func (v *ChainVerifier) LoadBundle(path string) (*bundle.Bundle, error) {
	b, err := LoadBundle(path)
	if err == nil {
		return b, nil
	}
	if bc, cerr := loadBundle(path, bundle.AllowCertificateChain()); cerr == nil {
		return bc, nil
	}
	return nil, err
}

// ParseBundle is LoadBundle for bytes.
func (v *ChainVerifier) ParseBundle(data []byte) (*bundle.Bundle, error) {
	b, err := ParseBundle(data)
	if err == nil {
		return b, nil
	}
	if bc, cerr := parseBundle(data, bundle.AllowCertificateChain()); cerr == nil {
		return bc, nil
	}
	return nil, err
}

// Verify verifies a DSSE bundle b (a message signature is refused) signed by
// a certificate chaining to the verifier's roots. ids must be empty: the
// certificate's issuer is the policy. art is checked against the statement's
// subjects as Verifier.Verify does.
func (v *ChainVerifier) Verify(ctx context.Context, b *bundle.Bundle, art Artifact, ids ...Identity) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b == nil || b.Bundle == nil {
		return nil, errNilBundle
	}
	if len(ids) > 0 {
		return nil, errors.New("verify: a certificate identity cannot be checked with a certificate chain")
	}
	if !art.given() {
		return nil, errNoArtifact
	}
	var want []byte
	switch {
	case art.path != "":
		d, err := fileDigest(art.path, "sha256")
		if err != nil {
			return nil, err
		}
		art, want = Artifact{path: art.path, alg: "sha256"}, d
	case !art.skip:
		want = art.digest
	}
	if b.GetDsseEnvelope() == nil {
		return nil, rejectf(StageBundle, "not a DSSE envelope: a certificate-chain bundle must carry an in-toto statement")
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, Reject(StageBundle, err)
	}
	leaf := vc.Certificate()
	if leaf == nil {
		return nil, rejectf(StageCertificate, "bundle is not signed with a certificate")
	}
	inter := v.intermediates.Clone()
	for _, c := range b.GetVerificationMaterial().GetX509CertificateChain().GetCertificates() {
		if ic, err := x509.ParseCertificate(c.GetRawBytes()); err == nil && !ic.Equal(leaf) {
			inter.AddCert(ic)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		CurrentTime:   v.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, rejectf(StageCertificate, "certificate %q: %w", leaf.Subject, err)
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		return nil, rejectf(StageCertificate, "certificate %q may not sign (no digitalSignature key usage, no codeSigning extended key usage)", leaf.Subject)
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return nil, Reject(StageBundle, err)
	}
	if err := sgverify.VerifySignature(sc, vc, nil); err != nil {
		return nil, rejectf(StageSignature, "DSSE envelope signature does not verify with certificate %q: %w", leaf.Subject, err)
	}
	keyID, err := trust.KeyID(leaf.PublicKey)
	if err != nil {
		return nil, Reject(StageCertificate, fmt.Errorf("certificate key: %w", err))
	}
	out := &Result{
		KeyOnly:         true, // no log, no signed time
		ArtifactChecked: !art.skip,
		PayloadType:     b.GetDsseEnvelope().GetPayloadType(),
		Signer: Signer{
			CertificateIssuer:  leaf.Issuer.String(),
			CertificateSubject: leaf.Subject.String(),
			KeyID:              keyID,
		},
	}
	st, err := sc.EnvelopeContent().Statement()
	if err != nil {
		return nil, rejectf(StageStatement, "DSSE payload of type %q is not an in-toto statement: %w", out.PayloadType, err)
	}
	out.Statement = st
	if err := checkStatement(st, art, want); err != nil {
		return nil, err
	}
	return out, nil
}
