package predicates

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlattest/mlattest/internal/repotest"
	"github.com/mlattest/mlattest/internal/witnesstest"
)

func witnessStep() witnesstest.Step {
	return witnesstest.Step{Name: "evaluate", RunID: "r1", Command: []string{"python", "eval.py"}, ExitCode: 0,
		Materials: map[string][]byte{"model/m.bin": []byte("w"), "data.txt": []byte("d")}, Products: map[string][]byte{"report.json": []byte("{}")}}
}

// TestParseWitnessStatement: the collection gives the step, the run id, the
// material and product attestors (sha256 kept, witness's gitoids dropped)
// and the command; malformed collections fail for the reason.
func TestParseWitnessStatement(t *testing.T) {
	ok := witnessStep().Payload(t)
	st, c, err := ParseWitnessStatement(ok)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetType() != StatementTypeV01 || c.Name != "evaluate" || c.RunID != "r1" || !c.HasCommand || c.ExitCode != 0 ||
		!slices.Equal(c.Command, []string{"python", "eval.py"}) {
		t.Fatalf("collection = %+v", c)
	}
	if len(c.Materials) != 2 || c.Materials[0].Name != "data.txt" || c.Materials[1].Name != "model/m.bin" ||
		len(c.Materials[1].Digests) != 1 || c.Materials[1].Digests["sha256"] != witnesstest.DigestSet([]byte("w"))["sha256"] {
		t.Fatalf("materials = %+v", c.Materials)
	}
	if len(c.Products) != 1 || c.Products[0].Name != "report.json" {
		t.Fatalf("products = %+v", c.Products)
	}
	b, err := BindingOf(st)
	if err != nil || b.Step != "evaluate" || b.RunID != "r1" {
		t.Fatalf("BindingOf = %+v, %v", b, err)
	}

	replace := func(old, new string) []byte { return []byte(strings.Replace(string(ok), old, new, 1)) }
	for _, tc := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"duplicate key", replace(`"name":"evaluate"`, `"name":"evaluate","name":"x"`), ErrDuplicateKey, ""},
		{"trailing data", append(append([]byte(nil), ok...), '1'), ErrTrailingData, ""},
		{"another statement type", replace(StatementTypeV01, "https://in-toto.io/Statement/v2"), ErrStatementType, ""},
		{"another predicate type", replace(WitnessCollectionV01, LinkV03), ErrWitnessCollection, "is not " + WitnessCollectionV01},
		{"no name", replace(`"name":"evaluate"`, `"name":""`), ErrWitnessCollection, "predicate.name (the step) is empty"},
		{"unknown collection field", replace(`"name":"evaluate"`, `"name":"evaluate","extra":1`), ErrWitnessCollection, `unknown field "extra"`},
		{"material name with ..", replace(`"data.txt":{`, `"../data.txt":{`), ErrArtifactName, ""},
		{"material with a digest mlattest cannot compute", replace(`"data.txt":{"gitoid:sha1"`, `"data.txt":{"sha1":"aa","gitoid:sha1"`), ErrDigestSet, `"sha1"`},
		{"two material attestors", replace(`{"type":"https://witness.dev/attestations/product/v0.1"`,
			`{"type":"https://witness.dev/attestations/material/v0.1","attestation":{},"starttime":"2026-12-01T10:00:00Z","endtime":"2026-12-01T10:00:00Z"},{"type":"https://witness.dev/attestations/product/v0.1"`),
			ErrWitnessCollection, "a second https://witness.dev/attestations/material/v0.1 attestor"},
		{"exit code not a number", replace(`"exitcode":0`, `"exitcode":"0"`), ErrWitnessCollection, "command-run"},
		{"no exit code", replace(`,"exitcode":0`, ``), ErrWitnessCollection, "no exitcode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.data) == string(ok) {
				t.Fatal("the edit did not apply")
			}
			_, _, err := ParseWitnessStatement(tc.data)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("want %v with %q, got %v", tc.want, tc.msg, err)
			}
		})
	}
}

// TestWitnessBindingNoRunID: without MLATTEST_RUN_ID in the environment
// attestor a collection binds to no run.
func TestWitnessBindingNoRunID(t *testing.T) {
	s := witnessStep()
	s.RunID = ""
	st, _, err := ParseWitnessStatement(s.Payload(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BindingOf(st); !errors.Is(err, ErrNoBinding) || !strings.Contains(err.Error(), `variables["MLATTEST_RUN_ID"] is missing`) {
		t.Fatalf("BindingOf: %v", err)
	}
}

// FuzzParseWitnessStatement: never panics; whatever parses binds or fails
// with ErrNoBinding, and its artifacts passed the name and digest checks.
func FuzzParseWitnessStatement(f *testing.F) {
	f.Add(witnessStep().Payload(f))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://witness.testifysec.com/attestation-collection/v0.1","predicate":{"name":"x","attestations":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, c, err := ParseWitnessStatement(data)
		if err != nil {
			return
		}
		if _, err := BindingOf(st); err != nil && !errors.Is(err, ErrNoBinding) {
			t.Fatalf("BindingOf: %v", err)
		}
		for _, a := range append(slices.Clone(c.Materials), c.Products...) {
			if CheckArtifactName(a.Name) != nil || CheckDigestSet(a.Name, a.Digests) != nil {
				t.Fatalf("artifact %+v passed unchecked", a)
			}
		}
	})
}

// TestParseRecordedWitness: the collection go-witness itself signed
// (testdata/witness at the repository root) reads as its run recorded it.
func TestParseRecordedWitness(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repotest.Root(t), "testdata", "witness", "evaluate.dsse.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Payload []byte }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	st, c, err := ParseWitnessStatement(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sum := func(s string) string { return witnesstest.DigestSet([]byte(s))["sha256"] }
	if st.GetType() != StatementTypeV01 || c.Name != "evaluate" || c.RunID != "w1" || !c.HasCommand || c.ExitCode != 0 ||
		!slices.Equal(c.Command, []string{"sh", "-c", `printf "{\"accuracy\": 0.9}" > report.json`}) {
		t.Fatalf("collection = %+v", c)
	}
	if len(c.Materials) != 1 || c.Materials[0].Name != "model/m.bin" || c.Materials[0].Digests["sha256"] != sum("weights") || len(c.Materials[0].Digests) != 1 {
		t.Fatalf("materials = %+v", c.Materials)
	}
	if len(c.Products) != 1 || c.Products[0].Name != "report.json" || c.Products[0].Digests["sha256"] != sum(`{"accuracy": 0.9}`) {
		t.Fatalf("products = %+v", c.Products)
	}
	// witnesstest's gitoids are witness's own.
	var doc struct {
		Subject []struct{ Digest map[string]string }
	}
	if err := json.Unmarshal(env.Payload, &doc); err != nil || len(doc.Subject) != 1 {
		t.Fatalf("subjects: %v", err)
	}
	want := witnesstest.DigestSet([]byte(`{"accuracy": 0.9}`))
	if !maps.Equal(doc.Subject[0].Digest, want) {
		t.Errorf("witness's digest set %v, witnesstest's %v", doc.Subject[0].Digest, want)
	}
}
