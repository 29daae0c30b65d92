package graph_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"wxtodo/apitest"
	"wxtodo/bench/docs"
	"wxtodo/db/dbtest"
	"wxtodo/errcode"
	"wxtodo/graph"
)

// TestCostlyDocumentsAreRefusedBeforeValidation: the shapes that make
// gqlparser's validation burn CPU (thousands of same-name fields,
// fragments compared pairwise, fragments that multiply) are refused with
// DOCUMENT_LIMIT_EXCEEDED before validation, or by the parser's token
// limit; GraphiQL's introspection query still passes.
func TestCostlyDocumentsAreRefusedBeforeValidation(t *testing.T) {
	s := apitest.New(t, dbtest.SQLiteURL(t), apitest.Options{Introspection: true})
	attacks := docs.Attacks(graph.MaxTokens)
	for i, a := range attacks {
		t.Run(a.Name, func(t *testing.T) {
			r := s.Post(t, a.Doc(i))
			switch code := r.Code(); {
			case a.Passes && code == errcode.DocumentLimit:
				t.Errorf("made to pass the document limits, refused by them: %s", r.Raw)
			case code == errcode.ParseFailed && strings.Contains(r.Raw, "token limit"):
			case code == errcode.DocumentLimit:
				if !strings.Contains(r.Errors[0].Message, "limit") {
					t.Errorf("the message does not name the limit: %s", r.Raw)
				}
			case a.Passes:
				// Validated, then refused by the limits after it.
				if code != errcode.AliasLimit && code != errcode.ComplexityLimit && code != errcode.ValidationFailed {
					t.Errorf("got code %q: %s", code, r.Raw)
				}
			default:
				t.Errorf("got code %q, want %s: %.300s", code, errcode.DocumentLimit, r.Raw)
			}
		})
	}

	t.Run("GraphiQL's introspection query passes", func(t *testing.T) {
		q, err := os.ReadFile("testdata/graphiql-introspection.graphql")
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Schema struct {
				Types []struct{ Name string } `json:"types"`
			} `json:"__schema"`
		}
		s.OK(t, string(q), &d)
		if len(d.Schema.Types) < 10 {
			t.Errorf("got %d types", len(d.Schema.Types))
		}
	})
}

// TestDocumentLimits: each limit refuses the document one past it, names
// itself, and lets the document at it through.
func TestDocumentLimits(t *testing.T) {
	l := graph.DocumentLimits{
		MaxOperations: 2, MaxFragments: 2, MaxSelections: 7, MaxNesting: 3, MaxSpreads: 2,
		MaxMerged: 8, MaxSameName: 1, MaxDirectives: 2, MaxVariables: 2, MaxArguments: 3,
	}
	cases := []struct {
		name, at, past, names string
	}{
		{"operations", `query A { a } query B { b }`, `query A { a } query B { b } query C { c }`, "3 operations"},
		{"fragments", `{ ...A ...B } fragment A on Q { a } fragment B on Q { b }`, `{ ...A ...B } fragment A on Q { a } fragment B on Q { b } fragment C on Q { c }`, "fragment definitions"},
		{"selections", `{ a b c d e f g }`, `{ a b c d e f g h }`, "selections"},
		{"nesting", `{ a { b { c } } }`, `{ a { ... on T { b { c } } } }`, "nested"},
		{"spreads", `{ ...A ...B } fragment A on Q { a } fragment B on Q { b }`, `{ ...A ...B ...A } fragment A on Q { a } fragment B on Q { b }`, "spreads"},
		{"merged", `{ a: x { ...A } b: x { ...A } } fragment A on Q { c d }`, `{ a: x { ...A } b: x { ...A } } fragment A on Q { c d e }`, "expanded"},
		{"same name", `{ a a }`, `{ a a a }`, "response name"},
		{"same name through fragments", `{ a ...A } fragment A on Q { a }`, `{ a a ...A } fragment A on Q { a }`, "response name"},
		{"same name in merged subselections", `{ a { b } a { c } }`, `{ a { b } a { b } }`, "response name"},
		{"directives", `{ a @x @y }`, `{ a @x @y @z }`, "directives"},
		{"variables", `query($a: Int, $b: Int) { a }`, `query($a: Int, $b: Int, $c: Int) { a }`, "variables"},
		{"arguments", `{ a(x: 1, y: [2]) }`, `{ a(x: 1, y: [2, 3]) }`, "arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := l.Check(parse(t, c.at)); err != nil {
				t.Errorf("at the limit: %v", err)
			}
			err := l.Check(parse(t, c.past))
			if err == nil {
				t.Fatalf("past the limit: no error")
			}
			if err.Extensions["code"] != errcode.DocumentLimit || !strings.Contains(err.Message, c.names) {
				t.Errorf("got %v %v, want %s naming %q", err.Message, err.Extensions, errcode.DocumentLimit, c.names)
			}
		})
	}

	t.Run("fragments that multiply stop the walk at its budget", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{ ...F0 }")
		for i := range 40 {
			fmt.Fprintf(&b, " fragment F%d on Q { ...F%d ...F%d }", i, i+1, i+1)
		}
		b.WriteString(" fragment F40 on Q { a }")
		wide := graph.DefaultDocumentLimits
		wide.MaxFragments, wide.MaxSpreads = 100, 100
		if err := wide.Check(parse(t, b.String())); err == nil || !strings.Contains(err.Message, "expanded") {
			t.Errorf("2^40 expansions: got %v", err)
		}
	})
	t.Run("a fragment cycle ends (validation refuses it)", func(t *testing.T) {
		if err := graph.DefaultDocumentLimits.Check(parse(t, `{ ...A } fragment A on Q { a { ...A } }`)); err == nil {
			t.Errorf("a cycle through a field passed the merged walk")
		}
	})
}

func parse(tb testing.TB, q string) *ast.QueryDocument {
	tb.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		tb.Fatalf("parse %s: %v", q, err)
	}
	return doc
}
