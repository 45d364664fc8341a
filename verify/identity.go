package verify

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// Identity is the expected keyless signer: the OIDC issuer and the
// certificate's subject (SAN), each as an exact value or a regular expression
// (at least one of each pair). Regexps always match the whole value: they are
// anchored as ^(?:re)$ before use, because sigstore-go matches them unanchored
// and "https://github.com/org/" would otherwise accept any repository under a
// lookalike prefix or suffix.
//
// Extensions, when a field is set, must equal the certificate's Fulcio
// extension of the same name exactly (e.g. GithubWorkflowRef,
// RunInvocationURI); Extensions.Issuer must stay empty (use Issuer).
type Identity struct {
	Issuer        string
	IssuerRegexp  string
	Subject       string
	SubjectRegexp string
	Extensions    certificate.Extensions
}

// String renders the identity for messages.
func (id Identity) String() string {
	subj := id.Subject
	if subj == "" {
		subj = "~" + anchor(id.SubjectRegexp)
	} else if id.SubjectRegexp != "" {
		subj += " and ~" + anchor(id.SubjectRegexp)
	}
	iss := id.Issuer
	if iss == "" {
		iss = "~" + anchor(id.IssuerRegexp)
	} else if id.IssuerRegexp != "" {
		iss += " and ~" + anchor(id.IssuerRegexp)
	}
	return fmt.Sprintf("subject %s, issuer %s", subj, iss)
}

// anchor makes re match whole strings only.
func anchor(re string) string {
	if re == "" {
		return ""
	}
	return "^(?:" + re + ")$"
}

// CertificateIdentity builds sigstore-go's matcher with anchored regexps. An
// incomplete identity or an invalid regexp is an input error.
func (id Identity) CertificateIdentity() (sgverify.CertificateIdentity, error) {
	if id.Subject == "" && id.SubjectRegexp == "" {
		return sgverify.CertificateIdentity{}, errors.New("identity: a certificate subject or subject regexp is required")
	}
	if id.Issuer == "" && id.IssuerRegexp == "" {
		return sgverify.CertificateIdentity{}, errors.New("identity: an OIDC issuer or issuer regexp is required")
	}
	for _, re := range []string{id.SubjectRegexp, id.IssuerRegexp} {
		if re == "" {
			continue
		}
		// The user's own regexp, not the anchored one: the error quotes it.
		if _, err := regexp.Compile(re); err != nil {
			return sgverify.CertificateIdentity{}, fmt.Errorf("identity: regexp %q: %w", re, err)
		}
	}
	san, err := sgverify.NewSANMatcher(id.Subject, anchor(id.SubjectRegexp))
	if err != nil {
		return sgverify.CertificateIdentity{}, fmt.Errorf("identity: %w", err)
	}
	iss, err := sgverify.NewIssuerMatcher(id.Issuer, anchor(id.IssuerRegexp))
	if err != nil {
		return sgverify.CertificateIdentity{}, fmt.Errorf("identity: %w", err)
	}
	ci, err := sgverify.NewCertificateIdentity(san, iss, id.Extensions)
	if err != nil {
		return sgverify.CertificateIdentity{}, fmt.Errorf("identity: %w", err)
	}
	return ci, nil
}

// Matches reports whether a verified signer satisfies the identity, with the
// same rules as verification. It lets a caller that verified a bundle once
// match its signer against several functionaries.
func (id Identity) Matches(s Signer) (bool, error) {
	ci, err := id.CertificateIdentity()
	if err != nil {
		return false, err
	}
	if s.Subject == "" {
		return false, nil // key-signed: there is no certificate identity
	}
	ext := s.Extensions
	ext.Issuer = s.Issuer
	return ci.Verify(certificate.Summary{SubjectAlternativeName: s.Subject, Extensions: ext}) == nil, nil
}
