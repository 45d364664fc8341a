package gate

// The attack suite: a three-step pipeline (ingest -> train -> package) signed
// for real on the private Sigstore stack by several identities from both of
// its OIDC issuers, verified against a signed layout, and then attacked one
// way per subtest. Every case asserts the failure's code and reason.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/stacktest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/sign"
	"github.com/mlattest/mlattest/verify"
)

// Identities of the suite (subject, issuer 1 or 2).
type who struct {
	subject string
	issuer  int
}

var (
	owner      = who{"owner@example.com", 1}
	alice      = who{"alice@example.com", 1} // ingest
	aliceIss2  = who{"alice@example.com", 2} // same subject, other issuer
	trainer1   = who{"trainer@example.com", 1}
	trainer2   = who{"trainer@example.org", 2}
	packager   = who{"pkg-bot@example.com", 1} // matches the packager regexp
	pkgSuffix  = who{"pkg-bot@example.com.evil.org", 1}
	mallory    = who{"mallory@example.com", 1}
	attackerKS = who{"", 0} // the attacker's key
)

const (
	runID    = "run-1"
	otherRun = "run-2"
)

// layoutTemplate is the suite's layout; {{...}} are filled per variant.
const layoutTemplate = `# attack-suite layout
serial: 5
expires: "{{EXPIRES}}"
functionaries:
  alice:
    keyless: {issuer: "{{I1}}", subject: alice@example.com}
  trainer1:
    keyless: {issuer: "{{I1}}", subject: trainer@example.com}
  trainer2:
    keyless: {issuer: "{{I2}}", subject: trainer@example.org}
  packager:
    keyless: {issuer: "{{I1}}", subjectRegexp: 'pkg-[a-z]+@example\.com'}
steps:
  - name: ingest
    functionaries: [alice]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE data/raw.jsonl, DISALLOW *]
  - name: train
    functionaries: [trainer1, trainer2]
    threshold: 2
    expectedMaterials:
      - MATCH data/raw.jsonl WITH PRODUCTS FROM ingest
      - ALLOW base/*
      - DISALLOW *
    expectedProducts:
      - CREATE model/*
      - DISALLOW *
    expectedPredicates:
      - type: https://slsa.dev/provenance/v1
        expressions:
          - {{CEL}}
  - name: package
    functionaries: [packager]
    expectedCommand: [package, --out, "*"]
    expectedMaterials:
      - MATCH * IN model WITH PRODUCTS IN model FROM train
      - DISALLOW *
    expectedProducts:
      - MATCH * IN release WITH PRODUCTS IN model FROM train
      - DISALLOW *
subject:
  step: package
  patterns: ["release/*"]
`

// Pipeline file contents.
var (
	rawData     = []byte(`{"text":"hello"}` + "\n")
	baseModel   = []byte("base weights\n")
	weights     = []byte("fine-tuned weights\n")
	modelConfig = []byte(`{"arch":"tiny"}` + "\n")
)

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func art(name string, content []byte) digest.Artifact {
	return digest.Artifact{Name: name, SHA256: hexSum(content), Size: int64(len(content))}
}

// attackFixture is built once: every bundle of the suite, by name.
type attackFixture struct {
	stack   *stacktest.Stack
	trusted root.TrustedMaterial
	bundles map[string][]byte // attestation bundles
	layouts map[string][]byte // layout variant -> YAML
	lbund   map[string][]byte // layout variant -> its bundle
	model   string            // the genuine released model directory
}

// baseline is the honest run's attestation set.
var baseline = []string{"ingest.link", "train.link.t1", "train.link.t2", "train.prov.t1", "package.link"}

type signJob struct {
	name   string
	signer who
	stmt   *intoto.Statement // DSSE, or
	raw    []byte            // DSSE of these exact payload bytes, or
	blob   []byte            // message signature (layouts)
	layout bool
}

