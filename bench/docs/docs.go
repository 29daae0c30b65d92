// Package docs holds the GraphQL documents wxtodo's benchmarks send: the
// operations a mini-program makes, shared by the load benchmark (go run
// ./bench) and the microbenchmarks (go test -bench . in the module root).
package docs

import "encoding/json"

// The documents, each with its operation name.
const (
	Me         = `query Me { me { id nickname avatarUrl createdAt } }`
	Todos      = `query Todos($first: Int, $after: String) { todos(first: $first, after: $after) { edges { cursor node { id title done createdAt updatedAt } } pageInfo { hasNextPage endCursor } } }`
	TodosCount = `query TodosCount { todos(first: 1) { totalCount } }`
	CreateTodo = `mutation CreateTodo($input: CreateTodoInput!) { createTodo(input: $input) { id title done createdAt updatedAt } }`
	DeleteTodo = `mutation DeleteTodo($id: ID!) { deleteTodo(id: $id) }`
	UpdateTodo = `mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!) { updateTodo(id: $id, input: $input) { id title done updatedAt } }`
	Login      = `mutation Login($code: String!) { login(input: {code: $code}) { token expiresAt isNewUser user { id nickname } } }`
)

// Body renders a GraphQL-over-HTTP POST body with the operation name, the
// document and the variables (nil for none).
func Body(operationName, document string, variables map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"operationName": operationName, "query": document, "variables": variables})
	if err != nil {
		panic("docs: " + err.Error()) // variables hold plain values only
	}
	return b
}
