package predicates

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	vsav1 "github.com/in-toto/attestation/go/predicates/vsa/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/mlattest/mlattest/digest"
)

func vsaInput() VSAInput {
	return VSAInput{
		Verifier:     "https://mlattest.dev/verify@v0.3.0",
		TimeVerified: time.Date(2026, 3, 3, 9, 15, 0, 250000000, time.FixedZone("CET", 3600)),
		ResourceURI:  "hf://acme/finetuned-7b@4f1c2e0",
		PolicyURI:    "finetune.layout.sigstore.json",
		PolicyDigest: hex64('f'),
		PolicySerial: 7,
		InputAttestations: []Resource{
			{URI: "train.training.sigstore.json", SHA256: hex64('b')},
			{URI: "clean.link.sigstore.json", SHA256: hex64('a')},
			{URI: "oci://registry.local/acme/attestations@sha256:" + hex64('c'), SHA256: hex64('c')},
		},
		Result:         VSAPassed,
		VerifiedLevels: []string{"SLSA_BUILD_LEVEL_2", "MLATTEST_LAYOUT_VERIFIED"},
		Subjects: []digest.Artifact{
			{Name: "model.safetensors", SHA256: hex64('7'), Size: 1 << 30},
			{Name: "adapter_config.json", SHA256: hex64('8'), Size: 512},
		},
		RunID: "acme/finetune/1234-1",
	}
}

func mustVSA(t testing.TB) *intoto.Statement {
	t.Helper()
	st, err := NewVSAStatement(vsaInput())
	if err != nil {
		t.Fatalf("NewVSAStatement: %v", err)
	}
	return st
}

func TestVSAGolden(t *testing.T) {
	b := mustMarshal(t, mustVSA(t))
	checkGolden(t, "vsa.golden.json", b)
	st, err := ParseStatement(b)
	if err != nil {
		t.Fatalf("ParseStatement(golden): %v", err)
	}
	if again := mustMarshal(t, st); !bytes.Equal(again, b) {
		t.Errorf("Marshal(ParseStatement(b)) != b:\n%s\n%s", again, b)
	}
	if st.GetPredicateType() != VSAV1 {
		t.Errorf("predicateType = %q", st.GetPredicateType())
	}
}

func TestVSAOfRoundTrip(t *testing.T) {
	in := vsaInput()
	orig := mustVSA(t)
	got, err := VSAOf(orig)
	if err != nil {
		t.Fatalf("VSAOf: %v", err)
	}
	again, err := NewVSAStatement(*got)
	if err != nil {
		t.Fatalf("NewVSAStatement(VSAOf): %v", err)
	}
	if a, b := mustMarshal(t, again), mustMarshal(t, orig); !bytes.Equal(a, b) {
		t.Errorf("NewVSAStatement(*VSAOf(st)) differs:\n%s\n%s", a, b)
	}
	want := in
	want.TimeVerified = in.TimeVerified.UTC()
	want.InputAttestations = []Resource{in.InputAttestations[1], in.InputAttestations[2], in.InputAttestations[0]}
	want.Subjects = []digest.Artifact{{Name: "adapter_config.json", SHA256: hex64('8')}, {Name: "model.safetensors", SHA256: hex64('7')}}
	if !got.TimeVerified.Equal(want.TimeVerified) {
		t.Errorf("TimeVerified = %v, want %v", got.TimeVerified, want.TimeVerified)
	}
	got.TimeVerified, want.TimeVerified = time.Time{}, time.Time{}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("VSAOf =\n%+v\nwant\n%+v", *got, want)
	}
}

// Input attestations whose log entry was not checked are a policy
// annotation, sorted, and survive the round trip.
func TestVSAUnlogged(t *testing.T) {
	in := vsaInput()
	in.Unlogged = []string{"train.training.sigstore.json", "clean.link.sigstore.json"}
	st, err := NewVSAStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	b := mustMarshal(t, st)
	if !bytes.Contains(b, []byte(`"mlattest.dev/unlogged-attestations":["clean.link.sigstore.json","train.training.sigstore.json"]`)) {
		t.Errorf("annotation missing or unsorted:\n%s", b)
	}
	got, err := VSAOf(st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Unlogged, []string{"clean.link.sigstore.json", "train.training.sigstore.json"}) {
		t.Errorf("Unlogged = %v", got.Unlogged)
	}
}

// The largest serial a JSON reader holds exactly survives the round trip.
func TestVSASerialPrecision(t *testing.T) {
	in := vsaInput()
	in.PolicySerial = 1<<53 - 1
	st, err := NewVSAStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	st, err = ParseStatement(mustMarshal(t, st))
	if err != nil {
		t.Fatal(err)
	}
	got, err := VSAOf(st)
	if err != nil {
		t.Fatal(err)
	}
	if got.PolicySerial != in.PolicySerial {
		t.Errorf("serial = %d, want %d", got.PolicySerial, in.PolicySerial)
	}
}