func linkStmt(t testing.TB, step, run string, cmd []string, mats, prods []digest.Artifact, exit int) *intoto.Statement {
	t.Helper()
	st, err := predicates.NewLinkStatement(predicates.LinkInput{Step: step, RunID: run, Command: cmd, Materials: mats, Products: prods, ExitCode: exit})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newStackFixture finds the stack and loads its trusted root.
func newStackFixture(t testing.TB) *attackFixture {
	t.Helper()
	s := stacktest.Get(t)
	tr, err := root.NewTrustedRootFromPath(s.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	return &attackFixture{stack: s, trusted: tr, bundles: map[string][]byte{}, layouts: map[string][]byte{}, lbund: map[string][]byte{}}
}

func buildFixture(t testing.TB) *attackFixture {
	t.Helper()
	f := newStackFixture(t)

	raw := []digest.Artifact{art("data/raw.jsonl", rawData)}
	rawChanged := []digest.Artifact{art("data/raw.jsonl", []byte("poisoned\n"))}
	base := art("base/base.bin", baseModel)
	modelOut := []digest.Artifact{art("model/config.json", modelConfig), art("model/model.safetensors", weights)}
	release := []digest.Artifact{art("release/config.json", modelConfig), art("release/model.safetensors", weights)}
	trainCmd := []string{"python", "train.py"}
	pkgCmd := []string{"package", "--out", "release"}

	ingest := linkStmt(t, "ingest", runID, []string{"fetch"}, nil, raw, 0)
	train := linkStmt(t, "train", runID, trainCmd, append(raw, base), modelOut, 0)
	pkg := linkStmt(t, "package", runID, pkgCmd, modelOut, release, 0)
	now := time.Now().UTC().Truncate(time.Second)
	prov, err := predicates.NewTrainingStatement(predicates.TrainingInput{
		Step: "train", RunID: runID, EntryPoint: trainCmd,
		BaseModel:  []predicates.Resource{{URI: "base/base.bin", SHA256: base.SHA256}},
		Datasets:   []predicates.Dataset{{Resource: predicates.Resource{URI: "data/raw.jsonl", SHA256: raw[0].SHA256}}},
		BuilderID:  "mlattest://local",
		StartedOn:  now.Add(-time.Minute),
		FinishedOn: now,
		Subjects:   modelOut,
	})
	if err != nil {
		t.Fatal(err)
	}

	jobs := []signJob{
		// The honest run.
		{name: "ingest.link", signer: alice, stmt: ingest},
		{name: "train.link.t1", signer: trainer1, stmt: train},
		{name: "train.link.t2", signer: trainer2, stmt: train},
		{name: "train.prov.t1", signer: trainer1, stmt: prov},
		{name: "package.link", signer: packager, stmt: pkg},
		// Attacks.
		{name: "train.link.t1-again", signer: trainer1, stmt: train},
		{name: "package.link.mallory", signer: mallory, stmt: pkg},
		{name: "ingest.link.issuer2", signer: aliceIss2, stmt: ingest},
		{name: "package.link.suffix", signer: pkgSuffix, stmt: pkg},
		{name: "ingest.link.run2", signer: alice, stmt: linkStmt(t, "ingest", otherRun, []string{"fetch"}, nil, raw, 0)},
		{name: "train.link.t1.changed", signer: trainer1, stmt: linkStmt(t, "train", runID, trainCmd, append(rawChanged, base), modelOut, 0)},
		{name: "train.link.t2.changed", signer: trainer2, stmt: linkStmt(t, "train", runID, trainCmd, append(rawChanged, base), modelOut, 0)},
		{name: "package.link.extra", signer: packager, stmt: linkStmt(t, "package", runID, pkgCmd, modelOut,
			append(release, art("release/backdoor.py", []byte("import os\n"))), 0)},
		{name: "train.link.attackerkey", signer: attackerKS, stmt: train},
		{name: "train.link.t1.exit1", signer: trainer1, stmt: linkStmt(t, "train", runID, trainCmd, append(raw, base), modelOut, 1)},
		{name: "train.link.t2.exit1", signer: trainer2, stmt: linkStmt(t, "train", runID, trainCmd, append(raw, base), modelOut, 1)},
		{name: "package.link.cmd", signer: packager, stmt: linkStmt(t, "package", runID, []string{"package", "--upload", "evil"}, modelOut, release, 0)},
		{name: "package.link.alice", signer: alice, stmt: pkg},
		{name: "train.link.t2.other-products", signer: trainer2, stmt: linkStmt(t, "train", runID, trainCmd, append(raw, base),
			[]digest.Artifact{art("model/config.json", modelConfig), art("model/model.safetensors", []byte("other weights\n"))}, 0)},
		{name: "train.link.mallory", signer: mallory, stmt: train},
	}

	cel := map[string]string{
		"good":        `predicate.buildDefinition.resolvedDependencies.exists(d, d.annotations.role == "base-model" && d.digest.sha256 in ["` + base.SHA256 + `"])`,
		"cel-false":   `predicate.buildDefinition.resolvedDependencies.exists(d, d.annotations.role == "base-model" && d.digest.sha256 in ["` + strings.Repeat("0", 64) + `"])`,
		"cel-missing": `predicate.runDetails.metadata.evalScore > 0.9`,
	}
	for variant, expr := range cel {
		jobs = append(jobs, f.layoutJob(variant, "'"+expr+"'"))
	}
	f.layouts["wrong-owner"] = f.layouts["good"]
	jobs = append(jobs, signJob{name: "wrong-owner", signer: mallory, blob: f.layouts["good"], layout: true})

	f.signAll(t, jobs)

	f.model = t.TempDir()
	writeFile(t, f.model, "model.safetensors", weights)
	writeFile(t, f.model, "config.json", modelConfig)
	return f
}

// layoutJob fills the layout template with a CEL expectation (a YAML
// expression item) and returns the job signing it as the owner.
func (f *attackFixture) layoutJob(variant, cel string) signJob {
	y := strings.NewReplacer("{{EXPIRES}}", time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339),
		"{{I1}}", f.stack.Issuer1, "{{I2}}", f.stack.Issuer2, "{{CEL}}", cel).Replace(layoutTemplate)
	f.layouts[variant] = []byte(y)
	return signJob{name: variant, signer: owner, blob: []byte(y), layout: true}
}

// signAll signs every signJob concurrently, one sign.Signer (one token and one
// Fulcio certificate) per identity.
func (f *attackFixture) signAll(t testing.TB, jobs []signJob) {
	t.Helper()
	sc, err := sign.LoadSigningConfig(f.stack.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	signers := map[who]*sign.Signer{}
	for _, j := range jobs {
		if signers[j.signer] != nil {
			continue
		}
		opts := []sign.Option{sign.WithSigningConfig(sc), sign.WithTrustedMaterial(f.trusted)}
		if j.signer == attackerKS {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, sign.WithKey(k))
		} else {
			tok := f.stack.Token(t, j.signer.issuer, j.signer.subject)
			opts = append(opts, sign.WithTokenSource(sign.StaticToken{Value: tok, From: "test"}))
		}
		sg, err := sign.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		signers[j.signer] = sg
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sg := signers[j.signer]
			var data []byte
			var err error
			if j.layout {
				pb, serr := sg.SignBlob(ctx, j.blob)
				if err = serr; err == nil {
					data, err = sign.MarshalBundle(pb)
				}
			} else {
				payload, merr := j.raw, error(nil)
				if payload == nil {
					payload, merr = predicates.Marshal(j.stmt)
				}
				if merr != nil {
					errs <- merr
					return
				}
				pb, serr := sg.SignStatement(ctx, payload)
				if err = serr; err == nil {
					data, err = sign.MarshalBundle(pb)
				}
			}
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if j.layout {
				f.lbund[j.name] = data
			} else {
				f.bundles[j.name] = data
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("signing the fixtures: %v", err)
	}
}

// attackCase is one attack: which bundles are on disk (by attackFixture name, or
// extra raw files), which layout, and the options; and the expected failure.
type attackCase struct {
	name     string
	files    []string          // attackFixture bundles to place (default: baseline)
	drop     []string          // baseline bundles to leave out
	add      []string          // attackFixture bundles to add to the baseline
	raw      map[string][]byte // extra files written as-is
	layout   string            // layout variant (default good)
	noLayout bool              // do not write the layout bundle
	opts     func(*LayoutOptions)
	model    func(t *testing.T, dir string) string // the released model (default: genuine)
	pass     bool
	code     FailureCode
	substr   string   // in the failure's String()
	runIDs   []string // want Report.RunIDs, and its line in the text, when set
}

func TestAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local Sigstore stack")
	}
	f := buildFixture(t)

	tamperPayload := func(data []byte) []byte {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		env := m["dsseEnvelope"].(map[string]any)
		p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(p), `"--out"`, `"--upl"`, 1)))
		out, _ := json.Marshal(m)
		return out
	}

	cases := []attackCase{
		{name: "baseline passes", pass: true},
		{name: "unsigned layout accepted only with the insecure flag", noLayout: true, pass: true,
			opts: func(o *LayoutOptions) { o.InsecureUnsignedLayout = true }},
		{name: "baseline with --run-id passes", pass: true, opts: func(o *LayoutOptions) { o.RunID = runID }},
		{name: "duplicate of a baseline bundle changes nothing", pass: true, raw: map[string][]byte{"copy.sigstore.json": f.bundles["package.link"]}},

		{name: "missing step", drop: []string{"ingest.link"},
			code: FailStepMissing, substr: "step ingest: no signed statement"},
		{name: "threshold 2 met by one identity signing twice", drop: []string{"train.link.t2"}, add: []string{"train.link.t1-again"},
			code: FailThreshold, substr: "1 distinct functionary identit(ies) signed a link for this step, 2 required"},
		{name: "duplicate bundles do not satisfy threshold 2", drop: []string{"train.link.t2"},
			raw:  map[string][]byte{"train.link.t1.copy.sigstore.json": f.bundles["train.link.t1"]},
			code: FailThreshold, substr: "2 required"},
		{name: "signer not a functionary", drop: []string{"package.link"}, add: []string{"package.link.mallory"},
			code: FailBundle, substr: "package.link.mallory.sigstore.json: does not verify: identity"},
		{name: "functionary subject but wrong issuer", drop: []string{"ingest.link"}, add: []string{"ingest.link.issuer2"},
			code: FailBundle, substr: "ingest.link.issuer2.sigstore.json: does not verify: identity"},
		{name: "unanchored regexp cannot be bypassed by a suffix", drop: []string{"package.link"}, add: []string{"package.link.suffix"},
			code: FailBundle, substr: "package.link.suffix.sigstore.json: does not verify: identity"},
		{name: "functionary of another step", drop: []string{"package.link"}, add: []string{"package.link.alice"},
			code: FailUnauthorized, substr: "signed by alice@example.com"},
		{name: "statement from another run id", drop: []string{"ingest.link"}, add: []string{"ingest.link.run2"},
			opts: func(o *LayoutOptions) { o.RunID = runID },
			code: FailRunIDMismatch, substr: `statement of run "run-2", not of run "run-1"`, runIDs: []string{"run-1", "run-2"}},
		{name: "two run ids without --run-id", add: []string{"ingest.link.run2"},
			code: FailRunIDAmbiguous, substr: "statements from 2 runs: run-1, run-2; name the one to verify (LayoutOptions.RunID", runIDs: []string{"run-1", "run-2"}},
		{name: "artifact changed between steps", drop: []string{"train.link.t1", "train.link.t2"}, add: []string{"train.link.t1.changed", "train.link.t2.changed"},
			code: FailArtifactRule, substr: "step train: rule \"DISALLOW *\": artifact data/raw.jsonl"},
		{name: "extra product not allowed", drop: []string{"package.link"}, add: []string{"package.link.extra"},
			code: FailArtifactRule, substr: "artifact release/backdoor.py"},
		{name: "model file not among the subject step's products",
			model: func(t *testing.T, dir string) string {
				writeFile(t, dir, "model.safetensors", []byte("swapped weights\n"))
				writeFile(t, dir, "config.json", modelConfig)
				return dir
			},
			code: FailSubject, substr: "artifact model.safetensors: released file"},
		{name: "extra released file",
			model: func(t *testing.T, dir string) string {
				writeFile(t, dir, "model.safetensors", weights)
				writeFile(t, dir, "config.json", modelConfig)
				writeFile(t, dir, "README.md", []byte("hi\n"))
				return dir
			},
			code: FailSubject, substr: "artifact README.md: released file"},
		{name: "expired layout", opts: func(o *LayoutOptions) { o.Now = func() time.Time { return time.Now().AddDate(2, 0, 0) } },
			code: FailLayoutExpired, substr: "layout expired at"},
		{name: "layout signed by the wrong identity", layout: "wrong-owner",
			code: FailLayoutSignature, substr: "does not verify for the layout owner: identity"},
		{name: "unsigned layout without the insecure flag", noLayout: true,
			code: FailLayoutUnsigned, substr: "layout is not signed"},
		{name: "older layout replayed against min serial", opts: func(o *LayoutOptions) { o.MinSerial = 6 },
			code: FailLayoutSerial, substr: "layout serial 5 is lower than the required minimum 6"},
		{name: "CEL expectation false", layout: "cel-false",
			code: FailExpectation, substr: "evaluates to false"},
		{name: "CEL field missing", layout: "cel-missing",
			code: FailExpectation, substr: "no such key: evalScore"},
		{name: "predicate type confusion: link where provenance is required", drop: []string{"train.prov.t1"},
			code: FailPredicateAbsent, substr: "no https://slsa.dev/provenance/v1 statement signed by a functionary of this step (found: https://in-toto.io/attestation/link/v0.3)"},
		{name: "payload re-signed by an attacker key", drop: []string{"train.link.t1"}, add: []string{"train.link.attackerkey"},
			code: FailBundle, substr: "train.link.attackerkey.sigstore.json: does not verify: identity: signed with a key, but the layout has no key functionary"},
		{name: "same statement signed by an attacker certificate", drop: []string{"train.link.t1"}, add: []string{"train.link.mallory"},
			code: FailBundle, substr: "train.link.mallory.sigstore.json: does not verify: identity"},
		{name: "tampered DSSE payload", raw: map[string][]byte{"package.link.sigstore.json": tamperPayload(f.bundles["package.link"])}, drop: []string{"package.link"},
			code: FailBundle, substr: "package.link.sigstore.json: does not verify"},
		{name: "malformed bundle is not skipped", raw: map[string][]byte{"junk.sigstore.json": []byte("{not json")},
			code: FailBundle, substr: "junk.sigstore.json: does not verify: bundle: not a valid Sigstore bundle"},
		{name: "empty attestation directory", files: []string{},
			code: FailNoAttestations, substr: "no attestation bundles"},
		{name: "unsigned leftover", raw: map[string][]byte{"train.link.UNSIGNED.intoto.json": []byte("{}")},
			code: FailUnsignedLeft, substr: "artifact train.link.UNSIGNED.intoto.json: unsigned statement"},
		{name: "non-zero exit code recorded", drop: []string{"train.link.t1", "train.link.t2"}, add: []string{"train.link.t1.exit1", "train.link.t2.exit1"},
			code: FailExitCode, substr: "the command exited with 1"},
		{name: "expectedCommand mismatch", drop: []string{"package.link"}, add: []string{"package.link.cmd"},
			code: FailCommand, substr: `rule "expectedCommand package --out *"`},
		{name: "counted links disagree on products", drop: []string{"train.link.t2"}, add: []string{"train.link.t2.other-products"},
			code: FailDisagreement, substr: "products model/model.safetensors has sha256:"},
	}
	if n := len(cases); n < 24 {
		t.Fatalf("only %d cases", n)
	}

	f.runCases(t, cases)
}

