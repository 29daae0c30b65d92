// Package graph is wxtodo's GraphQL API: the schema, one .graphqls file
// per domain (auth and users, todos, WeChat data, errors, directives) with
// a resolver file each, thin resolvers that turn arguments into one
// service call and decide what to load, the @auth directive, the error
// presenter, the document limits and the lane that bound what a new
// document may cost before validation, the operation limits, the
// document caches and the operation observer. It never
// touches the database or WeChat directly.
package graph

//go:generate go run ./gen

import (
	"context"
	"wxtodo/admin"

	"github.com/99designs/gqlgen/graphql"

	"wxtodo/auth"
	"wxtodo/live"
	"wxtodo/todo"
	"wxtodo/user"
	"wxtodo/wxdata"
)

// Resolver is the root resolver: the services the API calls.
type Resolver struct {
	AuthService *auth.Service
	UserService *user.Service
	TodoService *todo.Service
	DataService *wxdata.Service
	// AdminService serves the @auth(role: ADMIN) fields.
	AdminService *admin.Service
	// Live fans the todoChanged subscription out; nil serves no
	// subscriptions.
	Live *live.Hub
}

// selectsPage reports whether a todos query selects the page itself, not
// only totalCount: the page is not read when it does not.
func selectsPage(ctx context.Context) bool {
	for _, f := range graphql.CollectAllFields(ctx) {
		if f == "edges" || f == "pageInfo" {
			return true
		}
	}
	return false
}
