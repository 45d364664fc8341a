package gate

// Layout evaluation without the stack: statements are built in memory (or
// signed offline with keys) so the rules the stack cannot exercise (Fulcio
// CI extensions, key functionaries) are tested too.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/verify"
)

const ghIssuer = "https://token.actions.githubusercontent.com"

const unitLayout = `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  ci:
    keyless:
      issuer: https://token.actions.githubusercontent.com
      subjectRegexp: 'https://github\.com/acme/train/\.github/workflows/[a-z]+\.yml@refs/heads/main'
      extensions: {sourceRepositoryURI: "https://github.com/acme/train"}
steps:
  - name: train
    functionaries: [ci]
    expectedProducts: [CREATE model/*, DISALLOW *]
    expectedPredicates:
      - type: https://in-toto.io/attestation/link/v0.3
        expressions: ['predicate.command[0] == "train"']
subject:
  step: train
`

func parseLayout(t *testing.T, y string) *layouts.Layout {
	t.Helper()
	l, err := layouts.Parse([]byte(y), "layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ciSigner(run string) verify.Signer {
	return verify.Signer{
		Issuer:  ghIssuer,
		Subject: "https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main",
		Extensions: certificate.Extensions{
			Issuer:              ghIssuer,
			SourceRepositoryURI: "https://github.com/acme/train",
			RunInvocationURI:    run,
		},
	}
}

var modelArt = digest.Artifact{Name: "model/model.bin", SHA256: hexSum([]byte("w"))}

func vstmt(t *testing.T, name string, s verify.Signer, st *intoto.Statement) *VerifiedStatement {
	t.Helper()
	payload, err := predicates.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return &VerifiedStatement{Bundle: name, Signer: s, SignerID: signerID(s), Statement: st, PayloadSHA256: hexSum(payload)}
}

func scanStmt(t *testing.T, verdict any) *intoto.Statement {
	t.Helper()
	p, err := structpb.NewStruct(map[string]any{"verdict": verdict})
	if err != nil {
		t.Fatal(err)
	}
	return &intoto.Statement{Type: predicates.StatementTypeV1, PredicateType: "https://example.com/scan/v1", Predicate: p,
		Subject: []*intoto.ResourceDescriptor{{Name: modelArt.Name, Digest: map[string]string{"sha256": modelArt.SHA256}}}}
}

// retyped is st with another predicate type.
func retyped(st *intoto.Statement, pt string) *intoto.Statement {
	c := proto.Clone(st).(*intoto.Statement)
	c.PredicateType = pt
	return c
}

func modelFiles() *ModelFiles {
	return &ModelFiles{Path: "model.bin", Files: []digest.Artifact{{Name: "model.bin", SHA256: modelArt.SHA256}}}
}

func TestEvaluateUnit(t *testing.T) {
	l := parseLayout(t, unitLayout)
	// The same layout demanding a predicate type that has no binding.
	lScan := parseLayout(t, strings.Replace(strings.Replace(unitLayout, "https://in-toto.io/attestation/link/v0.3", "https://example.com/scan/v1", 1),
		`predicate.command[0] == "train"`, `predicate.verdict == "PASS"`, 1))
	const ghRun = "https://github.com/acme/train/actions/runs/77/attempts/2"
	const ghRunID = "acme/train/77-2"
	link := func(run string) *intoto.Statement {
		return linkStmt(t, "train", run, []string{"train"}, nil, []digest.Artifact{modelArt}, 0)
	}
	scan := scanStmt(t, "PASS")
	other := retyped(scanStmt(t, "PASS"), "https://example.com/other/v1")
	lExtra := parseLayout(t, unitLayout+"allowedExtraPredicates: [\"https://example.com/other/v1\", \""+predicates.ModelScanV1+"\"]\n")
	// A second step evaluates model scans; train does not.
	lTwo := parseLayout(t, strings.Replace(unitLayout, "subject:", `  - name: scan-model
    functionaries: [ci]
    expectedPredicates: [{type: "`+predicates.ModelScanV1+`"}]
subject:`, 1))
	modelScan := func(run string) *intoto.Statement {
		st, err := predicates.NewModelScanStatement(predicates.ModelScanInput{Step: "train", RunID: run,
			Scanner: predicates.ModelScanScanner{Name: "mlattest", Policy: "default"}, Verdict: "malicious",
			Files: []predicates.ModelScanFile{{Path: modelArt.Name, SHA256: modelArt.SHA256, Format: "pickle", Verdict: "malicious", Pickle: true,
				Findings: []predicates.ModelScanFinding{{Rule: "pickle-global", Severity: "malicious", Offset: 2, Message: "os.system"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	pin := func() *intoto.Statement {
		st, err := predicates.NewModelPinStatement(predicates.ModelPin{Repository: "hf://acme/base", Revision: strings.Repeat("a", 40),
			Files: []predicates.ModelPinFile{{Path: "model.bin", SHA256: modelArt.SHA256}}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}()

	for _, tc := range []struct {
		name   string
		layout *layouts.Layout
		stmts  []*VerifiedStatement
		runID  string
		model  *ModelFiles
		code   FailureCode // "" = pass
		substr string
	}{
		{name: "CI-bound run passes", stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID))}},
		{name: "the same statement twice counts once", stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "l-copy", ciSigner(ghRun), link(ghRunID))}},
		{name: "self-asserted run id differs from the certificate's CI run",
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link("other")), vstmt(t, "s", ciSigner(ghRun), scan)},
			code:  FailRunInvocation, substr: `claims run "other", but its certificate was issued to CI run ` + ghRun},
		{name: "statements from two CI runs",
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)),
				vstmt(t, "l2", ciSigner("https://github.com/acme/train/actions/runs/78/attempts/1"), link(ghRunID))},
			code: FailRunInvocation, substr: "signed in 2 different CI runs"},
		{name: "required extension differs",
			stmts: []*VerifiedStatement{vstmt(t, "l", func() verify.Signer {
				s := ciSigner(ghRun)
				s.Extensions.SourceRepositoryURI = "https://github.com/evil/train"
				return s
			}(), link(ghRunID)), vstmt(t, "s", ciSigner(ghRun), scan)},
			code: FailThreshold, substr: "0 distinct"},
		{name: "unknown predicate type the layout mentions must bind", layout: lScan,
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "s", ciSigner(ghRun), scan)},
			// The scan statement has no binding: it is not counted, so the
			// expectation is unmet, and it is reported as unbindable.
			code: FailCannotBind, substr: "bundle s: cannot bind a https://example.com/scan/v1 statement"},
		{name: "a predicate type the layout does not evaluate fails",
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "x", ciSigner(ghRun), other)},
			code:  FailUnexpected, substr: `bundle x: signed statement of predicate type "https://example.com/other/v1": the layout evaluates no statement of this type`},
		{name: "a look-alike of link v0.3 fails, named as such",
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "x", ciSigner(ghRun), retyped(link(ghRunID), "https://in-toto.io/attestation/link/v0.3/"))},
			code:  FailUnexpected, substr: "it resembles https://in-toto.io/attestation/link/v0.3, but predicate types are compared exactly"},
		{name: "a known type for a step that does not evaluate it fails", layout: lTwo,
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "ms", ciSigner(ghRun), modelScan(ghRunID))},
			code:  FailUnexpected, substr: "step train: bundle ms: signed statement of predicate type \"" + predicates.ModelScanV1 + "\": step train does not evaluate statements of this type"},
		{name: "a model pin without a baseModels section fails",
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "pin", ciSigner(ghRun), pin)},
			code:  FailUnexpected, substr: "bundle pin: signed statement of predicate type \"" + predicates.ModelPinV1 + "\""},
		{name: "a type allowedExtraPredicates lists is ignored", layout: lExtra,
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "x", ciSigner(ghRun), other),
				vstmt(t, "ms", ciSigner(ghRun), modelScan(ghRunID))}},
		{name: "allowedExtraPredicates is exact: a case variant still fails", layout: lExtra,
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)), vstmt(t, "x", ciSigner(ghRun), retyped(other, "https://example.com/Other/v1"))},
			code:  FailUnexpected, substr: `bundle x: signed statement of predicate type "https://example.com/Other/v1"`},
		{name: "an expectation over a field that is absent fails", stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), linkStmt(t, "train", ghRunID, nil, nil, []digest.Artifact{modelArt}, 0))},
			code: FailExpectation, substr: "cannot evaluate"},
		{name: "a run id given explicitly must match", runID: "acme/train/77-3", stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID))},
			code: FailRunIDMismatch, substr: `not of run "acme/train/77-3"`},
		{name: "statement for a step the layout lacks",
			stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID)),
				vstmt(t, "e", ciSigner(ghRun), linkStmt(t, "extra", ghRunID, nil, nil, []digest.Artifact{modelArt}, 0))},
			code: FailUnknownStep, substr: `statement for step "extra"`},
		{name: "no model", stmts: []*VerifiedStatement{vstmt(t, "l", ciSigner(ghRun), link(ghRunID))}, model: &ModelFiles{Path: "m", Files: []digest.Artifact{{Name: "m", SHA256: hexSum([]byte("x"))}}},
			code: FailSubject, substr: "artifact model/model.bin: product of step train"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model
			if m == nil {
				m = modelFiles()
			}
			lay := tc.layout
			if lay == nil {
				lay = l
			}
			r := Evaluate(lay, &Evidence{Statements: tc.stmts}, EvalOptions{RunID: tc.runID, Model: m})
			if tc.code == "" {
				if !r.Passed {
					t.Fatalf("want pass:\n%s", failureList(r))
				}
				return
			}
			if r.Passed || !r.HasFailure(tc.code, tc.substr) {
				t.Fatalf("want %s %q, got:\n%s", tc.code, tc.substr, failureList(r))
			}
		})
	}
}

