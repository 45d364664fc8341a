package verify

import (
	"context"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// TestIdentityAnchoring verifies a real conformance bundle with regexps that
// match only part of the signer's values: sigstore-go alone would accept
// them, this package must not.
func TestIdentityAnchoring(t *testing.T) {
	c := findCase(t, "happy-path-v0.3")
	v := mustVerifier(t, WithTrustedRootFile(c.trustedRoot))
	for _, tc := range []struct {
		name string
		id   Identity
		ok   bool
	}{
		{"exact", Identity{Subject: conformanceIdentity, Issuer: conformanceIssuer}, true},
		{"whole regexp", Identity{SubjectRegexp: `https://github\.com/sigstore-conformance/.*@refs/heads/main`, IssuerRegexp: `https://token\.actions\.githubusercontent\.com`}, true},
		{"subject suffix regexp", Identity{SubjectRegexp: `extremely-dangerous-oidc-beacon\.yml@refs/heads/main`, Issuer: conformanceIssuer}, false},
		{"subject prefix regexp", Identity{SubjectRegexp: `https://github\.com/sigstore-conformance/`, Issuer: conformanceIssuer}, false},
		{"issuer substring regexp", Identity{Subject: conformanceIdentity, IssuerRegexp: `actions\.githubusercontent`}, false},
		{"alternation cannot escape the anchor", Identity{SubjectRegexp: `nothing|sigstore-conformance`, Issuer: conformanceIssuer}, false},
		{"wrong issuer", Identity{Subject: conformanceIdentity, Issuer: "https://accounts.google.com"}, false},
		{"wrong extension", Identity{Subject: conformanceIdentity, Issuer: conformanceIssuer, Extensions: certificate.Extensions{GithubWorkflowRef: "refs/heads/evil"}}, false},
		{"right extension", Identity{Subject: conformanceIdentity, Issuer: conformanceIssuer, Extensions: certificate.Extensions{GithubWorkflowRef: "refs/heads/main"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.Verify(context.Background(), mustLoad(t, c.bundle), ArtifactFile(c.artifact), tc.id)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := tc.id.Matches(res.Signer); !ok || err != nil {
					t.Errorf("Matches(verified signer) = %v, %v", ok, err)
				}
				if res.Signer.Extensions.GithubWorkflowRef != "refs/heads/main" {
					t.Errorf("extensions not reported: %+v", res.Signer.Extensions)
				}
				return
			}
			wantRejected(t, err, StageIdentity)
		})
	}

	// The partial regexps above do match when left unanchored, so the
	// anchoring is what rejects them.
	ci, err := sgverify.NewShortCertificateIdentity(conformanceIssuer, "", "", `extremely-dangerous-oidc-beacon\.yml@refs/heads/main`)
	if err != nil {
		t.Fatal(err)
	}
	summary := certificate.Summary{SubjectAlternativeName: conformanceIdentity, Extensions: certificate.Extensions{Issuer: conformanceIssuer}}
	if err := ci.Verify(summary); err != nil {
		t.Fatalf("unanchored sigstore-go matcher unexpectedly rejects: %v", err)
	}
}

func TestIdentityErrors(t *testing.T) {
	for _, id := range []Identity{
		{Issuer: conformanceIssuer},
		{Subject: conformanceIdentity},
		{SubjectRegexp: `(`, Issuer: conformanceIssuer},
		{Subject: conformanceIdentity, IssuerRegexp: `[`},
		{Subject: "a", Issuer: "b", Extensions: certificate.Extensions{Issuer: "c"}},
	} {
		if _, err := id.CertificateIdentity(); err == nil {
			t.Errorf("%+v: want error", id)
		}
	}
}
