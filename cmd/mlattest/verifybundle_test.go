package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/predicates"
)

// cliResult is one in-process run of the CLI, mapped to an exit code the way
// run() does.
func verifyBundleCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runCLI(t, append([]string{"verify-bundle"}, args...)...)
}

const (
	cfIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	cfIssuer   = "https://token.actions.githubusercontent.com"
)

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func readTrim(t *testing.T, p, def string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return def
	}
	return strings.TrimSpace(string(b))
}

// cfArgs builds the verify-bundle arguments for one conformance case by the
// suite's README conventions.
func cfArgs(t *testing.T, base, name string) []string {
	dir := filepath.Join(base, name)
	artifact := filepath.Join(dir, "artifact")
	if !exists(artifact) {
		artifact = filepath.Join(base, "a.txt")
	}
	root := filepath.Join(dir, "trusted_root.json")
	if !exists(root) {
		root = filepath.Join(base, "..", "trusted_root.public-good.json")
	}
	args := []string{"--bundle", filepath.Join(dir, "bundle.sigstore.json"), "--artifact", artifact, "--trusted-root", root}
	if key := filepath.Join(dir, "key.pub"); exists(key) {
		return append(args, "--key", key)
	}
	return append(args,
		"--certificate-identity", readTrim(t, filepath.Join(dir, "identity"), cfIdentity),
		"--certificate-oidc-issuer", readTrim(t, filepath.Join(dir, "issuer"), cfIssuer))
}

// cfUsageErrors are _fail cases whose defect is in the verifier's own input
// (see verify/conformance_test.go): exit 2, never 0.
var cfUsageErrors = map[string]bool{
	"trust-root-tlog-missing-validity-start_fail": true,
	"managed-key-wrong-key_fail":                  true,
}

func TestVerifyBundleConformance(t *testing.T) {
	base := sharedConformance(t)
	ents, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := verifyBundleCLI(t, cfArgs(t, base, name)...)
			want := exitOK
			switch {
			case cfUsageErrors[name]:
				want = exitUsage
			case strings.HasSuffix(name, "_fail"):
				want = exitRejected
			}
			if r.code != want {
				t.Fatalf("want exit %d\n%v", want, r)
			}
			if want == exitRejected && !strings.Contains(r.stderr, "rejected") {
				t.Errorf("rejection does not say so:\n%v", r)
			}
			if want == exitOK && !strings.HasPrefix(r.stdout, "Verified: ") {
				t.Errorf("no verified line:\n%v", r)
			}
		})
	}
	if n < 70 {
		t.Fatalf("%d conformance cases, want at least 70", n)
	}
}