// runCases runs each case in parallel and checks its outcome.
func (f *attackFixture) runCases(t *testing.T, cases []attackCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f.check(t, tc)
		})
	}
}

// check runs one case and asserts its outcome; it returns the report for
// further checks.
func (f *attackFixture) check(t *testing.T, tc attackCase) *Report {
	t.Helper()
	rep := f.run(t, tc)
	for _, s := range rep.Steps {
		// A step's verdict is its failures', artifact rules included.
		if s.Passed != (len(s.Failures) == 0) {
			t.Fatalf("step %s: passed %v with %d failure(s)", s.Name, s.Passed, len(s.Failures))
		}
	}
	if os.Getenv("SHOWREP") != "" {
		var b strings.Builder
		rep.WriteText(&b)
		t.Log("\n" + b.String())
	}
	if tc.pass {
		if !rep.Passed {
			t.Fatalf("want pass, got failures:\n%s", failureList(rep))
		}
		return rep
	}
	if rep.Passed {
		t.Fatal("want failure, passed")
	}
	if !rep.HasFailure(tc.code, tc.substr) {
		t.Fatalf("want a %s failure containing %q, got:\n%s", tc.code, tc.substr, failureList(rep))
	}
	if tc.runIDs != nil {
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("Statements from %d runs: %s\n", len(tc.runIDs), strings.Join(tc.runIDs, ", "))
		if !slices.Equal(rep.RunIDs, tc.runIDs) || !strings.Contains(b.String(), line) {
			t.Fatalf("want runIds %q and the line %q, got %q and:\n%s", tc.runIDs, line, rep.RunIDs, b.String())
		}
	}
	return rep
}

