package graph

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestListElementsKeepTheirPaths: marshalled in a loop, an error inside a
// list element still carries the element's index in its path, a panic in
// one element is that element's error and null while the others marshal,
// and each element sees its own index.
func TestListElementsKeepTheirPaths(t *testing.T) {
	quiet := func(context.Context, any) error { return errors.New("internal system error") }
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, quiet)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{
		Field: graphql.CollectedField{Field: &ast.Field{Name: "edges", Alias: "edges"}},
	})
	seen := make([]int, 0, 4)
	ret := marshalSliceInOrder(ctx, 4, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		seen = append(seen, *graphql.GetFieldContext(ctx).Index)
		switch i {
		case 1:
			graphql.AddErrorf(ctx, "element %d is bad", i)
			return graphql.Null
		case 2:
			panic("element 2 exploded")
		}
		return graphql.MarshalString(fmt.Sprint("e", i))
	})

	if fmt.Sprint(seen) != "[0 1 2 3]" {
		t.Errorf("elements saw indexes %v, want [0 1 2 3]", seen)
	}
	if ret[2] != graphql.Null || ret[3] == graphql.Null || ret[0] == graphql.Null {
		t.Errorf("got %v, want element 2 null and 0 and 3 marshalled", ret)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2: %v", len(errs), errs)
	}
	for i, want := range []string{"edges[1]", "edges[2]"} {
		if got := errs[i].Path.String(); got != want {
			t.Errorf("error %d (%s): path %s, want %s", i, errs[i].Message, got, want)
		}
	}
}
