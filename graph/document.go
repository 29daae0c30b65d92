package graph

import (
	gqlcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"wxtodo/errcode"
)

// DocumentLimits bound what a document may ask of the validator. gqlparser
// validates before any operation limit runs, and some of its rules cost
// more than the document's length: overlapping-field checks compare every
// pair of fields with one response name (2,000 "id"s cost about a second),
// and fragments are expanded once per operation. These limits are checked
// first, by one walk whose own work is bounded by MaxMerged, so the most
// a request can cost is a parse and a bounded walk.
type DocumentLimits struct {
	// MaxOperations and MaxFragments bound the definitions of a document.
	MaxOperations, MaxFragments int
	// MaxSelections bounds the fields, inline fragments and fragment
	// spreads of the document as written; MaxSpreads the spreads alone.
	MaxSelections, MaxSpreads int
	// MaxNesting bounds how deep selection sets nest, inline fragments
	// included (the depth limit, after validation, counts fields only).
	MaxNesting int
	// MaxMerged bounds the selections of the response shapes that
	// validation merges (every spread expanded, every operation counted),
	// and so the walk's own work.
	MaxMerged int
	// MaxSameName bounds, summed over the merged selection sets, the
	// pairs of fields that share a response name: the pairs validation
	// compares.
	MaxSameName int
	// MaxDirectives, MaxVariables and MaxArguments bound directives,
	// variable definitions and argument values (every value of a list or
	// object counts).
	MaxDirectives, MaxVariables, MaxArguments int
}

// DefaultDocumentLimits leave room for GraphiQL's introspection query
// (184 tokens, 81 selections, 240 merged, 9 deep) and any mini-program's
// documents, and keep the worst document that passes to 2-3 ms of CPU
// (BenchmarkWorstDocuments; the load benchmark's attack table).
var DefaultDocumentLimits = DocumentLimits{
	MaxOperations: 10,
	MaxFragments:  20,
	MaxSelections: 300,
	MaxNesting:    32,
	MaxSpreads:    50,
	MaxMerged:     800,
	MaxSameName:   50,
	MaxDirectives: 30,
	MaxVariables:  30,
	MaxArguments:  100,
}

// checkText parses query, stopping past tokens, and checks it: a parse
// error as gqlgen's own parse would answer it, or Check's error. It runs
// in the lane, for documents the validated-document cache does not hold.
func (l DocumentLimits) checkText(query string, tokens int) *gqlerror.Error {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, tokens)
	if err != nil {
		gerr, ok := err.(*gqlerror.Error)
		if !ok {
			gerr = gqlerror.Wrap(err)
		}
		gqlcode.Set(gerr, gqlcode.ParseFailed)
		return gerr
	}
	return l.Check(doc)
}

