package model

import "wxtodo/todo"

// TodoChange is a change of the caller's list, as the todoChanged
// subscription sends it.
type TodoChange struct {
	Kind TodoChangeKind
	// ID is the todo's ID; nil for RESYNC.
	ID *int64
	// Todo is the todo after the change; nil for DELETED and RESYNC.
	Todo       *todo.Todo
	Version    int
	TotalCount int
}
