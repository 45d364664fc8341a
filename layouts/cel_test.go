package layouts

import (
	"strings"
	"sync"
	"testing"
)

func TestCompileExpressionErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"", "empty CEL expression"},
		{"predicate.x ==", "Syntax error"},
		{"foo == 1", "undeclared reference to 'foo'"},
		{"predicate.x", "yields dyn, want bool"},
		{"1 + 2", "yields int, want bool"},
		{`"a"`, "yields string, want bool"},
		{"subject", "want bool"},
		{"size(predicate) + true", "no matching overload"},
		{strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100), "recursion"},
		{"true && " + strings.Repeat("true && ", maxExprLen/8) + "true", "longer than"},
	} {
		_, err := CompileExpression(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CompileExpression(%.40q) = %v, want an error containing %q", c.src, err, c.want)
		}
	}
}

func TestEval(t *testing.T) {
	pred := trainingPredicate(strings.Repeat("3", 64))
	subj := []any{
		map[string]any{"name": "out/model.safetensors", "digest": map[string]any{"sha256": strings.Repeat("7", 64)}},
		map[string]any{"name": "out/adapter_config.json", "digest": map[string]any{"sha256": strings.Repeat("8", 64)}},
	}
	for _, c := range []struct {
		src          string
		allowMissing bool
		want         bool
		err          string
	}{
		{src: `predicate.buildDefinition.buildType == "https://mlattest.dev/buildtypes/training/v1"`, want: true},
		{src: `predicate.buildDefinition.buildType == "other"`, want: false},
		{src: `predicate.buildDefinition.resolvedDependencies.exists(d, d.annotations.role == "base-model" && d.digest.sha256 in ["` + strings.Repeat("3", 64) + `"])`, want: true},
		{src: `predicate.buildDefinition.resolvedDependencies.exists(d, d.annotations.role == "base-model" && d.digest.sha256 in ["` + strings.Repeat("4", 64) + `"])`, want: false},
		{src: `size(subject) == 2 && subject.all(s, s.name.startsWith("out/"))`, want: true},
		{src: `subject.exists(s, s.digest.sha256 == "` + strings.Repeat("8", 64) + `")`, want: true},
		// JSON numbers are doubles; CEL compares them with int literals.
		{src: `predicate.runDetails.byproducts.exists(b, b.name == "mlattest.dev/exit-code" && b.annotations.exitCode == 0)`, want: true},
		{src: `has(predicate.buildDefinition.externalParameters.hyperparameters)`, want: false},
		// A missing field fails by default ...
		{src: `predicate.buildDefinition.externalParameters.hyperparameters.epochs == 3`, err: "no such key"},
		{src: `predicate.nothing == "x"`, err: "no such key"},
		// ... and is true with allowMissing: "check it when it is there".
		{src: `predicate.buildDefinition.externalParameters.hyperparameters.epochs == 3`, allowMissing: true, want: true},
		{src: `predicate.nothing == "x"`, allowMissing: true, want: true},
		// allowMissing does not turn a present-but-wrong field into a pass,
		// nor other runtime errors into passes.
		{src: `predicate.buildDefinition.buildType == "other"`, allowMissing: true, want: false},
		{src: `predicate.buildDefinition.buildType + 1 == 2`, allowMissing: true, err: "no such overload"},
		{src: `subject[5].name == "x"`, allowMissing: true, err: "index out of bounds"},
		{src: `int(predicate.buildDefinition.buildType) == 1`, err: "int"},
	} {
		e, err := CompileExpression(c.src)
		if err != nil {
			t.Errorf("CompileExpression(%q): %v", c.src, err)
			continue
		}
		e.AllowMissing = c.allowMissing
		got, err := e.Eval(pred, subj)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || got {
				t.Errorf("Eval(%q, allowMissing=%v) = %v, %v; want false and an error containing %q", c.src, c.allowMissing, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Eval(%q, allowMissing=%v) = %v, %v; want %v", c.src, c.allowMissing, got, err, c.want)
		}
	}
}

func TestEvalCostLimit(t *testing.T) {
	e, err := CompileExpression(`subject.all(a, subject.all(b, subject.all(c, c == c && a == a)))`)
	if err != nil {
		t.Fatal(err)
	}
	subj := make([]any, 200) // 200^3 iterations: far over the budget
	for i := range subj {
		subj[i] = float64(i)
	}
	got, err := e.Eval(nil, subj)
	if got || err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Errorf("Eval = %v, %v; want false and a cost-limit error", got, err)
	}
	e.AllowMissing = true // not a missing field: still an error
	if got, err := e.Eval(nil, subj); got || err == nil {
		t.Errorf("allowMissing: Eval = %v, %v", got, err)
	}
	// The same expression within budget works.
	if got, err := e.Eval(nil, subj[:10]); !got || err != nil {
		t.Errorf("small input: %v, %v", got, err)
	}
}

func TestEvalNilAndConcurrent(t *testing.T) {
	var nilExpr *Expression
	if ok, err := nilExpr.Eval(nil, nil); ok || err == nil {
		t.Error("nil expression evaluated")
	}
	e, err := CompileExpression(`size(subject) == 0 && size(predicate) == 0`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if ok, err := e.Eval(nil, nil); !ok || err != nil {
					t.Errorf("Eval: %v %v", ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