func TestVerifyBundleOutput(t *testing.T) {
	base := sharedConformance(t)
	args := cfArgs(t, base, "rekor2-dsse-happy-path")

	r := verifyBundleCLI(t, args...)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{"signer:      " + cfIdentity, "issuer:      " + cfIssuer, "predicate:   https://slsa.dev/provenance/v1",
		"a.txt  sha256:", "log entries: 1", "timestamp:   ", "(tsa "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = verifyBundleCLI(t, append(args, "--json")...)
	if r.code != 0 {
		t.Fatal(r)
	}
	var rep struct {
		Verified      bool
		PredicateType string
		PayloadType   string
		Subjects      []struct {
			Name   string
			Digest map[string]string
		}
		Signer struct {
			Subject, Issuer string
			Extensions      map[string]string
		}
		Timestamps []struct{ Kind, URI string }
		LogEntries int
		KeyOnly    bool
		Statement  map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	if !rep.Verified || rep.PredicateType != "https://slsa.dev/provenance/v1" || rep.PayloadType != predicates.PayloadType ||
		len(rep.Subjects) != 1 || rep.Subjects[0].Name != "a.txt" || rep.Signer.Subject != cfIdentity ||
		rep.Signer.Issuer != cfIssuer || rep.LogEntries != 1 || len(rep.Timestamps) == 0 || rep.KeyOnly ||
		rep.Statement["predicateType"] != rep.PredicateType || rep.Signer.Extensions["runInvocationURI"] == "" {
		t.Errorf("unexpected report: %+v", rep)
	}

	// A rejection in JSON still exits 1 and says why.
	bad := append([]string(nil), args...)
	bad[len(bad)-1] = "https://accounts.google.com"
	r = verifyBundleCLI(t, append(bad, "--json")...)
	if r.code != 1 {
		t.Fatal(r)
	}
	var rej map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rej); err != nil || rej["verified"] != false || rej["stage"] != "identity" ||
		!strings.Contains(rej["reason"].(string), "issuer") {
		t.Errorf("rejection report %v (%v)", rej, err)
	}
}

func TestVerifyBundleIdentityRegexpAnchored(t *testing.T) {
	base := sharedConformance(t)
	dir := filepath.Join(base, "happy-path-v0.3")
	common := []string{"--bundle", filepath.Join(dir, "bundle.sigstore.json"), "--artifact", filepath.Join(base, "a.txt"),
		"--trusted-root", filepath.Join(base, "..", "trusted_root.public-good.json")}
	for _, tc := range []struct {
		idRe, issRe string
		want        int
	}{
		{`https://github\.com/sigstore-conformance/.+`, `https://token\.actions\.githubusercontent\.com`, 0},
		{`extremely-dangerous-oidc-beacon\.yml@refs/heads/main`, `https://token\.actions\.githubusercontent\.com`, 1},
		{`https://github\.com/sigstore-conformance/`, `https://token\.actions\.githubusercontent\.com`, 1},
		{`https://github\.com/sigstore-conformance/.+`, `githubusercontent`, 1},
	} {
		r := verifyBundleCLI(t, append(common, "--certificate-identity-regexp", tc.idRe, "--certificate-oidc-issuer-regexp", tc.issRe)...)
		if r.code != tc.want {
			t.Errorf("identity ~%s issuer ~%s: want %d\n%v", tc.idRe, tc.issRe, tc.want, r)
		}
	}
}

// keyBundle signs an in-toto statement about a file with a fresh key,
// offline, and returns the paths of the bundle, the file and the PEM key.
func keyBundle(t *testing.T) (bundlePath, artifact, pubPath string) {
	t.Helper()
	dir := t.TempDir()
	content := []byte("clean data\n")
	artifact = filepath.Join(dir, "clean.jsonl")
	if err := os.WriteFile(artifact, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	pred, _ := structpb.NewStruct(map[string]any{"name": "clean"})
	st, err := protojson.Marshal(&intoto.Statement{
		Type:          predicates.StatementTypeV1,
		Subject:       []*intoto.ResourceDescriptor{{Name: "clean.jsonl", Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		PredicateType: predicates.LinkV03,
		Predicate:     pred,
	})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: st, PayloadType: predicates.PayloadType}, kp, sign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := protojson.Marshal(pb)
	bundlePath = filepath.Join(dir, "clean.link.sigstore.json")
	pemBytes, _ := cryptoutils.MarshalPublicKeyToPEM(kp.GetPublicKey())
	pubPath = filepath.Join(dir, "key.pub")
	for p, d := range map[string][]byte{bundlePath: data, pubPath: pemBytes} {
		if err := os.WriteFile(p, d, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return bundlePath, artifact, pubPath
}

func TestVerifyBundleKeyOnly(t *testing.T) {
	b, art, pub := keyBundle(t)
	_, _, otherPub := keyBundle(t)

	r := verifyBundleCLI(t, "--bundle", b, "--artifact", art, "--key", pub)
	if r.code != 0 {
		t.Fatal(r)
	}
	if !strings.Contains(r.stderr, "no transparency log entry and no timestamp were checked") {
		t.Errorf("key-only does not warn on stderr:\n%v", r)
	}
	for _, want := range []string{"signer key:  sha256:", "predicate:   " + predicates.LinkV03, "clean.jsonl  sha256:", "not checked (key-only)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = verifyBundleCLI(t, "--bundle", b, "--artifact", art, "--key", pub, "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rep); r.code != 0 || err != nil || rep["keyOnly"] != true ||
		!strings.Contains(rep["warning"].(string), "no transparency log") {
		t.Errorf("json key-only report %v (%v)\n%v", rep, err, r)
	}

	if r := verifyBundleCLI(t, "--bundle", b, "--artifact", art, "--key", otherPub); r.code != 1 || !strings.Contains(r.stderr, "signature") {
		t.Errorf("wrong key: %v", r)
	}
	if r := verifyBundleCLI(t, "--bundle", b, "--artifact", otherPub, "--key", pub); r.code != 1 || !strings.Contains(r.stderr, "digest") {
		t.Errorf("wrong artifact: %v", r)
	}
	sum := sha256.Sum256([]byte("clean data\n"))
	if r := verifyBundleCLI(t, "--bundle", b, "--digest", "sha256:"+hex.EncodeToString(sum[:]), "--key", pub); r.code != 0 {
		t.Errorf("by digest: %v", r)
	}
	// With a trusted root, an offline bundle lacks the required log entry.
	root := filepath.Join(sharedConformance(t), "..", "trusted_root.public-good.json")
	if r := verifyBundleCLI(t, "--bundle", b, "--artifact", art, "--key", pub, "--trusted-root", root); r.code != 1 || !strings.Contains(r.stderr, "log") {
		t.Errorf("key + trusted root without a log entry: %v", r)
	}
}

func TestVerifyBundleUsageErrors(t *testing.T) {
	b, art, pub := keyBundle(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.json")
	os.WriteFile(garbage, []byte("{nope"), 0o600)
	badRoot := filepath.Join(dir, "root.json")
	os.WriteFile(badRoot, []byte(`{"mediaType": 5}`), 0o600)
	id := []string{"--certificate-identity", "a@example.com", "--certificate-oidc-issuer", "https://issuer.example"}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no bundle", []string{"--artifact", art, "--key", pub}, 2, "--bundle is required"},
		{"no artifact", []string{"--bundle", b, "--key", pub}, 2, "--artifact FILE or --digest"},
		{"artifact and digest", []string{"--bundle", b, "--artifact", art, "--digest", "sha256:00", "--key", pub}, 2, "not both"},
		{"bad digest", []string{"--bundle", b, "--digest", "sha256:xyz", "--key", pub}, 2, "--digest"},
		{"key and identity", append([]string{"--bundle", b, "--artifact", art, "--key", pub}, id...), 2, "cannot be combined"},
		{"no key, no identity", []string{"--bundle", b, "--artifact", art}, 2, "--certificate-identity"},
		{"identity without issuer", []string{"--bundle", b, "--artifact", art, "--certificate-identity", "x"}, 2, "--certificate-oidc-issuer"},
		{"bad regexp", []string{"--bundle", b, "--artifact", art, "--certificate-identity-regexp", "(", "--certificate-oidc-issuer", "x"}, 2, "regexp"},
		{"missing bundle", []string{"--bundle", filepath.Join(dir, "missing.json"), "--artifact", art, "--key", pub}, 2, "missing.json"},
		{"missing artifact", []string{"--bundle", b, "--artifact", filepath.Join(dir, "missing.bin"), "--key", pub}, 2, "missing.bin"},
		{"missing key", []string{"--bundle", b, "--artifact", art, "--key", filepath.Join(dir, "missing.pub")}, 2, "missing.pub"},
		{"bad key", []string{"--bundle", b, "--artifact", art, "--key", garbage}, 2, "garbage.json"},
		{"missing trusted root", append([]string{"--bundle", b, "--artifact", art, "--trusted-root", filepath.Join(dir, "nope.json")}, id...), 2, "nope.json"},
		{"unparseable trusted root", append([]string{"--bundle", b, "--artifact", art, "--trusted-root", badRoot}, id...), 2, "root.json"},
		{"positional argument", []string{"--bundle", b, "--artifact", art, "--key", pub, "extra"}, 2, "takes no arguments (got \"extra\")"},
		{"malformed bundle is a rejection", []string{"--bundle", garbage, "--artifact", art, "--key", pub}, 1, "bundle " + garbage + ": rejected: not a valid Sigstore bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verifyBundleCLI(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("want exit %d mentioning %q\n%v", tc.code, tc.msg, r)
			}
		})
	}
}

// sharedConformance is ../shared/conformance/sigstore-bundle-verify beside the repository, read in place.
func sharedConformance(t testing.TB) string { return repotest.Conformance(t, "sigstore-bundle-verify") }