// Key functionaries: each key-signed bundle verifies with its own key's
// Verifier; a bundle signed by another key is rejected, not skipped.
func TestVerifyAttestationsKeys(t *testing.T) {
	dir := t.TempDir()
	keys := make([]*ecdsa.PrivateKey, 3)
	pems := make([]string, 3)
	for i := range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		keys[i], pems[i] = k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	indent := func(s string) string { return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ") }
	y := `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  a:
    key: |
` + indent(pems[0]) + `
  b:
    key: |
` + indent(pems[1]) + `
steps:
  - name: train
    functionaries: [a, b]
    threshold: 2
subject:
  step: train
`
	l := parseLayout(t, y)
	st := linkStmt(t, "train", "r1", []string{"train"}, nil, []digest.Artifact{modelArt}, 0)
	payload, err := predicates.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		sg, err := sign.New(sign.WithKey(k), sign.WithOffline())
		if err != nil {
			t.Fatal(err)
		}
		pb, err := sg.SignStatement(context.Background(), payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := sign.WriteBundle(filepath.Join(dir, "train."+string(rune('a'+i))+".sigstore.json"), pb); err != nil {
			t.Fatal(err)
		}
	}

	ev, err := VerifyAttestations(context.Background(), l, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Statements) != 2 || len(ev.Failures) != 1 || ev.Failures[0].Bundle != "train.c.sigstore.json" ||
		!strings.Contains(ev.Failures[0].Reason, "no functionary key of the layout") {
		t.Fatalf("want a and b verified and c rejected, got %d statements, failures %v", len(ev.Statements), ev.Failures)
	}
	r := Evaluate(l, ev, EvalOptions{Model: modelFiles()})
	if len(r.Steps) != 1 || len(r.Steps[0].Signers) != 2 || !r.Steps[0].Passed {
		t.Fatalf("want both keys counted: %+v", r.Steps)
	}

	// Without c, the run passes with threshold 2 met by two keys.
	if err := os.Remove(filepath.Join(dir, "train.c.sigstore.json")); err != nil {
		t.Fatal(err)
	}
	ev, err = VerifyAttestations(context.Background(), l, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := Evaluate(l, ev, EvalOptions{Model: modelFiles()}); !r.Passed {
		t.Fatalf("want pass:\n%s", failureList(r))
	}
}

func TestIdentityOfExtensions(t *testing.T) {
	id, err := IdentityOf(&layouts.KeylessIdentity{Issuer: "i", Subject: "s", Extensions: map[string]string{"githubWorkflowRef": "refs/heads/main"}})
	if err != nil || id.Extensions.GithubWorkflowRef != "refs/heads/main" {
		t.Fatalf("IdentityOf: %+v, %v", id, err)
	}
	for _, ext := range []map[string]string{{"nope": "x"}, {"issuer": "x"}} {
		if _, err := IdentityOf(&layouts.KeylessIdentity{Issuer: "i", Subject: "s", Extensions: ext}); err == nil {
			t.Errorf("IdentityOf accepted extensions %v", ext)
		}
	}
}

func TestSubjectGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"*", "a/b/c", true},
		{"release/*", "release/x/y.bin", true},
		{"release/*", "other/release/x", false},
		{"*.bin", "a/b.bin", true},
		{"?.bin", "ab.bin", false},
		{"[ab].bin", "a.bin", true},
		{"[!ab].bin", "a.bin", false},
		{"a.b", "axb", false},
	} {
		got, err := matchGlob(tc.pat, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%q ~ %q = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
	if _, err := compileGlob("[ab"); err == nil {
		t.Error("unterminated class accepted")
	}
}

func TestHashModel(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.bin", []byte("a"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub"), "b.bin", []byte("b"))
	m, err := HashModel(context.Background(), dir)
	if err != nil || !m.Dir || len(m.Files) != 2 || m.Files[1].Name != "sub/b.bin" {
		t.Fatalf("HashModel(dir) = %+v, %v", m, err)
	}
	m, err = HashModel(context.Background(), filepath.Join(dir, "a.bin"))
	if err != nil || m.Dir || len(m.Files) != 1 || m.Files[0].Name != "a.bin" || m.Files[0].SHA256 != hexSum([]byte("a")) {
		t.Fatalf("HashModel(file) = %+v, %v", m, err)
	}
	if _, err := HashModel(context.Background(), filepath.Join(dir, "none")); err == nil {
		t.Fatal("missing model accepted")
	}
	empty := t.TempDir()
	if _, err := HashModel(context.Background(), empty); err == nil {
		t.Fatal("empty model directory accepted")
	}
}

