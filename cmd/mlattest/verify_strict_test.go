package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlattest/mlattest/gate"
	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/predicates"
)

// TestVerifyUnexpectedStatementE2E: the trainer signs (with the built
// binary's `mlattest sign`) a copy of its link under a look-alike predicate
// type; `mlattest verify --json --vsa` exits 1 with an unexpected-statement
// failure, and the FAILED VSA does not list the bundle as an input.
func TestVerifyUnexpectedStatementE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	s := stacktest.Get(t)
	dir, att, layout := verifySetup(t, s)

	link := payloadBytes(t, filepath.Join(att, "train.link.sigstore.json"))
	alias := bytes.Replace(link, []byte(`"predicateType":"`+predicates.LinkV03+`"`), []byte(`"predicateType":"https://in-toto.io/Link/v1"`), 1)
	if bytes.Equal(alias, link) {
		t.Fatal("no predicateType to replace")
	}
	writeFile(t, filepath.Join(att, "train.alias.UNSIGNED.intoto.json"), string(alias))
	if r := mlattest(t, dir, stackEnv(s, s.Token(t, 1, "trainer@example.com")), "sign", att); r.code != exitOK {
		t.Fatalf("sign: %v", r)
	}
	const aliasBundle = "train.alias.sigstore.json"
	if _, err := os.Stat(filepath.Join(att, aliasBundle)); err != nil {
		t.Fatal(err)
	}

	vsa := filepath.Join(t.TempDir(), "model.vsa.sigstore.json")
	r := mlattest(t, dir, stackEnv(s, s.Token(t, 2, "release-gate@example.org")),
		"verify", "--json", "--layout", layout, "--layout-identity", "owner@example.com", "--layout-oidc-issuer", s.Issuer1,
		"--attestations", att, "--model", filepath.Join(dir, "model"), "--vsa", vsa)
	if r.code != exitRejected {
		t.Fatalf("want exit 1: %v", r)
	}
	var rep gate.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if rep.Passed || !rep.HasFailure(gate.FailUnexpected, "bundle "+aliasBundle+`: signed statement of predicate type "https://in-toto.io/Link/v1"`) {
		t.Fatalf("want an unexpected-statement failure for %s: %+v", aliasBundle, rep.Failures)
	}
	if !bytes.Contains([]byte(r.stdout), []byte(`"code":"unexpected-statement"`)) {
		t.Fatalf("JSON lacks the code: %s", r.stdout)
	}
	got := vsaOf(t, vsa)
	if got.Result != predicates.VSAFailed {
		t.Fatalf("VSA result %s, want FAILED", got.Result)
	}
	var inputs []string
	for _, in := range got.InputAttestations {
		inputs = append(inputs, in.URI)
	}
	if len(inputs) != 2 || inputs[0] != "train.link.sigstore.json" || inputs[1] != "train.provenance.sigstore.json" {
		t.Fatalf("VSA inputs %q, want exactly the evaluated link and provenance", inputs)
	}
}
