package gate

// A step signed by witness: a bare DSSE envelope (*.dsse.json) carrying a
// Statement v0.1 with witness's attestation collection counts for its step
// when the layout expects that predicate type; its material and product
// attestors are the step's artifacts.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/digest"
	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/internal/witnesstest"
	"github.com/mlattest/mlattest/predicates"
	"github.com/mlattest/mlattest/trust"
)

// witnessRun is prep (an mlattest link) -> train (witness).
type witnessRun struct {
	*keyRun
	witness *ecdsa.PrivateKey
}

func witnessTrain() witnesstest.Step {
	return witnesstest.Step{Name: "train", RunID: "r1", Command: []string{"python", "train.py"},
		Materials: map[string][]byte{"data.txt": koData}, Products: map[string][]byte{"model/m.bin": koModel}}
}

// newWitnessRun lays out the run; collection, when not "", replaces the
// predicate type the train step expects.
func newWitnessRun(t *testing.T, collection string) *witnessRun {
	t.Helper()
	if collection == "" {
		collection = predicates.WitnessCollectionV01
	}
	r := &witnessRun{keyRun: &keyRun{dir: t.TempDir(), owner: newKey(t), ci: newKey(t), other: newKey(t)}, witness: newKey(t)}
	y := "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  ci:\n    key: |\n" + pemIndented(t, r.ci.Public()) +
		"\n  witness:\n    key: |\n" + pemIndented(t, r.witness.Public()) + "\n" + `steps:
  - name: prep
    functionaries: [ci]
    expectedMaterials: [DISALLOW *]
    expectedProducts: [CREATE data.txt, DISALLOW *]
  - name: train
    functionaries: [witness]
    expectedCommand: [python, train.py]
    expectedMaterials: [MATCH data.txt WITH PRODUCTS FROM prep, DISALLOW *]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
    expectedPredicates:
      - type: ` + collection + `
subject:
  step: train
  patterns: ["model/*"]
`
	r.setLayout(t, y)
	r.att = filepath.Join(r.dir, "att")
	if err := os.Mkdir(r.att, 0o755); err != nil {
		t.Fatal(err)
	}
	r.put(t, "prep.link", r.ci, koLink(t, "prep", nil, []digest.Artifact{art("data.txt", koData)}))
	r.putWitness(t, r.witness, witnessTrain().Payload(t))
	r.model = filepath.Join(r.dir, "model")
	if err := os.Mkdir(r.model, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.model, "m.bin", koModel)
	return r
}

func (r *witnessRun) putWitness(t *testing.T, k *ecdsa.PrivateKey, payload []byte) {
	t.Helper()
	writeFile(t, r.att, "train.witness"+predicates.EnvelopeSuffix, witnesstest.Sign(t, k, payload).JSON(t))
}

