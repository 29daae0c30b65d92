package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"wxtodo/errcode"
)

// OperationObserver learns of every GraphQL operation: its root field
// ("multiple" when it selects several, "invalid" when the document did not
// parse or validate), its outcome code ("OK", or the first error's
// extensions.code) and how long it took.
type OperationObserver interface {
	ObserveOperation(operation, code string, d time.Duration)
}

// observe is the gqlgen extension that reports to an OperationObserver.
type observe struct{ to OperationObserver }

var (
	_ graphql.HandlerExtension    = observe{}
	_ graphql.ResponseInterceptor = observe{}
)

func (observe) ExtensionName() string                   { return "OperationObserver" }
func (observe) Validate(graphql.ExecutableSchema) error { return nil }
func (o observe) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	operation := "invalid"
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		if !oc.Stats.OperationStart.IsZero() {
			start = oc.Stats.OperationStart
		}
		if oc.Operation != nil {
			operation = rootField(oc.Operation.SelectionSet)
		}
	}
	code := "OK"
	if resp != nil && len(resp.Errors) > 0 {
		code = errcode.Internal
		if c, ok := resp.Errors[0].Extensions["code"].(string); ok && c != "" {
			code = c
		}
	}
	o.to.ObserveOperation(operation, code, time.Since(start))
	return resp
}

// rootField names an operation by its root field. The names come from the
// schema, never from the client (unlike operationName), so the metric's
// series stay few.
func rootField(set ast.SelectionSet) string {
	name := ""
	for _, sel := range set {
		f, ok := sel.(*ast.Field)
		if !ok {
			return "multiple" // a fragment at the root: rare, not worth resolving
		}
		if f.Name == "__typename" || f.Name == name {
			continue
		}
		if name != "" {
			return "multiple"
		}
		name = f.Name
	}
	if name == "" {
		return "__typename"
	}
	return name
}
