package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// src is a generated executor in miniature: a list of TodoEdge whose
// elements reach no resolver, and a list of Thing whose element has a
// resolver field (out.ResolveConcurrently, as gqlgen v0.17.98 writes it).
const src = `package graph

func (ec *executionContext) marshalNTodoEdge2ᚕᚖEdgeᚄ(ctx context.Context, sel ast.SelectionSet, v []*Edge) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return ec._TodoEdge(ctx, sel, v[i])
	})
	return ret
}

func (ec *executionContext) _TodoEdge(ctx context.Context, sel ast.SelectionSet, obj *Edge) graphql.Marshaler {
	out.Values[0] = ec._TodoEdge_node(ctx, field, obj)
	return out
}

func (ec *executionContext) _TodoEdge_node(ctx context.Context, field graphql.CollectedField, obj *Edge) graphql.Marshaler {
	return ec._TodoEdge(ctx, nil, obj) // a cycle, as introspection's types have
}

func (ec *executionContext) marshalNThing2ᚕᚖThingᚄ(ctx context.Context, sel ast.SelectionSet, v []*Thing) graphql.Marshaler {
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return ec._Thing(ctx, sel, v[i])
	})
	return ret
}

func (ec *executionContext) _Thing(ctx context.Context, sel ast.SelectionSet, obj *Thing) graphql.Marshaler {
	out.ResolveConcurrently(ec.OperationContext, &deferred, i, func(ctx context.Context) graphql.Marshaler { return ec._Thing_resolved(ctx, field, obj) })
	return out
}
`

// TestRewriteLoopsOnlyListsWithoutResolvers: the lists whose elements
// reach no resolver field are marshalled in order, the others keep
// gqlgen's goroutines.
func TestRewriteLoopsOnlyListsWithoutResolvers(t *testing.T) {
	out, changed, err := rewrite([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0] != "marshalNTodoEdge2ᚕᚖEdgeᚄ" {
		t.Errorf("changed %v, want only the TodoEdge list", changed)
	}
	got := string(out)
	if !strings.Contains(got, "ret := marshalSliceInOrder(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {\n\t\treturn ec._TodoEdge(") {
		t.Errorf("the TodoEdge list is not marshalled in order:\n%s", got)
	}
	if !strings.Contains(got, "ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {\n\t\treturn ec._Thing(") {
		t.Errorf("the list of elements with resolvers lost its goroutines:\n%s", got)
	}
	// The output has no TodoEdge list left to rewrite: a second pass over
	// it is refused rather than passing for fresh gqlgen output.
	if _, _, err := rewrite(out); err == nil {
		t.Errorf("rewriting the output again succeeded; want it refused")
	}
}

// TestRewriteFailsLoudlyWhenTheCodeChanges: after a gqlgen upgrade that
// changes the generated code, generation fails instead of doing less.
func TestRewriteFailsLoudlyWhenTheCodeChanges(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"no concurrent lists", "graphql.MarshalSliceConcurrently(", "graphql.MarshalSlice(", "no call to"},
		{"another signature", "len(v), 0, false, func", "len(v), false, func", "arguments"},
		{"a worker limit", "len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {\n\t\treturn ec._TodoEdge", "len(v), 4, false, func(ctx context.Context, i int) graphql.Marshaler {\n\t\treturn ec._TodoEdge", "worker limit"},
		{"TodoEdge gains a resolver", "\tout.Values[0] = ec._TodoEdge_node(ctx, field, obj)", "\tout.ResolveConcurrently(ec.OperationContext, &deferred, 0, nil)", "TodoEdge is not rewritten"},
		{"TodoEdge's node gains a resolver, through a cycle", "\treturn ec._TodoEdge(ctx, nil, obj) // a cycle", "\tout.ResolveConcurrently(ec.OperationContext, &deferred, 0, nil)\n\treturn ec._TodoEdge(ctx, nil, obj) // a cycle", "TodoEdge is not rewritten"},
		{"not Go", "package graph", "package", "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := strings.Replace(src, tt.from, tt.to, -1)
			if changed == src {
				t.Fatalf("the case changes nothing")
			}
			_, _, err := rewrite([]byte(changed))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// TestTheGeneratedExecutorIsReadRight reads the real generated code:
// _TodoConnection resolves totalCount concurrently (a resolver field), so
// a list of connections would keep its goroutines, while a todo edge
// reaches no resolver.
func TestTheGeneratedExecutorIsReadRight(t *testing.T) {
	src, err := os.ReadFile("../generated.go")
	if err != nil {
		t.Fatal(err)
	}
	file, err := parser.ParseFile(token.NewFileSet(), "generated.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := &callGraph{funcs: map[string]*ast.FuncDecl{}}
	for _, d := range file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && fd.Body != nil {
			g.funcs[fd.Name.Name] = fd
		}
	}
	for name, want := range map[string]bool{"_TodoConnection": false, "_Query": false, "_TodoEdge": true, "_Todo": true, "___Type": true} {
		if _, ok := g.funcs[name]; !ok {
			t.Errorf("no %s in the generated code", name)
			continue
		}
		if got := g.isSafe(name); got != want {
			t.Errorf("%s: safe %v, want %v", name, got, want)
		}
	}
}