func TestVerifyLayoutWitnessStep(t *testing.T) {
	withStep := func(f func(s *witnesstest.Step)) func(t *testing.T, r *witnessRun) {
		return func(t *testing.T, r *witnessRun) {
			s := witnessTrain()
			f(&s)
			r.putWitness(t, r.witness, s.Payload(t))
		}
	}
	for _, tc := range []struct {
		name       string
		collection string // the predicate type the layout expects of train
		mutate     func(t *testing.T, r *witnessRun)
		codes      []FailureCode // nil = passes
		substr     string
	}{
		{name: "witness-signed train counts"},
		{name: "signed by a key that is no functionary", mutate: func(t *testing.T, r *witnessRun) {
			r.putWitness(t, r.other, witnessTrain().Payload(t))
		}, codes: []FailureCode{FailBundle, FailStepMissing}, substr: "train.witness.dsse.json: does not verify"},
		{name: "signed by the ci key, not the step's functionary", mutate: func(t *testing.T, r *witnessRun) {
			r.putWitness(t, r.ci, witnessTrain().Payload(t))
		}, codes: []FailureCode{FailUnauthorized}, substr: "not a functionary of this step (witness)"},
		{name: "payload changed after signing", mutate: func(t *testing.T, r *witnessRun) {
			env := witnesstest.Sign(t, r.witness, witnessTrain().Payload(t))
			env.Payload = []byte(strings.Replace(string(env.Payload), `"python"`, `"pythom"`, 1))
			writeFile(t, r.att, "train.witness.dsse.json", env.JSON(t))
		}, codes: []FailureCode{FailBundle, FailStepMissing}, substr: "signature"},
		{name: "the layout does not expect the collection type", collection: "https://witness.dev/attestations/other/v0.1",
			codes: []FailureCode{FailUnexpected, FailStepMissing}, substr: "predicate type \"" + predicates.WitnessCollectionV01 + "\": the layout evaluates no statement of this type"},
		{name: "a material other than prep's product", mutate: withStep(func(s *witnesstest.Step) {
			s.Materials = map[string][]byte{"data.txt": []byte("poisoned\n")}
		}), codes: []FailureCode{FailArtifactRule}, substr: "data.txt"},
		{name: "an extra product", mutate: withStep(func(s *witnesstest.Step) {
			s.Products = map[string][]byte{"model/m.bin": koModel, "backdoor.py": []byte("x")}
		}), codes: []FailureCode{FailArtifactRule}, substr: "backdoor.py"},
		{name: "the released model is not witness's product", mutate: func(t *testing.T, r *witnessRun) {
			writeFile(t, r.model, "m.bin", []byte("swapped"))
		}, codes: []FailureCode{FailSubject}},
		{name: "the command failed", mutate: withStep(func(s *witnesstest.Step) { s.ExitCode = 3 }),
			codes: []FailureCode{FailExitCode}, substr: "exited with 3"},
		{name: "another command", mutate: withStep(func(s *witnesstest.Step) { s.Command = []string{"sh", "evil.sh"} }),
			codes: []FailureCode{FailCommand}, substr: `recorded command ["sh" "evil.sh"]`},
		{name: "no command-run attestor", mutate: withStep(func(s *witnesstest.Step) { s.NoCommandRun = true }),
			codes: []FailureCode{FailStatement, FailCommand}, substr: "no readable exit code: witness collection has no command-run attestor"},
		{name: "no run id recorded", mutate: withStep(func(s *witnesstest.Step) { s.RunID = "" }),
			codes: []FailureCode{FailCannotBind}, substr: `variables["MLATTEST_RUN_ID"] is missing`},
		{name: "another run", mutate: withStep(func(s *witnesstest.Step) { s.RunID = "r2" }),
			codes: []FailureCode{FailRunIDAmbiguous}},
		{name: "a step the layout does not define", mutate: withStep(func(s *witnesstest.Step) { s.Name = "deploy" }),
			codes: []FailureCode{FailUnknownStep}},
		{name: "a material name with ..", mutate: withStep(func(s *witnesstest.Step) {
			s.Materials = map[string][]byte{"../data.txt": koData}
		}), codes: []FailureCode{FailArtifactName}},
		{name: "two signatures", mutate: func(t *testing.T, r *witnessRun) {
			env := witnesstest.Sign(t, r.witness, witnessTrain().Payload(t))
			env.Signatures = append(env.Signatures, witnesstest.Sign(t, r.other, env.Payload).Signatures...)
			writeFile(t, r.att, "train.witness.dsse.json", env.JSON(t))
		}, codes: []FailureCode{FailBundle}, substr: "2 signatures; one is supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newWitnessRun(t, tc.collection)
			if tc.mutate != nil {
				tc.mutate(t, r)
			}
			rep, err := VerifyLayout(context.Background(), r.opts(nil))
			if err != nil {
				t.Fatal(err)
			}
			if tc.codes == nil {
				if !rep.Passed {
					t.Fatalf("want pass:\n%s", failureList(rep))
				}
				st := rep.Steps[1]
				if st.Name != "train" || len(st.Signers) != 1 || st.Signers[0] != "key "+keyID(t, r.witness) {
					t.Errorf("train step signers = %+v", st)
				}
				var found bool
				for _, b := range rep.Bundles {
					if b.File == "train.witness.dsse.json" {
						found = b.Verified && b.Evaluated && b.Step == "train" && b.RunID == "r1" && b.PredicateType == predicates.WitnessCollectionV01
					}
				}
				if !found {
					t.Errorf("witness envelope not reported verified and evaluated for train/r1: %+v", rep.Bundles)
				}
				return
			}
			if got := rep.FailureCodes(); rep.Passed || !sameCodes(got, tc.codes) || !rep.HasFailure(tc.codes[0], tc.substr) {
				t.Fatalf("want %v with %q, got %v:\n%s", tc.codes, tc.substr, got, failureList(rep))
			}
		})
	}
}

