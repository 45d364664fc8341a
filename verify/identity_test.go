package verify_test

import (
	"context"
	"fmt"

	"github.com/mlattest/mlattest/verify"
)

// Regexps match whole values: a lookalike with the trusted name as a prefix
// or a suffix does not pass.
func ExampleIdentity() {
	id := verify.Identity{
		SubjectRegexp: `https://github\.com/acme/train/\.github/workflows/[^/]+@refs/heads/main`,
		Issuer:        "https://token.actions.githubusercontent.com",
	}
	for _, subject := range []string{
		"https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main",
		"https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main-evil",
		"https://evil.example/https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main",
	} {
		ok, _ := id.Matches(verify.Signer{Subject: subject, Issuer: "https://token.actions.githubusercontent.com"})
		fmt.Println(ok)
	}
	// Output:
	// true
	// false
	// false
}

func ExampleVerifier_Verify() {
	v, err := verify.New(verify.WithTrustedRootFile("trusted_root.json"))
	if err != nil {
		fmt.Println("input error:", err)
		return
	}
	b, err := verify.LoadBundle("train.link.sigstore.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := v.Verify(context.Background(), b, verify.ArtifactFile("model.safetensors"), verify.Identity{
		Subject: "https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main",
		Issuer:  "https://token.actions.githubusercontent.com",
	})
	if err != nil {
		fmt.Println(err) // errors.Is(err, verify.ErrRejected) tells a policy answer from an input error
		return
	}
	fmt.Println(res.Statement.GetPredicateType(), res.Signer.Subject)
}
