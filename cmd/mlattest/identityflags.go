package main

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/spf13/pflag"

	"github.com/mlattest/mlattest/verify"
)

// identityFlags are an expected keyless signer given on the command line as
// --P-identity[-regexp] and --P-oidc-issuer[-regexp], for a flag prefix P
// ("certificate" for verify-bundle, as cosign names them; "layout" for the
// layout owner in verify).
type identityFlags struct {
	prefix                                       string
	subject, subjectRegexp, issuer, issuerRegexp string
}

func (f *identityFlags) register(fs *pflag.FlagSet, prefix, whose string) {
	f.prefix = prefix
	fs.StringVar(&f.subject, prefix+"-identity", "", whose+" certificate subject (SAN), exact")
	fs.StringVar(&f.subjectRegexp, prefix+"-identity-regexp", "", whose+" certificate subject, as a regexp matching the whole value")
	fs.StringVar(&f.issuer, prefix+"-oidc-issuer", "", whose+" OIDC issuer, exact")
	fs.StringVar(&f.issuerRegexp, prefix+"-oidc-issuer-regexp", "", whose+" OIDC issuer, as a regexp matching the whole value")
}

// given reports whether any of the four flags was set.
func (f *identityFlags) given() bool {
	return f.subject != "" || f.subjectRegexp != "" || f.issuer != "" || f.issuerRegexp != ""
}

// names is "--P-identity/--P-oidc-issuer", for messages.
func (f *identityFlags) names() string {
	return "--" + f.prefix + "-identity/--" + f.prefix + "-oidc-issuer"
}

// identity checks the combination (one subject and one issuer, each exact
// or a regexp) and compiles it; regexps are anchored by verify.Identity.
func (f *identityFlags) identity() (*verify.Identity, error) {
	p := "--" + f.prefix
	switch {
	case f.subject == "" && f.subjectRegexp == "":
		return nil, fmt.Errorf("%s-identity (or %s-identity-regexp) is required", p, p)
	case f.issuer == "" && f.issuerRegexp == "":
		return nil, fmt.Errorf("%s-oidc-issuer (or %s-oidc-issuer-regexp) is required with %s-identity", p, p, p)
	case f.subject != "" && f.subjectRegexp != "":
		return nil, fmt.Errorf("give %s-identity or %s-identity-regexp, not both", p, p)
	case f.issuer != "" && f.issuerRegexp != "":
		return nil, fmt.Errorf("give %s-oidc-issuer or %s-oidc-issuer-regexp, not both", p, p)
	}
	for flag, re := range map[string]string{p + "-identity-regexp": f.subjectRegexp, p + "-oidc-issuer-regexp": f.issuerRegexp} {
		if err := checkRegexp(flag, re); err != nil {
			return nil, err
		}
	}
	id := &verify.Identity{Subject: f.subject, SubjectRegexp: f.subjectRegexp, Issuer: f.issuer, IssuerRegexp: f.issuerRegexp}
	if _, err := id.CertificateIdentity(); err != nil {
		return nil, err
	}
	return id, nil
}

// checkRegexp reports a regexp flag that does not compile in the user's own
// terms: the flag, the regexp as typed and what is wrong with it.
func checkRegexp(flag, re string) error {
	if re == "" {
		return nil
	}
	_, err := regexp.Compile(re)
	var se *syntax.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.Expr != re:
		return fmt.Errorf("%s '%s': %s at '%s'", flag, re, se.Code, se.Expr)
	case errors.As(err, &se):
		return fmt.Errorf("%s '%s': %s", flag, re, se.Code)
	}
	return fmt.Errorf("%s '%s': %w", flag, re, err)
}
