package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"sort"
	"strings"
)

// concurrentSlice is the gqlgen call that marshals a list with a
// goroutine per element; inOrder is ours (graph/slice.go), with the same
// signature, that marshals the elements one after the other.
const (
	concurrentSlice = "graphql.MarshalSliceConcurrently"
	inOrder         = "marshalSliceInOrder"
)

// required are element types whose lists must be rewritten: when one is
// not, gqlgen's output has changed shape and the rewrite says so instead
// of silently doing less.
var required = []string{"TodoEdge"}

// rewrite rewrites gqlgen's generated executor src: each list whose
// elements reach no resolver field (nothing under the element runs
// out.ResolveConcurrently, which gqlgen emits for resolver fields) is marshalled
// by marshalSliceInOrder instead of graphql.MarshalSliceConcurrently. A
// list of elements with resolver fields keeps its goroutines, so that
// their resolvers still run side by side. It returns the rewritten,
// gofmt'ed source and the marshal functions it changed, and fails when
// the code it expects is not there.
func rewrite(src []byte) ([]byte, []string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "generated.go", src, parser.ParseComments)
	if err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && fd.Body != nil {
			funcs[fd.Name.Name] = fd
		}
	}
	g := &callGraph{funcs: funcs}

	type edit struct {
		off  int
		name string
	}
	var (
		edits   []edit
		changed []string
		found   int
	)
	for name, fd := range funcs {
		var problem error
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || exprString(call.Fun) != concurrentSlice {
				return true
			}
			found++
			if err := checkCall(call); err != nil {
				problem = fmt.Errorf("%s: %w", name, err)
				return false
			}
			if g.isSafe(name) {
				edits = append(edits, edit{off: fset.Position(call.Fun.Pos()).Offset, name: name})
				changed = append(changed, name)
			}
			return true
		})
		if problem != nil {
			return nil, nil, problem
		}
	}
	if found == 0 {
		return nil, nil, fmt.Errorf("no call to %s: gqlgen's generated code has changed; update graph/gen", concurrentSlice)
	}
	for _, typ := range required {
		ok := false
		for _, name := range changed {
			if strings.HasPrefix(name, "marshalN"+typ+"2ᚕ") || strings.HasPrefix(name, "marshalO"+typ+"2ᚕ") {
				ok = true
			}
		}
		if !ok {
			return nil, nil, fmt.Errorf("the list of %s is not rewritten: gqlgen's generated code has changed; update graph/gen", typ)
		}
	}

	// Apply from the end, so earlier offsets stay valid.
	sort.Slice(edits, func(i, j int) bool { return edits[i].off > edits[j].off })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		if !bytes.HasPrefix(out[e.off:], []byte(concurrentSlice)) {
			return nil, nil, fmt.Errorf("%s: the call is not where the parser put it", e.name)
		}
		out = append(out[:e.off], append([]byte(inOrder), out[e.off+len(concurrentSlice):]...)...)
	}
	formatted, err := format.Source(out)
	if err != nil {
		return nil, nil, fmt.Errorf("format the rewritten code: %w", err)
	}
	sort.Strings(changed)
	return formatted, changed, nil
}

// checkCall checks that a MarshalSliceConcurrently call has the shape the
// rewrite keeps: (ctx, len(v), 0, false, func(ctx, i) Marshaler).
func checkCall(call *ast.CallExpr) error {
	if len(call.Args) != 5 {
		return fmt.Errorf("%s has %d arguments, want 5", concurrentSlice, len(call.Args))
	}
	if lit, ok := call.Args[2].(*ast.BasicLit); !ok || lit.Value != "0" {
		return fmt.Errorf("%s with a worker limit (%s): not rewritten", concurrentSlice, exprString(call.Args[2]))
	}
	if id, ok := call.Args[3].(*ast.Ident); !ok || (id.Name != "false" && id.Name != "true") {
		return fmt.Errorf("%s: unexpected omitPanicHandler %s", concurrentSlice, exprString(call.Args[3]))
	}
	if _, ok := call.Args[4].(*ast.FuncLit); !ok {
		return errors.New(concurrentSlice + ": the element marshaller is not a function literal")
	}
	return nil
}

// callGraph answers whether an executionContext method reaches, through
// the ec.<method> calls it makes, a field resolved concurrently: gqlgen
// emits out.ResolveConcurrently (out.Concurrently in older versions) for
// resolver fields, and out.ResolveRootConcurrently for root fields.
type callGraph struct {
	funcs  map[string]*ast.FuncDecl
	unsafe map[string]bool // filled once, by reach
}

// resolvesConcurrently reports whether a selector starts concurrent field
// resolution: any method of the field set named *Concurrently, but not
// the list marshaller the rewrite replaces.
func resolvesConcurrently(sel *ast.SelectorExpr) bool {
	return strings.HasSuffix(sel.Sel.Name, "Concurrently") && exprString(sel) != concurrentSlice
}

// reach works out, as a fixed point, every method that resolves
// concurrently or calls one that does (cycles, as introspection's types
// have, included); the answer does not depend on the order of the file.
func (g *callGraph) reach() {
	g.unsafe = map[string]bool{}
	callers := map[string][]string{} // callee -> callers
	var queue []string
	for name, fd := range g.funcs {
		direct := false
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch {
			case resolvesConcurrently(sel):
				direct = true
			case isIdent(sel.X, "ec"):
				if _, ok := g.funcs[sel.Sel.Name]; ok {
					callers[sel.Sel.Name] = append(callers[sel.Sel.Name], name)
				}
			}
			return true
		})
		if direct {
			g.unsafe[name] = true
			queue = append(queue, name)
		}
	}
	for len(queue) > 0 {
		callee := queue[0]
		queue = queue[1:]
		for _, caller := range callers[callee] {
			if !g.unsafe[caller] {
				g.unsafe[caller] = true
				queue = append(queue, caller)
			}
		}
	}
}

func (g *callGraph) isSafe(name string) bool {
	if g.unsafe == nil {
		g.reach()
	}
	return !g.unsafe[name]
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func exprString(e ast.Expr) string {
	var b bytes.Buffer
	if err := format.Node(&b, token.NewFileSet(), e); err != nil {
		return "?"
	}
	return b.String()
}
