package graph

import (
	"context"
	"testing"

	"wxtodo/errcode"
	"wxtodo/graph/model"
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

// TestAuthDirectiveChecksTheRole: @auth(role: ADMIN) refuses a caller
// without a token before its resolver runs, as @auth does; which callers
// of each role pass is specified through the API (admin/api_test.go).
func TestAuthDirectiveChecksTheRole(t *testing.T) {
	for _, role := range []model.Role{model.RoleUser, model.RoleAdmin} {
		ran := false
		next := func(context.Context) (any, error) { ran = true; return "resolved", nil }
		_, err := authDirective(context.Background(), nil, next, &role)
		if ran || errcode.Code(err) != errcode.Unauthenticated {
			t.Errorf("role %s without a token: ran %v, error %v", role, ran, err)
		}
	}
}
