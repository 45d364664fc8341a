package gate

// Attacks on artifact names and digests (issue 10, classes 1 and 2), signed
// for real on the private stack like TestAttacks. The statements are forged
// as JSON, because mlattest's own Marshal refuses to produce them.

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
)

// forged marshals st and applies the old, new replacements to its JSON.
func forged(t testing.TB, st *intoto.Statement, oldnew ...string) []byte {
	t.Helper()
	b, err := predicates.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(oldnew); i += 2 {
		if !bytes.Contains(b, []byte(oldnew[i])) {
			t.Fatalf("forging: %q not in %s", oldnew[i], b)
		}
		b = bytes.ReplaceAll(b, []byte(oldnew[i]), []byte(oldnew[i+1]))
	}
	return b
}

// withDigest is the replacement pair for forged that adds alg:val to the
// digest set of the descriptor a (canonical JSON: "digest" sorts before
// "name").
func withDigest(a digest.Artifact, alg, val string) []string {
	return []string{`{"digest":{"sha256":"` + a.SHA256 + `"},"name":"` + a.Name + `"}`,
		`{"digest":{"sha256":"` + a.SHA256 + `","` + alg + `":"` + val + `"},"name":"` + a.Name + `"}`}
}

func sha512Hex(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }
func sha384Hex(b []byte) string { s := sha512.Sum384(b); return hex.EncodeToString(s[:]) }

func TestAttacksNamesAndDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	f := buildFixture(t)

	// The "docs" layout lets the packager copy the trained files and add
	// documentation under release/docs/: nothing else.
	docs := strings.Replace(string(f.layouts["good"]),
		"      - MATCH * IN release WITH PRODUCTS IN model FROM train\n      - DISALLOW *\nsubject:",
		"      - MATCH * IN release WITH PRODUCTS IN model FROM train\n      - CREATE release/docs/*\n      - DISALLOW *\nsubject:", 1)
	if docs == string(f.layouts["good"]) {
		t.Fatal("docs layout: template changed")
	}
	f.layouts["docs"] = []byte(docs)

	evil := []byte("other weights\n")
	modelOut := []digest.Artifact{art("model/config.json", modelConfig), art("model/model.safetensors", weights)}
	release := []digest.Artifact{art("release/config.json", modelConfig), art("release/model.safetensors", weights)}
	pkgCmd := []string{"package", "--out", "release"}
	trainCmd := []string{"python", "train.py"}
	raw := art("data/raw.jsonl", rawData)
	base := art("base/base.bin", baseModel)
	// pkgWith is the packager's link releasing config.json and, under the
	// placeholder name X (made hostile by forged), the other weights.
	pkgWith := func(placeholder string) *intoto.Statement {
		return linkStmt(t, "package", runID, pkgCmd, modelOut, []digest.Artifact{release[0], art(placeholder, evil)}, 0)
	}
	pkg := linkStmt(t, "package", runID, pkgCmd, modelOut, release, 0)
	train := linkStmt(t, "train", runID, trainCmd, []digest.Artifact{raw, base}, modelOut, 0)
	trainSecret := linkStmt(t, "train", runID, trainCmd, []digest.Artifact{raw, base, art("base/DOTDOT/secret.jsonl", []byte("private\n"))}, modelOut, 0)
	d512 := func(a digest.Artifact, val string) []string { return withDigest(a, "sha512", val) }

	jobs := []signJob{
		{name: "docs", signer: owner, blob: []byte(docs), layout: true},
		// Class 1: names.
		{name: "pkg.dotdot", signer: packager, raw: forged(t, pkgWith("release/docs/DOTDOT/model.safetensors"), "DOTDOT", "..")},
		{name: "pkg.deeper", signer: packager, stmt: pkgWith("release/docs/model.safetensors")},
		{name: "pkg.dot", signer: packager, raw: forged(t, pkgWith("release/docs/DOT/model.safetensors"), "DOT", ".")},
		{name: "pkg.slashes", signer: packager, raw: forged(t, pkgWith("release/docs/EMPTY/model.safetensors"), "EMPTY", "")},
		{name: "pkg.zwsp", signer: packager, raw: forged(t, pkgWith("release/docs/ZWSP/model.safetensors"), "ZWSP", "\u200b")},
		{name: "train.t1.dotdot", signer: trainer1, raw: forged(t, trainSecret, "DOTDOT", "..")},
		{name: "train.t2.dotdot", signer: trainer2, raw: forged(t, trainSecret, "DOTDOT", "..")},
		// Class 2: digests.
		{name: "pkg.sha512-wrong", signer: packager, raw: forged(t, pkg, d512(release[1], sha512Hex(evil))...)},
		{name: "pkg.sha512-right", signer: packager, raw: forged(t, pkg, append(d512(release[1], sha512Hex(weights)), d512(modelOut[1], sha512Hex(weights))...)...)},
		{name: "train.t2.sha512", signer: trainer2, raw: forged(t, train, d512(modelOut[1], sha512Hex(weights))...)},
		{name: "pkg.sha384-wrong", signer: packager, raw: forged(t, pkg, withDigest(release[1], "sha384", sha384Hex(evil))...)},
		{name: "pkg.sha1", signer: packager, raw: forged(t, pkg, withDigest(release[1], "sha1", strings.Repeat("0", 40))...)},
		{name: "pkg.material-sha512", signer: packager, raw: forged(t, pkg, d512(modelOut[1], sha512Hex(evil))...)},
		{name: "train.t1.sha512", signer: trainer1, raw: forged(t, train, d512(modelOut[1], sha512Hex(weights))...)},
		{name: "train.t2.sha512-other", signer: trainer2, raw: forged(t, train, d512(modelOut[1], sha512Hex(evil))...)},
	}
	f.signAll(t, jobs)

	evilModel := func(t *testing.T, dir string) string {
		writeFile(t, dir, "model.safetensors", evil)
		writeFile(t, dir, "config.json", modelConfig)
		return dir
	}
	pkgAttack := func(name, bundle string, code FailureCode, substr string) attackCase {
		return attackCase{name: name, layout: "docs", drop: []string{"package.link"}, add: []string{bundle}, model: evilModel, code: code, substr: substr}
	}
	cases := []attackCase{
		{name: "docs layout baseline passes", layout: "docs", pass: true},
		// The headline: the packager may only copy trained files and add
		// docs, yet releases other weights through a product name.
		pkgAttack("product with a .. segment releases other weights", "pkg.dotdot", FailArtifactName, `has a ".." segment`),
		pkgAttack("product one directory deeper than the released file", "pkg.deeper", FailSubject,
			"artifact model.safetensors: released file (sha256:"+hexSum(evil)+") is not a product of step package (none is named release/model.safetensors)"),
		pkgAttack("product with a . segment", "pkg.dot", FailArtifactName, `has a "." segment`),
		pkgAttack("product with a doubled slash", "pkg.slashes", FailArtifactName, "has an empty segment"),
		pkgAttack("product with a zero-width segment", "pkg.zwsp", FailArtifactName, "format character U+200B"),
		{name: "material with a .. segment escapes ALLOW base/*", drop: []string{"train.link.t1", "train.link.t2"},
			add: []string{"train.t1.dotdot", "train.t2.dotdot"}, code: FailArtifactName, substr: `"base/../secret.jsonl" has a ".." segment`},

		{name: "wrong sha512 next to the right sha256", drop: []string{"package.link"}, add: []string{"pkg.sha512-wrong"},
			code: FailSubject, substr: "artifact model.safetensors: released file has sha512:" + sha512Hex(weights) + ", but product release/model.safetensors of step package has sha512:" + sha512Hex(evil)},
		{name: "sha512 listed by every step and right passes", drop: []string{"package.link", "train.link.t1", "train.link.t2"},
			add: []string{"pkg.sha512-right", "train.t1.sha512", "train.t2.sha512"}, pass: true},
		{name: "sha512 a MATCHed step does not list", drop: []string{"package.link"}, add: []string{"pkg.sha512-right"},
			code: FailArtifactRule, substr: "artifact release/model.safetensors: not consumed by any earlier rule; MATCH * IN release WITH PRODUCTS IN model FROM train selected it but digest differs from PRODUCTS of step train: sha512 listed on one side only"},
		{name: "wrong sha384 next to the right sha256", drop: []string{"package.link"}, add: []string{"pkg.sha384-wrong"},
			code: FailSubject, substr: "released file has sha384:" + sha384Hex(weights)},
		{name: "digest algorithm verify cannot compute", drop: []string{"package.link"}, add: []string{"pkg.sha1"},
			code: FailArtifactDigest, substr: `lists a "sha1" digest, which mlattest cannot compute`},
		{name: "material digest the matched product cannot confirm", drop: []string{"package.link"}, add: []string{"pkg.material-sha512"},
			code: FailArtifactRule, substr: "digest differs from PRODUCTS of step train: sha512 listed on one side only"},
		{name: "links agree on sha256 but not on sha512", drop: []string{"train.link.t1", "train.link.t2"}, add: []string{"train.t1.sha512", "train.t2.sha512-other"},
			code: FailDisagreement, substr: "products model/model.safetensors has sha256:" + hexSum(weights) + " sha512:"},
	}
	f.runCases(t, cases)
}
