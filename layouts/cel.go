package layouts

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
)

// Bounds on CEL expressions: the layout comes from the model owner, but a
// verifier should still not be made to spin or blow its stack.
const (
	// CELCostLimit is the runtime cost budget of one evaluation (cel-go's
	// cost units, roughly one per operation or element visited).
	CELCostLimit     = 1_000_000
	maxExprLen       = 8192
	celRecursionMax  = 64
	celInterruptFreq = 100
)

// celEnv is built once: it is immutable and safe for concurrent use, and
// building it is far costlier than compiling one expression.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("predicate", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("subject", cel.ListType(cel.DynType)),
		cel.ParserRecursionLimit(celRecursionMax),
		cel.ParserExpressionSizeLimit(maxExprLen),
	)
})

// CompileExpression compiles a CEL expression over `predicate` (a map of
// the statement's predicate, as decoded from JSON: numbers are doubles) and
// `subject` (a list of the statement's subjects as {name, digest} maps).
// Its result must be a bool. Line and AllowMissing are left for the caller.
func CompileExpression(src string) (*Expression, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty CEL expression")
	}
	if len(src) > maxExprLen {
		return nil, fmt.Errorf("CEL expression longer than %d bytes", maxExprLen)
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("CEL expression %q: %s", src, oneLine(iss.Err().Error()))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("CEL expression %q yields %s, want bool (compare it, e.g. == true)", src, ast.OutputType())
	}
	prg, err := env.Program(ast,
		cel.CostLimit(CELCostLimit),
		cel.InterruptCheckFrequency(celInterruptFreq),
		cel.EvalOptions(cel.OptOptimize),
	)
	if err != nil {
		return nil, fmt.Errorf("CEL expression %q: %w", src, err)
	}
	return &Expression{Source: src, Program: prg}, nil
}

// oneLine squeezes cel-go's multi-line issue report (message, source line,
// caret) into one line for file:line messages.
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	var keep []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		// Drop the echoed source and the caret line.
		if t == "" || strings.HasPrefix(t, "|") {
			continue
		}
		keep = append(keep, t)
	}
	return strings.Join(keep, "; ")
}

// IsMissing reports whether a CEL evaluation error is a reference to an
// absent map key or field ("no such key", "no such attribute").
func IsMissing(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "no such key") || strings.Contains(m, "no such attribute")
}

// Eval evaluates the expression. Any runtime error (a missing field, a
// type mismatch, the cost limit) is (false, err) — except that, when
// AllowMissing is set, a missing field (IsMissing) makes the whole
// expression (true, nil): "check this if it is there".
func (e *Expression) Eval(predicate map[string]any, subject []any) (bool, error) {
	if e == nil || e.Program == nil {
		return false, errors.New("CEL expression not compiled")
	}
	if predicate == nil {
		predicate = map[string]any{}
	}
	if subject == nil {
		subject = []any{}
	}
	out, _, err := e.Program.Eval(map[string]any{"predicate": predicate, "subject": subject})
	if err != nil {
		if e.AllowMissing && IsMissing(err) {
			return true, nil
		}
		return false, fmt.Errorf("CEL expression %q: %w", e.Source, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("CEL expression %q yielded %v, not a bool", e.Source, out.Type())
	}
	return b, nil
}
