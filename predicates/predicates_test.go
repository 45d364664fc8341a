package predicates

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mlattest/mlattest/digest"
)

var update = flag.Bool("update", false, "rewrite golden files and fuzz seed corpora")

func mustLink(t testing.TB) *intoto.Statement {
	t.Helper()
	st, err := NewLinkStatement(linkInput())
	if err != nil {
		t.Fatalf("NewLinkStatement: %v", err)
	}
	return st
}

func mustTraining(t testing.TB) *intoto.Statement {
	t.Helper()
	st, err := NewTrainingStatement(trainingInput())
	if err != nil {
		t.Fatalf("NewTrainingStatement: %v", err)
	}
	return st
}

func mustMarshal(t testing.TB, st *intoto.Statement) []byte {
	t.Helper()
	b, err := Marshal(st)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		st   func(testing.TB) *intoto.Statement
	}{
		{"link.golden.json", mustLink},
		{"training.golden.json", mustTraining},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(t, tc.st(t))
			checkGolden(t, tc.name, b)
			// The golden statement must round-trip byte for byte.
			st, err := ParseStatement(b)
			if err != nil {
				t.Fatalf("ParseStatement(golden): %v", err)
			}
			if again := mustMarshal(t, st); !bytes.Equal(again, b) {
				t.Errorf("Marshal(ParseStatement(b)) != b:\n%s\n%s", again, b)
			}
		})
	}
}

