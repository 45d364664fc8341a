package gate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// benchLayout is the seven-stage example pipeline (as layouts/finetune.yaml),
// with the benchmark's identity and base model.
const benchLayout = `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  pipeline:
    keyless: {issuer: "{{I1}}", subject: ml-pipeline@example.com}
steps:
  - name: ingest
    functionaries: [pipeline]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE raw.jsonl, DISALLOW *]
  - name: clean
    functionaries: [pipeline]
    expectedMaterials: [MATCH raw.jsonl WITH PRODUCTS FROM ingest, DISALLOW *]
    expectedProducts: [CREATE clean.jsonl, DISALLOW *]
  - name: scan-data
    functionaries: [pipeline]
    expectedMaterials: [MATCH clean.jsonl WITH PRODUCTS FROM clean, DISALLOW *]
    expectedProducts: [CREATE data-scan.json, DISALLOW *]
  - name: train
    functionaries: [pipeline]
    expectedMaterials:
      - MATCH clean.jsonl WITH PRODUCTS FROM clean
      - ALLOW base/model.safetensors
      - ALLOW train.json
      - DISALLOW *
    expectedProducts: [CREATE model/model.safetensors, DISALLOW *]
    expectedPredicates:
      - type: https://slsa.dev/provenance/v1
        expressions:
          - predicate.buildDefinition.buildType == "https://mlattest.dev/buildtypes/training/v1"
          - 'predicate.buildDefinition.resolvedDependencies.exists(d, d.annotations.role == "base-model" && d.digest.sha256 in ["{{BASE}}"])'
          - subject.exists(s, s.name == "model/model.safetensors")
  - name: scan-model
    functionaries: [pipeline]
    expectedMaterials: [MATCH model/model.safetensors WITH PRODUCTS FROM train, DISALLOW *]
    expectedProducts: [CREATE model-scan.json, DISALLOW *]
  - name: evaluate
    functionaries: [pipeline]
    expectedMaterials:
      - MATCH model/model.safetensors WITH PRODUCTS FROM train
      - MATCH clean.jsonl WITH PRODUCTS FROM clean
      - DISALLOW *
    expectedProducts: [CREATE eval.json, DISALLOW *]
  - name: package
    functionaries: [pipeline]
    expectedCommand: [package, "*"]
    expectedMaterials:
      - MATCH model/model.safetensors WITH PRODUCTS FROM train
      - MATCH eval.json WITH PRODUCTS FROM evaluate
      - DISALLOW *
    expectedProducts:
      - MATCH model.safetensors IN release WITH PRODUCTS IN model FROM train
      - CREATE release/model-card.json
      - DISALLOW *
subject:
  step: package
  patterns: ["release/*"]
`

const benchStages = 7

// BenchmarkVerifyLayout verifies the seven-stage example run from bundles on
// disk (keyless, signed once on the private stack; verification itself uses
// no network) and reports, per stage, the time spent verifying bundles and
// the time spent evaluating the layout, both measured in every iteration.
func BenchmarkVerifyLayout(b *testing.B) {
	if testing.Short() {
		b.Skip("needs the local Sigstore stack to sign the fixtures once")
	}
	f, dir, model := benchFixture(b)
	ctx := context.Background()
	opts := LayoutOptions{
		LayoutFile:      filepath.Join(dir, "layout.yaml"),
		LayoutIdentity:  &verify.Identity{Subject: "owner@example.com", Issuer: f.stack.Issuer1},
		AttestationsDir: filepath.Join(dir, "attestations"),
		Model:           model,
		TrustedRoot:     f.trusted,
	}
	ll, err := LoadLayout(ctx, opts)
	if err != nil || len(ll.Failures) > 0 {
		b.Fatalf("layout: %v %v", err, ll.Failures)
	}
	m, err := HashModel(ctx, model)
	if err != nil {
		b.Fatal(err)
	}
	// Sanity: the whole pipeline passes.
	if rep, err := VerifyLayout(ctx, opts); err != nil || !rep.Passed {
		var sb strings.Builder
		if rep != nil {
			_ = rep.WriteText(&sb)
		}
		b.Fatalf("the benchmark pipeline does not verify: %v\n%s", err, sb.String())
	}

	var bundleTime, evalTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		ev, err := VerifyAttestations(ctx, ll.Layout, opts.AttestationsDir, opts.TrustedRoot)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rep := Evaluate(ll.Layout, ev, EvalOptions{Model: m})
		t2 := time.Now()
		if !rep.Passed {
			b.Fatal("failed")
		}
		bundleTime += t1.Sub(t0)
		evalTime += t2.Sub(t1)
	}
	n := float64(b.N) * benchStages
	b.ReportMetric(float64(bundleTime.Nanoseconds())/n, "bundle-ns/stage")
	b.ReportMetric(float64(evalTime.Nanoseconds())/n, "eval-ns/stage")
	b.ReportMetric(float64(evalTime)/float64(bundleTime), "eval/bundle")
}

