package graph

import (
	"context"
	"testing"

	"wxtodo/errcode"
)

// TestAuthDirectiveGuardsTheField: @auth refuses a caller without a token
// before the field's resolver runs, so a resolver that forgets to ask for
// the caller is still guarded. (The resolvers' own caller() checks would
// hide a broken directive from the API-level specs.)
func TestAuthDirectiveGuardsTheField(t *testing.T) {
	ran := false
	next := func(context.Context) (any, error) { ran = true; return "resolved", nil }

	_, err := authDirective(context.Background(), nil, next, nil)
	if ran {
		t.Errorf("the resolver ran for a caller without a token")
	}
	if got := errcode.Code(err); got != errcode.Unauthenticated {
		t.Errorf("got error %v (code %q), want code %s", err, got, errcode.Unauthenticated)
	}
}
