package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"wxtodo/auth"
	"wxtodo/graph/model"
)

// authDirective implements @auth(role): the field resolves only for a
// signed-in caller of the role, a user (USER) or an operator (ADMIN); the
// other role gets FORBIDDEN. The token is checked once per request, on
// the first @auth field.
func authDirective(ctx context.Context, _ any, next graphql.Resolver, role *model.Role) (any, error) {
	var err error
	if role != nil && *role == model.RoleAdmin {
		_, err = auth.RequireOperator(ctx)
	} else {
		_, err = auth.RequireUser(ctx)
	}
	if err != nil {
		return nil, err
	}
	return next(ctx)
}

// caller returns the signed-in user of an @auth field.
func caller(ctx context.Context) (*auth.Caller, error) {
	return auth.RequireUser(ctx)
}

// operator returns the operator of an @auth(role: ADMIN) field.
func operator(ctx context.Context) (*auth.Caller, error) {
	return auth.RequireOperator(ctx)
}
