package todo_test

import (
	"slices"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
)

func TestTodosAreInvisibleToOtherUsers(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		alice, _ := s.Login(t, "alice")
		bob, _ := s.Login(t, "bob")

		// bob's own todos are older than alice's, so a cursor of alice's
		// would reach them if it were honoured across users.
		bobsOwn := seedTodos(t, s, bob, "bob", 2)
		open := createTodo(t, s, alice, "alice open")
		done := createTodo(t, s, alice, "alice done")
		done = updateTodo(t, s, alice, done.ID, map[string]any{"done": true})
		alices := []todoJSON{open, done}
		aliceIDs := map[string]bool{open.ID: true, done.ID: true}
		rows := s.Count(t, "todos", "")

		t.Run("todo(id) is null for bob", func(t *testing.T) {
			for _, td := range alices {
				if got := getTodo(t, s, bob, td.ID); got != nil {
					t.Errorf("bob got alice's todo %s: %+v, want null", td.ID, *got)
				}
			}
		})

		t.Run("updateTodo is NOT_FOUND for bob", func(t *testing.T) {
			inputs := []map[string]any{
				{"title": "hacked"},
				{"done": false},
				{"title": "hacked", "done": true},
				{},
			}
			for _, td := range alices {
				for _, in := range inputs {
					r := s.Fails(t, updateTodoMutation, "NOT_FOUND", apitest.As(bob), apitest.Vars(map[string]any{"id": td.ID, "input": in}))
					wantNoData(t, r, "updateTodo")
				}
			}
		})

		t.Run("deleteTodo is NOT_FOUND for bob", func(t *testing.T) {
			for _, td := range alices {
				r := s.Fails(t, deleteTodoMutation, "NOT_FOUND", apitest.As(bob), apitest.Vars(map[string]any{"id": td.ID}))
				wantNoData(t, r, "deleteTodo")
			}
		})

		t.Run("bob's list holds only his todos, with or without a filter", func(t *testing.T) {
			for _, c := range []struct {
				name   string
				filter map[string]any
				want   []string
			}{
				{"no filter", nil, reversedIDs(bobsOwn)},
				{"done true", map[string]any{"done": true}, nil},
				{"done false", map[string]any{"done": false}, reversedIDs(bobsOwn)},
			} {
				t.Run(c.name, func(t *testing.T) {
					vars := map[string]any{}
					if c.filter != nil {
						vars["filter"] = c.filter
					}
					got := listTodos(t, s, bob, vars)
					if ids := got.ids(); !slices.Equal(ids, c.want) {
						t.Errorf("got ids %v, want %v", ids, c.want)
					}
					if got.TotalCount != len(c.want) {
						t.Errorf("got totalCount %d, want %d", got.TotalCount, len(c.want))
					}
				})
			}
		})

		t.Run("a user without todos sees an empty list while others have some", func(t *testing.T) {
			carol, _ := s.Login(t, "carol")
			for _, filter := range []any{nil, map[string]any{"done": true}, map[string]any{"done": false}} {
				got := listTodos(t, s, carol, map[string]any{"filter": filter})
				if len(got.Edges) != 0 || got.TotalCount != 0 || got.PageInfo.HasNextPage || got.PageInfo.EndCursor != nil {
					t.Errorf("filter %v: got %d edges, totalCount %d, hasNextPage %v, endCursor %v; want 0, 0, false, null",
						filter, len(got.Edges), got.TotalCount, got.PageInfo.HasNextPage, got.PageInfo.EndCursor)
				}
			}
		})

		t.Run("a cursor from alice's list yields none of alice's todos to bob", func(t *testing.T) {
			page := listTodos(t, s, alice, map[string]any{"first": 1})
			if len(page.Edges) != 1 {
				t.Fatalf("alice: got %d edges, want 1", len(page.Edges))
			}
			for _, cursor := range []string{page.Edges[0].Cursor, *page.PageInfo.EndCursor} {
				got := listTodos(t, s, bob, map[string]any{"after": cursor})
				for _, id := range got.ids() {
					if aliceIDs[id] {
						t.Errorf("bob got alice's todo %s after her cursor %q", id, cursor)
					}
				}
				if ids := got.ids(); !slices.Equal(ids, reversedIDs(bobsOwn)) {
					t.Errorf("bob after alice's cursor: got ids %v, want only his own %v", ids, reversedIDs(bobsOwn))
				}
			}
		})

		t.Run("alice's todos are unchanged and still listed", func(t *testing.T) {
			for _, want := range alices {
				got := getTodo(t, s, alice, want.ID)
				if got == nil {
					t.Errorf("alice's todo %s: got null, want it to exist", want.ID)
					continue
				}
				if *got != want {
					t.Errorf("alice's todo %s: got %+v, want unchanged %+v", want.ID, *got, want)
				}
			}
			list := listTodos(t, s, alice, nil)
			if ids, want := list.ids(), reversedIDs(alices); !slices.Equal(ids, want) {
				t.Errorf("alice's list: got ids %v, want %v", ids, want)
			}
			if got, want := totalCounts(t, s, alice), (counts{all: 2, done: 1, open: 1}); got != want {
				t.Errorf("alice's totalCounts: got %+v, want %+v", got, want)
			}
			if got := s.Count(t, "todos", ""); got != rows {
				t.Errorf("got %d todos rows, want %d", got, rows)
			}
		})
	})
}
