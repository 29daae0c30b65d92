package docs

import (
	"fmt"
	"strings"
)

// An Attack is a document shaped to cost the server as much CPU as one
// request can: the worst shapes found for gqlparser's validation, each as
// large as the parser's token limit allows. Doc(n) starts with a comment
// naming n, so every request is a new document that no cache answers.
type Attack struct {
	Name string
	Doc  func(n int) string
	// Passes marks the shapes made to pass the document limits: validated,
	// then refused by the limits that follow validation.
	Passes bool
}

// Attacks returns the shapes for a parser limited to tokens lexical
// tokens. Most are refused by the server's document limits (or the
// parser's token limit); those marked Passes are the worst that pass them.
func Attacks(tokens int) []Attack {
	fresh := func(n int, body string) string { return fmt.Sprintf("# %d\n%s", n, body) }
	shape := func(name, body string) Attack {
		return Attack{Name: name, Doc: func(n int) string { return fresh(n, body) }}
	}
	passes := func(a Attack) Attack { a.Passes = true; return a }
	// Fragments whose fields all share names, spread side by side:
	// validation compares every pair of fragments field by field.
	sameFragments := func(frags, fields int) string {
		var defs, spreads strings.Builder
		for i := range frags {
			fmt.Fprintf(&defs, "fragment F%d on User { %s}\n", i, strings.Repeat("id ", fields))
			fmt.Fprintf(&spreads, "...F%d ", i)
		}
		return "{ me { " + spreads.String() + "} }\n" + defs.String()
	}
	// Fragments of distinct aliased fields, spread side by side in each
	// of sets fields (50 spreads at most).
	distinctFragments := func(frags, fields, sets int) string {
		var defs, spreads strings.Builder
		for i := range frags {
			fmt.Fprintf(&defs, "fragment F%d on User { ", i)
			for j := range fields {
				fmt.Fprintf(&defs, "f%d_%d: id ", i, j)
			}
			defs.WriteString("}\n")
		}
		spreads.WriteString("{ ")
		for set, n := 0, 0; set < sets; set++ {
			fmt.Fprintf(&spreads, "m%d: me { ", set)
			for i := 0; i < frags && n < 50; i, n = i+1, n+1 {
				fmt.Fprintf(&spreads, "...F%d ", i)
			}
			spreads.WriteString("} ")
		}
		return spreads.String() + "}\n" + defs.String()
	}
	// Each fragment spreads the next twice: 2^n expansions.
	fanOut := func(levels int) string {
		var b strings.Builder
		b.WriteString("{ me { ...F0 } }\n")
		for i := range levels {
			fmt.Fprintf(&b, "fragment F%d on User { id ...F%d ...F%d }\n", i, i+1, i+1)
		}
		fmt.Fprintf(&b, "fragment F%d on User { id }\n", levels)
		return b.String()
	}
	var vars, distinct strings.Builder
	for i := range tokens / 4 {
		fmt.Fprintf(&vars, "$v%d: Int ", i)
	}
	for i := range 288 {
		fmt.Fprintf(&distinct, "f%d: id ", i)
	}
	return []Attack{
		// Refused before validation.
		shape("same-name leaves", "{ me { "+strings.Repeat("id ", tokens-6)+"} }"),
		shape("__typename", "{ "+strings.Repeat("__typename ", tokens-3)+"}"),
		shape("same-name roots", "{ "+strings.Repeat("me { id } ", (tokens-3)/4)+"}"),
		shape("same-name fragments", sameFragments(30, (tokens-200)/30-6)),
		shape("fragment fan-out", fanOut(min(29, tokens/12))),
		shape("directives", "{ me { id "+strings.Repeat("@include(if: true) ", (tokens-8)/7)+"} }"),
		shape("variables", "query("+vars.String()+") { me { id } }"),
		shape("arguments", "{ todos("+strings.Repeat("first: 1 ", (tokens-10)/3)+") { totalCount } }"),
		shape("deep inline fragments", "{ me { "+strings.Repeat("... on User { ", (tokens-6)/5)+"id"+strings.Repeat(" }", (tokens-6)/5)+" } }"),
		// The worst that passes the document limits.
		passes(shape("288 aliased fields and 10 of one name", "{ me { "+distinct.String()+strings.Repeat("id ", 10)+"} }")),
		passes(shape("20 fragments of 13 fields", distinctFragments(20, 13, 1))),
		passes(shape("20 fragments of 12 fields spread 50 times", distinctFragments(20, 12, 3))),
	}
}
