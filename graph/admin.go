package graph

import (
	"context"

	"wxtodo/admin"
	"wxtodo/errcode"
	"wxtodo/reqctx"
	"wxtodo/todo"
)

// adminTarget returns the operator of an admin field (with the request's
// client address, for the audit trail of a mutation) and the user ID the
// argument arg names.
func (r *Resolver) adminTarget(ctx context.Context, arg, id string) (admin.Actor, int64, error) {
	c, err := operator(ctx)
	if err != nil {
		return admin.Actor{}, 0, err
	}
	n, ok := todo.ParseID(id)
	if !ok {
		return admin.Actor{}, 0, errcode.Input(arg, "%s is not a user ID", arg)
	}
	return admin.Actor{Operator: c.Operator.Name, ClientIP: reqctx.ClientIP(ctx)}, n, nil
}

// deref is *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