func TestVSAFailedDefaultsLevels(t *testing.T) {
	in := vsaInput()
	in.Result, in.VerifiedLevels, in.RunID = VSAFailed, nil, ""
	st, err := NewVSAStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VSAOf(st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.VerifiedLevels, []string{VSAFailed}) || got.Result != VSAFailed || got.RunID != "" {
		t.Errorf("VSAOf = %+v", got)
	}
	if _, ok := st.GetPredicate().GetFields()["policy"].GetStructValue().GetFields()["annotations"].GetStructValue().GetFields()[VSAAnnotationRunID]; ok {
		t.Error("empty run id written as an annotation")
	}
	// A passing VSA may claim no level at all.
	in.Result = VSAPassed
	if _, err := NewVSAStatement(in); err != nil {
		t.Errorf("PASSED without levels: %v", err)
	}
}

func TestNewVSAStatementRejects(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*VSAInput)
		want string
	}{
		{"no verifier", func(in *VSAInput) { in.Verifier = "" }, "verifier"},
		{"no time", func(in *VSAInput) { in.TimeVerified = time.Time{} }, "time"},
		{"no resource", func(in *VSAInput) { in.ResourceURI = "" }, "resource"},
		{"no policy uri", func(in *VSAInput) { in.PolicyURI = "" }, "policy"},
		{"bad policy digest", func(in *VSAInput) { in.PolicyDigest = "sha256:" + hex64('f') }, "policy digest"},
		{"upper-case policy digest", func(in *VSAInput) { in.PolicyDigest = strings.ToUpper(hex64('f')) }, "policy digest"},
		{"negative serial", func(in *VSAInput) { in.PolicySerial = -1 }, "serial"},
		{"serial beyond JSON precision", func(in *VSAInput) { in.PolicySerial = 1 << 53 }, "serial"},
		{"bad result", func(in *VSAInput) { in.Result = "passed" }, "result"},
		{"no subjects", func(in *VSAInput) { in.Subjects = nil }, "subject"},
		{"bad run id", func(in *VSAInput) { in.RunID = " x" }, "run id"},
		{"input without uri", func(in *VSAInput) { in.InputAttestations[0].URI = "" }, "uri"},
		{"input bad digest", func(in *VSAInput) { in.InputAttestations[0].SHA256 = "abc" }, "digest"},
		{"duplicate input", func(in *VSAInput) { in.InputAttestations[1] = in.InputAttestations[0] }, "twice"},
		{"lower-case level", func(in *VSAInput) { in.VerifiedLevels = []string{"slsa_build_level_2"} }, "level"},
		{"duplicate level", func(in *VSAInput) { in.VerifiedLevels = []string{"X_Y", "X_Y"} }, "twice"},
		{"two levels of one track", func(in *VSAInput) { in.VerifiedLevels = []string{"SLSA_BUILD_LEVEL_1", "SLSA_BUILD_LEVEL_2"} }, "track BUILD"},
		{"failed claims a level", func(in *VSAInput) { in.Result = VSAFailed }, "FAILED verification claims"},
		{"passed says FAILED", func(in *VSAInput) { in.VerifiedLevels = []string{VSAFailed} }, "PASSED"},
		{"duplicate subject", func(in *VSAInput) { in.Subjects[1].Name = in.Subjects[0].Name }, "twice"},
		{"bad subject digest", func(in *VSAInput) { in.Subjects[0].SHA256 = "x" }, "sha256"},
		{"unlogged, not an input", func(in *VSAInput) { in.Unlogged = []string{"other.sigstore.json"} }, `lists "other.sigstore.json" as unlogged`},
		{"unlogged twice", func(in *VSAInput) { in.Unlogged = []string{"clean.link.sigstore.json", "clean.link.sigstore.json"} }, "unlogged-attestations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := vsaInput()
			tc.mut(&in)
			st, err := NewVSAStatement(in)
			if err == nil {
				t.Fatalf("NewVSAStatement accepted it: %v", st)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestVSAHasNoBinding(t *testing.T) {
	_, err := BindingOf(mustVSA(t))
	if !errors.Is(err, ErrNoBinding) {
		t.Fatalf("BindingOf(VSA) = %v, want ErrNoBinding", err)
	}
}

func TestVSAParseStatementRejects(t *testing.T) {
	type mutation func(d map[string]any)
	pol := func(d map[string]any) map[string]any { return obj(d, "predicate", "policy") }
	ann := func(d map[string]any) map[string]any { return obj(d, "predicate", "policy", "annotations") }
	cases := []struct {
		name string
		mut  mutation
		want string
	}{
		{"extra predicate field", func(d map[string]any) { obj(d, "predicate")["note"] = "x" }, "note"},
		{"missing timeVerified", func(d map[string]any) { delete(obj(d, "predicate"), "timeVerified") }, "timeVerified"},
		{"bad timeVerified", func(d map[string]any) { obj(d, "predicate")["timeVerified"] = "yesterday" }, "timeVerified"},
		{"missing serial", func(d map[string]any) { delete(ann(d), VSAAnnotationLayoutSerial) }, "layout-serial"},
		{"string serial", func(d map[string]any) { ann(d)[VSAAnnotationLayoutSerial] = "7" }, "layout-serial"},
		{"fractional serial", func(d map[string]any) { ann(d)[VSAAnnotationLayoutSerial] = 7.5 }, "layout-serial"},
		{"negative serial", func(d map[string]any) { ann(d)[VSAAnnotationLayoutSerial] = -1 }, "layout-serial"},
		{"unknown annotation", func(d map[string]any) { ann(d)["mlattest.dev/other"] = "x" }, "other"},
		{"bad run id", func(d map[string]any) { ann(d)[VSAAnnotationRunID] = "" }, "run-id"},
		{"unlogged not a list", func(d map[string]any) { ann(d)[VSAAnnotationUnlogged] = "clean.link.sigstore.json" }, "unlogged-attestations"},
		{"unlogged empty", func(d map[string]any) { ann(d)[VSAAnnotationUnlogged] = []any{} }, "unlogged-attestations"},
		{"unlogged, not an input", func(d map[string]any) { ann(d)[VSAAnnotationUnlogged] = []any{"x.sigstore.json"} }, "not as an input attestation"},
		{"policy other digest", func(d map[string]any) { pol(d)["digest"] = map[string]any{"sha512": "ab"} }, "digest"},
		{"policy without uri", func(d map[string]any) { delete(pol(d), "uri") }, "uri"},
		{"verifier version not strings", func(d map[string]any) {
			obj(d, "predicate", "verifier")["version"] = map[string]any{"mlattest": 1.0}
		}, "version"},
		{"verifier extra field", func(d map[string]any) {
			obj(d, "predicate", "verifier")["nickname"] = "fast"
		}, "nickname"},
		{"bad result", func(d map[string]any) { obj(d, "predicate")["verificationResult"] = "OK" }, "verificationResult"},
		{"wrong slsaVersion", func(d map[string]any) { obj(d, "predicate")["slsaVersion"] = "0.2" }, "slsaVersion"},
		{"duplicate input attestation", func(d map[string]any) {
			a := at(d, "predicate", "inputAttestations").([]any)
			a[1] = a[0]
		}, "twice"},
		{"FAILED with a level", func(d map[string]any) { obj(d, "predicate")["verificationResult"] = VSAFailed }, "FAILED"},
		{"generic shape still applies", func(d map[string]any) { delete(obj(d, "predicate"), "resourceUri") }, "resourceUri"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := goldenDoc(t, "vsa.golden.json")
			tc.mut(d)
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseStatement(b)
			if err == nil {
				t.Fatal("ParseStatement accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			// Validate agrees on the predicate alone.
			pred, _ := json.Marshal(d["predicate"])
			if Validate(VSAV1, pred) == nil {
				t.Error("Validate accepted the predicate ParseStatement rejected")
			}
		})
	}
}

// A VSA from another verifier (no mlattest markers) is read with the generic
// SLSA shape, extension fields and all, but VSAOf does not take it for one of
// ours; with an mlattest verifier id it must be an exact mlattest VSA.
func TestVSAForeign(t *testing.T) {
	foreign := func() map[string]any {
		return map[string]any{
			"_type":         StatementTypeV1,
			"subject":       []any{map[string]any{"name": "app", "digest": map[string]any{"sha256": hex64('1')}}},
			"predicateType": VSAV1,
			"predicate": map[string]any{
				"verifier":                      map[string]any{"id": "https://example.com/verifier", "version": map[string]any{"v": "1.0"}},
				"timeVerified":                  "2026-01-01T00:00:00Z",
				"resourceUri":                   "pkg:example/app@1",
				"policy":                        map[string]any{"uri": "https://example.com/policy"},
				"verificationResult":            "PASSED",
				"verifiedLevels":                []any{"SLSA_BUILD_LEVEL_3"},
				"https://example.com/extension": true,
			},
		}
	}
	b, _ := json.Marshal(foreign())
	st, err := ParseStatement(b)
	if err != nil {
		t.Fatalf("ParseStatement(foreign VSA): %v", err)
	}
	if _, err := VSAOf(st); err == nil || !strings.Contains(err.Error(), "not written by mlattest") {
		t.Errorf("VSAOf(foreign) = %v", err)
	}

	d := foreign()
	obj(d, "predicate", "verifier")["id"] = "https://mlattest.dev/verify@v1"
	b, _ = json.Marshal(d)
	if _, err := ParseStatement(b); err == nil {
		t.Error("a VSA claiming the mlattest verifier but not its shape was accepted")
	}
}

// in-toto's Go type for the VSA has no policy annotations; with
// DiscardUnknown it still reads everything else (as documented).
func TestVSAInTotoGoType(t *testing.T) {
	st := mustVSA(t)
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		t.Fatal(err)
	}
	var v vsav1.VerificationSummary
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &v); err != nil {
		t.Fatalf("in-toto VerificationSummary: %v", err)
	}
	if v.GetVerifier().GetId() != vsaInput().Verifier || v.GetPolicy().GetDigest()["sha256"] != hex64('f') ||
		v.GetVerificationResult() != VSAPassed || len(v.GetInputAttestations()) != 3 || v.GetSlsaVersion() != "1.0" ||
		!v.GetTimeVerified().AsTime().Equal(vsaInput().TimeVerified) {
		t.Errorf("in-toto VerificationSummary = %v", &v)
	}
}
