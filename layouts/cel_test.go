package layouts

import (
	"encoding/json"
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
		// Constant arguments are evaluated when the program is built.
		{`timestamp("no such key") > timestamp("2020-01-01T00:00:00Z")`, "invalid RFC 3339"},
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
		{src: `subject[5].name == "x"`, allowMissing: true, err: "out of range"},
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

// TestEvalMissingClassification: allowMissing forgives exactly a reference
// to an absent key, decided by the error's type. Every other runtime error
// fails, however its text reads — the statement's data can put "no such
// key" in a message.
func TestEvalMissingClassification(t *testing.T) {
	pred := map[string]any{
		"s":     "no such key: x",
		"ts":    "2026-13-45Tno such key",
		"re":    "(no such key",
		"zero":  0.0,
		"nul":   nil,
		"list":  []any{map[string]any{"a": 1.0}, map[string]any{"b": 2.0}},
		"m":     map[string]any{"no such key: a": "no such key: b"},
		"deep":  map[string]any{"x": map[string]any{}},
		"flag":  true,
		"three": 3.0,
	}
	for _, c := range []struct {
		name, src string
		missing   bool // the error is a missing key: allowMissing passes, otherwise it fails
	}{
		{name: "absent top-level key", src: `predicate.nothing == 1`, missing: true},
		{name: "absent nested key", src: `predicate.deep.x.y.z == 1`, missing: true},
		{name: "absent parent of a presence test", src: `has(predicate.nothing.y)`, missing: true},
		{name: "absent key by index", src: `predicate["nothing"] == 1`, missing: true},
		{name: "absent key by computed index", src: `predicate.deep[predicate.s] == 1`, missing: true},
		{name: "absent key in a comprehension element", src: `predicate.list.all(e, e.a == 1)`, missing: true},
		{name: "absent subject field", src: `subject.exists(s, s.size > 0)`, missing: true},

		{name: "field of a string", src: `predicate.s.x == 1`},
		{name: "field of null", src: `predicate.nul.x == 1`},
		{name: "field of a list", src: `predicate.list.a == 1`},
		{name: "field of a number", src: `predicate.three.x == 1`},
		{name: "type mismatch (no such overload)", src: `predicate.s + 1 == 2`},
		{name: "bool compared with arithmetic", src: `predicate.flag * 2 == 2`},
		{name: "timestamp parse of statement data", src: `timestamp(predicate.ts) > timestamp("2020-01-01T00:00:00Z")`},
		{name: "division by zero", src: `1 / int(predicate.zero) == 1`},
		{name: "modulus by zero", src: `1 % int(predicate.zero) == 1`},
		{name: "int conversion of attacker text", src: `int(predicate.s) == 1`},
		{name: "regexp from attacker text", src: `"a".matches(predicate.re)`},
		{name: "attacker map key and value in a message", src: `predicate.m["no such key: a"] + 1 == 2`},
		{name: "list index out of range", src: `predicate.list[7].a == 1`},
		{name: "list indexed by a string", src: `predicate.list["a"] == 1`},
		{name: "index of a string", src: `predicate.s[0] == "n"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := CompileExpression(c.src)
			if err != nil {
				t.Fatalf("CompileExpression(%q): %v", c.src, err)
			}
			subj := []any{map[string]any{"name": "m", "digest": map[string]any{"sha256": "no such key"}}}
			got, err := e.Eval(pred, subj)
			if got || err == nil {
				t.Fatalf("without allowMissing: Eval = %v, %v; want false and an error", got, err)
			}
			if IsMissing(err) != c.missing {
				t.Fatalf("IsMissing(%v) = %v, want %v", err, !c.missing, c.missing)
			}
			e.AllowMissing = true
			got, err = e.Eval(pred, subj)
			switch {
			case c.missing && (!got || err != nil):
				t.Fatalf("allowMissing: Eval = %v, %v; want true (the key is absent)", got, err)
			case !c.missing && (got || err == nil):
				t.Fatalf("allowMissing: Eval = %v, %v; want false and an error (not a missing key)", got, err)
			}
		})
	}
}

// TestEvalNonBool: Eval refuses a program whose result is not a bool
// (CompileExpression refuses such expressions; a hand-built Expression may
// still carry one).
func TestEvalNonBool(t *testing.T) {
	env, err := celEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{`1`, `"true"`, `predicate.three`, `predicate`} {
		a, iss := env.Compile(src)
		if iss.Err() != nil {
			t.Fatal(iss.Err())
		}
		prg, err := env.Program(a)
		if err != nil {
			t.Fatal(err)
		}
		e := &Expression{Source: src, Program: prg, AllowMissing: true}
		if got, err := e.Eval(map[string]any{"three": 3.0}, nil); got || err == nil || !strings.Contains(err.Error(), "not a bool") {
			t.Errorf("Eval(%s) = %v, %v; want false and a not-a-bool error", src, got, err)
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

// FuzzEvalMissing evaluates expressions over arbitrary JSON predicates.
// Oracle: `predicate.a.b == 1` is a missing-key error exactly when a is
// absent or is an object without b; any other error (a is a string, a
// list, null...) is not. And allowMissing turns exactly the missing-key
// errors into true, for every expression.
func FuzzEvalMissing(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":{}}`, `{"a":{"b":1}}`, `{"a":"no such key: b"}`, `{"a":null}`, `{"a":[1]}`,
		`{"a":{"b":"x"},"t":"2026-01-01T00:00:00Z","l":[{"x":1},{}],"k":"b"}`} {
		f.Add([]byte(s))
	}
	exprs := []string{
		`predicate.a.b == 1`,
		`predicate.l.all(e, e.x == 1)`,
		`predicate.a[predicate.k] == "x"`,
		`timestamp(predicate.t) < timestamp("2030-01-01T00:00:00Z")`,
		`has(predicate.a.b) && predicate.a.b.matches("^x")`,
		`size(predicate.a) / size(predicate.l) > 0`,
	}
	compiled := make([]*Expression, len(exprs))
	for i, src := range exprs {
		e, err := CompileExpression(src)
		if err != nil {
			f.Fatal(err)
		}
		compiled[i] = e
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var pred map[string]any
		if json.Unmarshal(data, &pred) != nil || pred == nil {
			return
		}
		a, hasA := pred["a"]
		obj, isObj := a.(map[string]any)
		_, hasB := obj["b"]
		wantMissing := !hasA || (isObj && !hasB)
		for i, e := range compiled {
			strict := *e
			ok, err := strict.Eval(pred, nil)
			if i == 0 && (err != nil && IsMissing(err)) != wantMissing {
				t.Fatalf("%s over %s: err %v, want missing=%v", e.Source, data, err, wantMissing)
			}
			lenient := *e
			lenient.AllowMissing = true
			ok2, err2 := lenient.Eval(pred, nil)
			switch {
			case err == nil && (ok2 != ok || err2 != nil):
				t.Fatalf("%s over %s: allowMissing changed a result: %v/%v -> %v/%v", e.Source, data, ok, err, ok2, err2)
			case err != nil && IsMissing(err) && (!ok2 || err2 != nil):
				t.Fatalf("%s over %s: a missing key was not forgiven: %v -> %v/%v", e.Source, data, err, ok2, err2)
			case err != nil && !IsMissing(err) && (ok2 || err2 == nil):
				t.Fatalf("%s over %s: error %v was forgiven", e.Source, data, err)
			case err != nil && ok:
				t.Fatalf("%s: true with an error", e.Source)
			}
		}
	})
}
