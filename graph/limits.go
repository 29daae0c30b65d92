package graph

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"weak"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"wxtodo/errcode"
)

// limits rejects operations nested too deep or with too many aliases or
// root fields before anything resolves. The verdict is a function of the
// operation alone, so it is worked out once per parsed operation: a
// cached document's requests reuse it.
type limits struct {
	maxDepth, maxAliases, maxRootFields int

	// verdicts holds, per operation still in memory, its verdict (nil:
	// within the limits). Keys are weak: an entry goes when the document
	// cache lets its operation go, so nothing here pins a document.
	verdicts sync.Map // weak.Pointer[ast.OperationDefinition] -> verdict
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
	key := weak.Make(op)
	v, ok := l.verdicts.Load(key)
	if !ok {
		var loaded bool
		if v, loaded = l.verdicts.LoadOrStore(key, l.check(op)); !loaded {
			runtime.AddCleanup(op, func(key weak.Pointer[ast.OperationDefinition]) { l.verdicts.Delete(key) }, key)
		}
	}
	// A new error each time: the response's errors are its own to change.
	if v := v.(verdict); v.code != "" {
		return limitError(v.code, "%s", v.message)
	}
	return nil
}

// verdict is an operation's standing against the limits: the code and
// message of the one it breaks, or none.
type verdict struct{ code, message string }

// check works out an operation's verdict.
func (l *limits) check(op *ast.OperationDefinition) verdict {
	if n := countFields(op.SelectionSet, 0); n > l.maxRootFields {
		return verdict{errcode.RootFieldLimit, fmt.Sprintf("operation has %d root fields, more than the limit of %d", n, l.maxRootFields)}
	}
	var w walker
	w.walk(op.SelectionSet, 1)
	if w.depth > l.maxDepth {
		return verdict{errcode.DepthLimit, fmt.Sprintf("operation is nested %d deep, more than the limit of %d", w.depth, l.maxDepth)}
	}
	if w.aliases > l.maxAliases {
		return verdict{errcode.AliasLimit, fmt.Sprintf("operation has %d aliases, more than the limit of %d", w.aliases, l.maxAliases)}
	}
	return verdict{}
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