func failureList(r *Report) string {
	var b strings.Builder
	for _, f := range r.Failures {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// run lays out one case on disk and verifies it.
func (f *attackFixture) run(t *testing.T, tc attackCase) *Report {
	t.Helper()
	dir := t.TempDir()
	att := filepath.Join(dir, "attestations")
	if err := os.Mkdir(att, 0o755); err != nil {
		t.Fatal(err)
	}
	names := tc.files
	if names == nil {
		drop := map[string]bool{}
		for _, d := range tc.drop {
			drop[d] = true
		}
		for _, n := range baseline {
			if !drop[n] {
				names = append(names, n)
			}
		}
		names = append(names, tc.add...)
	}
	for _, n := range names {
		data, ok := f.bundles[n]
		if !ok {
			t.Fatalf("no attackFixture bundle %q", n)
		}
		writeFile(t, att, n+".sigstore.json", data)
	}
	for n, data := range tc.raw {
		writeFile(t, att, n, data)
	}
	variant := tc.layout
	if variant == "" {
		variant = "good"
	}
	layoutPath := writeFile(t, dir, "layout.yaml", f.layouts[variant])
	if !tc.noLayout {
		writeFile(t, dir, "layout.yaml.sigstore.json", f.lbund[variant])
	}
	model := f.model
	if tc.model != nil {
		model = tc.model(t, t.TempDir())
	}
	opts := LayoutOptions{
		LayoutFile:      layoutPath,
		LayoutIdentity:  &verify.Identity{Subject: owner.subject, Issuer: f.stack.Issuer1},
		AttestationsDir: att,
		Model:           model,
		TrustedRoot:     f.trusted,
	}
	if tc.opts != nil {
		tc.opts(&opts)
	}
	rep, err := VerifyLayout(context.Background(), opts)
	if err != nil {
		t.Fatalf("VerifyLayout: %v", err)
	}
	// The report is what --json prints: it must serialise.
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	return rep
}
