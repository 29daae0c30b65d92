package graph

import (
	"context"
	"encoding/json"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	gqlcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"wxtodo/errcode"
)

// validationRules are gqlparser's rules plus intLiteralRange; without
// suggestions, every rule that would name a field, argument, type or enum
// value the client did not write ("Did you mean …?") is swapped for its
// variant that does not. (gqlgen's SetDisableSuggestion swaps two of the
// five, and must be set as well: it swaps them back otherwise.)
func validationRules(suggest bool) func() *rules.Rules {
	return func() *rules.Rules {
		r := rules.NewDefaultRules()
		r.AddRule(intLiteralRange.Name, intLiteralRange.RuleFunc)
		if !suggest {
			for name, without := range map[string]core.Rule{
				rules.KnownArgumentNamesRule.Name:  rules.KnownArgumentNamesRuleWithoutSuggestions,
				rules.KnownTypeNamesRule.Name:      rules.KnownTypeNamesRuleWithoutSuggestions,
				rules.ValuesOfCorrectTypeRule.Name: rules.ValuesOfCorrectTypeRuleWithoutSuggestions,
			} {
				r.RemoveRule(name)
				r.AddRule(without.Name, without.RuleFunc)
			}
		}
		return r
	}
}

// intLiteralRange refuses an Int literal outside 32 bits, as the
// specification says Int is (gqlparser only checks that it is an integer).
var intLiteralRange = core.Rule{
	Name: "IntLiteralRange",
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		observers.OnValue(func(_ *core.Walker, v *ast.Value) {
			if v.Kind != ast.IntValue || v.Definition == nil || v.Definition.Name != "Int" {
				return
			}
			if _, err := strconv.ParseInt(v.Raw, 10, 32); err != nil {
				addError(core.Message("Int cannot represent non 32-bit signed integer value: %s", v.Raw), core.At(v.Position))
			}
		})
	},
}

// noIntrospection refuses __schema and __type, when introspection is
// off, before the operation runs: the client learns why with a code of its
// own, and nobody is paged for it (gqlgen's resolvers would fail with an
// internal error).
type noIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = noIntrospection{}

func (noIntrospection) ExtensionName() string                   { return "NoIntrospection" }
func (noIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

func (noIntrospection) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if f := introspectionField(op.Doc, op.Operation.SelectionSet, map[string]bool{}); f != nil {
		err := gqlerror.ErrorPosf(f.Position, "introspection is disabled on this server")
		err.Extensions = map[string]any{"code": errcode.IntrospectionDisabled}
		return err
	}
	return nil
}

// introspectionField finds __schema or __type among the root fields of a
// selection set, looking into fragments (each once).
func introspectionField(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool) *ast.Field {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return s
			}
		case *ast.InlineFragment:
			if f := introspectionField(doc, s.SelectionSet, seen); f != nil {
				return f
			}
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if def := doc.Fragments.ForName(s.Name); def != nil {
				if f := introspectionField(doc, def.SelectionSet, seen); f != nil {
					return f
				}
			}
		}
	}
	return nil
}

// strictVariables holds variables to the specification's input coercion,
// which gqlparser loosens: it reads "5" as an Int or Float and 5 as a
// String, and nested in input objects and lists it takes any numeral. Int
// is 32 bits; an ID is a string or an integer; nothing converts between
// String, Boolean and the numbers. It runs after gqlparser's own coercion,
// which has already checked nullability, enum names and input fields.
type strictVariables struct{ schema *ast.Schema }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = strictVariables{}

func (strictVariables) ExtensionName() string                   { return "StrictVariables" }
func (strictVariables) Validate(graphql.ExecutableSchema) error { return nil }

func (s strictVariables) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	for _, def := range op.Operation.VariableDefinitions {
		v, ok := op.Variables[def.Variable]
		if !ok {
			continue
		}
		if err := s.check(def.Type, v, ast.Path{ast.PathName("variable"), ast.PathName(def.Variable)}); err != nil {
			gqlcode.Set(err, errcode.ValidationFailed)
			return err
		}
	}
	return nil
}

// check checks v, a variable's value after gqlparser's coercion, against
// typ.
func (s strictVariables) check(typ *ast.Type, v any, path ast.Path) *gqlerror.Error {
	if v == nil {
		return nil
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			// A single value stands for a list of one.
			return s.check(typ.Elem, v, path)
		}
		for i, e := range list {
			if err := s.check(typ.Elem, e, append(path[:len(path):len(path)], ast.PathIndex(i))); err != nil {
				return err
			}
		}
		return nil
	}
	def := s.schema.Types[typ.NamedType]
	if def == nil {
		return nil
	}
	switch def.Kind {
	case ast.Scalar:
		if why := scalarMismatch(def.Name, v); why != "" {
			return gqlerror.ErrorPathf(path, "%s cannot represent %s", def.Name, why)
		}
	case ast.Enum:
		if _, ok := v.(string); !ok {
			return gqlerror.ErrorPathf(path, "%s cannot represent %s", def.Name, describe(v))
		}
	case ast.InputObject:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // gqlparser refused it already
		}
		for _, f := range def.Fields {
			if fv, ok := obj[f.Name]; ok {
				if err := s.check(f.Type, fv, append(path[:len(path):len(path)], ast.PathName(f.Name))); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// scalarMismatch says why v is not a value of the built-in scalar name,
// or "" when it is (or name is a custom scalar, which checks itself).
func scalarMismatch(name string, v any) string {
	switch name {
	case "Int":
		var n int64
		switch t := v.(type) {
		case int64:
			n = t
		case int:
			n = int64(t)
		case json.Number:
			i, err := t.Int64()
			if err != nil {
				return "a non-integer number"
			}
			n = i
		default:
			return describe(v)
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return "an integer beyond 32 bits"
		}
	case "Float":
		switch t := v.(type) {
		case float64, int64, int:
		case json.Number:
			if f, err := t.Float64(); err != nil || math.IsInf(f, 0) {
				return "a number beyond float64"
			}
		default:
			return describe(v)
		}
	case "ID":
		switch t := v.(type) {
		case string, int64, int:
		case json.Number:
			if _, err := t.Int64(); err != nil {
				return "a non-integer number"
			}
		default:
			return describe(v)
		}
	case "String":
		if _, ok := v.(string); !ok {
			return describe(v)
		}
	case "Boolean":
		if _, ok := v.(bool); !ok {
			return describe(v)
		}
	}
	return ""
}

// describe names v's JSON kind, never its value.
func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, int64, int, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return "a value of another kind"
}
