package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"wxtodo/errcode"
)

// limits rejects operations nested too deep or with too many aliases or
// root fields before anything resolves.
type limits struct {
	maxDepth, maxAliases, maxRootFields int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*limits)(nil)

func (*limits) ExtensionName() string                   { return "OperationLimits" }
func (*limits) Validate(graphql.ExecutableSchema) error { return nil }

func (l *limits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	if op == nil {
		return nil
	}
	if n := countFields(op.SelectionSet, 0); n > l.maxRootFields {
		return limitError(errcode.RootFieldLimit, "operation has %d root fields, more than the limit of %d", n, l.maxRootFields)
	}
	var w walker
	w.walk(op.SelectionSet, 1)
	if w.depth > l.maxDepth {
		return limitError(errcode.DepthLimit, "operation is nested %d deep, more than the limit of %d", w.depth, l.maxDepth)
	}
	if w.aliases > l.maxAliases {
		return limitError(errcode.AliasLimit, "operation has %d aliases, more than the limit of %d", w.aliases, l.maxAliases)
	}
	return nil
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": code}
	return err
}

// countFields counts the fields of a selection set, looking through
// fragments.
func countFields(set ast.SelectionSet, n int) int {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			n++
		case *ast.InlineFragment:
			n = countFields(s.SelectionSet, n)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				n = countFields(s.Definition.SelectionSet, n)
			}
		}
	}
	return n
}

type walker struct {
	depth, aliases int
	visits         int
}

// walk records the deepest field and counts aliases. Validation has
// already refused fragment cycles; visits bounds the work a document full
// of fragment spreads can cause.
func (w *walker) walk(set ast.SelectionSet, depth int) {
	for _, s := range set {
		w.visits++
		if w.visits > 10000 {
			w.depth = 1 << 20
			return
		}
		switch s := s.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			w.depth = max(w.depth, depth)
			w.walk(s.SelectionSet, depth+1)
		case *ast.InlineFragment:
			w.walk(s.SelectionSet, depth)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				w.walk(s.Definition.SelectionSet, depth)
			}
		}
	}
}
