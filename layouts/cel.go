package layouts

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
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
// building it is far costlier than compiling one expression. Expressions
// are compiled in it, so they cannot name the functions of celRunEnv.
var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("predicate", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("subject", cel.ListType(cel.DynType)),
		cel.ParserRecursionLimit(celRecursionMax),
		cel.ParserExpressionSizeLimit(maxExprLen),
	)
})

// Functions a compiled expression's field selections and indexing are
// rewritten into (absentRewrite). Their names cannot be written in CEL
// source.
const (
	celFieldFunc = "@mlattest_field"
	celIndexFunc = "@mlattest_index"
)

// celRunEnv is celEnv plus the selection functions programs run with.
var celRunEnv = sync.OnceValues(func() (*cel.Env, error) {
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	return env.Extend(
		cel.Function(celFieldFunc, cel.Overload("mlattest_field_dyn_string",
			[]*cel.Type{cel.DynType, cel.StringType}, cel.DynType, cel.BinaryBinding(selectField))),
		cel.Function(celIndexFunc, cel.Overload("mlattest_index_dyn_dyn",
			[]*cel.Type{cel.DynType, cel.DynType}, cel.DynType, cel.BinaryBinding(indexValue))),
	)
})

// missingError is the evaluation error of a reference to an absent map key:
// the only error AllowMissing forgives. It is recognised by its type
// (IsMissing), never by its text, which may carry data from the statement.
type missingError struct{ key ref.Val }

func (e *missingError) Error() string { return fmt.Sprintf("no such key: %v", e.key) }

// selectField is `operand.field`: the value of a present key of a map, a
// missingError for an absent one, and a type error for anything else (a
// field of a string, a number, null or a list is not "missing").
func selectField(operand, field ref.Val) ref.Val {
	m, ok := operand.(traits.Mapper)
	if !ok {
		return types.NewErr("cannot select field %v of a %s", field, operand.Type().TypeName())
	}
	return find(m, field)
}

// indexValue is `operand[key]`: maps as selectField, lists by cel-go's own
// indexing (an index out of range is an error, not a missing field).
func indexValue(operand, key ref.Val) ref.Val {
	switch o := operand.(type) {
	case traits.Mapper:
		return find(o, key)
	case traits.Lister:
		return o.Get(key)
	}
	return types.NewErr("cannot index a %s", operand.Type().TypeName())
}

func find(m traits.Mapper, key ref.Val) ref.Val {
	v, found := m.Find(key)
	switch {
	case v != nil && types.IsError(v):
		return v // a key of a type the map cannot hold
	case !found:
		return types.WrapErr(&missingError{key: key})
	}
	return v
}

// absentRewrite turns every field selection `x.f` (but not the presence
// test `has(x.f)`) into celFieldFunc(x, "f") and every index `x[k]` into
// celIndexFunc(x, k), so that an absent key yields a missingError. cel-go
// reports absent keys with an unexported error type whose text includes
// the key: telling them apart from other errors needs our own selection.
type absentRewrite struct{}

func (absentRewrite) Optimize(ctx *cel.OptimizerContext, a *ast.AST) *ast.AST {
	var found []ast.Expr
	ast.PostOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			if !e.AsSelect().IsTestOnly() {
				found = append(found, e)
			}
		case ast.CallKind:
			if c := e.AsCall(); c.FunctionName() == operators.Index && !c.IsMemberFunction() && len(c.Args()) == 2 {
				found = append(found, e)
			}
		}
	}))
	// Inner expressions come first; each is rewritten in place, so an
	// outer one's operand is already the rewritten inner one.
	for _, e := range found {
		if e.Kind() == ast.SelectKind {
			s := e.AsSelect()
			ctx.UpdateExpr(e, ctx.NewCall(celFieldFunc, s.Operand(), ctx.NewLiteral(types.String(s.FieldName()))))
			continue
		}
		args := e.AsCall().Args()
		ctx.UpdateExpr(e, ctx.NewCall(celIndexFunc, args[0], args[1]))
	}
	return a
}

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
	checked, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("CEL expression %q: %s", src, oneLine(iss.Err().Error()))
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("CEL expression %q yields %s, want bool (compare it, e.g. == true)", src, checked.OutputType())
	}
	runEnv, err := celRunEnv()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	opt, err := cel.NewStaticOptimizer(absentRewrite{})
	if err != nil {
		return nil, fmt.Errorf("CEL expression %q: %w", src, err)
	}
	checked, iss = opt.Optimize(runEnv, checked)
	if iss.Err() != nil {
		return nil, fmt.Errorf("CEL expression %q: rewriting field selections: %s", src, oneLine(iss.Err().Error()))
	}
	prg, err := runEnv.Program(checked,
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
// absent map key: a field selection or index of a map that lacks the key,
// in an expression compiled by CompileExpression. It decides by the error's
// type, never its text: a type mismatch, a failed conversion, a division by
// zero or an index out of range is not missing, whatever its message says.
func IsMissing(err error) bool {
	var m *missingError
	return errors.As(err, &m)
}

// Eval evaluates the expression. Any runtime error (a missing field, a
// type mismatch, the cost limit) is (false, err) — except that, when
// AllowMissing is set, a missing field (IsMissing) makes the whole
// expression (true, nil): "check this if it is there". A result that is
// not a bool is an error too.
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
