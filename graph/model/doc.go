// Package model holds the GraphQL types gqlgen generates (models_gen.go)
// for what no domain type binds: inputs and payloads of the API alone,
// such as LoginInput and AuthPayload.
package model