func TestMarshalDeterministic(t *testing.T) {
	// Maps built in different orders and many runs give identical bytes.
	want := mustMarshal(t, mustLink(t))
	for i := 0; i < 20; i++ {
		in := linkInput()
		env := map[string]string{}
		for _, k := range []string{"LANG", "PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES"} {
			env[k] = in.Environment[k]
		}
		in.Environment = env
		// Input order of materials must not matter either.
		in.Materials[0], in.Materials[1] = in.Materials[1], in.Materials[0]
		st, err := NewLinkStatement(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustMarshal(t, st); !bytes.Equal(got, want) {
			t.Fatalf("run %d: output differs:\n%s\n%s", i, got, want)
		}
	}
	if !bytes.HasPrefix(want, []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[`)) {
		t.Errorf("unexpected key order: %.80s", want)
	}
	if bytes.Contains(want, []byte(`\u0026`)) || !bytes.Contains(want, []byte(`a && b <c>`)) {
		t.Errorf("command should be written without HTML escaping")
	}
}

func TestMarshalRejects(t *testing.T) {
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
	st := mustLink(t)
	st.Subject = nil
	if _, err := Marshal(st); err == nil {
		t.Error("Marshal of a statement without subjects succeeded")
	}
	st = mustTraining(t)
	st.Predicate.Fields["extra"] = structpb.NewStringValue("x")
	if _, err := Marshal(st); err == nil {
		t.Error("Marshal of a training statement with an unknown field succeeded")
	}
}

func TestBindingOf(t *testing.T) {
	link, training := mustLink(t), mustTraining(t)
	want := Binding{Step: "clean", RunID: "acme/finetune/1234-1"}
	if b, err := BindingOf(link); err != nil || b != want {
		t.Errorf("BindingOf(link) = %+v, %v; want %+v", b, err, want)
	}
	want.Step = "train"
	if b, err := BindingOf(training); err != nil || b != want {
		t.Errorf("BindingOf(training) = %+v, %v; want %+v", b, err, want)
	}

	mut := func(base *intoto.Statement, f func(st *intoto.Statement)) *intoto.Statement {
		st := cloneStatement(t, base)
		f(st)
		return st
	}
	bp := func(st *intoto.Statement) *structpb.Struct { return st.Predicate.Fields["byproducts"].GetStructValue() }
	field := func(st *intoto.Statement, keys ...string) *structpb.Struct {
		s := st.Predicate
		for _, k := range keys {
			s = s.Fields[k].GetStructValue()
		}
		return s
	}
	bad := []struct {
		name string
		st   *intoto.Statement
		want string
	}{
		{"nil", nil, "nil statement"},
		{"wrong _type", mut(link, func(st *intoto.Statement) { st.Type = "https://in-toto.io/Statement/v0.1" }), "_type"},
		{"no predicate", mut(link, func(st *intoto.Statement) { st.Predicate = nil }), "no predicate"},
		{"unknown predicate type", mut(link, func(st *intoto.Statement) { st.PredicateType = "https://example.com/p/v1" }), "carries no mlattest binding"},
		{"scan predicate", mut(link, func(st *intoto.Statement) { st.PredicateType = "https://example.com/attestation/unregistered/v1" }), "carries no mlattest binding"},
		{"link missing run id", mut(link, func(st *intoto.Statement) { delete(bp(st).Fields, ByproductRunID) }), "missing"},
		{"link empty run id", mut(link, func(st *intoto.Statement) { bp(st).Fields[ByproductRunID] = structpb.NewStringValue("") }), "empty run id"},
		{"link numeric run id", mut(link, func(st *intoto.Statement) { bp(st).Fields[ByproductRunID] = structpb.NewNumberValue(7) }), "not a string"},
		{"link run id with newline", mut(link, func(st *intoto.Statement) { bp(st).Fields[ByproductRunID] = structpb.NewStringValue("a\nb") }), "control character"},
		{"link byproducts not an object", mut(link, func(st *intoto.Statement) { st.Predicate.Fields["byproducts"] = structpb.NewStringValue("x") }), "missing"},
		{"link missing name", mut(link, func(st *intoto.Statement) { delete(st.Predicate.Fields, "name") }), "predicate.name"},
		{"link empty name", mut(link, func(st *intoto.Statement) { st.Predicate.Fields["name"] = structpb.NewStringValue("") }), "invalid step name"},
		{"link path-like name", mut(link, func(st *intoto.Statement) { st.Predicate.Fields["name"] = structpb.NewStringValue("../x") }), "invalid step name"},
		{"link null name", mut(link, func(st *intoto.Statement) { st.Predicate.Fields["name"] = structpb.NewNullValue() }), "not a string"},
		{"provenance wrong buildType", mut(training, func(st *intoto.Statement) {
			field(st, "buildDefinition").Fields["buildType"] = structpb.NewStringValue("https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1")
		}), "buildType"},
		{"provenance missing buildType", mut(training, func(st *intoto.Statement) { delete(field(st, "buildDefinition").Fields, "buildType") }), "buildType"},
		{"provenance missing step", mut(training, func(st *intoto.Statement) {
			delete(field(st, "buildDefinition", "internalParameters").Fields, "step")
		}), "internalParameters.step"},
		{"provenance missing internalParameters", mut(training, func(st *intoto.Statement) {
			delete(field(st, "buildDefinition").Fields, "internalParameters")
		}), "internalParameters.step"},
		{"provenance missing invocationId", mut(training, func(st *intoto.Statement) {
			delete(field(st, "runDetails", "metadata").Fields, "invocationId")
		}), "invocationId"},
		{"provenance boolean invocationId", mut(training, func(st *intoto.Statement) {
			field(st, "runDetails", "metadata").Fields["invocationId"] = structpb.NewBoolValue(true)
		}), "invocationId"},
		{"provenance missing runDetails", mut(training, func(st *intoto.Statement) { delete(st.Predicate.Fields, "runDetails") }), "invocationId"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BindingOf(tc.st)
			if err == nil {
				t.Fatalf("BindingOf succeeded: %+v", b)
			}
			if !errors.Is(err, ErrNoBinding) {
				t.Errorf("error %v does not wrap ErrNoBinding", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func cloneStatement(t testing.TB, st *intoto.Statement) *intoto.Statement {
	t.Helper()
	b := mustMarshal(t, st)
	out, err := ParseStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTrainingOfRoundTrip(t *testing.T) {
	st := mustTraining(t)
	got, err := TrainingOf(cloneStatement(t, st))
	if err != nil {
		t.Fatal(err)
	}
	want := trainingInput()
	// What the statement cannot carry: sizes, time zones; subjects come back sorted.
	want.StartedOn, want.FinishedOn = want.StartedOn.UTC(), want.FinishedOn.UTC()
	want.Subjects = []digest.Artifact{
		{Name: "out/adapter_config.json", SHA256: hex64('8')},
		{Name: "out/model.safetensors", SHA256: hex64('7')},
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("TrainingOf:\n got %+v\nwant %+v", *got, want)
	}
	// And the typed view rebuilds the identical statement.
	again, err := NewTrainingStatement(*got)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustMarshal(t, again), mustMarshal(t, st); !bytes.Equal(a, b) {
		t.Errorf("rebuilt statement differs:\n%s\n%s", a, b)
	}
	if _, err := TrainingOf(mustLink(t)); err == nil {
		t.Error("TrainingOf(link) succeeded")
	}
	if _, err := TrainingOf(nil); err == nil {
		t.Error("TrainingOf(nil) succeeded")
	}
}

func TestLinkAccessors(t *testing.T) {
	st := cloneStatement(t, mustLink(t))
	link, err := LinkOf(st)
	if err != nil {
		t.Fatal(err)
	}
	if link.GetName() != "clean" || len(link.GetCommand()) != 8 || len(link.GetMaterials()) != 2 {
		t.Errorf("LinkOf: unexpected %v", link)
	}
	if env := link.GetEnvironment().AsMap(); env["LANG"] != "C.UTF-8" || len(env) != 3 {
		t.Errorf("environment = %v", env)
	}
	mats, err := MaterialsOf(st)
	if err != nil {
		t.Fatal(err)
	}
	wantMats := []digest.Artifact{{Name: "raw/a.jsonl", SHA256: hex64('a')}, {Name: "raw/b.jsonl", SHA256: hex64('b')}}
	if !reflect.DeepEqual(mats, wantMats) {
		t.Errorf("MaterialsOf = %v", mats)
	}
	subj, err := SubjectsOf(st)
	if err != nil || !reflect.DeepEqual(subj, []digest.Artifact{{Name: "clean/train.jsonl", SHA256: hex64('c')}}) {
		t.Errorf("SubjectsOf = %v, %v", subj, err)
	}
	if _, err := LinkOf(mustTraining(t)); err == nil {
		t.Error("LinkOf(training) succeeded")
	}
}

func TestExitCodeOf(t *testing.T) {
	for _, code := range []int{0, 1, 137, -1} {
		in := linkInput()
		in.ExitCode = code
		st, err := NewLinkStatement(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ExitCodeOf(cloneStatement(t, st)); err != nil || got != code {
			t.Errorf("link ExitCodeOf = %d, %v; want %d", got, err, code)
		}
		tin := trainingInput()
		tin.ExitCode = code
		if st, err = NewTrainingStatement(tin); err != nil {
			t.Fatal(err)
		}
		if got, err := ExitCodeOf(cloneStatement(t, st)); err != nil || got != code {
			t.Errorf("training ExitCodeOf = %d, %v; want %d", got, err, code)
		}
	}
	st := mustLink(t)
	st.Predicate.Fields["byproducts"].GetStructValue().Fields[ByproductExitCode] = structpb.NewNumberValue(1.5)
	if _, err := ExitCodeOf(st); err == nil {
		t.Error("fractional exit code accepted")
	}
	delete(st.Predicate.Fields["byproducts"].GetStructValue().Fields, ByproductExitCode)
	if _, err := ExitCodeOf(st); err == nil {
		t.Error("missing exit code accepted")
	}
	st.PredicateType = "https://example.com/x"
	if _, err := ExitCodeOf(st); err == nil {
		t.Error("unknown predicate type accepted")
	}
	if _, err := ExitCodeOf(nil); err == nil {
		t.Error("nil accepted")
	}
}

func TestNewLinkStatement(t *testing.T) {
	// Subjects override products.
	in := linkInput()
	in.Products = nil
	in.Subjects = []digest.Artifact{{Name: "raw/a.jsonl", SHA256: hex64('a')}}
	st, err := NewLinkStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 1 || st.Subject[0].Name != "raw/a.jsonl" {
		t.Errorf("subjects = %v", st.Subject)
	}
	// Optional fields may be absent.
	min := LinkInput{Step: "s", RunID: "r", Products: []digest.Artifact{{Name: "p", SHA256: hex64('0')}}}
	if _, err := NewLinkStatement(min); err != nil {
		t.Errorf("minimal link: %v", err)
	}

	bad := []struct {
		name string
		mod  func(*LinkInput)
		want string
	}{
		{"no subject", func(in *LinkInput) { in.Products, in.Subjects = nil, nil }, "no subject"},
		{"empty step", func(in *LinkInput) { in.Step = "" }, "step name"},
		{"step with slash", func(in *LinkInput) { in.Step = "a/b" }, "step name"},
		{"empty run id", func(in *LinkInput) { in.RunID = "" }, "run id"},
		{"run id with tab", func(in *LinkInput) { in.RunID = "a\tb" }, "control"},
		{"uppercase subject digest", func(in *LinkInput) { in.Products[0].SHA256 = strings.ToUpper(hex64('a')) }, "bad digest set"},
		{"short material digest", func(in *LinkInput) { in.Materials[0].SHA256 = "abc" }, "bad digest set"},
		{"empty material name", func(in *LinkInput) { in.Materials[0].Name = "" }, "schema"},
		{"duplicate material", func(in *LinkInput) { in.Materials[1].Name = in.Materials[0].Name }, "twice"},
		{"duplicate subject", func(in *LinkInput) { in.Products = append(in.Products, in.Products[0]) }, "twice"},
		{"stdout without prefix", func(in *LinkInput) { in.Stdout = hex64('d') }, "schema"},
		{"exit code out of range", func(in *LinkInput) { in.ExitCode = 1 << 40 }, "out of range"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := linkInput()
			tc.mod(&in)
			st, err := NewLinkStatement(in)
			if err == nil {
				t.Fatalf("succeeded: %v", st)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestNewTrainingStatement(t *testing.T) {
	// Optional parts may be absent.
	in := trainingInput()
	in.Config, in.Hyperparameters, in.BaseModel, in.Datasets, in.Script, in.Image = nil, nil, nil, nil, nil, nil
	in.InvocationURI, in.Isolation = "", nil
	st, err := NewTrainingStatement(in)
	if err != nil {
		t.Fatalf("minimal training statement: %v", err)
	}
	if _, err := BindingOf(st); err != nil {
		t.Errorf("BindingOf(minimal): %v", err)
	}
	// A SHA-256 object-format repository's commit is accepted.
	in = trainingInput()
	in.Script.Commit = hex64('f')
	if _, err := NewTrainingStatement(in); err != nil {
		t.Errorf("64-hex commit: %v", err)
	}

	bad := []struct {
		name string
		mod  func(*TrainingInput)
		want string
	}{
		{"no subject", func(in *TrainingInput) { in.Subjects = nil }, "no subject"},
		{"bad step", func(in *TrainingInput) { in.Step = " train" }, "step name"},
		{"no run id", func(in *TrainingInput) { in.RunID = "" }, "run id"},
		{"no entry point", func(in *TrainingInput) { in.EntryPoint = nil }, "entry point"},
		{"no builder", func(in *TrainingInput) { in.BuilderID = "" }, "builder"},
		{"no start time", func(in *TrainingInput) { in.StartedOn = zeroTime }, "times"},
		{"finished before start", func(in *TrainingInput) { in.FinishedOn = in.StartedOn.Add(-1) }, "before"},
		{"bad sourceClass", func(in *TrainingInput) { in.Datasets[0].SourceClass = "scraped" }, "schema"},
		{"bad collectedAt", func(in *TrainingInput) { in.Datasets[0].CollectedAt = "March 2026" }, "schema"},
		{"bad dataset digest", func(in *TrainingInput) { in.Datasets[1].SHA256 = "sha256:" + hex64('4') }, "schema"},
		{"empty dataset uri", func(in *TrainingInput) { in.Datasets[1].URI = "" }, "schema"},
		{"bad base model digest", func(in *TrainingInput) { in.BaseModel[0].SHA256 = hex64('G') }, "schema"},
		{"short commit", func(in *TrainingInput) { in.Script.Commit = "9f9f9f9" }, "schema"},
		{"image not oci", func(in *TrainingInput) { in.Image.URI = "docker://ghcr.io/acme/trainer" }, "schema"},
		{"config without digest", func(in *TrainingInput) { in.Config.SHA256 = "" }, "schema"},
		{"bad invocation uri", func(in *TrainingInput) { in.InvocationURI = "not a uri" }, "schema"},
		{"non-finite hyperparameter", func(in *TrainingInput) { in.Hyperparameters["lr"] = inf() }, "externalParameters"},
		{"unencodable hyperparameter", func(in *TrainingInput) { in.Hyperparameters["f"] = func() {} }, "externalParameters"},
		{"duplicate subject", func(in *TrainingInput) { in.Subjects[1].Name = in.Subjects[0].Name }, "twice"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := trainingInput()
			tc.mod(&in)
			st, err := NewTrainingStatement(in)
			if err == nil {
				t.Fatalf("succeeded: %v", st)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// goldenDoc returns the golden statement as a generic JSON document to mutate.
func goldenDoc(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// at walks a generic document by object keys and array indexes (as ints).
func at(doc any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			doc = doc.(map[string]any)[k]
		case int:
			doc = doc.([]any)[k]
		}
	}
	return doc
}

func obj(doc any, path ...any) map[string]any { return at(doc, path...).(map[string]any) }

func TestParseStatementRejects(t *testing.T) {
	type mutation func(d map[string]any)
	tests := []struct {
		name   string
		golden string
		mod    mutation
		want   string
	}{
		{"wrong _type", "link.golden.json", func(d map[string]any) { d["_type"] = "https://in-toto.io/Statement/v0.1" }, "_type"},
		{"missing _type", "link.golden.json", func(d map[string]any) { delete(d, "_type") }, "_type"},
		{"missing subject", "link.golden.json", func(d map[string]any) { delete(d, "subject") }, "subject"},
		{"empty subject", "link.golden.json", func(d map[string]any) { d["subject"] = []any{} }, "subject"},
		{"subject without digest", "link.golden.json", func(d map[string]any) { delete(obj(d, "subject", 0), "digest") }, "digest"},
		{"subject without sha256", "link.golden.json", func(d map[string]any) {
			obj(d, "subject", 0)["digest"] = map[string]any{"sha512": strings.Repeat("ab", 64)}
		}, "sha256"},
		{"subject bad digest", "link.golden.json", func(d map[string]any) { obj(d, "subject", 0, "digest")["sha256"] = "zz" }, "sha256"},
		{"subject uppercase digest", "link.golden.json", func(d map[string]any) {
			obj(d, "subject", 0, "digest")["sha256"] = strings.ToUpper(hex64('c'))
		}, "sha256"},
		{"subject without name or uri", "link.golden.json", func(d map[string]any) { delete(obj(d, "subject", 0), "name") }, "subject"},
		{"duplicate subject", "training.golden.json", func(d map[string]any) { obj(d, "subject", 1)["name"] = obj(d, "subject", 0)["name"] }, "twice"},
		{"protobuf field name alias", "link.golden.json", func(d map[string]any) {
			d["predicate_type"] = d["predicateType"]
			delete(d, "predicateType")
		}, "predicate_type"},
		{"extra top-level field", "link.golden.json", func(d map[string]any) { d["signature"] = "x" }, "signature"},
		{"extra subject field", "link.golden.json", func(d map[string]any) { obj(d, "subject", 0)["download_location"] = "x" }, "download_location"},
		{"empty predicateType", "link.golden.json", func(d map[string]any) { d["predicateType"] = "" }, "predicateType"},
		{"missing predicate", "link.golden.json", func(d map[string]any) { delete(d, "predicate") }, "predicate"},
		{"predicate not an object", "link.golden.json", func(d map[string]any) { d["predicate"] = []any{} }, "predicate"},
		{"link missing run id", "link.golden.json", func(d map[string]any) { delete(obj(d, "predicate", "byproducts"), ByproductRunID) }, "run-id"},
		{"link missing name", "link.golden.json", func(d map[string]any) { delete(obj(d, "predicate"), "name") }, "name"},
		{"link string exit code", "link.golden.json", func(d map[string]any) { obj(d, "predicate", "byproducts")[ByproductExitCode] = "0" }, "return-value"},
		{"link fractional exit code", "link.golden.json", func(d map[string]any) { obj(d, "predicate", "byproducts")[ByproductExitCode] = 0.5 }, "return-value"},
		{"link unknown byproduct", "link.golden.json", func(d map[string]any) { obj(d, "predicate", "byproducts")["stdout"] = "hello" }, "stdout"},
		{"link products field", "link.golden.json", func(d map[string]any) { obj(d, "predicate")["products"] = []any{} }, "products"},
		{"link material bad digest", "link.golden.json", func(d map[string]any) { obj(d, "predicate", "materials", 0, "digest")["sha256"] = "00" }, "sha256"},
		{"link duplicate material", "link.golden.json", func(d map[string]any) {
			obj(d, "predicate", "materials", 1)["name"] = obj(d, "predicate", "materials", 0)["name"]
		}, "twice"},
		{"link non-string environment", "link.golden.json", func(d map[string]any) { obj(d, "predicate", "environment")["LANG"] = 1 }, "environment"},
		{"training bad sourceClass", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "buildDefinition", "resolvedDependencies", 2, "annotations")["sourceClass"] = "scraped"
		}, "sourceClass"},
		{"training bad collectedAt", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "buildDefinition", "resolvedDependencies", 2, "annotations")["collectedAt"] = "yesterday"
		}, "collectedAt"},
		{"training unknown role", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "buildDefinition", "resolvedDependencies", 0, "annotations")["role"] = "tokenizer"
		}, "role"},
		{"training two scripts", "training.golden.json", func(d map[string]any) {
			deps := at(d, "predicate", "buildDefinition", "resolvedDependencies").([]any)
			obj(d, "predicate", "buildDefinition")["resolvedDependencies"] = append(deps, deps[5])
		}, "resolvedDependencies"},
		{"training dirty not boolean", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "buildDefinition", "resolvedDependencies", 5, "annotations")["dirty"] = "no"
		}, "dirty"},
		{"training missing invocationId", "training.golden.json", func(d map[string]any) {
			delete(obj(d, "predicate", "runDetails", "metadata"), "invocationId")
		}, "invocationId"},
		{"training missing step", "training.golden.json", func(d map[string]any) {
			delete(obj(d, "predicate", "buildDefinition", "internalParameters"), "step")
		}, "step"},
		{"training bad startedOn", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "runDetails", "metadata")["startedOn"] = "2026-03-02 10:00"
		}, "startedOn"},
		{"training finished before started", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "runDetails", "metadata")["finishedOn"] = "2026-03-01T00:00:00Z"
		}, "before"},
		{"training missing exit code", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "runDetails")["byproducts"] = at(d, "predicate", "runDetails", "byproducts").([]any)[1:]
		}, "byproducts"},
		{"training extra externalParameter", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "buildDefinition", "externalParameters")["dataset"] = "x"
		}, "dataset"},
		{"training proto alias", "training.golden.json", func(d map[string]any) {
			p := obj(d, "predicate")
			p["build_definition"] = p["buildDefinition"]
			delete(p, "buildDefinition")
		}, "buildDefinition"},
		{"training extra builder field", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "runDetails", "builder")["nickname"] = "fast"
		}, "nickname"},
		{"training builder version not strings", "training.golden.json", func(d map[string]any) {
			obj(d, "predicate", "runDetails", "builder")["version"] = map[string]any{"mlattest": 1.0}
		}, "version"},
		{"provenance without buildType", "training.golden.json", func(d map[string]any) {
			delete(obj(d, "predicate", "buildDefinition"), "buildType")
		}, "buildType"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := goldenDoc(t, tc.golden)
			tc.mod(d)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			st, err := ParseStatement(b)
			if err == nil {
				t.Fatalf("ParseStatement accepted %s", b)
			}
			if st != nil {
				t.Error("non-nil statement with error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestParseStatementRawRejects(t *testing.T) {
	link, err := os.ReadFile("testdata/link.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want string
		is   error // the sentinel, where there is one
	}{
		{"empty", nil, "end of input", ErrJSONSyntax},
		{"not json", []byte("hello"), "unexpected character", ErrJSONSyntax},
		{"array", []byte("[]"), "schema", nil},
		{"null", []byte("null"), "schema", nil},
		{"trailing data", append(append([]byte{}, link...), []byte(" {}")...), "trailing", ErrTrailingData},
		{"trailing garbage", append(append([]byte{}, link...), []byte("x")...), "trailing", ErrTrailingData},
		{"invalid utf-8", append([]byte(`{"_type":"`), 0xff, '"', '}'), "UTF-8", ErrJSONSyntax},
		{"duplicate key", bytes.Replace(link, []byte(`{"_type":"https://in-toto.io/Statement/v1",`),
			[]byte(`{"_type":"https://in-toto.io/Statement/v1","_type":"https://in-toto.io/Statement/v1",`), 1), "duplicate", ErrDuplicateKey},
		{"duplicate predicate key", bytes.Replace(link, []byte(`"name":"clean"`), []byte(`"name":"clean","name":"evil"`), 1), "duplicate", ErrDuplicateKey},
		{"duplicate key spelled with an escape", bytes.Replace(link, []byte(`"name":"clean"`), []byte(`"name":"clean","n\u0061me":"evil"`), 1),
			`duplicate object key "name"`, ErrDuplicateKey},
		{"deep nesting", []byte(strings.Repeat("[", 100000)), "deeper", ErrJSONSyntax},
		{"oversize", bytes.Repeat([]byte(" "), MaxStatementSize+1), "limit", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatement(tc.in)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}
}

func TestParseStatementAcceptsUnknownPredicates(t *testing.T) {
	// Unknown predicate types pass: the verification policy decides.
	d := goldenDoc(t, "link.golden.json")
	d["predicateType"] = "https://example.com/attestation/unregistered/v1"
	d["predicate"] = map[string]any{"files": []any{map[string]any{"name": "x", "verdict": "PASS"}}, "predicate_type": 1}
	b, _ := json.Marshal(d)
	st, err := ParseStatement(b)
	if err != nil {
		t.Fatalf("unknown predicate rejected: %v", err)
	}
	if _, err := BindingOf(st); err == nil {
		t.Error("BindingOf(unknown predicate) succeeded")
	}

	// A provenance of another builder gets the generic SLSA check only, and no binding.
	d = goldenDoc(t, "training.golden.json")
	bd := obj(d, "predicate", "buildDefinition")
	bd["buildType"] = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
	bd["externalParameters"] = map[string]any{"workflow": map[string]any{"ref": "refs/heads/main"}}
	obj(d, "predicate", "runDetails", "builder")["version"] = map[string]any{"x": "1"}
	b, _ = json.Marshal(d)
	if st, err = ParseStatement(b); err != nil {
		t.Fatalf("generic provenance rejected: %v", err)
	}
	if _, err := BindingOf(st); err == nil {
		t.Error("BindingOf(generic provenance) succeeded")
	}
	delete(obj(d, "predicate", "runDetails", "builder"), "id")
	b, _ = json.Marshal(d)
	if _, err = ParseStatement(b); err == nil {
		t.Error("generic provenance without builder.id accepted")
	}
}

func TestValidate(t *testing.T) {
	if err := Validate("https://example.com/unknown/v1", []byte(`{}`)); !errors.Is(err, ErrUnknownPredicateType) {
		t.Errorf("unknown type: %v", err)
	}
	if err := Validate("", []byte(`{}`)); err == nil {
		t.Error("empty type accepted")
	}
	for _, g := range []string{"link.golden.json", "training.golden.json"} {
		d := goldenDoc(t, g)
		pred, _ := json.Marshal(d["predicate"])
		if err := Validate(d["predicateType"].(string), pred); err != nil {
			t.Errorf("%s: %v", g, err)
		}
		if err := Validate(d["predicateType"].(string), []byte(`{}`)); err == nil {
			t.Errorf("%s: empty predicate accepted", g)
		}
		if err := Validate(d["predicateType"].(string), []byte(`{`)); err == nil {
			t.Errorf("%s: truncated predicate accepted", g)
		}
	}
	if err := Validate(LinkV03, bytes.Repeat([]byte(" "), MaxStatementSize+1)); err == nil {
		t.Error("oversize predicate accepted")
	}
}

func TestSchemas(t *testing.T) {
	if _, err := compiledSchemas(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("schema")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := SchemaJSON(e.Name())
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema = %v", e.Name(), doc["$schema"])
		}
	}
	if _, err := SchemaJSON("nope.json"); err == nil {
		t.Error("SchemaJSON(nope) succeeded")
	}
	if got := KnownPredicateTypes(); len(got) < 4 {
		t.Errorf("KnownPredicateTypes = %v", got)
	}
}

func TestCheckRunID(t *testing.T) {
	good := []string{"a", "acme/repo/123-1", "0123456789abcdef", "run id with spaces", "ünïcode", strings.Repeat("x", 512)}
	bad := []string{"", " a", "a ", "a\x00", "a\x7f", strings.Repeat("x", 513), "\xff"}
	for _, s := range good {
		if err := CheckRunID(s); err != nil {
			t.Errorf("CheckRunID(%q): %v", s, err)
		}
	}
	for _, s := range bad {
		if err := CheckRunID(s); err == nil {
			t.Errorf("CheckRunID(%q) accepted", s)
		}
	}
	// The Go check and the schema agree.
	for _, s := range append(good, bad[:6]...) {
		in := linkInput()
		in.RunID = s
		goErr := CheckRunID(s)
		in2 := in
		_, err := NewLinkStatement(in2)
		if (goErr == nil) != (err == nil) {
			t.Errorf("run id %q: CheckRunID %v, NewLinkStatement %v", s, goErr, err)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	// Compiled schemas are shared; parsing from many goroutines must be safe.
	b := mustMarshal(t, mustTraining(t))
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			for j := 0; j < 20; j++ {
				st, err := ParseStatement(b)
				if err == nil {
					_, err = BindingOf(st)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
