package predicates

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// The seed corpora live in testdata/fuzz/<Name>/ and are (re)written by
// TestFuzzSeeds with -update; f.Add adds nothing beyond them.

func seedStatements(t testing.TB) map[string][]byte {
	t.Helper()
	link := mustMarshal(t, mustLink(t))
	training := mustMarshal(t, mustTraining(t))
	return map[string][]byte{
		"link":         link,
		"training":     training,
		"unknown-type": bytes.Replace(link, []byte(LinkV03), []byte("https://example.com/predicate/v1"), 1),
		"wrong-type":   bytes.Replace(link, []byte(StatementTypeV1), []byte("https://in-toto.io/Statement/v0.1"), 1),
		"wrong-buildtype": bytes.Replace(training, []byte(TrainingBuildTypeV1),
			[]byte("https://example.com/buildtypes/other/v1"), 1),
		"no-run-id":    bytes.Replace(link, []byte(`"mlattest.dev/run-id"`), []byte(`"mlattest.dev/run-ix"`), 1),
		"dup-key":      bytes.Replace(link, []byte(`"name":"clean"`), []byte(`"name":"clean","name":"x"`), 1),
		"bad-digest":   bytes.Replace(link, []byte(`"cccc`), []byte(`"CCCC`), 1),
		"empty-object": []byte(`{}`),
		"deep":         bytes.Repeat([]byte("["), 200),
	}
}

func predicateOf(t testing.TB, b []byte) []byte {
	st, err := ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		t.Fatal(err)
	}
	// protojson's spacing varies between runs; seed files must not.
	doc, err := decodeStrict(raw)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := encodeCompact(&buf, doc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeSeed(t *testing.T, fuzzName, seedName string, values ...string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", fuzzName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString("go test fuzz v1\n")
	for _, v := range values {
		buf.WriteString(v + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, seedName), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func goBytes(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")" }

func TestFuzzSeeds(t *testing.T) {
	if !*update {
		// The corpora must exist; they are checked in.
		for _, name := range []string{"FuzzParseStatement", "FuzzBindingOf", "FuzzValidate"} {
			entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", name))
			if err != nil || len(entries) == 0 {
				t.Errorf("no seed corpus for %s (run go test -update): %v", name, err)
			}
		}
		return
	}
	seeds := seedStatements(t)
	for name, b := range seeds {
		writeSeed(t, "FuzzParseStatement", name, goBytes(b))
		writeSeed(t, "FuzzBindingOf", name, goBytes(b))
	}
	linkPred := predicateOf(t, seeds["link"])
	trainingPred := predicateOf(t, seeds["training"])
	for i, v := range []struct {
		name string
		typ  uint8
		pred []byte
	}{
		{"link", 0, linkPred},
		{"training", 1, trainingPred},
		{"unknown", 2, linkPred},
		{"link-as-provenance", 1, linkPred},
		{"training-as-link", 0, trainingPred},
		{"empty", 0, []byte(`{}`)},
		{"big-number", 1, bytes.Replace(trainingPred, []byte(`"seed":42`), []byte(`"seed":1e400`), 1)},
	} {
		writeSeed(t, "FuzzValidate", fmt.Sprintf("%02d-%s", i, v.name), fmt.Sprintf("byte(%q)", rune(v.typ)), goBytes(v.pred))
	}
}

func FuzzParseStatement(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatement(data)
		if err != nil {
			if st != nil {
				t.Fatal("statement returned with an error")
			}
			return
		}
		// Whatever is accepted re-marshals, re-parses and is stable.
		out, err := Marshal(st)
		if err != nil {
			t.Fatalf("accepted statement does not marshal: %v", err)
		}
		st2, err := ParseStatement(out)
		if err != nil {
			t.Fatalf("marshalled statement does not parse: %v\n%s", err, out)
		}
		out2, err := Marshal(st2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Marshal not stable: %v\n%s\n%s", err, out, out2)
		}
		b1, err1 := BindingOf(st)
		b2, err2 := BindingOf(st2)
		if (err1 == nil) != (err2 == nil) || b1 != b2 {
			t.Fatalf("binding changed across a round trip: %+v %v / %+v %v", b1, err1, b2, err2)
		}
		exercise(st)
	})
}

// exercise calls every accessor; they must not panic.
func exercise(st *intoto.Statement) {
	_, _ = BindingOf(st)
	_, _ = LinkOf(st)
	_, _ = TrainingOf(st)
	_, _ = ExitCodeOf(st)
	_, _ = MaterialsOf(st)
	_, _ = SubjectsOf(st)
}

func FuzzBindingOf(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// Lenient decoding: BindingOf must hold up on statements that never
		// went through ParseStatement.
		var st intoto.Statement
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &st); err != nil {
			return
		}
		b, err := BindingOf(&st)
		if err == nil {
			if CheckStepName(b.Step) != nil || CheckRunID(b.RunID) != nil {
				t.Fatalf("BindingOf returned an invalid binding %+v", b)
			}
			if st.GetPredicateType() != LinkV03 && st.GetPredicateType() != ProvenanceV1 {
				t.Fatalf("binding from predicate type %q", st.GetPredicateType())
			}
		}
		exercise(&st)
	})
}

func FuzzValidate(f *testing.F) {
	types := []string{LinkV03, ProvenanceV1, "https://example.com/unknown/v1"}
	subject := `[{"name":"m","digest":{"sha256":"` + hex64('a') + `"}}]`
	f.Fuzz(func(t *testing.T, typ byte, pred []byte) {
		pt := types[int(typ)%len(types)]
		err := Validate(pt, pred)
		if pt == types[2] {
			if err == nil {
				t.Fatal("unknown predicate type validated")
			}
			return
		}
		// Validate and ParseStatement agree on a known type's predicate.
		stmt := []byte(`{"_type":"` + StatementTypeV1 + `","subject":` + subject + `,"predicateType":"` + pt + `","predicate":`)
		stmt = append(append(stmt, pred...), '}')
		_, perr := ParseStatement(stmt)
		if err == nil && perr != nil {
			// The predicate may be valid JSON that breaks the enclosing
			// statement (e.g. it is not an object); only then may they differ.
			if doc, derr := decodeStrict(pred); derr == nil {
				if _, isObj := doc.(map[string]any); isObj {
					t.Fatalf("Validate accepted, ParseStatement rejected: %v", perr)
				}
			}
		}
		if err != nil && perr == nil {
			t.Fatalf("ParseStatement accepted, Validate rejected: %v", err)
		}
	})
}