// TestEvaluateStatementUse: the report says which statements were evaluated
// and which ignored, and EvaluatedAttestations (the VSA's inputs) lists
// exactly the evaluated ones.
func TestEvaluateStatementUse(t *testing.T) {
	const ghRun = "https://github.com/acme/train/actions/runs/77/attempts/2"
	const ghRunID = "acme/train/77-2"
	lExtra := parseLayout(t, unitLayout+"allowedExtraPredicates: [\"https://example.com/other/v1\"]\n")
	link := linkStmt(t, "train", ghRunID, []string{"train"}, nil, []digest.Artifact{modelArt}, 0)
	other := retyped(scanStmt(t, "PASS"), "https://example.com/other/v1")
	ev := &Evidence{
		Statements: []*VerifiedStatement{
			vstmt(t, "l", ciSigner(ghRun), link),
			vstmt(t, "l-copy", ciSigner(ghRun), link),
			vstmt(t, "x", ciSigner(ghRun), other),
		},
		Failures: []Failure{{Code: FailBundle, Bundle: "junk", Reason: "does not verify"}},
	}
	for _, n := range []string{"junk", "l", "l-copy", "x"} {
		ev.Bundles = append(ev.Bundles, BundleRef{File: n, SHA256: hexSum([]byte(n)), Verified: n != "junk"})
	}
	r := Evaluate(lExtra, ev, EvalOptions{Model: modelFiles()})
	if !r.HasFailure(FailBundle, "junk") || len(r.Failures) != 1 {
		t.Fatalf("want only the junk bundle's failure, got:\n%s", failureList(r))
	}
	got := map[string]string{}
	for _, b := range r.Bundles {
		got[b.File] = fmt.Sprintf("evaluated=%v ignored=%q", b.Evaluated, b.Ignored)
	}
	want := map[string]string{
		"junk":   `evaluated=false ignored=""`,
		"l":      `evaluated=true ignored=""`,
		"l-copy": `evaluated=true ignored=""`,
		"x":      `evaluated=false ignored="predicate type https://example.com/other/v1: the layout evaluates no statement of this type, and allowedExtraPredicates lists it"`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("bundles:\n%v\nwant:\n%v", got, want)
	}
	inputs := r.EvaluatedAttestations()
	if fmt.Sprint(inputs) != fmt.Sprint([]predicates.Resource{{URI: "l", SHA256: hexSum([]byte("l"))}, {URI: "l-copy", SHA256: hexSum([]byte("l-copy"))}}) {
		t.Errorf("EvaluatedAttestations = %v, want l and l-copy", inputs)
	}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  - ignored x: predicate type https://example.com/other/v1:") {
		t.Errorf("text report does not list the ignored statement:\n%s", b.String())
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"file":"x","sha256":"`) || !strings.Contains(string(js), `"evaluated":false,"ignored":"predicate type https://example.com/other/v1`) {
		t.Errorf("JSON report lacks the ignored statement: %s", js)
	}
}