func keyID(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	id, err := trust.KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestVerifyLayoutRecordedWitness: an envelope go-witness itself signed
// (testdata/witness at the repository root) counts for its step; changed
// after signing, or under another functionary key, it does not.
func TestVerifyLayoutRecordedWitness(t *testing.T) {
	dir := filepath.Join(repotest.Root(t), "testdata", "witness")
	env, err := os.ReadFile(filepath.Join(dir, "evaluate.dsse.json"))
	if err != nil {
		t.Fatal(err)
	}
	wpub, err := os.ReadFile(filepath.Join(dir, "evaluate.pub"))
	if err != nil {
		t.Fatal(err)
	}
	weights := []byte("weights")
	for _, tc := range []struct {
		name   string
		key    string // the evaluate functionary's PEM key; "" = witness's
		edit   func([]byte) []byte
		codes  []FailureCode
		substr string
	}{
		{name: "as witness wrote it"},
		{name: "another functionary key", key: pemIndented(t, newKey(t).Public()),
			codes: []FailureCode{FailBundle, FailStepMissing}, substr: "evaluate.dsse.json: does not verify"},
		{name: "payload changed after signing", edit: func(b []byte) []byte {
			var e witnesstest.Envelope
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			e.Payload = bytes.Replace(e.Payload, []byte(`"exitcode":0`), []byte(`"exitcode":1`), 1)
			return e.JSON(t)
		}, codes: []FailureCode{FailBundle, FailStepMissing}, substr: "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &keyRun{dir: t.TempDir(), owner: newKey(t), ci: newKey(t)}
			key := tc.key
			if key == "" {
				key = "      " + strings.ReplaceAll(strings.TrimSpace(string(wpub)), "\n", "\n      ")
			}
			y := "serial: 1\nexpires: \"2099-01-01T00:00:00Z\"\nfunctionaries:\n  ci:\n    key: |\n" + pemIndented(t, r.ci.Public()) +
				"\n  witness:\n    key: |\n" + key + "\n" + `steps:
  - name: train
    functionaries: [ci]
    expectedProducts: [CREATE model/m.bin, DISALLOW *]
  - name: evaluate
    functionaries: [witness]
    expectedCommand: [sh, -c, 'printf * > report.json']
    expectedMaterials: [MATCH model/m.bin WITH PRODUCTS FROM train, DISALLOW *]
    expectedProducts: [CREATE report.json, DISALLOW *]
    expectedPredicates:
      - type: ` + predicates.WitnessCollectionV01 + `
        expressions: ["predicate.attestations.exists(a, a.type == 'https://witness.dev/attestations/environment/v0.1' && a.attestation.os == 'linux')"]
subject:
  step: train
  patterns: ["model/*"]
`
			r.setLayout(t, y)
			r.makeDirs(t)
			r.put(t, "train.link", r.ci, linkStmt(t, "train", "w1", []string{"train"}, nil, []digest.Artifact{art("model/m.bin", weights)}, 0))
			data := env
			if tc.edit != nil {
				data = tc.edit(env)
			}
			writeFile(t, r.att, "evaluate.dsse.json", data)
			writeFile(t, r.model, "m.bin", weights)
			rep, err := VerifyLayout(context.Background(), r.opts(nil))
			if err != nil {
				t.Fatal(err)
			}
			if tc.codes == nil {
				if !rep.Passed {
					t.Fatalf("want pass:\n%s", failureList(rep))
				}
				return
			}
			if got := rep.FailureCodes(); rep.Passed || !sameCodes(got, tc.codes) || !rep.HasFailure(tc.codes[0], tc.substr) {
				t.Fatalf("want %v with %q, got %v:\n%s", tc.codes, tc.substr, got, failureList(rep))
			}
		})
	}
}
