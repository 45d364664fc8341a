package gate

import (
	"fmt"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/layouts"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/verify"
)

// eval10kLayout: three steps handing 10,000 files each from one to the next,
// so every MATCH rule compares 10,000 artifacts against another step's.
const eval10kLayout = `serial: 1
expires: "2099-01-01T00:00:00Z"
functionaries:
  pipeline:
    keyless: {issuer: "https://issuer.example", subject: pipeline@example.com}
steps:
  - name: ingest
    functionaries: [pipeline]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE raw/*, DISALLOW *]
  - name: clean
    functionaries: [pipeline]
    expectedMaterials: [MATCH raw/* WITH PRODUCTS FROM ingest, DISALLOW *]
    expectedProducts: [CREATE data/*, DISALLOW *]
  - name: train
    functionaries: [pipeline]
    expectedMaterials: [MATCH data/* WITH PRODUCTS FROM clean, DISALLOW *]
    expectedProducts: [CREATE model/*, DISALLOW *]
subject:
  step: train
`

// BenchmarkEvaluate10k times layout evaluation (no cryptography, no I/O)
// of a run whose steps record 10,000 artifacts each.
func BenchmarkEvaluate10k(b *testing.B) {
	const n = 10_000
	l, err := layouts.Parse([]byte(eval10kLayout), "layout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	files := func(dir string) []digest.Artifact {
		out := make([]digest.Artifact, n)
		for i := range out {
			name := fmt.Sprintf("%s/f%05d", dir, i)
			out[i] = digest.Artifact{Name: name, SHA256: hexSum([]byte(name))}
		}
		return out
	}
	raw, data := files("raw"), files("data")
	model := []digest.Artifact{{Name: "model/model.bin", SHA256: hexSum([]byte("w"))}}
	s := verify.Signer{Issuer: "https://issuer.example", Subject: "pipeline@example.com"}
	var stmts []*VerifiedStatement
	for _, st := range []struct {
		step        string
		mats, prods []digest.Artifact
	}{{"ingest", nil, raw}, {"clean", raw, data}, {"train", data, model}} {
		stmt := linkStmt(b, st.step, "bench-run", []string{st.step}, st.mats, st.prods, 0)
		payload, err := predicates.Marshal(stmt)
		if err != nil {
			b.Fatal(err)
		}
		stmts = append(stmts, &VerifiedStatement{Bundle: st.step, Signer: s, SignerID: signerID(s), Statement: stmt, PayloadSHA256: hexSum(payload)})
	}
	ev := &Evidence{Statements: stmts}
	opts := EvalOptions{Model: &ModelFiles{Path: "model.bin", Files: []digest.Artifact{{Name: "model.bin", SHA256: model[0].SHA256}}}}
	if r := Evaluate(l, ev, opts); !r.Passed {
		b.Fatalf("does not pass:\n%s", failureList(r))
	}
	for b.Loop() {
		if r := Evaluate(l, ev, opts); !r.Passed {
			b.Fatal("failed")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(3*n), "ns/artifact")
}
