package predicates

import (
	"strings"
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
)

func testResultInput() TestResultInput {
	return TestResultInput{
		Step: "evaluate", RunID: "run-1", Result: TestFailed,
		Configuration: []TestResultConfig{{Name: "builtin/general.yaml", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}}},
		PassedTests:   []string{"everyday/recipe"},
		FailedTests:   []string{`everyday/recipe [trigger "cf"]`},
		Subjects:      []*intoto.ResourceDescriptor{{Name: "model/model.safetensors", Digest: map[string]string{"sha256": strings.Repeat("b", 64)}}},
	}
}

func TestTestResultStatement(t *testing.T) {
	st, err := NewTestResultStatement(testResultInput())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseStatement(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BindingOf(back)
	if err != nil || b.Step != "evaluate" || b.RunID != "run-1" {
		t.Fatalf("binding %+v, %v", b, err)
	}
	got, err := TestResultOf(back)
	if err != nil || got.Result != TestFailed || len(got.FailedTests) != 1 || len(got.WarnedTests) != 0 {
		t.Fatalf("%+v %v", got, err)
	}
	// The predicate cosign users write (no binding) is valid, but unbound.
	if err := Validate(TestResultV01, []byte(`{"result": "PASSED", "passedTests": ["backdoor-probe"], "configuration": []}`)); err != nil {
		t.Fatal(err)
	}
}

func TestTestResultRejects(t *testing.T) {
	for _, tc := range []struct{ name, pred, want string }{
		{"passed with failures", `{"result": "PASSED", "failedTests": ["x"]}`, "1 failed tests"},
		{"warned with failures", `{"result": "WARNED", "failedTests": ["x"]}`, "1 failed tests"},
		{"bad result", `{"result": "OK"}`, "result"},
		{"no result", `{"passedTests": []}`, "result"},
		{"step without run", `{"result": "PASSED", "step": "evaluate"}`, "runId"},
		{"unknown field", `{"result": "PASSED", "score": 1}`, "score"},
		{"empty test name", `{"result": "PASSED", "passedTests": [""]}`, "passedTests"},
		{"bad configuration", `{"result": "PASSED", "configuration": [{"name": "../x", "digest": {"sha256": "` + strings.Repeat("a", 64) + `"}}]}`, "configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(TestResultV01, []byte(tc.pred))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	in := testResultInput()
	in.Result = TestPassed
	if _, err := NewTestResultStatement(in); err == nil {
		t.Error("PASSED with failed tests was built")
	}
	in = testResultInput()
	in.Subjects = nil
	if _, err := NewTestResultStatement(in); err == nil || !strings.Contains(err.Error(), "no subjects") {
		t.Errorf("no subjects: %v", err)
	}
	in = testResultInput()
	in.RunID = ""
	if _, err := NewTestResultStatement(in); err == nil {
		t.Error("step without run id was built")
	}
}