// benchFixture signs the seven stages' statements (a link each, plus the
// training provenance) as one keyless identity and writes them, the signed
// layout and the released model to a directory.
func benchFixture(b *testing.B) (*attackFixture, string, string) {
	b.Helper()
	f := newStackFixture(b)

	files := map[string][]byte{
		"raw.jsonl":                 []byte(`{"t":"raw"}` + "\n"),
		"clean.jsonl":               []byte(`{"t":"clean"}` + "\n"),
		"data-scan.json":            []byte(`{"verdict":"PASS"}` + "\n"),
		"base/model.safetensors":    []byte("base\n"),
		"train.json":                []byte(`{"epochs":1}` + "\n"),
		"model/model.safetensors":   []byte("tuned\n"),
		"model-scan.json":           []byte(`{"verdict":"PASS"}` + "\n"),
		"eval.json":                 []byte(`{"acc":0.9}` + "\n"),
		"release/model.safetensors": []byte("tuned\n"),
		"release/model-card.json":   []byte(`{"card":1}` + "\n"),
	}
	a := func(names ...string) []digest.Artifact {
		var out []digest.Artifact
		for _, n := range names {
			out = append(out, art(n, files[n]))
		}
		return out
	}
	const run = "bench-run"
	link := func(step string, cmd []string, mats, prods []digest.Artifact) *intoto.Statement {
		return linkStmt(b, step, run, cmd, mats, prods, 0)
	}
	now := time.Now().UTC().Truncate(time.Second)
	prov, err := predicates.NewTrainingStatement(predicates.TrainingInput{
		Step: "train", RunID: run, EntryPoint: []string{"python", "train.py"},
		BaseModel:  []predicates.Resource{{URI: "base/model.safetensors", SHA256: hexSum(files["base/model.safetensors"])}},
		Datasets:   []predicates.Dataset{{Resource: predicates.Resource{URI: "clean.jsonl", SHA256: hexSum(files["clean.jsonl"])}}},
		BuilderID:  "mlattest://local",
		StartedOn:  now.Add(-time.Minute),
		FinishedOn: now,
		Subjects:   a("model/model.safetensors"),
	})
	if err != nil {
		b.Fatal(err)
	}
	pipeline := who{"ml-pipeline@example.com", 1}
	jobs := []signJob{
		{name: "ingest.link", signer: pipeline, stmt: link("ingest", []string{"ingest"}, nil, a("raw.jsonl"))},
		{name: "clean.link", signer: pipeline, stmt: link("clean", []string{"clean"}, a("raw.jsonl"), a("clean.jsonl"))},
		{name: "scan-data.link", signer: pipeline, stmt: link("scan-data", []string{"scan"}, a("clean.jsonl"), a("data-scan.json"))},
		{name: "train.link", signer: pipeline, stmt: link("train", []string{"python", "train.py"}, a("clean.jsonl", "base/model.safetensors", "train.json"), a("model/model.safetensors"))},
		{name: "train.provenance", signer: pipeline, stmt: prov},
		{name: "scan-model.link", signer: pipeline, stmt: link("scan-model", []string{"scan"}, a("model/model.safetensors"), a("model-scan.json"))},
		{name: "evaluate.link", signer: pipeline, stmt: link("evaluate", []string{"eval"}, a("model/model.safetensors", "clean.jsonl"), a("eval.json"))},
		{name: "package.link", signer: pipeline, stmt: link("package", []string{"package", "release"}, a("model/model.safetensors", "eval.json"), a("release/model.safetensors", "release/model-card.json"))},
	}
	y := strings.NewReplacer("{{I1}}", f.stack.Issuer1, "{{BASE}}", hexSum(files["base/model.safetensors"])).Replace(benchLayout)
	jobs = append(jobs, signJob{name: "layout", signer: who{"owner@example.com", 1}, blob: []byte(y), layout: true})
	f.signAll(b, jobs)

	dir := b.TempDir()
	att := filepath.Join(dir, "attestations")
	if err := os.Mkdir(att, 0o755); err != nil {
		b.Fatal(err)
	}
	for n, data := range f.bundles {
		writeFile(b, att, n+".sigstore.json", data)
	}
	writeFile(b, dir, "layout.yaml", []byte(y))
	writeFile(b, dir, "layout.yaml.sigstore.json", f.lbund["layout"])
	model := filepath.Join(dir, "release")
	if err := os.Mkdir(model, 0o755); err != nil {
		b.Fatal(err)
	}
	writeFile(b, model, "model.safetensors", files["release/model.safetensors"])
	writeFile(b, model, "model-card.json", files["release/model-card.json"])
	return f, dir, model
}
