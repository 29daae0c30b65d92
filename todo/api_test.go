package todo_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// GraphQL documents of the todo API.
const (
	todoFields         = `id title done createdAt updatedAt`
	createTodoMutation = `mutation($input: CreateTodoInput!) { createTodo(input: $input) { ` + todoFields + ` } }`
	updateTodoMutation = `mutation($id: ID!, $input: UpdateTodoInput!) { updateTodo(id: $id, input: $input) { ` + todoFields + ` } }`
	deleteTodoMutation = `mutation($id: ID!) { deleteTodo(id: $id) }`
	todoQuery          = `query($id: ID!) { todo(id: $id) { ` + todoFields + ` } }`
	todosQuery         = `query($filter: TodoFilter, $first: Int, $after: String) {
		todos(filter: $filter, first: $first, after: $after) {
			edges { cursor node { ` + todoFields + ` } }
			pageInfo { hasNextPage endCursor }
			totalCount
		}
	}`
	// countsQuery asks for totalCount overall and per done filter at once.
	countsQuery = `{
		all: todos { totalCount }
		done: todos(filter: {done: true}) { totalCount }
		open: todos(filter: {done: false}) { totalCount }
	}`
	// createWithIDMutation creates a todo with an optional clientMutationId.
	createWithIDMutation = `mutation($title: String!, $cmid: String) {
		createTodo(input: {title: $title, clientMutationId: $cmid}) { ` + todoFields + ` }
	}`
)

type todoJSON struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Done      bool   `json:"done"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

type connJSON struct {
	Edges []struct {
		Cursor string   `json:"cursor"`
		Node   todoJSON `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	} `json:"pageInfo"`
	TotalCount int `json:"totalCount"`
}

// ids returns the IDs of the page's nodes, in order.
func (c connJSON) ids() []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.ID
	}
	return out
}

// createData is the data of createTodoMutation and createWithIDMutation.
type createData struct {
	CreateTodo todoJSON `json:"createTodo"`
}

// counts are a user's totalCounts: all todos, done ones, open ones.
type counts struct{ all, done, open int }

// createTodo adds a todo titled title to the token's user, which must
// succeed.
func createTodo(tb testing.TB, s *apitest.Server, token, title string) todoJSON {
	tb.Helper()
	var d createData
	s.OK(tb, createTodoMutation, &d, apitest.As(token), apitest.Vars(map[string]any{"input": map[string]any{"title": title}}))
	return d.CreateTodo
}

// seedTodos creates n todos titled prefix-00, prefix-01, ... and returns
// them in creation order.
func seedTodos(tb testing.TB, s *apitest.Server, token, prefix string, n int) []todoJSON {
	tb.Helper()
	out := make([]todoJSON, n)
	for i := range out {
		out[i] = createTodo(tb, s, token, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

// getTodo returns todo(id), nil when it is null; errors fail the test.
func getTodo(tb testing.TB, s *apitest.Server, token, id string) *todoJSON {
	tb.Helper()
	var d struct {
		Todo *todoJSON `json:"todo"`
	}
	s.OK(tb, todoQuery, &d, apitest.As(token), apitest.Vars(map[string]any{"id": id}))
	return d.Todo
}

// updateTodo applies input to the todo, which must succeed.
func updateTodo(tb testing.TB, s *apitest.Server, token, id string, input map[string]any) todoJSON {
	tb.Helper()
	var d struct {
		UpdateTodo todoJSON `json:"updateTodo"`
	}
	s.OK(tb, updateTodoMutation, &d, apitest.As(token), apitest.Vars(map[string]any{"id": id, "input": input}))
	return d.UpdateTodo
}

// deleteTodo deletes the todo, which must succeed, and returns what
// deleteTodo answered.
func deleteTodo(tb testing.TB, s *apitest.Server, token, id string) string {
	tb.Helper()
	var d struct {
		DeleteTodo string `json:"deleteTodo"`
	}
	s.OK(tb, deleteTodoMutation, &d, apitest.As(token), apitest.Vars(map[string]any{"id": id}))
	return d.DeleteTodo
}

// listTodos runs todosQuery with vars (nil for none), which must succeed.
func listTodos(tb testing.TB, s *apitest.Server, token string, vars map[string]any) connJSON {
	tb.Helper()
	var d struct {
		Todos connJSON `json:"todos"`
	}
	s.OK(tb, todosQuery, &d, apitest.As(token), apitest.Vars(vars))
	return d.Todos
}

// totalCounts returns the token's user's totalCount overall, of done and
// of open todos.
func totalCounts(tb testing.TB, s *apitest.Server, token string) counts {
	tb.Helper()
	var d map[string]struct {
		TotalCount int `json:"totalCount"`
	}
	s.OK(tb, countsQuery, &d, apitest.As(token))
	return counts{all: d["all"].TotalCount, done: d["done"].TotalCount, open: d["open"].TotalCount}
}

// wantInputError checks that r failed with BAD_USER_INPUT about field.
func wantInputError(tb testing.TB, r *apitest.Response, field string) {
	tb.Helper()
	if got := r.Code(); got != "BAD_USER_INPUT" {
		tb.Errorf("got code %q, want BAD_USER_INPUT: %s", got, r.Raw)
		return
	}
	if got := r.Ext("field"); got != field {
		tb.Errorf("got extensions.field %q, want %q: %s", got, field, r.Raw)
	}
}

// wantNoData checks that the field of a failed request is null.
func wantNoData(tb testing.TB, r *apitest.Response, field string) {
	tb.Helper()
	if string(r.Data) == "null" || len(r.Data) == 0 {
		return
	}
	var d map[string]any
	r.Decode(tb, &d)
	if v, ok := d[field]; ok && v != nil {
		tb.Errorf("got data.%s %v, want null: %s", field, v, r.Raw)
	}
}

// mustTime parses s, the what of a todo, as RFC 3339.
func mustTime(tb testing.TB, what, s string) time.Time {
	tb.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("%s %q is not RFC 3339: %v", what, s, err)
	}
	return ts
}

// brief quotes s, shortened when it is long, for failure messages.
func brief(s string) string {
	if r := []rune(s); len(r) > 40 {
		return fmt.Sprintf("%q... (%d characters, %d bytes)", string(r[:20]), len(r), len(s))
	}
	return fmt.Sprintf("%q", s)
}

// reversedIDs returns the IDs of todos, last first.
func reversedIDs(todos []todoJSON) []string {
	out := make([]string, len(todos))
	for i, t := range todos {
		out[len(todos)-1-i] = t.ID
	}
	return out
}
