package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"wxtodo/auth"
)

// authDirective implements @auth: the field resolves only for a signed-in
// caller. The token is checked once per request, on the first @auth field.
func authDirective(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return next(ctx)
}

// caller returns the signed-in caller of an @auth field.
func caller(ctx context.Context) (*auth.Caller, error) {
	return auth.Require(ctx)
}