// Check returns a DOCUMENT_LIMIT_EXCEEDED error naming the first limit doc
// exceeds, or nil.
func (l DocumentLimits) Check(doc *ast.QueryDocument) *gqlerror.Error {
	if n := len(doc.Operations); n > l.MaxOperations {
		return documentError("operations", n, l.MaxOperations)
	}
	if n := len(doc.Fragments); n > l.MaxFragments {
		return documentError("fragment definitions", n, l.MaxFragments)
	}
	var c counter
	for _, op := range doc.Operations {
		c.variables += len(op.VariableDefinitions)
		for _, v := range op.VariableDefinitions {
			c.directives += len(v.Directives)
			c.values(v.DefaultValue)
		}
		c.directiveList(op.Directives)
		c.set(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		c.directiveList(f.Directives)
		c.set(f.SelectionSet)
	}
	for _, check := range []struct {
		what       string
		n, maximum int
	}{
		{"selections", c.selections, l.MaxSelections},
		{"levels of nested selections", c.deepest, l.MaxNesting},
		{"fragment spreads", c.spreads, l.MaxSpreads},
		{"directives", c.directives, l.MaxDirectives},
		{"variables", c.variables, l.MaxVariables},
		{"arguments", c.arguments, l.MaxArguments},
	} {
		if check.n > check.maximum {
			return documentError(check.what, check.n, check.maximum)
		}
	}

	m := merger{fragments: doc.Fragments, budget: l.MaxMerged}
	for _, op := range doc.Operations {
		if !m.merge([]ast.SelectionSet{op.SelectionSet}) {
			// The walk stopped at the limit: how far past is unknown.
			return limitError(errcode.DocumentLimit, "the document has more than %d selections with its fragments expanded, the limit", l.MaxMerged)
		}
	}
	if m.pairs > l.MaxSameName {
		return documentError("pairs of fields with one response name", m.pairs, l.MaxSameName)
	}
	return nil
}

func documentError(what string, n, maximum int) *gqlerror.Error {
	return limitError(errcode.DocumentLimit, "the document has %d %s; the limit is %d", n, what, maximum)
}

// counter counts a document as written.
type counter struct {
	selections, spreads, directives, variables, arguments int
	depth, deepest                                        int
}

func (c *counter) set(set ast.SelectionSet) {
	if len(set) == 0 {
		return
	}
	c.depth++
	c.deepest = max(c.deepest, c.depth)
	defer func() { c.depth-- }()
	for _, s := range set {
		c.selections++
		switch s := s.(type) {
		case *ast.Field:
			c.directiveList(s.Directives)
			for _, a := range s.Arguments {
				c.values(a.Value)
			}
			c.set(s.SelectionSet)
		case *ast.InlineFragment:
			c.directiveList(s.Directives)
			c.set(s.SelectionSet)
		case *ast.FragmentSpread:
			c.spreads++
			c.directiveList(s.Directives)
		}
	}
}

func (c *counter) directiveList(ds ast.DirectiveList) {
	c.directives += len(ds)
	for _, d := range ds {
		for _, a := range d.Arguments {
			c.values(a.Value)
		}
	}
}

// values counts an argument's value and everything in it.
func (c *counter) values(v *ast.Value) {
	if v == nil {
		return
	}
	c.arguments++
	for _, child := range v.Children {
		c.values(child.Value)
	}
}

// merger walks the response shapes validation merges: the selections of
// every field with one response name are one set, fragments expanded. It
// stops when visits pass budget, so its own work is bounded whatever the
// fragments multiply to.
type merger struct {
	fragments ast.FragmentDefinitionList
	budget    int
	visits    int
	pairs     int
	active    map[string]bool // fragments being expanded: a cycle stops
}

// merge walks the union of sets, then each response name's union of
// subselections; false when the budget ran out.
func (m *merger) merge(sets []ast.SelectionSet) bool {
	var names []string
	fields := map[string][]ast.SelectionSet{}
	var collect func(ast.SelectionSet) bool
	collect = func(set ast.SelectionSet) bool {
		for _, s := range set {
			m.visits++
			if m.visits > m.budget {
				return false
			}
			switch s := s.(type) {
			case *ast.Field:
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				prev, seen := fields[name]
				if !seen {
					names = append(names, name)
				}
				// A field pairs with every earlier one of its name.
				m.pairs += len(prev)
				fields[name] = append(prev, s.SelectionSet)
			case *ast.InlineFragment:
				if !collect(s.SelectionSet) {
					return false
				}
			case *ast.FragmentSpread:
				def := m.fragments.ForName(s.Name)
				if def == nil || m.active[s.Name] {
					continue // validation refuses unknown fragments and cycles
				}
				if m.active == nil {
					m.active = map[string]bool{}
				}
				m.active[s.Name] = true
				ok := collect(def.SelectionSet)
				delete(m.active, s.Name)
				if !ok {
					return false
				}
			}
		}
		return true
	}
	for _, set := range sets {
		if !collect(set) {
			return false
		}
	}
	for _, name := range names {
		subs := fields[name]
		nonEmpty := false
		for _, s := range subs {
			nonEmpty = nonEmpty || len(s) > 0
		}
		if nonEmpty && !m.merge(subs) {
			return false
		}
	}
	return true
}
