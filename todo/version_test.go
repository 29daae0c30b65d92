package todo_test

import (
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

// TestListVersionGrowsWithEveryChange: TodoConnection.version increases
// with each create, update (a title alone too) and delete of the caller's
// todos, whatever the filter; a failed write, an idempotent replay and
// another user's changes leave it as it is.
func TestListVersionGrowsWithEveryChange(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		token, _ := s.Login(t, "versioned")
		other, _ := s.Login(t, "someone-else")
		version := func(token string) int {
			t.Helper()
			var d struct {
				All  struct{ Version int } `json:"all"`
				Done struct{ Version int } `json:"done"`
			}
			s.OK(t, `{ all: todos { version } done: todos(filter: {done: true}, first: 1) { version } }`, &d, apitest.As(token))
			if d.All.Version != d.Done.Version {
				t.Errorf("version %d unfiltered, %d filtered: want one version of the list", d.All.Version, d.Done.Version)
			}
			return d.All.Version
		}
		v := version(token)
		step := func(what string, grows bool, query string, vars map[string]any) {
			t.Helper()
			s.Post(t, query, apitest.As(token), apitest.Vars(vars))
			got := version(token)
			switch {
			case grows && got <= v:
				t.Errorf("after %s: version %d, want more than %d", what, got, v)
			case !grows && got != v:
				t.Errorf("after %s: version %d, want it still %d", what, got, v)
			}
			v = got
		}
		var c struct{ CreateTodo todoJSON }
		s.OK(t, createWithIDMutation, &c, apitest.As(token), apitest.Vars(map[string]any{"title": "a", "cmid": "k1"}))
		if got := version(token); got <= v {
			t.Errorf("after a create: version %d, want more than %d", got, v)
		}
		v = version(token)
		id := c.CreateTodo.ID
		step("a replayed create", false, createWithIDMutation, map[string]any{"title": "a", "cmid": "k1"})
		step("a title change", true, updateTodoMutation, map[string]any{"id": id, "input": map[string]any{"title": "b"}})
		step("done", true, updateTodoMutation, map[string]any{"id": id, "input": map[string]any{"done": true}})
		step("an update of a missing todo", false, updateTodoMutation, map[string]any{"id": "999999", "input": map[string]any{"done": true}})
		s.OK(t, createWithIDMutation, nil, apitest.As(other), apitest.Vars(map[string]any{"title": "theirs"}))
		if got := version(token); got != v {
			t.Errorf("after another user's create: version %d, want %d", got, v)
		}
		step("a delete", true, deleteTodoMutation, map[string]any{"id": id})
	})
}
