package graph

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// aliased returns an operation of n aliased root-level fields.
func aliased(n int) *ast.OperationDefinition {
	op := &ast.OperationDefinition{Operation: ast.Query}
	for i := range n {
		op.SelectionSet = append(op.SelectionSet, &ast.Field{Alias: "a" + string(rune('a'+i)), Name: "me"})
	}
	return op
}

// TestLimitsAreWorkedOutOncePerOperation: a cached document's operation
// is walked once; its later requests get the same verdict (a new error
// each time) without a walk, and the verdict goes with the operation.
func TestLimitsAreWorkedOutOncePerOperation(t *testing.T) {
	l := &limits{maxDepth: 15, maxAliases: 3, maxRootFields: 10}
	ctx := context.Background()

	over := aliased(5)
	first := l.MutateOperationContext(ctx, &graphql.OperationContext{Operation: over})
	if first == nil || first.Extensions["code"] != "ALIAS_LIMIT_EXCEEDED" {
		t.Fatalf("5 aliases over a limit of 3: got %v", first)
	}
	again := l.MutateOperationContext(ctx, &graphql.OperationContext{Operation: over})
	if again == nil || again == first || again.Message != first.Message {
		t.Errorf("the same operation again: got %v (%p), want a new error like %v (%p)", again, again, first, first)
	}

	// The verdict belongs to the operation, not to its shape: a walk
	// would refuse this one, the cached verdict does not.
	within := aliased(2)
	if err := l.MutateOperationContext(ctx, &graphql.OperationContext{Operation: within}); err != nil {
		t.Fatalf("2 aliases: %v", err)
	}
	within.SelectionSet = aliased(5).SelectionSet
	if err := l.MutateOperationContext(ctx, &graphql.OperationContext{Operation: within}); err != nil {
		t.Errorf("the operation was walked again: %v", err)
	}
	if err := l.MutateOperationContext(ctx, &graphql.OperationContext{Operation: aliased(5)}); err == nil {
		t.Errorf("another operation of 5 aliases passed")
	}

	// Operations no longer in use leave nothing behind.
	over, within = nil, nil
	_, _ = over, within
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		n := 0
		l.verdicts.Range(func(any, any) bool { n++; return true })
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d verdicts left after their operations were collected", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
